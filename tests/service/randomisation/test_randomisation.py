"""Randomisation in the service: sealing, verification, the one-transaction use case, refusals,
blinded supply, emergency unblinding and reports (each test names the requirement it proves)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    SYSTEM,
    example_record,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PasswordRefusedError,
    PermissionDenied,
    RandomisationError,
)
from trialkit.service.platform import auth, notify
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.notifications import Notification
from trialkit.service.platform.tables.people import User
from trialkit.service.platform.views import (
    RandomisationView,
    SiteView,
    TrialView,
    UnblindedRandomisationView,
)
from trialkit.service.randomisation import allocation, randomisation, reports, supply
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSeal,
    AllocationSlot,
    StratumCounter,
    Unblinding,
)
from trialkit.service.randomisation.tables.supply import KitListEntry
from trialkit.service.screening import patients


@dataclass(frozen=True)
class Setting:
    trial: TrialView
    site: SiteView
    other: SiteView
    investigator: Principal
    pharmacist: Principal
    dsmb: Principal
    monitor: Principal


@pytest.fixture
def world(session: Session, security: Security) -> Setting:
    trial = make_trial(session)
    site, other = make_site(session, trial, country="DE"), make_site(session, trial)
    seal_trial(session, trial)
    stock_site(session, trial, site)

    def who(role: Role, at: SiteView | None) -> Principal:
        return principal(session, security, make_user(session, security, trial, role, site=at))

    return Setting(
        trial,
        site,
        other,
        who(Role.INVESTIGATOR, site),
        who(Role.PHARMACIST, site),
        who(Role.DSMB_MEMBER, None),
        who(Role.MONITOR, None),
    )


def _randomise(session: Session, w: Setting, patient_id: int) -> RandomisationView:
    return randomisation.randomise(
        session=session, actor=w.investigator, patient_id=patient_id, on_date=ENROLMENT_DAY
    )


def _slots(session: Session, trial_id: int, stratum: str) -> list[AllocationSlot]:
    return list(
        session.scalars(
            select(AllocationSlot)
            .where(AllocationSlot.trial_id == trial_id, AllocationSlot.stratum == stratum)
            .order_by(AllocationSlot.sequence)
        )
    )


def test_seal_stores_lists_records_hashes_and_never_the_seed(
    session: Session, world: Setting
) -> None:
    seal = session.get(AllocationSeal, world.trial.id)
    assert seal is not None
    assert len(seal.seed) == 32
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "allocation_list")).all()
    values = {e.field: e.new_value for e in events}
    assert values["list_hash"] == seal.list_hash
    assert values["kit_list_hash"] == seal.kit_list_hash
    text = json.dumps([e.as_dict() for e in events])
    assert seal.seed.hex() not in text
    with pytest.raises(ConflictError, match="sealed already"):
        seal_trial(session, world.trial)
    assert allocation.verify_sealed(session=session, actor=SYSTEM, trial_id=world.trial.id).verified


def test_E9_stratified_blocks_in_service(session: Session, world: Setting) -> None:  # noqa: N802
    """Patients of one stratum take its slots in order: the sealed permuted blocks, no gap."""
    views = [
        _randomise(
            session, world, make_eligible_patient(session, world.investigator, world.site).id
        )
        for _ in range(8)
    ]
    stratum = views[0].stratum
    assert stratum == "endocrine/DE"
    slots = _slots(session, world.trial.id, stratum)[:8]
    assert [v.randomisation_number for v in views] == [s.randomisation_number for s in slots]
    # every completed block is balanced 1:1
    blocks: dict[int, list[str]] = {}
    for s in slots:
        blocks.setdefault(s.block, []).append(s.arm)
    for number, arms in blocks.items():
        size = next(s.block_size for s in slots if s.block == number)
        if len(arms) == size:
            assert arms.count("A") == arms.count("B")
    counter = session.get(StratumCounter, (world.trial.id, stratum))
    assert counter is not None
    assert counter.used == 8


def test_randomisation_response_gives_number_kit_therapy_and_calendar(
    session: Session, world: Setting
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    view = _randomise(session, world, patient.id)
    assert type(view) is RandomisationView
    assert view.kit_number is not None
    assert view.background_therapy == "endocrine"
    assert view.treatment_calendar[0].earliest == ENROLMENT_DAY
    assert view.randomised_at.tzinfo is not None
    # the kit given is of the patient's arm (checked here through the sealed tables)
    slot = _slots(session, world.trial.id, view.stratum)[0]
    kit_arm = session.scalar(select(KitListEntry.arm).where(KitListEntry.number == view.kit_number))
    assert kit_arm == slot.arm


def test_concealed_block_size_and_no_arm_in_any_blinded_response(
    session: Session, world: Setting
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    view = _randomise(session, world, patient.id)
    for forbidden in ("arm", "arm_label", "block", "block_size", "sequence"):
        assert forbidden not in type(view).model_fields
    for actor in (world.investigator, world.pharmacist, world.monitor):
        seen = randomisation.get_randomisation(session=session, actor=actor, patient_id=patient.id)
        assert type(seen) is RandomisationView
        dumped = seen.model_dump_json().lower()
        assert 'sorafenib"' not in dumped
        assert 'placebo"' not in dumped
        assert '"arm"' not in dumped
    unblinded = randomisation.get_randomisation(
        session=session, actor=world.dsmb, patient_id=patient.id
    )
    assert isinstance(unblinded, UnblindedRandomisationView)
    assert unblinded.arm in {"A", "B"}
    shown = patients.get_patient(session=session, actor=world.dsmb, patient_id=patient.id)
    assert shown.model_dump()["arm"] == unblinded.arm
    # the audit trail (read by blinded administrators) holds no arm either
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "randomisation")).all()
    assert {e.field for e in events} >= {"randomisation_number", "stratum", "kit_number"}
    assert not {e.field for e in events} & {"arm", "block", "block_size", "sequence"}


def test_randomise_refusals_name_the_missing_step(
    session: Session, security: Security, world: Setting
) -> None:
    inv = world.investigator
    unconsented = make_eligible_patient(session, inv, world.site, consent=False)
    with pytest.raises(ConflictError, match="consent"):
        _randomise(session, world, unconsented.id)

    unevaluated = patients.register_patient(
        session=session, actor=inv, site_id=world.site.id, screening_number="U-1"
    )
    with pytest.raises(ConflictError, match="not been evaluated"):
        _randomise(session, world, unevaluated.id)

    undecided = patients.register_patient(
        session=session, actor=inv, site_id=world.site.id, screening_number="U-2"
    )
    record = example_record()
    del record["labs"]["anc"]
    patients.submit_screening_record(
        session=session, actor=inv, patient_id=undecided.id, data=record
    )
    patients.evaluate_eligibility(session=session, actor=inv, patient_id=undecided.id)
    with pytest.raises(ConflictError, match="not every eligibility criterion is decided"):
        _randomise(session, world, undecided.id)

    stale = make_eligible_patient(session, inv, world.site)
    corrected = example_record()
    corrected["body"]["weight_kg"] += 1  # a correction changes a value
    patients.submit_screening_record(
        session=session, actor=inv, patient_id=stale.id, data=corrected, reason="typo"
    )
    with pytest.raises(ConflictError, match="evaluate it again"):
        _randomise(session, world, stale.id)

    done = make_eligible_patient(session, inv, world.site)
    _randomise(session, world, done.id)
    with pytest.raises(ConflictError, match="randomised already"):
        _randomise(session, world, done.id)

    fresh = make_eligible_patient(session, inv, world.site)
    with pytest.raises(ConflictError, match="enrolment in SOR is closed"):
        randomisation.randomise(
            session=session, actor=inv, patient_id=fresh.id, on_date=dt.date(2011, 1, 1)
        )
    with pytest.raises(PermissionDenied):
        randomisation.randomise(
            session=session, actor=world.pharmacist, patient_id=fresh.id, on_date=ENROLMENT_DAY
        )
    elsewhere = principal(
        session,
        security,
        make_user(session, security, make_trial_ref(world), Role.INVESTIGATOR, site=world.other),
    )
    with pytest.raises(NotFoundError):
        randomisation.randomise(
            session=session, actor=elsewhere, patient_id=fresh.id, on_date=ENROLMENT_DAY
        )


def make_trial_ref(w: Setting) -> TrialView:
    return w.trial


def test_randomisation_refused_when_the_stored_list_differs_from_the_seed(
    session: Session, world: Setting
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    first = _slots(session, world.trial.id, "endocrine/DE")[0]
    session.execute(
        update(AllocationSlot)
        .where(AllocationSlot.id == first.id)
        .values(arm="B" if first.arm == "A" else "A")
    )
    with pytest.raises(RandomisationError, match="differs from the sealed list") as caught:
        _randomise(session, world, patient.id)
    assert "arm" not in str(caught.value).replace("randomisation", "")
    report = allocation.verify_sealed(session=session, actor=SYSTEM, trial_id=world.trial.id)
    assert not report.verified
    assert "its arm is not the regenerated one" in (report.problem or "")
    # read by a blinded administrator: neither the stored nor the regenerated arm
    assert not {"A", "B"} & set((report.problem or "").replace(")", " ").split())


def test_exhausted_stratum_is_extended_from_a_fresh_stream_and_audited(
    session: Session, world: Setting
) -> None:
    counter = session.get(StratumCounter, (world.trial.id, "endocrine/DE"))
    assert counter is not None
    before = counter.slots
    counter.used = counter.slots  # as if every slot had been used
    session.flush()
    patient = make_eligible_patient(session, world.investigator, world.site)
    view = _randomise(session, world, patient.id)
    slot = _slots(session, world.trial.id, "endocrine/DE")[before]
    assert (slot.sequence, slot.extension) == (before + 1, 1)
    assert view.randomisation_number == slot.randomisation_number
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "extend")).first() is not None
    )
    assert allocation.verify_sealed(session=session, actor=SYSTEM, trial_id=world.trial.id).verified


def test_one_patient_emergency_unblinding(
    session: Session, security: Security, world: Setting
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    other = make_eligible_patient(session, world.investigator, world.site)
    _randomise(session, world, patient.id)
    _randomise(session, world, other.id)

    def unblind(actor: Principal, password: str = PASSWORD, reason: str = "anaphylaxis") -> object:
        return randomisation.emergency_unblind(
            session=session,
            security=security,
            actor=actor,
            patient_id=patient.id,
            password=password,
            reason=reason,
        )

    with pytest.raises(AuthenticationError):
        unblind(world.investigator, password="wrong")
    with pytest.raises(InputError):
        unblind(world.investigator, reason="  ")
    with pytest.raises(PermissionDenied):
        unblind(world.pharmacist)
    shown = randomisation.emergency_unblind(
        session=session,
        security=security,
        actor=world.investigator,
        patient_id=patient.id,
        password=PASSWORD,
        reason="severe hepatotoxicity; treating physician must know",
    )
    truth = randomisation.get_randomisation(
        session=session, actor=world.dsmb, patient_id=patient.id
    )
    assert isinstance(truth, UnblindedRandomisationView)
    assert shown.arm == truth.arm
    # that patient only, that response only
    for pid in (patient.id, other.id):
        again = randomisation.get_randomisation(
            session=session, actor=world.investigator, patient_id=pid
        )
        assert type(again) is RandomisationView
    note = session.scalars(
        select(Notification).where(Notification.kind == "emergency_unblinding")
    ).one()
    assert note.recipient == "monitor, safety_physician"
    assert world.monitor.user_id in notify.recipients_of(session, note.id)
    assert "hepatotoxicity" in note.body
    assert shown.arm_label not in note.body
    assert shown.arm_label not in note.subject
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "emergency_unblinding")
    ).all()
    assert events
    assert all(e.reason and "hepatotoxicity" in e.reason for e in events)
    assert shown.arm_label not in json.dumps([e.as_dict() for e in events])


def test_dispensing_later_cycles_gives_a_kit_of_the_same_arm_fefo(
    session: Session, world: Setting
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    view = _randomise(session, world, patient.id)
    due = ENROLMENT_DAY + dt.timedelta(days=28)  # SOR: 28-day study-drug cycles
    given = supply.dispense(
        session=session,
        actor=world.pharmacist,
        patient_id=patient.id,
        cycle=2,
        on_date=due,
    )
    arm_of = dict(session.execute(select(KitListEntry.number, KitListEntry.arm)).all())
    assert arm_of[given.kit_number] == arm_of[view.kit_number or 0]
    with pytest.raises(ConflictError, match="dispensed already"):
        supply.dispense(
            session=session,
            actor=world.pharmacist,
            patient_id=patient.id,
            cycle=2,
            on_date=due,
        )
    with pytest.raises(PermissionDenied):
        supply.dispense(
            session=session,
            actor=world.investigator,
            patient_id=patient.id,
            cycle=3,
            on_date=ENROLMENT_DAY,
        )
    kits = supply.list_site_kits(session=session, actor=world.pharmacist, site_id=world.site.id)
    assert {k.number for k in kits if k.status == "dispensed"} == {
        view.kit_number,
        given.kit_number,
    }
    assert all("arm" not in k.model_dump() for k in kits)


def test_resupply_below_threshold_lists_kit_numbers_only_and_tops_up_every_arm(
    session: Session, world: Setting
) -> None:
    # the site starts with every arm at the target (10 + 10 = 20 kits); SOR's threshold is 16
    assert supply.site_threshold(2) == 16
    for n in range(1, 6):
        _randomise(
            session, world, make_eligible_patient(session, world.investigator, world.site).id
        )
        requests = supply.list_resupply_requests(
            session=session, actor=world.pharmacist, trial_id=world.trial.id
        )
        pending = [r for r in requests if r.shipment_id is None]
        assert len(pending) == (1 if n == 5 else 0)  # raised when 15 kits are left
    assert set(pending[0].model_dump()) == {
        "id",
        "site_id",
        "kit_numbers",
        "complete",
        "raised_at",
        "shipment_id",
    }
    # as many kits as were dispensed, whatever their arms; every arm back at the target
    assert len(pending[0].kit_numbers) == 5
    assert pending[0].kit_numbers == sorted(pending[0].kit_numbers)
    arm_of = dict(session.execute(select(KitListEntry.number, KitListEntry.arm)).all())
    kits = supply.list_site_kits(session=session, actor=world.pharmacist, site_id=world.site.id)
    stock = [arm_of[k.number] for k in kits if k.status in {"available", "reserved"}]
    assert sorted(stock) == ["A"] * supply.RESUPPLY_TARGET + ["B"] * supply.RESUPPLY_TARGET


def test_reports_enrolment_blinded_and_arm_balance_unblinded_only(
    session: Session, world: Setting
) -> None:
    for _ in range(3):
        _randomise(
            session, world, make_eligible_patient(session, world.investigator, world.site).id
        )
    rows = reports.enrolment(session=session, actor=world.monitor, trial_id=world.trial.id)
    assert [(r.month, r.country, r.stratum, r.randomised) for r in rows] == [
        ("2008-03", "DE", "endocrine/DE", 3)
    ]
    assert all("arm" not in json.dumps(r.model_dump()) for r in rows)
    with pytest.raises(PermissionDenied):
        reports.arm_balance(session=session, actor=world.monitor, trial_id=world.trial.id)
    balance = reports.arm_balance(session=session, actor=world.dsmb, trial_id=world.trial.id)
    assert sum(balance[0].counts.values()) == 3
    assert balance[0].imbalance <= 2


def test_views_are_frozen_dataclass_free_of_arm_fields() -> None:
    assert not dataclasses.is_dataclass(RandomisationView)
    assert "arm" in UnblindedRandomisationView.model_fields


def test_adsl_carries_the_stratum_and_therapy_of_the_randomisation(
    session: Session, world: Setting
) -> None:
    """ADSL's STRATAR and BGTHER come from the randomisation record, never the arm."""
    from trialkit.service.capture import outcomes

    patient = make_eligible_patient(session, world.investigator, world.site)
    view = _randomise(session, world, patient.id)
    datasets = outcomes.derive_datasets(session=session, actor=SYSTEM, trial_id=world.trial.id)
    row = next(r for r in datasets.adsl if r.USUBJID.endswith(patient.screening_number))
    assert view.stratum == row.STRATAR
    assert view.background_therapy == row.BGTHER
    assert (row.ARM, row.ARMCD) == (None, None)


def test_wrong_passwords_on_the_unblinding_form_count_towards_the_lockout_and_are_audited(
    session: Session, security: Security, world: Setting
) -> None:
    """The password re-entry is a password check: wrong ones count with failed logins, lock
    the account as login does, and a locked account shows no arm even with the password."""
    patient = make_eligible_patient(session, world.investigator, world.site)
    _randomise(session, world, patient.id)
    username = world.investigator.username

    def unblind(password: str) -> PasswordRefusedError:
        with pytest.raises(PasswordRefusedError) as refused:
            randomisation.emergency_unblind(
                session=session,
                security=security,
                actor=world.investigator,
                patient_id=patient.id,
                password=password,
                reason="anaphylaxis",
            )
        return refused.value

    # failed logins and failed unblindings add up
    for _ in range(security.max_failed_logins - 2):
        with pytest.raises(PasswordRefusedError):
            auth.login(
                session=session, security=security, username=username, password="no", kind="bearer"
            )
    first = unblind("wrong")
    assert not first.locked
    assert first.message == "emergency unblinding refused: the password is wrong"
    last = unblind("wrong again")
    assert last.locked
    assert "locked" in last.message
    # locked: the right password shows no arm, and logging in is refused too
    locked = unblind(PASSWORD)
    assert locked.locked
    assert "locked" in locked.message
    with pytest.raises(PasswordRefusedError, match="locked"):
        auth.login(
            session=session, security=security, username=username, password=PASSWORD, kind="bearer"
        )
    assert session.scalars(select(Unblinding)).all() == []
    refused = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "emergency_unblinding_refused")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.reason for e in refused] == ["wrong password", "wrong password", "account locked"]
    counted = session.scalars(
        select(AuditEvent.reason).where(
            AuditEvent.entity == "user",
            AuditEvent.field == "failed_logins",
            AuditEvent.reason == "wrong password on the emergency unblinding form",
        )
    ).all()
    assert len(counted) == 2
    # when the lock ends, the right password unblinds and clears the count
    session.execute(update(User).where(User.username == username).values(locked_until=utcnow()))
    assert randomisation.emergency_unblind(
        session=session,
        security=security,
        actor=world.investigator,
        patient_id=patient.id,
        password=PASSWORD,
        reason="anaphylaxis",
    ).arm
