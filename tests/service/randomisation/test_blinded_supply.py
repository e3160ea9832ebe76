"""Blinded supply in the service: what a site can observe of resupply and of refusals depends
on nothing arm-derived (each test names the requirement it proves)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    SYSTEM,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from trialkit.errors import ConflictError, SupplyError, SupplyShortError
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.randomisation import randomisation, supply
from trialkit.service.randomisation.tables.randomisation import StratumCounter
from trialkit.service.randomisation.tables.supply import (
    InventoryKit,
    KitListEntry,
    ResupplyRequest,
)
from trialkit.service.trials.tables import Site


@dataclass(frozen=True)
class Setting:
    trial: TrialView
    sites: tuple[SiteView, SiteView]
    investigators: tuple[Principal, Principal]
    pharmacists: tuple[Principal, Principal]


@pytest.fixture
def world(session: Session, security: Security) -> Setting:
    trial = make_trial(session)
    sites = (make_site(session, trial, country="DE"), make_site(session, trial, country="DE"))
    seal_trial(session, trial)
    for site in sites:
        stock_site(session, trial, site)

    def who(role: Role, at: SiteView) -> Principal:
        return principal(session, security, make_user(session, security, trial, role, site=at))

    return Setting(
        trial,
        sites,
        (who(Role.INVESTIGATOR, sites[0]), who(Role.INVESTIGATOR, sites[1])),
        (who(Role.PHARMACIST, sites[0]), who(Role.PHARMACIST, sites[1])),
    )


def _row(session: Session, site: SiteView) -> Site:
    row = session.get(Site, site.id)
    assert row is not None
    return row


def _observed(session: Session, pharmacist: Principal, w: Setting, site: SiteView) -> object:
    """All a site's pharmacist sees of supply: requests (kits, state) and kits by status."""
    requests = supply.list_resupply_requests(session=session, actor=pharmacist, trial_id=w.trial.id)
    kits = supply.list_site_kits(session=session, actor=pharmacist, site_id=site.id)
    statuses = sorted(k.status for k in kits)
    return [(len(r.kit_numbers), r.complete, r.shipment_id is None) for r in requests], statuses


def test_a_site_sees_resupply_raised_and_sized_by_its_total_consumption_never_its_arm_mix(
    session: Session, world: Setting
) -> None:
    """Two sites consume the same number of kits, one all of one arm, one alternating: after
    every dispensing they see the same requests, raised at the same time, of the same size."""
    mixes = ("A" * 14, "AB" * 7)
    traces: list[list[object]] = [[], []]
    for i, (site, mix) in enumerate(zip(world.sites, mixes, strict=True)):
        row = _row(session, site)
        for arm in mix:
            supply.take_kit(
                session,
                trial_id=world.trial.id,
                site=row,
                arm=arm,
                on_date=ENROLMENT_DAY,
                what="given a kit",
            )
            request = supply.raise_resupply(
                session, trial_id=world.trial.id, site=row, on_date=ENROLMENT_DAY
            )
            traces[i].append(_observed(session, world.pharmacists[i], world, site))
            if request is not None:  # shipped and received at once
                shipment = supply.ship_resupply(
                    session=session, actor=SYSTEM, request_id=request.id, today=ENROLMENT_DAY
                )
                supply.receive_shipment(
                    session=session,
                    actor=world.pharmacists[i],
                    shipment_id=shipment.id,
                    today=ENROLMENT_DAY,
                )
    assert traces[0] == traces[1]
    # raised when the total fell below 16, holding what was consumed since the site was full
    requests = [
        len(r.kit_numbers)
        for r in supply.list_resupply_requests(
            session=session, actor=world.pharmacists[0], trial_id=world.trial.id
        )
    ]
    assert requests == [20, 5, 5]  # the first stock, then after the 5th and the 10th kit
    assert [len(t[0]) for t in traces[0]] == [1] * 4 + [2] * 5 + [3] * 5  # type: ignore[index]


def _only_arm(session: Session, trial_id: int, site: SiteView, arm: str) -> None:
    """Damage every kit at the site that is not of ``arm`` (so it holds one arm only)."""
    others = select(KitListEntry.number).where(
        KitListEntry.trial_id == trial_id, KitListEntry.arm != arm
    )
    session.execute(
        update(InventoryKit)
        .where(InventoryKit.site_id == site.id, InventoryKit.number.in_(others))
        .values(status="damaged")
    )


def _restore(session: Session, site: SiteView) -> None:
    session.execute(
        update(InventoryKit)
        .where(InventoryKit.site_id == site.id, InventoryKit.status == "damaged")
        .values(status="available")
    )


def test_randomisation_is_refused_alike_without_a_slot_unless_the_site_holds_every_arm(
    session: Session, world: Setting
) -> None:
    """A site holding kits of one arm only refuses every patient with the same message, before
    the list is touched: the refusal cannot hint at the arm the patient would have drawn."""
    site, investigator = world.sites[0], world.investigators[0]
    patient = make_eligible_patient(session, investigator, site)
    messages = set()
    for arm in ("A", "B"):
        _only_arm(session, world.trial.id, site, arm)
        with pytest.raises(SupplyError) as refused:
            randomisation.randomise(
                session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
            )
        messages.add(str(refused.value))
        _restore(session, site)
    (message,) = messages
    assert "whichever treatment a patient receives" in message
    assert all(word not in message.lower() for word in ("sorafenib", "placebo", "arm a", "arm b"))
    used = session.scalars(select(StratumCounter.used)).all()
    assert set(used) == {0}  # no slot taken
    view = randomisation.randomise(
        session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
    )
    assert view.randomisation_number


def test_a_later_cycle_is_refused_alike_unless_the_site_holds_every_arm(
    session: Session, world: Setting
) -> None:
    site = world.sites[0]
    patient = make_eligible_patient(session, world.investigators[0], site)
    randomisation.randomise(
        session=session, actor=world.investigators[0], patient_id=patient.id, on_date=ENROLMENT_DAY
    )
    messages = set()
    for arm in ("A", "B"):  # one of them is the patient's arm: dispensing it used to succeed
        _only_arm(session, world.trial.id, site, arm)
        with pytest.raises(SupplyError) as refused:
            supply.dispense(
                session=session,
                actor=world.pharmacists[0],
                patient_id=patient.id,
                cycle=2,
                on_date=ENROLMENT_DAY + dt.timedelta(days=28),  # cycle 2 is due
            )
        messages.add(str(refused.value).replace("randomised", "given a kit"))
        _restore(session, site)
    assert len(messages) == 1


def test_a_request_the_depot_cannot_fill_for_every_arm_mix_waits_with_no_kits(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial, kits=24)  # 12 per arm: 2 left at the depot after the first 10
    stock_site(session, trial, site)
    row = _row(session, site)
    kits = session.scalars(
        select(InventoryKit).where(InventoryKit.site_id == site.id).order_by(InventoryKit.number)
    ).all()
    for kit in kits[:5]:
        kit.status = "dispensed"
    request = supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=ENROLMENT_DAY)
    assert request is not None
    assert (request.kit_numbers, request.complete) == ([], False)
    assert (
        supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=ENROLMENT_DAY) is None
    )
    with pytest.raises(ConflictError, match="cannot be filled yet"):
        supply.ship_resupply(
            session=session,
            actor=principal(
                session, security, make_user(session, security, trial, Role.ADMINISTRATOR)
            ),
            request_id=request.id,
            today=ENROLMENT_DAY + dt.timedelta(days=1),
        )


def test_kits_about_to_expire_are_replaced_while_dispensable_whatever_their_arm(
    session: Session, world: Setting
) -> None:
    """Expiry lowers the stock a site counts (it reads the dates on its kits), so a request
    comes when five kits near expiry, of one arm or of both, sized to replace them, while
    they can still be dispensed for a cycle."""
    soon = ENROLMENT_DAY + dt.timedelta(
        days=supply.cover_days(session, world.trial.id) + supply.RESUPPLY_LEAD_DAYS - 1
    )
    arm_of = dict(session.execute(select(KitListEntry.number, KitListEntry.arm)).all())
    sizes = []
    for site, arms in zip(world.sites, ("AAAAA", "AABBB"), strict=True):
        kits = session.scalars(
            select(InventoryKit)
            .where(InventoryKit.site_id == site.id, InventoryKit.status == "available")
            .order_by(InventoryKit.number)
        ).all()
        for arm in arms:
            kit = next(k for k in kits if arm_of[k.number] == arm and k.expiry != soon)
            kit.expiry = soon
        request = supply.raise_resupply(
            session, trial_id=world.trial.id, site=_row(session, site), on_date=ENROLMENT_DAY
        )
        assert request is not None
        sizes.append(len(request.kit_numbers))
        supply.require_every_arm(  # the expiring kits are still dispensable: no refusal
            session, trial_id=world.trial.id, site=_row(session, site), on_date=ENROLMENT_DAY,
            what="randomised",
        )  # fmt: skip
    assert sizes == [5, 5]


def test_a_refused_randomisation_keeps_the_resupply_request_its_shortage_raised(
    db: Database, security: Security
) -> None:
    """Kits of one arm passing the expiry horizon, with no dispensing at the site, leave it
    short: the randomisation is refused, but the request that shortage raised is committed
    with the refusal (else every attempt would raise it and roll it back, and the site would
    never be resupplied); nothing else of the attempt is kept."""
    with transaction(db) as session:
        trial = make_trial(session)
        site = make_site(session, trial, country="DE")
        seal_trial(session, trial)
        stock_site(session, trial, site)
        investigator = principal(
            session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        )
        patient = make_eligible_patient(session, investigator, site)
        arm_b = select(KitListEntry.number).where(
            KitListEntry.trial_id == trial.id, KitListEntry.arm == "B"
        )
        session.execute(  # every B kit now expires inside the dispensing cover
            update(InventoryKit)
            .where(InventoryKit.site_id == site.id, InventoryKit.number.in_(arm_b))
            .values(expiry=ENROLMENT_DAY + dt.timedelta(days=supply.cover_days(session, trial.id)))
        )
        before = len(session.scalars(select(ResupplyRequest.id)).all())
    with pytest.raises(SupplyShortError), transaction(db) as session:
        randomisation.randomise(
            session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
    with transaction(db) as session:
        pending = session.scalars(
            select(ResupplyRequest).where(ResupplyRequest.shipment_id.is_(None))
        ).all()
        assert len(session.scalars(select(ResupplyRequest.id)).all()) == before + 1
        assert [r.site_id for r in pending] == [site.id]
        assert set(session.scalars(select(StratumCounter.used)).all()) == {0}
    # asked again while the request is pending: the same refusal, nothing new to keep
    with pytest.raises(SupplyError) as again, transaction(db) as session:
        randomisation.randomise(
            session=session, actor=investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
    assert not isinstance(again.value, SupplyShortError)
    with transaction(db) as session:
        assert len(session.scalars(select(ResupplyRequest.id)).all()) == before + 1


def test_a_kit_expiring_within_the_protocols_study_drug_cycle_is_never_dispensed(
    session: Session, world: Setting
) -> None:
    """A kit lasts one study-drug cycle (SOR: 28 days, 112 tablets at 4 a day), so one that
    expires within it is never dispensed: the cover is the protocol's cycle, not a constant."""
    cycle = supply.cover_days(session, world.trial.id)
    protocol = load_protocol("sor")
    assert protocol.study_drug is not None
    assert cycle == protocol.study_drug.cycle_days == 28
    site = world.sites[0]
    arm_a = select(KitListEntry.number).where(
        KitListEntry.trial_id == world.trial.id, KitListEntry.arm == "A"
    )
    kits = session.scalars(
        select(InventoryKit)
        .where(
            InventoryKit.site_id == site.id,
            InventoryKit.status == "available",
            InventoryKit.number.in_(arm_a),
        )
        .order_by(InventoryKit.number)
    ).all()
    lasting = kits[0]
    for kit in kits[1:]:  # inside the cycle, but after a 21-day one: first-expiry-first-out
        kit.expiry = ENROLMENT_DAY + dt.timedelta(days=cycle)
    lasting.expiry = ENROLMENT_DAY + dt.timedelta(days=cycle + 1)
    session.flush()
    taken = supply.take_kit(
        session, trial_id=world.trial.id, site=_row(session, site), arm="A", on_date=ENROLMENT_DAY,
        what="given a kit",
    )  # fmt: skip
    assert taken.number == lasting.number
    with pytest.raises(SupplyError):  # none left that lasts the cycle: refused, whatever the arm
        supply.require_every_arm(
            session, trial_id=world.trial.id, site=_row(session, site), on_date=ENROLMENT_DAY,
            what="randomised",
        )  # fmt: skip
