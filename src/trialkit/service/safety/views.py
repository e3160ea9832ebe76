"""What the safety slice returns: SAE cases as sites and monitors see them (blinded), and as the
sponsor's safety role sees them (its review, the SUSAR decision, one unblinded case's arm)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DrugAssessmentView",
    "SaeCaseView",
    "SaeVersionView",
    "SafetyCaseView",
    "SafetyReviewView",
    "UnblindedCaseView",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SaeVersionView(_View):
    """One version of the site's SAE report (version 1: initial; later: follow-ups)."""

    version: int
    data: dict[str, Any]
    complete: bool
    missing: list[str]
    reason: str | None
    recorded_at: dt.datetime
    recorded_by: str | None


class SaeCaseView(_View):
    """An SAE case on a work list: when the report is due and whether it arrived in time.

    ``status``: ``not started`` (an adverse event marked serious without an SAE report),
    ``due``, ``overdue``, ``reported`` or ``reported late``; ``seconds_left`` until the report
    is due while it is not yet complete (negative: overdue). Blinded: no arm, no review.
    """

    case_id: str
    trial_id: int
    patient_id: int
    screening_number: str
    site_id: int
    site_code: str
    case_number: int | None
    ae_record_key: str | None
    term: str | None
    grade: int | None
    criteria: list[str]
    aware_at: dt.datetime | None
    due_at: dt.datetime
    reported_at: dt.datetime | None
    status: str
    seconds_left: int | None
    versions: int
    versions_detail: list[SaeVersionView] = []


class DrugAssessmentView(_View):
    drug: str
    label: str
    investigator: str | None
    sponsor: str | None
    related: bool
    expected: bool
    suspect: bool


class SafetyReviewView(_View):
    """The sponsor's latest review of a case and what it decides."""

    version: int
    report_version: int
    comment: str | None
    reviewed_at: dt.datetime
    reviewed_by: str | None
    drugs: list[DrugAssessmentView]
    decision: str
    needs_unblinding: bool
    clock_days: int | None
    reporting_due_at: dt.datetime | None
    reporting_seconds_left: int | None


class SafetyCaseView(SaeCaseView):
    """A case as the safety role sees it (blinded): with the sponsor's review."""

    review_status: str
    review: SafetyReviewView | None


class UnblindedCaseView(SafetyCaseView):
    """A case the safety role has unblinded (this case only, recorded): with its arm."""

    unblinded_at: dt.datetime
    unblinded_by: str | None
    arm: str
    arm_label: str
