"""An SAE reaches the sponsor: a work-list entry and an e-mail within the worker's cycle; an
overdue report is told once to the site, its monitors and the safety role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.factories import make_patient, make_site, make_trial, make_user, principal
from tests.service.platform.smtp_server import SmtpServer
from tests.service.platform.test_notifications import smtp_settings
from trialkit.service.platform import delivery, notify
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.notifications import Notification
from trialkit.service.platform.transaction import transaction
from trialkit.service.safety import sae


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def _values(aware: dt.datetime, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "term": "Febrile neutropenia",
        "grade": 3,
        "onset_date": aware.date().isoformat(),
        "criteria": ["hospitalisation"],
        "aware_at": aware.isoformat(),
        "causality": {"study_drug": "possible", "docetaxel": "related", "letrozole": "not_related"},
        "outcome": "recovered",
        "narrative": "Fever 39.1 C with neutrophils 0.3 x 10^9/L on day 8 of cycle 2.",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_an_sae_at_a_site_reaches_the_safety_role_by_e_mail_and_on_its_work_list(
    db: Database, database_url: str, security: Security, smtp: SmtpServer
) -> None:
    smtp.start()
    with transaction(db) as session:
        trial = make_trial(session)
        site = make_site(session, trial)
        investigator = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        safety = make_user(
            session, security, trial, Role.SAFETY_PHYSICIAN, email="safety@sor.example"
        )
        make_user(session, security, trial, Role.STATISTICIAN, email="stats@sor.example")
        actor = principal(session, security, investigator)
        patient = make_patient(session, actor, site)
        sae.report_sae(
            session=session,
            actor=actor,
            patient_id=patient.id,
            values=_values(real_utcnow() - dt.timedelta(hours=2)),
        )
    report = delivery.deliver_due(db, smtp_settings(database_url, smtp))
    assert report.sent == 1
    [(address, mail)] = smtp.messages()
    assert address == "safety@sor.example"  # not the blinded statistician
    assert "serious adverse event" in mail["Subject"]
    assert f"/safety/cases/{patient.id}/1" in mail.get_payload()
    with transaction(db) as session:
        rows = sae.list_cases(
            session=session, actor=principal(session, security, safety), trial_id=trial.id
        )
    assert [(r.screening_number, r.term, r.status) for r in rows] == [
        (patient.screening_number, "Febrile neutropenia", "reported")
    ]


def test_an_overdue_report_is_told_once(db: Database, security: Security) -> None:
    with transaction(db) as session:
        trial = make_trial(session)
        site = make_site(session, trial)
        investigator = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        make_user(session, security, trial, Role.SAFETY_PHYSICIAN)
        actor = principal(session, security, investigator)
        patient = make_patient(session, actor, site)
        aware = real_utcnow() - dt.timedelta(hours=30)
        sae.report_sae(
            session=session,
            actor=actor,
            patient_id=patient.id,
            values=_values(aware, narrative=None),
        )
        assert sae.notify_overdue(session=session, trial_id=trial.id) == [
            f"{patient.screening_number}/SAE-1"
        ]
        assert sae.notify_overdue(session=session, trial_id=trial.id) == []
        [overdue] = session.scalars(
            select(Notification).where(Notification.kind == notify.Kind.SAE_OVERDUE.value)
        )
        recipients = set(notify.recipients_of(session, overdue.id))
        assert investigator.id in recipients
