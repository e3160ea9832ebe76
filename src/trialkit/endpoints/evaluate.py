"""One patient's RECIST 1.1 evaluation: baseline checks, each assessment, BOR, progression.

This is what ``trialkit recist evaluate`` prints; :meth:`RecistEvaluation.as_dict` is its stable
JSON contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from trialkit.endpoints.bor import BestOverallResponse, best_overall_response, progression_date
from trialkit.endpoints.lesions import LesionRecord
from trialkit.endpoints.recist import (
    DEFAULT_CRITERIA,
    BaselineResult,
    Finding,
    Response,
    TimePointResponse,
    check_baseline,
    evaluate_assessments,
)
from trialkit.protocol.model import ResponseCriteria

__all__ = ["RecistEvaluation", "evaluate_recist"]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _finding(f: Finding) -> dict[str, str]:
    return {"path": f.path, "code": f.code, "message": f.message}


@dataclass(frozen=True)
class RecistEvaluation:
    """Baseline, every assessment, best overall response and date of first progression."""

    baseline: BaselineResult
    assessments: tuple[TimePointResponse, ...]
    best: BestOverallResponse
    date_of_progression: date | None
    criteria: ResponseCriteria

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, baseline first."""
        out = list(self.baseline.findings)
        for a in self.assessments:
            out.extend(a.findings)
        return tuple(out)

    def as_dict(self) -> dict[str, Any]:
        """The ``trialkit recist evaluate --json`` object (sums in mm, changes in %)."""
        return {
            "baseline": {
                "sum_mm": self.baseline.sum_mm,
                "targets": self.baseline.targets,
                "non_targets": self.baseline.non_targets,
                "findings": [_finding(f) for f in self.baseline.findings],
            },
            "assessments": [
                {
                    "date": a.date.isoformat(),
                    "sum_mm": a.target.sum_mm,
                    "nadir_mm": a.target.nadir_mm,
                    "change_from_baseline_pct": _round(a.target.change_from_baseline_pct),
                    "change_from_nadir_pct": _round(a.target.change_from_nadir_pct),
                    "target_response": a.target.response,
                    "non_target_response": a.non_target_response,
                    "new_lesions": a.new_lesions,
                    "overall_response": a.overall_response,
                    "findings": [_finding(f) for f in a.findings],
                }
                for a in self.assessments
            ],
            "best_overall_response": self.best.response,
            "best_overall_response_reason": self.best.reason,
            "confirmation_required": self.criteria.confirmation_required,
            "date_of_progression": (
                None if self.date_of_progression is None else self.date_of_progression.isoformat()
            ),
        }

    def __str__(self) -> str:
        lines = [str(self.baseline)]
        lines += [f"  {a}" for a in self.assessments]
        lines.append(str(self.best))
        lines.append(f"date of progression: {self.date_of_progression or 'none'}")
        return "\n".join(lines)


def evaluate_recist(
    record: LesionRecord, criteria: ResponseCriteria = DEFAULT_CRITERIA
) -> RecistEvaluation:
    """Evaluate a patient's lesion record by RECIST 1.1 under a protocol's response rules.

    The SD duration counts from the randomisation date, or from the baseline date when the
    record has none. When progression is dated back to an equivocal new lesion, the scans from
    that date on count as PD for the best overall response (the time-point table still shows
    what each scan showed when it was read).
    """
    baseline = check_baseline(
        record.baseline, criteria, randomisation_date=record.randomisation_date
    )
    timepoints = evaluate_assessments(record)
    pd_date = progression_date([(t.date, t.overall_response, t.new_lesions) for t in timepoints])
    responses: list[tuple[date, Response]] = [(t.date, t.overall_response) for t in timepoints]
    if pd_date is not None:
        # A confirmed new lesion dates progression back to the first equivocal scan: from then
        # on the patient had progressed, so those scans cannot give the best response.
        responses = [(d, r) for d, r in responses if d < pd_date] + [(pd_date, "PD")]
    best = best_overall_response(
        responses,
        reference_date=record.randomisation_date or record.baseline.date,
        min_sd_days=criteria.min_sd_days,
        confirmation_required=criteria.confirmation_required,
        min_confirmation_days=criteria.min_confirmation_days,
        max_ne_between=criteria.max_ne_between_confirmation,
    )
    return RecistEvaluation(baseline, timepoints, best, pd_date, criteria)
