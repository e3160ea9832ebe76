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
    """Baseline, every assessment, best overall response and date of first progression.

    ``confirmed`` is the best overall response under the confirmation rule, whatever the
    protocol requires: RECIST 1.1 does not require confirmation in a randomised trial, but many
    sponsors ask for it, so it is reported beside the protocol's BOR.
    """

    baseline: BaselineResult
    assessments: tuple[TimePointResponse, ...]
    best: BestOverallResponse
    confirmed: BestOverallResponse
    date_of_progression: date | None
    criteria: ResponseCriteria

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, baseline first."""
        out = list(self.baseline.findings)
        for a in self.assessments:
            out.extend(a.findings)
        return tuple(out)

    @property
    def confirmed_response(self) -> bool:
        """Whether a CR or PR was confirmed by a later assessment >= 4 weeks after it."""
        return self.confirmed.response in ("CR", "PR")

    @property
    def response_date(self) -> date | None:
        """The first CR/PR that makes the best overall response, or ``None``."""
        return self.best.date if self.best.response in ("CR", "PR") else None

    def as_dict(self) -> dict[str, Any]:
        """The ``trialkit recist evaluate --json`` object (issue 7, section 3).

        Contract keys: ``timepoints`` (``date``, ``sum_mm``, ``nadir_mm``, ``target_response``,
        ``non_target_response``, ``overall_response``), ``best_overall_response``,
        ``confirmed_response``, ``response_date``, ``progression_date``. ``nadir_mm`` is the
        nadir the time point is compared with (the smallest complete sum before it, baseline
        included). The other keys are extras.
        """
        return {
            "timepoints": [
                {
                    "date": a.date.isoformat(),
                    "sum_mm": a.target.sum_mm,
                    "nadir_mm": a.target.nadir_mm,
                    "target_response": a.target.response,
                    "non_target_response": a.non_target_response,
                    "overall_response": a.overall_response,
                    "change_from_baseline_pct": _round(a.target.change_from_baseline_pct),
                    "change_from_nadir_pct": _round(a.target.change_from_nadir_pct),
                    "new_lesions": a.new_lesions,
                    "findings": [_finding(f) for f in a.findings],
                }
                for a in self.assessments
            ],
            "best_overall_response": self.best.response,
            "confirmed_response": self.confirmed_response,
            "response_date": _iso(self.response_date),
            "progression_date": _iso(self.date_of_progression),
            "best_overall_response_reason": self.best.reason,
            "confirmation_required": self.criteria.confirmation_required,
            "baseline": {
                "sum_mm": self.baseline.sum_mm,
                "targets": self.baseline.targets,
                "non_targets": self.baseline.non_targets,
                "findings": [_finding(f) for f in self.baseline.findings],
            },
        }

    def __str__(self) -> str:
        lines = [str(self.baseline)]
        lines += [f"  {a}" for a in self.assessments]
        lines.append(str(self.best))
        lines.append(f"confirmed response: {'yes' if self.confirmed_response else 'no'}")
        lines.append(f"date of progression: {self.date_of_progression or 'none'}")
        return "\n".join(lines)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


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
    reference = record.randomisation_date or record.baseline.date

    def bor(confirm: bool) -> BestOverallResponse:
        return best_overall_response(
            responses,
            reference_date=reference,
            min_sd_days=criteria.min_sd_days,
            confirmation_required=confirm,
            min_confirmation_days=criteria.min_confirmation_days,
            max_ne_between=criteria.max_ne_between_confirmation,
        )

    best = bor(criteria.confirmation_required)
    return RecistEvaluation(baseline, timepoints, best, bor(True), pd_date, criteria)
