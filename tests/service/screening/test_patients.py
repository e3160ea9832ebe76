"""Patients, versioned screening records, stored eligibility verdicts, consent, audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

import trialkit
from tests.factories import (
    example_record,
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
)
from trialkit.errors import ConflictError, InputError, NotFoundError, PermissionDenied, RecordError
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import insert_unique
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.screening import patients
from trialkit.service.screening.tables import ScreeningRecordVersion
from trialkit.service.trials import users


def test_screening_records_are_versioned_with_reasons(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = make_patient(session, actor, site)
    data = example_record()
    first = patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=data
    )
    assert (first.version, first.reason) == (1, None)
    data["ecog"] = 0
    with pytest.raises(InputError, match="say why"):
        patients.submit_screening_record(
            session=session, actor=actor, patient_id=patient.id, data=data
        )
    second = patients.submit_screening_record(
        session=session,
        actor=actor,
        patient_id=patient.id,
        data=data,
        reason="ECOG transcribed wrongly",
    )
    assert second.version == 2
    versions = patients.list_screening_records(session=session, actor=actor, patient_id=patient.id)
    assert [(v.version, v.data["ecog"]) for v in versions] == [
        (1, 1),
        (2, 0),
    ]  # nothing overwritten
    correction = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "correct", AuditEvent.field == "data")
    ).one()
    assert correction.reason == "ECOG transcribed wrongly"
    assert (correction.role, correction.site_id, correction.username) == (
        "investigator",
        site.id,
        actor.username,
    )
    assert audit.verify_trail(session=session).intact


def test_bad_records_name_the_field(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = make_patient(session, actor, site)
    with pytest.raises(RecordError, match=r"^data\.ecog: "):
        patients.submit_screening_record(
            session=session, actor=actor, patient_id=patient.id, data={"ecog": 9}
        )
    with pytest.raises(RecordError, match=r"^data\.labs\.anc\.value: numbers must be finite"):
        patients.submit_screening_record(
            session=session,
            actor=actor,
            patient_id=patient.id,
            data={"labs": {"anc": {"value": float("inf"), "unit": "/mm3"}}},
        )


def test_eligibility_is_stored_with_what_produced_it(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = make_patient(session, actor, site)
    with pytest.raises(ConflictError, match="submit one first"):
        patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
    patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=example_record()
    )
    verdict = patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
    assert verdict.eligible is True
    assert verdict.protocol_version == trial.protocol_version
    assert verdict.trialkit_version == trialkit.__version__
    assert verdict.screening_record_version == 1
    assert verdict.result["background_therapy"] == "endocrine"
    assert (
        patients.get_patient(session=session, actor=actor, patient_id=patient.id).latest_verdict
        == "eligible"
    )


def test_consent_is_recorded_and_versioned(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = make_patient(session, actor, site)
    patients.record_consent(
        session=session,
        actor=actor,
        patient_id=patient.id,
        consent_date=dt.date(2008, 3, 1),
        information_sheet_version="1.0",
    )
    with pytest.raises(InputError, match="say why"):
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=patient.id,
            consent_date=dt.date(2008, 3, 2),
            information_sheet_version="1.0",
        )
    patients.record_consent(
        session=session,
        actor=actor,
        patient_id=patient.id,
        consent_date=dt.date(2008, 3, 2),
        information_sheet_version="1.0",
        reason="date typo",
    )
    assert [
        c.version
        for c in patients.list_consents(session=session, actor=actor, patient_id=patient.id)
    ] == [1, 2]
    with pytest.raises(InputError, match="future"):
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=patient.id,
            consent_date=dt.date.today() + dt.timedelta(days=3),
            information_sheet_version="1.0",
            reason="x",
        )
    # the future is judged on the trial's calendar date (pinned in demos), not the real clock
    with pytest.raises(InputError, match="future"):
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=patient.id,
            consent_date=dt.date(2008, 3, 5),
            information_sheet_version="1.0",
            reason="x",
            today=dt.date(2008, 3, 4),
        )
    patients.record_consent(
        session=session,
        actor=actor,
        patient_id=patient.id,
        consent_date=dt.date(2008, 3, 4),
        information_sheet_version="1.0",
        reason="signed on the calendar date itself",
        today=dt.date(2008, 3, 4),
    )


def test_screening_numbers_are_unique_per_site(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site_a, site_b = make_site(session, trial), make_site(session, trial)
    a = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site_a)
    )
    b = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site_b)
    )
    patients.register_patient(session=session, actor=a, site_id=site_a.id, screening_number="001")
    with pytest.raises(ConflictError, match="taken"):
        patients.register_patient(
            session=session, actor=a, site_id=site_a.id, screening_number="001"
        )
    patients.register_patient(session=session, actor=b, site_id=site_b.id, screening_number="001")


def test_another_sites_patient_reads_as_absent(session: Session, security: Security) -> None:
    trial = make_trial(session)
    site_a, site_b = make_site(session, trial), make_site(session, trial)
    a = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site_a)
    )
    b = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site_b)
    )
    patient = make_patient(session, a, site_a)
    with pytest.raises(NotFoundError, match=f"patient {patient.id} not found"):
        patients.get_patient(session=session, actor=b, patient_id=patient.id)
    with pytest.raises(NotFoundError, match=f"patient {patient.id} not found"):
        patients.submit_screening_record(session=session, actor=b, patient_id=patient.id, data={})
    with pytest.raises(NotFoundError, match="patient 999999 not found"):
        patients.get_patient(session=session, actor=b, patient_id=999999)


def test_blinded_and_unblinded_roles_are_never_combined(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    user = make_user(session, security, trial, Role.STATISTICIAN)
    admin = principal(session, security, make_user(session, security, trial, Role.ADMINISTRATOR))
    with pytest.raises(ConflictError, match="blinded and unblinded"):
        users.grant_role(
            session=session, actor=admin, user_id=user.id, trial_id=trial.id, role=Role.DSMB_MEMBER
        )
    with pytest.raises(PermissionDenied):
        users.grant_role(
            session=session,
            actor=principal(session, security, user),
            user_id=user.id,
            trial_id=trial.id,
            role=Role.ADMINISTRATOR,
        )
    with pytest.raises(InputError, match="site_id"):
        users.grant_role(
            session=session, actor=admin, user_id=user.id, trial_id=trial.id, role=Role.INVESTIGATOR
        )
    assignment = users.get_user(session=session, actor=admin, user_id=user.id).roles[0]
    revoked = users.revoke_role(
        session=session, actor=admin, assignment_id=assignment.id, reason="left the team"
    )
    assert revoked.revoked_at is not None
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity == "role_assignment")
    ).all()
    assert events.count("grant") >= 2
    assert "revoke" in events


def test_a_version_stored_meanwhile_is_a_conflict_and_the_session_goes_on(
    session: Session, security: Security, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request stores the same version between this one's read and its insert."""
    trial = make_trial(session)
    site = make_site(session, trial)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    patient = make_patient(session, actor, site)
    data = example_record()
    patients.submit_screening_record(session=session, actor=actor, patient_id=patient.id, data=data)
    real_insert = insert_unique

    def racing_insert(session: Session, model: type, values: dict[str, object]) -> int | None:
        # the other request's version 2 lands first (a plain INSERT, as its own would be)
        session.execute(
            insert(ScreeningRecordVersion).values(
                {**values, "reason": "the other request's correction"}
            )
        )
        return real_insert(session, model, values)

    monkeypatch.setattr(patients, "insert_unique", racing_insert)
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    # each later version changes a value (one holding the same values is refused)
    with pytest.raises(ConflictError, match="version 2 of this screening record was stored"):
        patients.submit_screening_record(
            session=session,
            actor=actor,
            patient_id=patient.id,
            data=data | {"ecog": 2},
            reason="typo",
        )
    monkeypatch.undo()
    # nothing of the refused request was stored or audited, and the session is still usable
    stored = patients.list_screening_records(session=session, actor=actor, patient_id=patient.id)
    assert [(r.version, r.reason) for r in stored] == [
        (1, None),
        (2, "the other request's correction"),
    ]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    third = patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=data | {"ecog": 3}, reason="typo"
    )
    assert third.version == 3
    assert audit.verify_trail(session=session).intact
