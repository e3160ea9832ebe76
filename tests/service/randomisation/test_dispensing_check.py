"""Dispensing refuses, with the reason, a patient who is dead, withdrawn, off study or off
treatment, and a cycle that is not next or not due; a pharmacist may override a refusal that
allows it with a documented reason, kept on the dispensing and in the audit trail. Each test
names the rule it proves."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.errors import ConflictError
from trialkit.service.capture import capture
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.views import PatientView, SiteView
from trialkit.service.randomisation import supply
from trialkit.service.randomisation.dispensing_check import dispensing_check
from trialkit.service.randomisation.tables.supply import Dispensing, KitListEntry

DUE = ENROLMENT_DAY + dt.timedelta(days=28)
"""SOR: cycle 2 is due 28 days after cycle 1 (dispensed at randomisation), from 3 days before."""
ARM_WORDS = ("sorafenib", "placebo", "arm a", "arm b", "arm ")


@dataclass(frozen=True)
class Ward:
    site: SiteView
    investigator: Principal
    pharmacist: Principal


@pytest.fixture
def ward(session: Session, security: Security) -> Ward:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)

    def who(role: Role) -> Principal:
        return principal(session, security, make_user(session, security, trial, role, site=site))

    return Ward(site, who(Role.INVESTIGATOR), who(Role.PHARMACIST))


def _patient(session: Session, ward: Ward) -> PatientView:
    return randomise_patient(session, ward.investigator, ward.site, ENROLMENT_DAY)


def _record(session: Session, ward: Ward, patient: PatientView, form: Form, data: Any) -> None:
    capture.record_form(
        session=session,
        actor=ward.investigator,
        patient_id=patient.id,
        form=form,
        data=data,
        today=DUE,
    )


def _dispense(
    session: Session, ward: Ward, patient: PatientView, cycle: int, on: dt.date, **kw: Any
) -> Any:
    return supply.dispense(
        session=session,
        actor=ward.pharmacist,
        patient_id=patient.id,
        cycle=cycle,
        on_date=on,
        **kw,
    )


def _no_arm(message: str) -> None:
    assert all(word not in message.lower() for word in ARM_WORDS), message


def test_no_kit_is_dispensed_to_a_patient_who_died_even_with_an_override(
    session: Session, ward: Ward
) -> None:
    patient = _patient(session, ward)
    died = ENROLMENT_DAY + dt.timedelta(days=10)
    _record(session, ward, patient, Form.DEATH, {"date": died.isoformat(), "cause": "other"})
    for reason in (None, "the family asked for it"):
        with pytest.raises(ConflictError) as refused:
            _dispense(session, ward, patient, 2, DUE, override_reason=reason)
        assert f"died on {died.isoformat()}" in refused.value.message
        assert refused.value.location == "cycle"
        _no_arm(refused.value.message)
    assert session.scalars(select(Dispensing).where(Dispensing.cycle == 2)).first() is None


@pytest.mark.parametrize(
    ("form", "reason", "words"),
    [
        (Form.END_OF_STUDY, "withdrawal_of_consent", "withdrew consent"),
        (Form.END_OF_STUDY, "lost_to_follow_up", "study ended"),
        (Form.END_OF_TREATMENT, "withdrawal_of_consent", "withdrew consent"),
    ],
)
def test_no_kit_is_dispensed_after_withdrawal_or_the_end_of_study(
    session: Session, ward: Ward, form: Form, reason: str, words: str
) -> None:
    patient = _patient(session, ward)
    _record(session, ward, patient, form, {"date": "2008-03-20", "reason": reason})
    with pytest.raises(ConflictError, match=words):
        _dispense(session, ward, patient, 2, DUE, override_reason="asked by the investigator")


def test_a_kit_after_the_end_of_treatment_needs_a_documented_override(
    session: Session, ward: Ward
) -> None:
    patient = _patient(session, ward)
    _record(
        session,
        ward,
        patient,
        Form.END_OF_TREATMENT,
        {"date": "2008-03-20", "reason": "adverse_event"},
    )
    with pytest.raises(ConflictError, match="study treatment ended on 2008-03-20") as refused:
        _dispense(session, ward, patient, 2, DUE)
    assert refused.value.location == "override_reason"
    given = _dispense(session, ward, patient, 2, DUE, override_reason="treatment restarted by Dr X")
    assert given.override_reason == "treatment restarted by Dr X"


@pytest.mark.parametrize(
    ("form", "data"),
    [
        (Form.DEATH, {"date": "2008-03-20", "cause": "other"}),
        (Form.END_OF_STUDY, {"date": "2008-03-20", "reason": "lost_to_follow_up"}),
        (Form.END_OF_TREATMENT, {"date": "2008-03-20", "reason": "adverse_event"}),
    ],
)
def test_no_cycle_falls_due_once_treatment_ended(
    session: Session, ward: Ward, form: Form, data: dict[str, str]
) -> None:
    # the pharmacy's "due this week" list reads due_on: a dead patient is never due
    patient = _patient(session, ward)
    on_treatment = dispensing_check(
        session=session, actor=ward.pharmacist, patient_id=patient.id, cycle=None, on_date=DUE
    )
    assert on_treatment.due_on == DUE
    _record(session, ward, patient, form, data)
    ended = dispensing_check(
        session=session, actor=ward.pharmacist, patient_id=patient.id, cycle=None, on_date=DUE
    )
    assert (ended.due_on, ended.earliest, ended.allowed, ended.early) == (None, None, False, False)
    assert ended.refusal


def test_a_cycle_is_refused_before_its_window_and_given_within_it(
    session: Session, ward: Ward
) -> None:
    """Cycle 2 on the day of randomisation (the demo did it) and one day before the window
    are refused with the dates; the first day of the window (due day - 3) is allowed."""
    patient = _patient(session, ward)
    for early in (ENROLMENT_DAY, DUE - dt.timedelta(days=4)):
        with pytest.raises(ConflictError) as refused:
            _dispense(session, ward, patient, 2, early)
        message = refused.value.message
        assert "cycle 2 is not due" in message
        assert f"due on {DUE.isoformat()}" in message
        assert f"from {(DUE - dt.timedelta(days=3)).isoformat()}" in message
    opens = DUE - dt.timedelta(days=3)
    given = _dispense(session, ward, patient, 2, opens)
    assert (given.dispensed_on, given.override_reason) == (opens, None)
    # the next cycle runs from the day cycle 2 was given (an early or late kit moves it)
    check = dispensing_check(
        session=session, actor=ward.pharmacist, patient_id=patient.id, cycle=None, on_date=opens
    )
    assert (check.next_cycle, check.due_on, check.allowed, check.overridable, check.early) == (
        3,
        opens + dt.timedelta(days=28),
        False,
        True,
        True,  # refused only for being early: the pharmacy folds the early dispensing away
    )


def test_a_cycle_that_is_not_the_next_is_refused(session: Session, ward: Ward) -> None:
    patient = _patient(session, ward)
    with pytest.raises(ConflictError, match="the next kit is cycle 2"):
        _dispense(session, ward, patient, 5, DUE, override_reason="catch up")


def test_an_override_is_recorded_on_the_dispensing_and_in_the_audit_trail(
    session: Session, ward: Ward
) -> None:
    patient = _patient(session, ward)
    given = _dispense(session, ward, patient, 2, ENROLMENT_DAY, override_reason="  travels  ")
    row = session.scalars(select(Dispensing).where(Dispensing.cycle == 2)).one()
    assert (row.override_reason, row.dispensed_on) == ("travels", ENROLMENT_DAY)
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "dispensing", AuditEvent.entity_id == str(row.id)
        )
    ).all()
    assert events
    reasons = {e.reason for e in events}
    (reason,) = reasons
    assert reason is not None
    assert "travels" in reason
    assert "cycle 2 is not due" in reason
    assert "travels" in {e.new_value for e in events if e.field == "override_reason"}.pop()
    assert str(given.kit_number) in {e.new_value for e in events if e.field == "kit_number"}
    _no_arm(reason)
    # a reason given when nothing is refused is not kept: there was nothing to override
    later = _dispense(
        session, ward, patient, 3, ENROLMENT_DAY + dt.timedelta(days=56), override_reason="x"
    )
    assert later.override_reason is None


def test_the_refusal_reads_the_same_whatever_the_arm(session: Session, ward: Ward) -> None:
    """Patients of both arms, dead or with a cycle not due: the same words but for dates."""
    arm_of = dict(session.execute(select(KitListEntry.number, KitListEntry.arm)).all())
    by_arm: dict[str, PatientView] = {}
    while len(by_arm) < 2:
        patient = _patient(session, ward)
        first = session.scalars(
            select(Dispensing).where(Dispensing.patient_id == patient.id, Dispensing.cycle == 1)
        ).one()
        kit = session.scalar(
            select(KitListEntry.number).where(KitListEntry.number == _kit_number(session, first))
        )
        by_arm.setdefault(str(arm_of[kit]), patient)
    messages: set[str] = set()
    for patient in by_arm.values():
        with pytest.raises(ConflictError) as refused:
            _dispense(session, ward, patient, 2, ENROLMENT_DAY)
        messages.add(re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", refused.value.message))
    for patient in by_arm.values():
        _record(session, ward, patient, Form.DEATH, {"date": "2008-03-10", "cause": "unknown"})
        with pytest.raises(ConflictError) as refused:
            _dispense(session, ward, patient, 2, DUE)
        messages.add(refused.value.message)
    assert len(messages) == 2
    for message in messages:
        _no_arm(message)


def _kit_number(session: Session, row: Dispensing) -> int:
    from trialkit.service.randomisation.tables.supply import InventoryKit

    kit = session.get(InventoryKit, row.kit_id)
    assert kit is not None
    return kit.number
