"""Electronic signatures and source data verification bind to record versions; changes undo them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.conftest import RANDOMISED_ON
from tests.factories import (
    PASSWORD,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.errors import InputError, NotFoundError, PasswordRefusedError, PermissionDenied
from trialkit.service.capture import capture, monitoring_visits, queries, sdv, signatures
from trialkit.service.platform import notify
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.notifications import Notification
from trialkit.service.platform.tables.people import User
from trialkit.service.platform.views import PatientView, SiteView
from trialkit.service.screening import patients

FULL_NAME = "Dr Anna Rossi"
MEANING = "I approve this data as accurate and complete"


@dataclass(frozen=True)
class Clinic:
    investigator: Principal
    monitor: Principal
    patient: PatientView
    other_patient: PatientView
    site: SiteView


@pytest.fixture
def clinic(session: Session, security: Security) -> Clinic:
    trial = make_trial(session)
    site = make_site(session, trial)
    seal_trial(session, trial)
    stock_site(session, trial, site)
    user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    session.execute(update(User).where(User.id == user.id).values(full_name=FULL_NAME))
    investigator = principal(session, security, user)
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))
    patient = randomise_patient(session, investigator, site, RANDOMISED_ON)
    other = randomise_patient(session, investigator, site, RANDOMISED_ON)
    return Clinic(investigator, monitor, patient, other, site)


AE: dict[str, Any] = {
    "term": "Hand-foot skin reaction",
    "grade": 2,
    "start_date": "2008-04-02",
    "serious": False,
    "relationship": "probable",
    "action_taken": "dose_reduced",
}


def _ae(session: Session, c: Clinic, data: dict[str, Any], **kw: Any) -> Any:
    return capture.record_form(
        session=session,
        actor=c.investigator,
        patient_id=c.patient.id,
        form=Form.ADVERSE_EVENT,
        data=data,
        **kw,
    )


def _sign(
    session: Session,
    security: Security,
    c: Clinic,
    scope: Any = "casebook",
    key: str = "",
    **kw: Any,
) -> signatures.SignatureView:
    given: dict[str, Any] = {"password": PASSWORD, "meaning": MEANING} | kw
    return signatures.sign(
        session=session,
        security=security,
        actor=c.investigator,
        patient_id=c.patient.id,
        scope=scope,
        scope_key=key,
        **given,
    )


def test_a_signature_binds_to_the_versions_signed_and_a_change_voids_it(
    session: Session, security: Security, clinic: Clinic
) -> None:
    ae = _ae(session, clinic, AE)
    signed = _sign(session, security, clinic)
    assert signed.signer_name == FULL_NAME
    assert signed.meaning == MEANING
    assert signed.valid
    assert signed.signed_at.tzinfo is not None
    bound = {(r["form"], r["record_key"]): r for r in signed.records}
    assert set(bound) == {
        ("screening", "screening"),
        ("consent", "consent"),
        ("randomisation", "randomisation"),
        ("adverse_event", ae.record_key),
    }
    assert bound[("adverse_event", ae.record_key)]["version"] == 1
    assert all(len(r["sha256"]) == 64 for r in signed.records)
    status = signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert status.complete
    assert not any(r.needs_signature for r in status.records)

    _ae(session, clinic, AE | {"grade": 3}, record_key=ae.record_key, reason="source says grade 3")
    status = signatures.casebook_signoff(
        session=session, actor=clinic.monitor, patient_id=clinic.patient.id
    )
    (void,) = status.signatures
    assert not void.valid
    assert (
        void.void_reason
        == f"Adverse event {ae.record_key} changed to version 2: source says grade 3"
    )
    assert not status.complete
    assert [(r.form, r.version) for r in status.records if r.needs_signature] == [
        ("screening", 1),
        ("consent", 1),
        ("randomisation", 1),
        ("adverse_event", 2),
    ]  # the casebook signature is void as a whole: the casebook needs signing again
    (needed,) = session.scalars(
        select(Notification).where(Notification.kind == notify.Kind.SIGNATURE_NEEDED)
    ).all()
    assert list(notify.recipients_of(session, needed.id)) == [clinic.investigator.user_id]
    assert needed.link == f"/patients/{clinic.patient.id}/casebook"
    assert f"adverse_event {ae.record_key}, version 2" in needed.body
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity == "signature").order_by(AuditEvent.seq)
    ).all()
    assert events[0] == "create"
    assert events[-1] == "void"
    listed = signatures.casebooks_to_sign(
        session=session, actor=clinic.investigator, site_id=clinic.site.id
    )
    assert [(p.patient_id, p.to_sign, p.signed_before) for p in listed] == [
        (clinic.patient.id, 4, True),
        (clinic.other_patient.id, 3, False),
    ]
    again = _sign(session, security, clinic)
    assert again.valid
    assert {r["version"] for r in again.records if r["form"] == "adverse_event"} == {2}


def test_a_form_signature_covers_that_record_only_and_cannot_be_moved(
    session: Session, security: Security, clinic: Clinic
) -> None:
    first = _ae(session, clinic, AE)
    second = _ae(session, clinic, AE | {"term": "Diarrhoea"})
    signed = _sign(session, security, clinic, "form", f"adverse_event/{first.record_key}")
    assert [(r["form"], r["record_key"]) for r in signed.records] == [
        ("adverse_event", first.record_key)
    ]
    _ae(session, clinic, AE | {"grade": 1}, record_key=second.record_key, reason="typo")
    status = signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert status.signatures[0].valid  # another record's change leaves it standing
    needs = {r.record_key for r in status.records if r.needs_signature}
    assert first.record_key not in needs
    assert second.record_key in needs
    # the other patient's casebook is not covered by this patient's signature
    other = signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.other_patient.id
    )
    assert other.signatures == []
    assert all(r.needs_signature for r in other.records)
    with pytest.raises(NotFoundError, match="FORM/RECORD_KEY"):
        _sign(session, security, clinic, "form", "adverse_event/AE-99")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        _sign(session, security, clinic, "visit", "last tuesday")
    visit = _sign(session, security, clinic, "visit", "2008-04-02")
    assert {r["form"] for r in visit.records} == {"adverse_event"}


def test_signing_needs_the_password_and_wrong_ones_count_towards_the_lock_out(
    session: Session, security: Security, clinic: Clinic
) -> None:
    with pytest.raises(InputError, match="meaning"):
        _sign(session, security, clinic, meaning="  ")
    for _ in range(security.max_failed_logins - 1):
        with pytest.raises(PasswordRefusedError, match="password is wrong") as refused:
            _sign(session, security, clinic, password="not it")
        assert not refused.value.locked
    with pytest.raises(PasswordRefusedError, match="locked") as refused:
        _sign(session, security, clinic, password="not it")
    assert refused.value.locked
    with pytest.raises(PasswordRefusedError, match="locked"):
        _sign(session, security, clinic)  # locked: even the right password signs nothing
    assert (
        signatures.casebook_signoff(
            session=session, actor=clinic.investigator, patient_id=clinic.patient.id
        ).signatures
        == []
    )
    assert (
        len(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "signature_refused")
            ).all()
        )
        == security.max_failed_logins + 1
    )
    with pytest.raises(PermissionDenied):  # a monitor may not sign a casebook
        signatures.sign(
            session=session,
            security=security,
            actor=clinic.monitor,
            patient_id=clinic.patient.id,
            scope="casebook",
            password=PASSWORD,
            meaning=MEANING,
        )


def test_a_change_outside_the_capture_forms_is_found_by_its_hash(
    session: Session, security: Security, clinic: Clinic
) -> None:
    """A consent correction (screening slice, below capture) voids the signature covering it,
    and resets its verification, found when the casebook is read."""
    _sign(session, security, clinic)
    sdv.verify(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        form="consent",
        record_key="consent",
    )
    patients.record_consent(
        session=session,
        actor=clinic.investigator,
        patient_id=clinic.patient.id,
        consent_date=RANDOMISED_ON - dt.timedelta(days=2),
        information_sheet_version="1.1",
        reason="the sheet signed was version 1.1",
        today=RANDOMISED_ON,
    )
    status = signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert not status.signatures[0].valid
    assert status.signatures[0].void_reason == "consent consent changed (version 2)"
    assert not _sdv(session, clinic)[("consent", "consent")].verified


def test_the_protocol_requires_its_own_signature_for_some_forms(
    session: Session, security: Security, clinic: Clinic
) -> None:
    death = capture.record_form(
        session=session,
        actor=clinic.investigator,
        patient_id=clinic.patient.id,
        form=Form.DEATH,
        data={"date": "2009-01-10", "cause": "progression"},
    )
    _sign(session, security, clinic)
    status = signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert "death" in status.signature_per_form
    (needs,) = [r for r in status.records if r.needs_signature]
    assert needs.form == "death"
    assert needs.why == "the protocol requires this form's own signature"
    _sign(session, security, clinic, "form", f"death/{death.record_key}")
    assert signatures.casebook_signoff(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    ).complete


def _sdv(session: Session, c: Clinic) -> dict[tuple[str, str], sdv.RecordSdvView]:
    view = sdv.patient_sdv(session=session, actor=c.monitor, patient_id=c.patient.id)
    return {(r.form, r.record_key): r for r in view.records}


def test_source_verification_resets_when_the_verified_data_change(
    session: Session, clinic: Clinic
) -> None:
    ae = _ae(session, clinic, AE)
    key = ("adverse_event", ae.record_key)
    sdv.verify(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        form="adverse_event",
        record_key=ae.record_key,
        items=["grade", "term"],
    )
    assert _sdv(session, clinic)[key].verified_items == ["grade", "term"]
    assert not _sdv(session, clinic)[key].verified  # two items of six
    # a change to another item leaves both marks; a change to the grade resets its mark only
    _ae(session, clinic, AE | {"relationship": "possible"}, record_key=ae.record_key, reason="r")
    assert _sdv(session, clinic)[key].verified_items == ["grade", "term"]
    _ae(session, clinic, AE | {"grade": 3}, record_key=ae.record_key, reason="grade 3 in notes")
    assert _sdv(session, clinic)[key].verified_items == ["term"]
    # the whole record, then any change resets it, with the reason
    sdv.verify(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        form="adverse_event",
        record_key=ae.record_key,
    )
    assert _sdv(session, clinic)[key].verified
    _ae(session, clinic, AE | {"grade": 4}, record_key=ae.record_key, reason="worse")
    record = _sdv(session, clinic)[key]
    assert not record.verified
    assert record.reset_reason == f"Adverse event {ae.record_key} changed to version 4: worse"
    resets = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "source_verification", AuditEvent.action == "reset"
        )
    ).all()
    assert len(resets) == 2
    with pytest.raises(InputError, match="no item 'colour'"):
        sdv.verify(
            session=session,
            actor=clinic.monitor,
            patient_id=clinic.patient.id,
            form="adverse_event",
            record_key=ae.record_key,
            items=["colour"],
        )
    with pytest.raises(InputError, match="name the items verified"):
        sdv.verify(
            session=session,
            actor=clinic.monitor,
            patient_id=clinic.patient.id,
            form="adverse_event",
            record_key=ae.record_key,
            items=[],
        )
    with pytest.raises(PermissionDenied):  # an investigator does not verify her own data
        sdv.verify(
            session=session,
            actor=clinic.investigator,
            patient_id=clinic.patient.id,
            form="adverse_event",
            record_key=ae.record_key,
        )


def test_the_work_list_follows_the_protocols_sdv_plan(session: Session, clinic: Clinic) -> None:
    serious = _ae(session, clinic, AE | {"serious": True, "term": "Neutropenic fever"})
    work = sdv.work_list(session=session, actor=clinic.monitor, trial_id=clinic.site.trial_id)
    assert "serious adverse events" in work.plan
    assert work.sample_fraction == 0.2
    listed = {(i.patient_id, i.form, i.record_key): i.required for i in work.items}
    for patient in (clinic.patient, clinic.other_patient):
        assert (
            listed[(patient.id, "screening", "screening")] == "eligibility (the screening record)"
        )
        assert listed[(patient.id, "consent", "consent")] == "informed consent"
        assert listed[(patient.id, "randomisation", "randomisation")] == "randomisation"
    assert (
        listed[(clinic.patient.id, "adverse_event", serious.record_key)] == "serious adverse events"
    )
    # a whole visit (the records dated that day) verified at once leaves the list
    sdv.verify(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        visit_date=dt.date.fromisoformat(AE["start_date"]),
    )
    after = sdv.work_list(session=session, actor=clinic.monitor, trial_id=clinic.site.trial_id)
    assert (clinic.patient.id, "adverse_event", serious.record_key) not in {
        (i.patient_id, i.form, i.record_key) for i in after.items
    }
    assert after.verified == work.verified + 1
    assert after.required == work.required


def test_a_monitoring_visit_report_lists_the_work_and_is_signed(
    session: Session, security: Security, clinic: Clinic
) -> None:
    ae = _ae(session, clinic, AE)
    visit = monitoring_visits.open_visit(
        session=session, actor=clinic.monitor, site_id=clinic.site.id, visit_date=RANDOMISED_ON
    )
    sdv.verify(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        form="consent",
        record_key="consent",
        monitoring_visit_id=visit.id,
    )
    queries.raise_query(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        form=Form.ADVERSE_EVENT,
        record_key=ae.record_key,
        field="grade",
        message="The source notes say grade 3",
    )
    monitoring_visits.update_findings(
        session=session, actor=clinic.monitor, visit_id=visit.id, findings="ISF complete."
    )
    with pytest.raises(PasswordRefusedError):
        monitoring_visits.sign_visit(
            session=session,
            security=security,
            actor=clinic.monitor,
            visit_id=visit.id,
            password="nope",
            meaning="I confirm this report",
        )
    signed = monitoring_visits.sign_visit(
        session=session,
        security=security,
        actor=clinic.monitor,
        visit_id=visit.id,
        password=PASSWORD,
        meaning="I confirm this report",
    )
    assert signed.signed
    assert signed.signer_name
    assert signed.report_sha256
    assert [(v.form, v.item) for v in signed.verified] == [("consent", None)]
    assert [(q.field, q.message) for q in signed.queries] == [
        ("grade", "The source notes say grade 3")
    ]
    assert signed.findings == "ISF complete."
    with pytest.raises(Exception, match="fixed"):
        monitoring_visits.update_findings(
            session=session, actor=clinic.monitor, visit_id=visit.id, findings="later"
        )
    assert utcnow() >= signed.signed_at  # type: ignore[operator]
