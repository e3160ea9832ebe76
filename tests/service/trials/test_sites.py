"""Sites recruit only after ethics approval and activation; enrolment has an open period."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    SYSTEM,
    example_record,
    make_site,
    make_trial,
    make_user,
    principal,
)
from trialkit.errors import ConflictError, InactiveSiteError, InputError, PermissionDenied
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation
from trialkit.service.screening import patients
from trialkit.service.trials import trials
from trialkit.service.trials.tables import EthicsApproval
from trialkit.service.trials.trials import enrolment_open


def test_the_trial_comes_from_the_protocol(session: Session) -> None:
    trial = make_trial(session)
    assert trial.acronym == "SOR"
    assert trial.countries == ["DE", "IT", "PL", "RU"]
    assert (trial.first_enrolment, trial.final_enrolment) == (
        dt.date(2007, 11, 22),
        dt.date(2010, 6, 30),
    )


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (dt.date(2007, 11, 21), False),
        (dt.date(2007, 11, 22), True),
        (dt.date(2009, 1, 1), True),
        (dt.date(2010, 6, 30), True),
        (dt.date(2010, 7, 1), False),
    ],
)
def test_enrolment_is_open_between_first_and_final_enrolment(
    session: Session, day: dt.date, open_: bool
) -> None:
    trial = trials.get_trial_or_raise(session, make_trial(session).id)
    assert enrolment_open(trial, day) is open_
    if not open_:
        with pytest.raises(ConflictError, match="2007-11-22 to 2010-06-30"):
            trials.require_enrolment_open(session, trial, day)


def test_a_site_without_approval_or_activation_refuses_screening(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    pending = make_site(session, trial, approved=False, active=False)
    assert not pending.recruiting
    assert "no ethics approval" in (pending.not_recruiting_because or "")
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=pending)
    )
    with pytest.raises(InactiveSiteError, match="no ethics approval"):
        patients.register_patient(
            session=session, actor=investigator, site_id=pending.id, screening_number="1"
        )
    # activation needs the approval first
    with pytest.raises(ConflictError, match="approval"):
        trials.activate_site(session=session, actor=SYSTEM, site_id=pending.id)
    approved = trials.record_ethics_approval(
        session=session,
        actor=SYSTEM,
        site_id=pending.id,
        committee="EC",
        approval_date=dt.date(2007, 8, 1),
        protocol_version=trial.protocol_version,
    )
    assert (
        approved.not_recruiting_because
        == f"site {pending.code} is approved but not yet activated by the sponsor"
    )
    with pytest.raises(InactiveSiteError, match="not yet activated"):
        patients.register_patient(
            session=session, actor=investigator, site_id=pending.id, screening_number="1"
        )
    active = trials.activate_site(session=session, actor=SYSTEM, site_id=pending.id)
    assert active.recruiting
    patients.register_patient(
        session=session, actor=investigator, site_id=pending.id, screening_number="1"
    )
    with pytest.raises(ConflictError, match="activated already"):
        trials.activate_site(session=session, actor=SYSTEM, site_id=pending.id)


def test_an_approval_of_another_protocol_version_does_not_count(session: Session) -> None:
    trial = make_trial(session)
    site = make_site(session, trial, approved=False, active=False)
    trials.record_ethics_approval(
        session=session,
        actor=SYSTEM,
        site_id=site.id,
        committee="EC",
        approval_date=dt.date(2007, 8, 1),
        protocol_version="0.9 draft",
    )
    with pytest.raises(ConflictError, match="approval"):
        trials.activate_site(session=session, actor=SYSTEM, site_id=site.id)


def test_site_rules(session: Session, security: Security) -> None:
    trial = make_trial(session)
    with pytest.raises(InputError, match="recruits in DE, IT, PL, RU"):
        trials.add_site(
            session=session,
            actor=SYSTEM,
            trial_id=trial.id,
            code="FR01",
            name="x",
            city="Paris",
            country="FR",
        )
    trials.add_site(
        session=session,
        actor=SYSTEM,
        trial_id=trial.id,
        code="IT01",
        name="Milano",
        city="Milano",
        country="IT",
        coordinating=True,
    )
    with pytest.raises(ConflictError, match="coordinating"):
        trials.add_site(
            session=session,
            actor=SYSTEM,
            trial_id=trial.id,
            code="IT02",
            name="x",
            city="Roma",
            country="IT",
            coordinating=True,
        )
    with pytest.raises(ConflictError, match="exists already"):
        trials.add_site(
            session=session,
            actor=SYSTEM,
            trial_id=trial.id,
            code="IT01",
            name="x",
            city="x",
            country="IT",
        )
    with pytest.raises(InputError, match="future"):
        trials.record_ethics_approval(
            session=session,
            actor=SYSTEM,
            site_id=trials.find_site(session, trial_id=trial.id, code="IT01").id,
            committee="EC",
            approval_date=dt.date.today() + dt.timedelta(days=2),
            protocol_version=trial.protocol_version,
        )
    with pytest.raises(InputError, match="future"):  # on the trial's calendar date (pinned)
        trials.record_ethics_approval(
            session=session,
            actor=SYSTEM,
            site_id=trials.find_site(session, trial_id=trial.id, code="IT01").id,
            committee="EC",
            approval_date=dt.date(2008, 1, 2),
            protocol_version=trial.protocol_version,
            today=dt.date(2008, 1, 1),
        )
    site = make_site(session, trial)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    with pytest.raises(PermissionDenied):
        trials.add_site(
            session=session,
            actor=investigator,
            trial_id=trial.id,
            code="DE09",
            name="x",
            city="x",
            country="DE",
        )


def test_screening_and_randomisation_read_the_approval_of_the_current_protocol_version(
    session: Session, security: Security
) -> None:
    """The patient's own statement reads the site's approval; no approval of the version the
    trial runs refuses a screening record and a randomisation as it refuses registering."""
    trial = make_trial(session)
    site = make_site(session, trial)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = patients.register_patient(
        session=session, actor=investigator, site_id=site.id, screening_number="1"
    )
    # the approval on record is of another version (as after an amendment not yet approved)
    session.execute(
        update(EthicsApproval)
        .where(EthicsApproval.site_id == site.id)
        .values(protocol_version="0.9")
    )
    with pytest.raises(InactiveSiteError, match="no ethics approval of protocol version"):
        patients.submit_screening_record(
            session=session, actor=investigator, patient_id=patient.id, data=example_record()
        )
    with pytest.raises(InactiveSiteError, match="no ethics approval of protocol version"):
        randomisation.randomise(
            session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
