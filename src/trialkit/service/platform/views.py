"""What the service returns: frozen read models, built from the tables by the use cases.

The API serialises these as they are; nothing here reveals an arm unless the
view is built for a role that :func:`~trialkit.service.platform.policy.can_see_arm`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "AllocationAuditSlot",
    "AllocationAuditStratum",
    "AllocationAuditView",
    "ArmBalanceRow",
    "CalendarEntryView",
    "ConsentView",
    "DispensingView",
    "EligibilityView",
    "EmergencyUnblindingView",
    "EnrolmentRow",
    "EnrolmentView",
    "EthicsApprovalView",
    "IssuedToken",
    "KitView",
    "PatientView",
    "RandomisationView",
    "ResupplyRequestView",
    "RoleAssignmentView",
    "ScreeningRecordView",
    "SealVerificationView",
    "SealView",
    "ShipmentView",
    "SiteView",
    "TrialView",
    "UnblindedPatientView",
    "UnblindedRandomisationView",
    "UserView",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnrolmentView(_View):
    """The trial's enrolment state on a day (:func:`~.trials.trials.enrolment_state`).

    ``status``: ``closed`` (outside the enrolment period), ``open``, ``target_reached``
    (randomisation allowed, with ``warning``) or ``closed_at_cap``.
    """

    status: str
    may_randomise: bool
    randomised: int
    target: int | None
    cap: int | None
    on_date: dt.date
    message: str
    warning: str | None


class TrialView(_View):
    id: int
    acronym: str
    title: str
    protocol_version: str
    blinding: str
    first_enrolment: dt.date
    final_enrolment: dt.date
    enrolment_open_today: bool
    enrolment: EnrolmentView
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
    email: str | None = None
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
    status: str
    """The status derived from what was recorded (:mod:`trialkit.service.capture.patient_status`):
    screening, screen_failure, on_treatment, follow_up, dead, withdrawn or off_study."""
    status_since: dt.date | None
    status_reason: str | None


class UnblindedPatientView(PatientView):
    """A patient as unblinded roles see it (the arm stays empty until randomisation exists)."""

    arm: str | None


class ScreeningRecordView(_View):
    id: int
    patient_id: int
    version: int
    form_version: str
    """The version of the protocol's screening form the record was entered on."""
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


class SealView(_View):
    """A sealed allocation and kit list as anyone may see it: counts and hashes, no seed."""

    trial_id: int
    protocol_version: str
    slots: int
    strata: int
    kits: int
    list_hash: str
    kit_list_hash: str
    extensions: int
    sealed_at: dt.datetime


class SealVerificationView(_View):
    """Whether the stored lists are what the sealed seed regenerates (names no arm)."""

    trial_id: int
    verified: bool
    slots: int
    kits: int
    list_hash: str
    expected_list_hash: str
    recorded_list_hash: str
    kit_list_hash: str
    expected_kit_list_hash: str
    recorded_kit_list_hash: str
    problem: str | None


class CalendarEntryView(_View):
    what: str
    earliest: dt.date
    latest: dt.date
    cycle: int | None


class RandomisationView(_View):
    """A randomisation as blinded roles see it: no arm, no block, no position in the stratum."""

    patient_id: int
    site_id: int
    screening_number: str
    randomisation_number: int
    kit_number: int | None
    stratum: str
    background_therapy: str
    enrolment_date: dt.date
    randomised_at: dt.datetime
    treatment_calendar: list[CalendarEntryView]
    warning: str | None = None
    """Given by the randomisation itself when the trial had reached its enrolment target."""


class UnblindedRandomisationView(RandomisationView):
    """A randomisation as unblinded roles see it."""

    arm: str
    arm_label: str


class EmergencyUnblindingView(_View):
    """One patient's arm, shown to the investigator who unblinded them (recorded)."""

    unblinding_id: int
    patient_id: int
    randomisation_number: int
    arm: str
    arm_label: str
    unblinded_at: dt.datetime
    sponsor_notified: bool
    """Whether the notification reached someone of the sponsor (the trial's monitors)."""


class KitView(_View):
    """A kit as blinded staff see it: number, place, expiry and status; never the arm."""

    number: int
    site_id: int | None
    expiry: dt.date
    status: str
    shipment_id: int | None


class ShipmentView(_View):
    id: int
    site_id: int
    kit_numbers: list[int]
    shipped_at: dt.datetime
    received_at: dt.datetime | None


class DispensingView(_View):
    """A kit given at a cycle: on which calendar day, and the override reason if one was given."""

    patient_id: int
    cycle: int
    kit_number: int
    dispensed_at: dt.datetime
    dispensed_on: dt.date
    override_reason: str | None = None


class ResupplyRequestView(_View):
    """Kits to ship to a site, as kit numbers only (no arm, no count by arm).

    ``complete`` is false while the request waits for depot stock (then it lists no kits):
    a state of the depot, never of the site's arm mix.
    """

    id: int
    site_id: int
    kit_numbers: list[int]
    complete: bool
    raised_at: dt.datetime
    shipment_id: int | None


class EnrolmentRow(_View):
    """Patients randomised in one month at one site and stratum (blinded)."""

    month: str
    site: str
    country: str
    stratum: str
    randomised: int
    cumulative: int


class ArmBalanceRow(_View):
    """Patients per arm in one stratum (unblinded roles only)."""

    stratum: str
    counts: dict[str, int]
    imbalance: int


class AllocationAuditSlot(_View):
    """One slot of the sealed list, in order, and who took it (unblinded roles only)."""

    sequence: int
    block: int
    block_size: int
    arm: str
    randomisation_number: int
    extension: int
    """0: the list as sealed; n: the n-th extension of the list (fresh blocks)."""
    used: bool
    patient_id: int | None
    screening_number: str | None
    site: str | None
    randomised_on: dt.date | None


class AllocationAuditStratum(_View):
    """A stratum's slots in order; ``gaps``: unused slots before its last used one (none in an
    intact list), ``out_of_order``: used slots randomised before the slot used before them."""

    stratum: str
    slots: int
    used: int
    gaps: list[int]
    out_of_order: list[int]
    rows: list[AllocationAuditSlot]


class AllocationAuditView(_View):
    """The unblinded allocation audit: every stratum's slots, the list's hash and whether the
    stored lists are what the sealed seed regenerates (``trialkit randomisation verify``)."""

    trial_id: int
    acronym: str
    list_hash: str
    extensions: int
    sealed_at: dt.datetime
    verification: SealVerificationView
    strata: list[AllocationAuditStratum]
