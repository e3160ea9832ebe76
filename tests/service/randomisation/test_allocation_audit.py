"""The unblinded allocation audit: every slot in order with who took it, the hash and the
verification, for unblinded roles only (one service function for the API, the page, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    SYSTEM,
    login,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from trialkit.config import Settings
from trialkit.errors import PermissionDenied
from trialkit.service.app import create_app
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import UNBLINDED_ROLES, Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.views import TrialView
from trialkit.service.randomisation import allocation, randomisation, reports
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSeal,
    AllocationSlot,
    Randomisation,
)


@dataclass(frozen=True)
class Audited:
    trial: TrialView
    randomised: dict[int, int]  # patient id -> randomisation number


def _randomise_three(session: Session, security: Security) -> Audited:
    trial = make_trial(session)
    site = make_site(session, trial, code="IT01", country="IT")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    randomised = {}
    for _ in range(3):
        patient = make_eligible_patient(session, investigator, site)
        view = randomisation.randomise(
            session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
        randomised[patient.id] = view.randomisation_number
    return Audited(trial, randomised)


def _as(session: Session, security: Security, trial: TrialView, role: Role) -> Principal:
    return principal(session, security, make_user(session, security, trial, role))


def test_the_allocation_audit_shows_every_slot_in_order_with_who_took_it(
    session: Session, security: Security
) -> None:
    world = _randomise_three(session, security)
    dsmb = _as(session, security, world.trial, Role.DSMB_MEMBER)
    view = reports.allocation_audit(
        session=session, actor=dsmb, trial_id=world.trial.id, output="api"
    )
    seal = session.get(AllocationSeal, world.trial.id)
    assert seal is not None
    assert view.list_hash == seal.list_hash
    assert view.verification.verified
    assert view.verification == allocation.verify_sealed(
        session=session, actor=SYSTEM, trial_id=world.trial.id
    )
    stored = session.scalars(
        select(AllocationSlot).where(AllocationSlot.trial_id == world.trial.id)
    ).all()
    assert sum(s.slots for s in view.strata) == len(stored) == view.verification.slots
    assert [s.stratum for s in view.strata] == sorted({s.stratum for s in stored})
    by_key = {(s.stratum, s.sequence): s for s in stored}
    for stratum in view.strata:
        assert [r.sequence for r in stratum.rows] == list(range(1, stratum.slots + 1))
        for row in stratum.rows:
            slot = by_key[(stratum.stratum, row.sequence)]
            assert (row.block, row.block_size, row.arm, row.randomisation_number) == (
                slot.block,
                slot.block_size,
                slot.arm,
                slot.randomisation_number,
            )
            assert row.extension == 0
        assert stratum.gaps == []
        assert stratum.out_of_order == []
    used = [r for s in view.strata for r in s.rows if r.used]
    assert {r.patient_id: r.randomisation_number for r in used} == world.randomised
    assert all(r.site == "IT01" and r.randomised_on == ENROLMENT_DAY for r in used)
    assert all(r.screening_number for r in used)
    unused = [r for s in view.strata for r in s.rows if not r.used]
    assert unused
    assert all(r.patient_id is None and r.randomised_on is None for r in unused)
    # each look is in the audit trail, naming no arm
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == reports.AUDIT_ACTION)
    ).one()
    assert (event.entity, event.entity_id, event.role) == (
        "allocation_list",
        str(world.trial.id),
        "dsmb_member",
    )
    assert event.reason == "unblinded allocation audit (api); verified: True"


def test_the_allocation_audit_names_gaps_and_slots_used_out_of_order(
    session: Session, security: Security
) -> None:
    """A randomisation moved off its slot (slot 1 left unused, a later one taken) shows as a
    gap; verification still checks the list itself."""
    world = _randomise_three(session, security)
    first = session.scalars(
        select(Randomisation)
        .where(Randomisation.trial_id == world.trial.id)
        .order_by(Randomisation.id)
        .limit(1)
    ).one()
    later = session.scalars(
        select(AllocationSlot).where(
            AllocationSlot.trial_id == world.trial.id,
            AllocationSlot.stratum == first.stratum,
            AllocationSlot.sequence == 40,
        )
    ).one()
    session.execute(
        update(Randomisation).where(Randomisation.id == first.id).values(slot_id=later.id)
    )
    unblinded = _as(session, security, world.trial, Role.UNBLINDED_STATISTICIAN)
    view = reports.allocation_audit(
        session=session, actor=unblinded, trial_id=world.trial.id, output="cli"
    )
    (stratum,) = [s for s in view.strata if s.stratum == first.stratum]
    assert stratum.gaps
    assert stratum.gaps[0] == first.sequence
    assert 40 not in stratum.gaps
    assert stratum.rows[39].used
    assert not stratum.rows[first.sequence - 1].used


@pytest.mark.parametrize("role", sorted(set(Role) - UNBLINDED_ROLES))
def test_blinded_roles_are_refused_the_allocation_audit_with_the_reason(
    session: Session, security: Security, role: Role
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    seal_trial(session, trial)
    user = make_user(
        session,
        security,
        trial,
        role,
        site=site if role in {Role.INVESTIGATOR, Role.PHARMACIST} else None,
    )
    with pytest.raises(PermissionDenied, match="may not audit the allocation list") as caught:
        reports.allocation_audit(
            session=session,
            actor=principal(session, security, user),
            trial_id=trial.id,
            output="api",
        )
    assert "only unblinded roles may" in caught.value.message
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == reports.AUDIT_ACTION)).all()
        == []
    )


def test_the_api_gives_the_allocation_audit_to_unblinded_roles_and_403_to_others(
    settings: Settings, db: Database, security: Security
) -> None:
    with db.sessions.begin() as session:
        world = _randomise_three(session, security)
        tokens = {
            role: login(session, security, make_user(session, security, world.trial, role))
            for role in (Role.DSMB_MEMBER, Role.STATISTICIAN, Role.ADMINISTRATOR)
        }
    app = create_app(settings.model_copy(update={"calendar_date": ENROLMENT_DAY}), database=db)
    url = f"/api/trials/{world.trial.id}/allocation-audit"
    with TestClient(app, base_url="http://127.0.0.1") as client:
        shown = client.get(url, headers={"Authorization": f"Bearer {tokens[Role.DSMB_MEMBER]}"})
        assert shown.status_code == 200
        body = shown.json()
        assert body["verification"]["verified"] is True
        used = [r for s in body["strata"] for r in s["rows"] if r["used"]]
        assert sorted(r["randomisation_number"] for r in used) == sorted(world.randomised.values())
        for role in (Role.STATISTICIAN, Role.ADMINISTRATOR):
            refused = client.get(url, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert refused.status_code == 403
            assert "may not audit the allocation list" in refused.text
            assert '"arm"' not in refused.text
