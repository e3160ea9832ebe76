"""What the service returns: frozen read models, built from the tables by the use cases.

The API serialises these as they are; nothing here reveals an arm unless the
view is built for a role that :func:`~trialkit.service.policy.can_see_arm`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ConsentView",
    "EligibilityView",
    "EthicsApprovalView",
    "IssuedToken",
    "PatientView",
    "RoleAssignmentView",
    "ScreeningRecordView",
    "SiteView",
    "TrialView",
    "UnblindedPatientView",
    "UserView",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrialView(_View):
    id: int
    acronym: str
    title: str
    protocol_version: str
    blinding: str
    first_enrolment: dt.date
    final_enrolment: dt.date
    enrolment_open_today: bool
    countries: list[str]


class EthicsApprovalView(_View):
    id: int
    committee: str
    approval_date: dt.date
    protocol_version: str
    recorded_at: dt.datetime


class SiteView(_View):
    id: int
    trial_id: int
    code: str
    name: str
    city: str
    country: str
    coordinating: bool
    activated_at: dt.datetime | None
    recruiting: bool
    not_recruiting_because: str | None
    ethics_approvals: list[EthicsApprovalView]


class RoleAssignmentView(_View):
    id: int
    trial_id: int
    role: str
    site_id: int | None
    granted_at: dt.datetime
    revoked_at: dt.datetime | None


class UserView(_View):
    id: int
    username: str
    full_name: str
    is_active: bool
    is_demo: bool
    locked_until: dt.datetime | None
    roles: list[RoleAssignmentView]


class IssuedToken(_View):
    """A new login session; the token is shown once and stored only as its hash."""

    token: str
    expires_at: dt.datetime
    user_id: int


class PatientView(_View):
    """A patient as blinded roles see it: no arm, nothing derived from one."""

    id: int
    trial_id: int
    site_id: int
    screening_number: str
    created_at: dt.datetime
    screening_record_versions: int
    latest_verdict: str | None
    consented: bool


class UnblindedPatientView(PatientView):
    """A patient as unblinded roles see it (the arm stays empty until randomisation exists)."""

    arm: str | None


class ScreeningRecordView(_View):
    id: int
    patient_id: int
    version: int
    data: dict[str, Any]
    reason: str | None
    recorded_at: dt.datetime
    recorded_by: int | None


class EligibilityView(_View):
    id: int
    patient_id: int
    screening_record_id: int
    screening_record_version: int
    protocol_version: str
    trialkit_version: str
    eligible: bool | None
    verdict: str
    result: dict[str, Any]
    evaluated_at: dt.datetime


class ConsentView(_View):
    id: int
    patient_id: int
    version: int
    consent_date: dt.date
    information_sheet_version: str
    reason: str | None
    recorded_at: dt.datetime
