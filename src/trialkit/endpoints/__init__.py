"""Endpoints: RECIST 1.1 tumour response, endpoint derivation and analysis datasets.

Pure functions over frozen records of what sites capture (lesions, assessments, deaths,
new therapy); no I/O.
"""

from __future__ import annotations

from trialkit.endpoints.bor import BestOverallResponse, best_overall_response, progression_date
from trialkit.endpoints.evaluate import RecistEvaluation, evaluate_recist
from trialkit.endpoints.lesions import (
    Assessment,
    Baseline,
    LesionRecord,
    NonTargetLesion,
    TargetLesion,
    parse_lesion_record,
)
from trialkit.endpoints.recist import (
    DEFAULT_CRITERIA,
    BaselineResult,
    Finding,
    Response,
    TargetResult,
    TimePointResponse,
    check_baseline,
    evaluate_assessments,
    non_target_response,
    overall_response,
    target_response,
)

__all__ = [
    "DEFAULT_CRITERIA",
    "Assessment",
    "Baseline",
    "BaselineResult",
    "BestOverallResponse",
    "Finding",
    "LesionRecord",
    "NonTargetLesion",
    "RecistEvaluation",
    "Response",
    "TargetLesion",
    "TargetResult",
    "TimePointResponse",
    "best_overall_response",
    "check_baseline",
    "evaluate_assessments",
    "evaluate_recist",
    "non_target_response",
    "overall_response",
    "parse_lesion_record",
    "progression_date",
    "target_response",
]
