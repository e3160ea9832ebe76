"""A patient's status follows what was recorded, one function derives it for every reader,
and nothing is expected or offered after death but what the protocol asks for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    make_eligible_patient,
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.service.capture import capture, visits
from trialkit.service.capture.patient_status import (
    PatientStatus,
    StatusFacts,
    derive_status,
    offered_forms,
)
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.screening import patients

LATER = ENROLMENT_DAY + dt.timedelta(days=400)


@pytest.mark.parametrize(
    ("records", "status", "since"),
    [
        ({}, PatientStatus.ON_TREATMENT, ENROLMENT_DAY),
        (
            {Form.END_OF_TREATMENT: {"date": "2008-06-01", "reason": "progression"}},
            PatientStatus.FOLLOW_UP,
            dt.date(2008, 6, 1),
        ),
        (
            {Form.END_OF_TREATMENT: {"date": "2008-06-01", "reason": "withdrawal_of_consent"}},
            PatientStatus.WITHDRAWN,
            dt.date(2008, 6, 1),
        ),
        (
            {Form.END_OF_STUDY: {"date": "2008-07-01", "reason": "lost_to_follow_up"}},
            PatientStatus.OFF_STUDY,
            dt.date(2008, 7, 1),
        ),
        (
            {
                Form.END_OF_TREATMENT: {"date": "2008-06-01", "reason": "progression"},
                Form.DEATH: {"date": "2008-09-01", "cause": "progression"},
            },
            PatientStatus.DEAD,
            dt.date(2008, 9, 1),
        ),
        (
            {Form.END_OF_STUDY: {"date": "2008-09-02", "reason": "death"}},
            PatientStatus.DEAD,
            dt.date(2008, 9, 2),
        ),
    ],
)
def test_the_status_follows_what_was_recorded(
    records: dict[Form, dict[str, Any]], status: PatientStatus, since: dt.date
) -> None:
    state = derive_status(StatusFacts(ENROLMENT_DAY, "eligible", dict(records)))
    assert (state.status, state.since) == (status, since)


def test_before_randomisation_the_status_is_screening_or_screen_failure() -> None:
    assert derive_status(StatusFacts(None, None, {})).status == PatientStatus.SCREENING
    assert derive_status(StatusFacts(None, "eligible", {})).status == PatientStatus.SCREENING
    failed = derive_status(StatusFacts(None, "not eligible", {}))
    assert failed.status == PatientStatus.SCREEN_FAILURE


def test_after_death_only_the_death_end_of_treatment_and_end_of_study_forms_are_offered() -> None:
    assert offered_forms(PatientStatus.DEAD, list(Form)) == [
        Form.DEATH,
        Form.END_OF_TREATMENT,
        Form.END_OF_STUDY,
    ]
    assert offered_forms(PatientStatus.WITHDRAWN, list(Form)) == [Form.DEATH, Form.END_OF_STUDY]
    assert offered_forms(PatientStatus.SCREENING, list(Form)) == []
    assert offered_forms(PatientStatus.ON_TREATMENT, list(Form)) == list(Form)


def test_the_forms_offered_after_death_are_those_of_the_protocol_roles() -> None:
    forms = ["ae", "obituary", "off_treatment", "off_study", "tumour"]
    roles = {"death": "obituary", "end_of_treatment": "off_treatment", "end_of_study": "off_study"}
    assert offered_forms(PatientStatus.DEAD, forms, roles) == [
        "obituary",
        "off_treatment",
        "off_study",
    ]
    assert offered_forms(PatientStatus.WITHDRAWN, forms, roles) == ["obituary", "off_study"]
    assert offered_forms(PatientStatus.ON_TREATMENT, forms, roles) == forms


def test_a_dead_patient_reads_dead_in_every_view_and_nothing_is_due_after_her_death(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))
    patient = randomise_patient(session, investigator, site, ENROLMENT_DAY)
    waiting = make_eligible_patient(session, investigator, site)
    registered = make_patient(session, investigator, site)
    progressed = ENROLMENT_DAY + dt.timedelta(days=150)
    died = ENROLMENT_DAY + dt.timedelta(days=330)  # inside assessment 6's window (329-343)

    def record(form: Form, data: dict[str, Any]) -> None:
        capture.record_form(
            session=session,
            actor=investigator,
            patient_id=patient.id,
            form=form,
            data=data,
            today=LATER,
        )

    record(
        Form.END_OF_TREATMENT,
        {"date": progressed.isoformat(), "reason": "progression"},
    )
    assert patients.get_patient(session=session, actor=monitor, patient_id=patient.id).status == (
        "follow_up"
    )
    record(Form.DEATH, {"date": died.isoformat(), "cause": "progression"})
    shown = patients.get_patient(session=session, actor=investigator, patient_id=patient.id)
    assert (shown.status, shown.status_since) == ("dead", died)
    listed = {
        p.id: p.status
        for p in patients.list_patients(session=session, actor=monitor, site_id=site.id)
    }
    assert listed == {patient.id: "dead", waiting.id: "screening", registered.id: "screening"}
    schedule = visits.patient_visits(
        session=session, actor=investigator, patient_id=patient.id, today=LATER
    )
    assert all(v.target <= died for v in schedule.visits), schedule.visits
