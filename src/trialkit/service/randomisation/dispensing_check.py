"""Whether a patient may be given the kit of a treatment cycle today, and if not, why.

Details and reasoning: docs/randomisation.md, section
`trialkit.service.randomisation.dispensing_check`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.protocol import Protocol
from trialkit.service.capture.patient_status import (
    PatientState,
    PatientStatus,
    derive_status,
    patient_state,
    status_facts_of,
)
from trialkit.service.platform.policy import Action, patient_or_absent, site_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation.tables.supply import Dispensing
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "DispensingCheck",
    "DispensingCheckView",
    "check_dispensing",
    "dispensing_check",
    "site_dispensing_checks",
]


@dataclass(frozen=True)
class DispensingCheck:
    """The check of one cycle on one day: ``refusal`` is ``None`` when the kit may be given."""

    cycle: int
    next_cycle: int
    last_dispensed_on: dt.date | None
    due_on: dt.date | None
    earliest: dt.date | None
    refusal: str | None
    overridable: bool
    state: PatientState
    early: bool = False  # refused only because the cycle's window has not opened yet

    @property
    def allowed(self) -> bool:
        return self.refusal is None


class DispensingCheckView(BaseModel):
    """The check as the pharmacist reads it (no arm: nothing in it depends on one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    cycle: int
    next_cycle: int
    status: str
    last_dispensed_on: dt.date | None
    due_on: dt.date | None
    earliest: dt.date | None
    allowed: bool
    refusal: str | None
    overridable: bool
    early: bool = False


def _last_dispensing(session: Session, patient_id: int) -> tuple[int, dt.date] | None:
    row = session.execute(
        select(Dispensing.cycle, Dispensing.dispensed_on, Dispensing.dispensed_at)
        .where(Dispensing.patient_id == patient_id)
        .order_by(Dispensing.cycle.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    cycle, on, at = row
    return int(cycle), on if on is not None else at.date()


_NEVER = {
    PatientStatus.DEAD: "the patient died{since}: study drug is never dispensed after death",
    PatientStatus.WITHDRAWN: (
        "the patient withdrew consent{since}: no study drug is dispensed after withdrawal"
    ),
    PatientStatus.OFF_STUDY: (
        "the patient's study ended{since}{why}: no study drug is dispensed after the end of study"
    ),
}


def _since(state: PatientState) -> str:
    return "" if state.since is None else f" on {state.since.isoformat()}"


def check_dispensing(
    session: Session, *, patient: Patient, protocol: Protocol, cycle: int, on_date: dt.date
) -> DispensingCheck:
    """Check the dispensing of ``cycle`` to ``patient`` on ``on_date`` (see the module)."""
    state = patient_state(session, patient)
    last = _last_dispensing(session, patient.id)
    return _check(state, last, protocol=protocol, cycle=cycle, on_date=on_date)


def _check(
    state: PatientState,
    last: tuple[int, dt.date] | None,
    *,
    protocol: Protocol,
    cycle: int,
    on_date: dt.date,
) -> DispensingCheck:
    """The rule, from the patient's status and last dispensing (cycle, date)."""
    last_cycle, last_on = last if last is not None else (0, None)
    due_on = earliest = None
    drug = protocol.study_drug
    # a cycle falls due only on treatment (not once dead, withdrawn, off study or in follow-up):
    # the pharmacy lists the others apart; a restart (follow-up) is dispensed with a reason
    if drug is not None and last_on is not None and state.status == PatientStatus.ON_TREATMENT:
        due_on = last_on + dt.timedelta(days=drug.cycle_days)
        earliest = due_on - dt.timedelta(days=drug.window_days)

    def result(
        refusal: str | None, overridable: bool = False, early: bool = False
    ) -> DispensingCheck:
        return DispensingCheck(
            cycle=cycle,
            next_cycle=last_cycle + 1,
            last_dispensed_on=last_on,
            due_on=due_on if cycle == last_cycle + 1 else None,
            earliest=earliest if cycle == last_cycle + 1 else None,
            refusal=refusal,
            overridable=overridable,
            state=state,
            early=early,
        )

    if state.status in _NEVER:
        why = f" ({state.reason.replace('_', ' ')})" if state.reason else ""
        return result(_NEVER[state.status].format(since=_since(state), why=why))
    if not state.randomised or last_on is None:
        return result("the patient is not randomised: no kit can be dispensed")
    if cycle <= last_cycle:
        return result(f"cycle {cycle} was dispensed already to this patient")
    if cycle != last_cycle + 1:
        return result(
            f"cycle {cycle} is not the next cycle: cycle {last_cycle} was dispensed on "
            f"{last_on.isoformat()}, so the next kit is cycle {last_cycle + 1}"
        )
    if state.status == PatientStatus.FOLLOW_UP:
        why = f" ({state.reason.replace('_', ' ')})" if state.reason else ""
        return result(
            f"study treatment ended{_since(state)}{why}: no further cycle is due; dispense only "
            "if the investigator restarts treatment, giving the documented reason",
            overridable=True,
        )
    if drug is None or due_on is None or earliest is None:
        return result(
            f"protocol {protocol.acronym} gives no study-drug cycle (study_drug.cycle_days and "
            "window_days): add it to the protocol file before dispensing later cycles"
        )
    if on_date < earliest:
        return result(
            f"cycle {cycle} is not due: cycle {last_cycle} was dispensed on "
            f"{last_on.isoformat()}, so cycle {cycle} is due on {due_on.isoformat()} and may be "
            f"dispensed from {earliest.isoformat()} ({drug.cycle_days}-day cycles, "
            f"{drug.window_days} days early at most)",
            overridable=True,
            early=True,
        )
    return result(None)


def dispensing_check(
    *, session: Session, actor: Principal, patient_id: int, cycle: int | None, on_date: dt.date
) -> DispensingCheckView:
    """The check of ``cycle`` (default: the next one) for the site's pharmacist, on ``on_date``."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.HANDLE_KITS)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    if cycle is None:
        last = _last_dispensing(session, patient.id)
        cycle = (last[0] if last is not None else 0) + 1
    found = check_dispensing(
        session, patient=patient, protocol=protocol, cycle=cycle, on_date=on_date
    )
    return view(patient.id, found)


def site_dispensing_checks(
    *, session: Session, actor: Principal, site_id: int, on_date: dt.date
) -> dict[int, DispensingCheckView]:
    """The check of the next cycle of every patient of a site given a kit, by patient id.

    The same rule as :func:`dispensing_check`, read for the whole site in a fixed number of
    queries (the pharmacy page lists every treated patient).
    """
    site, _ = site_or_absent(session, actor, site_id, Action.HANDLE_KITS)
    protocol = trial_protocol(get_trial_or_raise(session, site.trial_id))
    last: dict[int, tuple[int, dt.date]] = {}
    rows = session.execute(
        select(
            Dispensing.patient_id,
            Dispensing.cycle,
            Dispensing.dispensed_on,
            Dispensing.dispensed_at,
        )
        .join(Patient, Patient.id == Dispensing.patient_id)
        .where(Patient.site_id == site.id)
        .order_by(Dispensing.patient_id, Dispensing.cycle)
    )
    for patient_id, cycle, on, at in rows:  # ordered by cycle: the last one wins
        last[patient_id] = (int(cycle), on if on is not None else at.date())
    facts = status_facts_of(session, list(last))
    checks: dict[int, DispensingCheckView] = {}
    for patient_id, dispensed in last.items():
        found = _check(
            derive_status(facts[patient_id]),
            dispensed,
            protocol=protocol,
            cycle=dispensed[0] + 1,
            on_date=on_date,
        )
        checks[patient_id] = view(patient_id, found)
    return checks


def view(patient_id: int, found: DispensingCheck) -> DispensingCheckView:
    return DispensingCheckView(
        patient_id=patient_id,
        cycle=found.cycle,
        next_cycle=found.next_cycle,
        status=found.state.status.value,
        last_dispensed_on=found.last_dispensed_on,
        due_on=found.due_on,
        earliest=found.earliest,
        allowed=found.allowed,
        refusal=found.refusal,
        overridable=found.overridable,
        early=found.early,
    )
