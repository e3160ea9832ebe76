"""A patient's schedule is cached per data version: the same schedule until a record changes
it, and a cached one is served only to a caller who may see the patient."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.factories import ENROLMENT_DAY, make_site, make_user, principal, randomise_patient
from tests.service.capture.test_grid import LATER, _setup_with_trial
from tests.sor_forms import Form
from trialkit.errors import NotFoundError
from trialkit.service.capture import capture, visits
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security


def test_a_schedule_is_cached_until_a_record_changes_it_and_kept_to_its_site(
    session: Session, security: Security
) -> None:
    investigator, monitor, site, trial = _setup_with_trial(session, security)
    patient = randomise_patient(session, investigator, site, ENROLMENT_DAY)

    def schedule() -> visits.ScheduleView:
        return visits.patient_visits(
            session=session, actor=monitor, patient_id=patient.id, today=LATER
        )

    elsewhere = make_site(session, trial, country="PL")
    stranger = make_user(session, security, trial, Role.INVESTIGATOR, site=elsewhere)
    first = schedule()
    other = principal(session, security, stranger)  # a login
    assert schedule() is first
    with pytest.raises(NotFoundError):  # authorised before the cache is read
        visits.patient_visits(session=session, actor=other, patient_id=patient.id, today=LATER)

    died = ENROLMENT_DAY + dt.timedelta(days=100)
    capture.record_form(
        session=session,
        actor=investigator,
        patient_id=patient.id,
        form=Form.DEATH,
        data={"date": died.isoformat(), "cause": "progression"},
        today=LATER,
    )
    after = schedule()
    assert after is not first
    assert len(after.visits) < len(first.visits)  # nothing expected after her death
