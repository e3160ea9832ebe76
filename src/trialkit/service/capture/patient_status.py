"""A patient's status, derived in one place from what was recorded, and what it still allows.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.patient_status`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.protocol.forms import FormRole
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import EligibilityEvaluation, Patient
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "PatientState",
    "PatientStatus",
    "StatusFacts",
    "derive_status",
    "expected_forms",
    "offered_forms",
    "patient_state",
    "status_facts_of",
]


class PatientStatus(StrEnum):
    SCREENING = "screening"
    SCREEN_FAILURE = "screen_failure"
    ON_TREATMENT = "on_treatment"
    FOLLOW_UP = "follow_up"
    DEAD = "dead"
    WITHDRAWN = "withdrawn"
    OFF_STUDY = "off_study"


ENDED = frozenset({PatientStatus.DEAD, PatientStatus.WITHDRAWN, PatientStatus.OFF_STUDY})
"""Statuses after which nothing more is expected of the patient."""

_STATUS_ROLES: tuple[FormRole, ...] = ("death", "end_of_treatment", "end_of_study")
"""The roles of the forms the status is derived from (the protocol's ``forms.roles``)."""
_AFTER_DEATH_ROLES: frozenset[str] = frozenset(_STATUS_ROLES)
_AFTER_WITHDRAWAL_ROLES: frozenset[str] = frozenset({"death", "end_of_study"})
F = TypeVar("F", bound=str)


@dataclass(frozen=True)
class StatusFacts:
    """What the status is derived from: the randomisation, the verdict, the latest end forms."""

    randomised_on: dt.date | None
    latest_verdict: str | None
    by_role: Mapping[str, Mapping[str, object]]
    """The latest version's data of the form of each status role recorded (death, end of
    treatment, end of study)."""


@dataclass(frozen=True)
class PatientState:
    """The patient's status, since when (if known) and why (the recorded reason)."""

    status: PatientStatus
    since: dt.date | None = None
    reason: str | None = None

    @property
    def randomised(self) -> bool:
        return self.status not in (PatientStatus.SCREENING, PatientStatus.SCREEN_FAILURE)

    @property
    def ended(self) -> bool:
        """Dead, withdrawn or off study: no visit is expected, no treatment given."""
        return self.status in ENDED

    def summary(self) -> str:
        """One line in English, e.g. ``dead since 2009-04-02 (progression)``."""
        words = self.status.value.replace("_", " ")
        if self.since is not None:
            words += f" since {self.since.isoformat()}"
        return words + (f" ({self.reason.replace('_', ' ')})" if self.reason else "")


def _date(value: object) -> dt.date | None:
    try:
        return None if value is None else dt.date.fromisoformat(str(value))
    except ValueError:
        return None


_ENDING: tuple[FormRole, ...] = ("end_of_treatment", "end_of_study")  # the forms' roles
_DEATH: FormRole = "death"
REASON_ITEM_BY_ROLE: dict[FormRole, str] = {_DEATH: "cause", **dict.fromkeys(_ENDING, "reason")}
"""The item of each status-deciding form (by its role) whose code is the status's reason; the
pages show that code by its label in the item's code list."""


def _reason(value: object) -> str | None:
    return None if value is None else str(value)


def derive_status(facts: StatusFacts) -> PatientState:
    """The one rule from recorded facts to a status (see the module docstring)."""
    death = facts.by_role.get("death")
    treatment_end = facts.by_role.get("end_of_treatment")
    study_end = facts.by_role.get("end_of_study")
    ends = [r for r in (study_end, treatment_end) if r is not None]
    if death is not None:
        return PatientState(
            PatientStatus.DEAD,
            _date(death.get("date")),
            _reason(death.get(REASON_ITEM_BY_ROLE["death"])),
        )
    for end in ends:
        if end.get(REASON_ITEM_BY_ROLE["end_of_study"]) == "death":
            return PatientState(PatientStatus.DEAD, _date(end.get("date")), "death")
    if study_end is not None:
        reason = _reason(study_end.get(REASON_ITEM_BY_ROLE["end_of_study"]))
        status = (
            PatientStatus.WITHDRAWN
            if reason == "withdrawal_of_consent"
            else PatientStatus.OFF_STUDY
        )
        return PatientState(status, _date(study_end.get("date")), reason)
    if treatment_end is not None:
        reason = _reason(treatment_end.get(REASON_ITEM_BY_ROLE["end_of_treatment"]))
        status = (
            PatientStatus.WITHDRAWN
            if reason == "withdrawal_of_consent"
            else PatientStatus.FOLLOW_UP
        )
        return PatientState(status, _date(treatment_end.get("date")), reason)
    if facts.randomised_on is not None:
        return PatientState(PatientStatus.ON_TREATMENT, facts.randomised_on)
    if facts.latest_verdict == "not eligible":
        return PatientState(PatientStatus.SCREEN_FAILURE)
    return PatientState(PatientStatus.SCREENING)


def status_facts(session: Session, patient: Patient) -> StatusFacts:
    """The facts of one patient (:func:`status_facts_of`)."""
    return status_facts_of(session, [patient.id])[patient.id]


def status_facts_of(session: Session, patient_ids: Sequence[int]) -> dict[int, StatusFacts]:
    """The facts of each patient, read in three indexed queries however many they are."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return {}
    randomised = session.execute(
        select(
            Randomisation.patient_id, Randomisation.enrolment_date, Randomisation.trial_id
        ).where(Randomisation.patient_id.in_(ids))
    ).all()
    randomised_on: dict[int, dt.date] = {p: on for p, on, _ in randomised}
    trial_of = {p: t for p, _, t in randomised}
    role_of = {t: _status_role_of(session, t) for t in set(trial_of.values())}
    latest = (
        select(func.max(EligibilityEvaluation.id))
        .where(EligibilityEvaluation.patient_id.in_(ids))
        .group_by(EligibilityEvaluation.patient_id)
    )
    verdicts: dict[int, str] = dict(
        session.execute(
            select(EligibilityEvaluation.patient_id, EligibilityEvaluation.verdict).where(
                EligibilityEvaluation.id.in_(latest)
            )
        ).all()
    )
    records: dict[int, dict[str, dict[str, object]]] = {i: {} for i in ids}
    names = sorted({name for roles in role_of.values() for name in roles})
    if randomised_on and names:
        rows = session.execute(
            select(CaptureRecord.patient_id, CaptureRecord.form, CaptureRecord.data)
            .where(
                CaptureRecord.patient_id.in_(list(randomised_on)),
                CaptureRecord.form.in_(names),
            )
            .order_by(CaptureRecord.patient_id, CaptureRecord.form, CaptureRecord.version)
        )
        for patient_id, form, data in rows:  # forms recorded once: the latest version wins
            role = role_of[trial_of[patient_id]].get(form)
            if role is not None:
                records[patient_id][role] = dict(data)
    return {i: StatusFacts(randomised_on.get(i), verdicts.get(i), records[i]) for i in ids}


def _status_role_of(session: Session, trial_id: int) -> dict[str, str]:
    """Form name -> status role, of the trial's protocol (``forms.roles``)."""
    forms = trial_protocol(get_trial_or_raise(session, trial_id)).forms
    if forms is None:
        return {}
    return {name: role for role in _STATUS_ROLES if (name := forms.role(role)) is not None}


def patient_state(session: Session, patient: Patient) -> PatientState:
    """The patient's status now (callers have authorised the read)."""
    return derive_status(status_facts(session, patient))


def offered_forms(
    status: PatientStatus, forms: Iterable[F], roles: Mapping[str, str] | None = None
) -> list[F]:
    """The forms the site is offered to record, of ``forms`` (in their order), given the status.

    Nothing before randomisation. After death only what the protocol still asks for: the
    death form, the end of treatment (for a patient who died on treatment) and the end of
    study. After withdrawal or the end of study: the end of study and the death form (overall
    survival). Otherwise every form. A record already made is still corrected on itself.
    ``roles``: the protocol's ``forms.roles`` (without it, a form named after a role plays it).
    """
    if status in (PatientStatus.SCREENING, PatientStatus.SCREEN_FAILURE):
        return []
    if status == PatientStatus.DEAD:
        wanted = _AFTER_DEATH_ROLES
    elif status in (PatientStatus.WITHDRAWN, PatientStatus.OFF_STUDY):
        wanted = _AFTER_WITHDRAWAL_ROLES
    else:
        return list(forms)  # every form of the protocol
    allowed = {role if roles is None else roles.get(role) for role in wanted}
    return [f for f in forms if f in allowed]


def expected_forms(status: PatientStatus, roles: Mapping[str, str] | None = None) -> set[str]:
    """The event forms the protocol asks for given the status (the others as they occur): a
    dead patient's death, end of treatment and end of study; a withdrawn or off-study one's end
    of study; one in follow-up's end of treatment. ``roles``: the protocol's ``forms.roles``
    (without it, a form named after a role plays it)."""
    if status == PatientStatus.DEAD:
        wanted_roles: tuple[str, ...] = ("death", "end_of_treatment", "end_of_study")
    elif status in (PatientStatus.WITHDRAWN, PatientStatus.OFF_STUDY):
        wanted_roles = ("end_of_study",)
    elif status == PatientStatus.FOLLOW_UP:
        wanted_roles = ("end_of_treatment",)
    else:
        return set()
    named = (role if roles is None else roles.get(role) for role in wanted_roles)
    return {name for name in named if name is not None}
