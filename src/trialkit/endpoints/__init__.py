"""Endpoints: RECIST 1.1 tumour response, endpoint derivation and analysis datasets.

Pure functions over frozen records of what sites capture (lesions, assessments, deaths,
new therapy); no I/O.
"""

from __future__ import annotations

from trialkit.endpoints.bor import BestOverallResponse, best_overall_response, progression_date
from trialkit.endpoints.datasets import (
    PARAMS,
    AdslRow,
    AdtteRow,
    build_adsl,
    build_adtte,
    csv_text,
)
from trialkit.endpoints.derive import (
    DAYS_PER_MONTH,
    RULES,
    CensoringRules,
    ObjectiveResponse,
    PatientOutcome,
    Rule,
    TimeToEvent,
    TumourResponse,
    derive_dor,
    derive_orr,
    derive_os,
    derive_pfs,
    derive_ttp,
)
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
from trialkit.endpoints.schedule import (
    ActualVisit,
    ExpectedVisit,
    PatientSchedule,
    VisitCheck,
    VisitReport,
    check_visits,
    patient_schedule,
)

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_CRITERIA",
    "PARAMS",
    "RULES",
    "ActualVisit",
    "AdslRow",
    "AdtteRow",
    "Assessment",
    "Baseline",
    "BaselineResult",
    "BestOverallResponse",
    "CensoringRules",
    "ExpectedVisit",
    "Finding",
    "LesionRecord",
    "NonTargetLesion",
    "ObjectiveResponse",
    "PatientOutcome",
    "PatientSchedule",
    "RecistEvaluation",
    "Response",
    "Rule",
    "TargetLesion",
    "TargetResult",
    "TimePointResponse",
    "TimeToEvent",
    "TumourResponse",
    "VisitCheck",
    "VisitReport",
    "best_overall_response",
    "build_adsl",
    "build_adtte",
    "check_baseline",
    "check_visits",
    "csv_text",
    "derive_dor",
    "derive_orr",
    "derive_os",
    "derive_pfs",
    "derive_ttp",
    "evaluate_assessments",
    "evaluate_recist",
    "non_target_response",
    "overall_response",
    "parse_lesion_record",
    "patient_schedule",
    "progression_date",
    "target_response",
]
