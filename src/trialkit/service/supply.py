"""Blinded drug supply: site inventory, shipments, receipt, dispensing and resupply.

Kits leave the depot only through a resupply request: when a site's usable stock
of either arm (available, reserved for it or in transit to it, unexpired through
a cycle) falls below :data:`RESUPPLY_THRESHOLD`, every arm is brought back up to
:data:`RESUPPLY_TARGET` (as :func:`trialkit.randomization.resupply_needs` does),
so a request never singles out the arm that ran low; it lists kit numbers
only. The administrator ships a request, the site pharmacist receives it, and
kits are dispensed first-expiry-first-out without the arm ever being shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, NotFoundError, SupplyError
from trialkit.service import audit
from trialkit.service.policy import (
    Action,
    authorize,
    patient_or_absent,
    site_or_absent,
    site_scope,
)
from trialkit.service.principal import Grant, Principal
from trialkit.service.trials import get_site_or_raise, get_trial_or_raise, trial_protocol
from trialkit.service.views import DispensingView, KitView, ResupplyRequestView, ShipmentView
from trialkit.store.base import utcnow
from trialkit.store.patients import Patient
from trialkit.store.randomisation import AllocationSlot, Randomisation
from trialkit.store.supply import (
    Dispensing,
    InventoryKit,
    KitListEntry,
    ResupplyRequest,
    Shipment,
)
from trialkit.store.trials import Site

__all__ = [
    "COVER_DAYS",
    "RESUPPLY_TARGET",
    "RESUPPLY_THRESHOLD",
    "dispense",
    "list_resupply_requests",
    "list_site_kits",
    "raise_resupply",
    "receive_shipment",
    "ship_resupply",
]

COVER_DAYS = 21
"""A dispensed kit must not expire within one treatment cycle (SOR: 21-day cycles)."""
RESUPPLY_THRESHOLD = 2
"""A site is resupplied when any arm has fewer usable kits than this."""
RESUPPLY_TARGET = 6
"""Each arm is then brought up to this many usable kits."""
_STOCK = ("available", "reserved", "in_transit")


def _locked(session: Session, query: Select[InventoryKit]) -> Select[InventoryKit]:
    # PostgreSQL: skip kits another transaction is taking (any unexpired kit of the arm will
    # do, unlike slots, which must be used in order); SQLite serialises writers anyway
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=InventoryKit)
    return query


def _kits_of_arm(trial_id: int, arm: str) -> Select[InventoryKit]:
    return (
        select(InventoryKit)
        .join(
            KitListEntry,
            and_(
                KitListEntry.trial_id == InventoryKit.trial_id,
                KitListEntry.number == InventoryKit.number,
            ),
        )
        .where(InventoryKit.trial_id == trial_id, KitListEntry.arm == arm)
        .order_by(InventoryKit.expiry, InventoryKit.number)
    )


def take_kit(
    session: Session, *, trial_id: int, site: Site, arm: str, on_date: dt.date
) -> InventoryKit:
    """The first-expiring usable kit of ``arm`` at the site, locked; the error names no arm."""
    query = _kits_of_arm(trial_id, arm).where(
        InventoryKit.site_id == site.id,
        InventoryKit.status == "available",
        InventoryKit.expiry > on_date + dt.timedelta(days=COVER_DAYS),
    )
    kit = session.scalars(_locked(session, query.limit(1))).first()
    if kit is None:
        raise SupplyError(
            f"site {site.code} holds no dispensable kit for this patient on {on_date}: the "
            "pharmacist should receive pending shipments; the sponsor has been sent a resupply "
            "request"
        )
    kit.status = "dispensed"
    return kit


def raise_resupply(
    session: Session,
    *,
    trial_id: int,
    site: Site,
    on_date: dt.date,
    threshold: int = RESUPPLY_THRESHOLD,
    target: int = RESUPPLY_TARGET,
) -> ResupplyRequest | None:
    """Raise a resupply request for the site if either arm's stock is low (kit numbers only)."""
    if not 0 <= threshold <= target or target < 1:
        raise InputError(
            f"resupply needs 0 <= threshold <= target, target >= 1; got {threshold}, {target}"
        )
    arms = [arm.id for arm in trial_protocol(get_trial_or_raise(session, trial_id)).arms]

    def stock() -> dict[str, int]:
        rows = session.execute(
            select(KitListEntry.arm, func.count())
            .select_from(InventoryKit)
            .join(
                KitListEntry,
                and_(
                    KitListEntry.trial_id == InventoryKit.trial_id,
                    KitListEntry.number == InventoryKit.number,
                ),
            )
            .where(
                InventoryKit.trial_id == trial_id,
                InventoryKit.site_id == site.id,
                InventoryKit.status.in_(_STOCK),
                InventoryKit.expiry > on_date + dt.timedelta(days=COVER_DAYS),
            )
            .group_by(KitListEntry.arm)
        ).all()
        counts = {str(arm): int(n) for arm, n in rows}
        return {arm: counts.get(arm, 0) for arm in arms}

    if all(n >= threshold for n in stock().values()):
        return None
    # one request per site at a time: serialise on the site row, then look again
    session.execute(select(Site.id).where(Site.id == site.id).with_for_update())
    pending = session.scalars(
        select(ResupplyRequest.id).where(
            ResupplyRequest.site_id == site.id, ResupplyRequest.shipment_id.is_(None)
        )
    ).first()
    counts = stock()
    if pending is not None or all(n >= threshold for n in counts.values()):
        return None
    numbers: list[int] = []
    complete = True
    for arm in arms:
        need = max(0, target - counts[arm])
        query = _kits_of_arm(trial_id, arm).where(
            InventoryKit.site_id.is_(None),
            InventoryKit.status == "depot",
            InventoryKit.expiry > on_date + dt.timedelta(days=COVER_DAYS),
        )
        taken = session.scalars(_locked(session, query.limit(need))).all() if need else []
        complete &= len(taken) == need
        for kit in taken:
            kit.status, kit.site_id = "reserved", site.id
            numbers.append(kit.number)
    request = ResupplyRequest(
        trial_id=trial_id,
        site_id=site.id,
        kit_numbers=sorted(numbers),
        complete=complete,
        raised_at=utcnow(),
    )
    session.add(request)
    session.flush()
    audit.record_created(
        session,
        actor=_SYSTEM_ACTOR,
        grant=None,
        entity="resupply_request",
        entity_id=request.id,
        values={"site_id": site.id, "kit_numbers": request.kit_numbers, "complete": complete},
        reason="stock at the site fell below the resupply threshold",
        site_id=site.id,
    )
    return request


_SYSTEM_ACTOR = Principal.system(request_id="resupply")


def _request_view(row: ResupplyRequest) -> ResupplyRequestView:
    return ResupplyRequestView(
        id=row.id,
        site_id=row.site_id,
        kit_numbers=[int(n) for n in row.kit_numbers],
        complete=row.complete,
        raised_at=row.raised_at,
        shipment_id=row.shipment_id,
    )


def list_resupply_requests(
    *, session: Session, actor: Principal, trial_id: int
) -> list[ResupplyRequestView]:
    """Resupply requests of the trial (site roles: their own sites' only)."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_SUPPLY, trial_id=trial.id)
    scope = site_scope(actor, Action.VIEW_SUPPLY, trial_id=trial.id)
    query = select(ResupplyRequest).where(ResupplyRequest.trial_id == trial.id)
    if scope is not None:
        query = query.where(ResupplyRequest.site_id.in_(scope))
    return [_request_view(r) for r in session.scalars(query.order_by(ResupplyRequest.id))]


def _shipment_view(session: Session, row: Shipment) -> ShipmentView:
    numbers = session.scalars(
        select(InventoryKit.number)
        .where(InventoryKit.shipment_id == row.id)
        .order_by(InventoryKit.number)
    ).all()
    return ShipmentView(
        id=row.id,
        site_id=row.site_id,
        kit_numbers=list(numbers),
        shipped_at=row.shipped_at,
        received_at=row.received_at,
    )


def ship_resupply(*, session: Session, actor: Principal, request_id: int) -> ShipmentView:
    """Ship a resupply request's kits from the depot to its site (the sponsor's depot)."""
    request = session.get(ResupplyRequest, request_id)
    if request is None:
        authorize(actor, Action.MANAGE_SUPPLY, trial_id=None)
        raise NotFoundError(f"resupply request {request_id} not found")
    grant = authorize(actor, Action.MANAGE_SUPPLY, trial_id=request.trial_id)
    if request.shipment_id is not None:
        raise ConflictError(
            f"resupply request {request_id} was shipped already (shipment {request.shipment_id})"
        )
    shipment = Shipment(
        trial_id=request.trial_id,
        site_id=request.site_id,
        shipped_at=utcnow(),
        shipped_by=actor.user_id,
    )
    session.add(shipment)
    session.flush()
    kits = session.scalars(
        select(InventoryKit).where(
            InventoryKit.trial_id == request.trial_id,
            InventoryKit.number.in_([int(n) for n in request.kit_numbers]),
            InventoryKit.status == "reserved",
        )
    ).all()
    for kit in kits:
        kit.status, kit.shipment_id = "in_transit", shipment.id
    request.shipment_id = shipment.id
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="shipment",
        entity_id=shipment.id,
        values={
            "site_id": request.site_id,
            "resupply_request_id": request.id,
            "kit_numbers": sorted(k.number for k in kits),
        },
        site_id=request.site_id,
    )
    return _shipment_view(session, shipment)


def receive_shipment(
    *,
    session: Session,
    actor: Principal,
    shipment_id: int,
    damaged: Iterable[int] = (),
) -> ShipmentView:
    """The site pharmacist's receipt: kits become available (or damaged, as counted)."""
    shipment = session.get(Shipment, shipment_id)
    absent = f"shipment {shipment_id} not found"
    if shipment is None:
        authorize(actor, Action.HANDLE_KITS, trial_id=None)
        raise NotFoundError(absent)
    grant = authorize(
        actor,
        Action.HANDLE_KITS,
        trial_id=shipment.trial_id,
        site_id=shipment.site_id,
        absent=absent,
    )
    if shipment.received_at is not None:
        raise ConflictError(f"shipment {shipment_id} was received already")
    kits = session.scalars(
        select(InventoryKit).where(InventoryKit.shipment_id == shipment.id)
    ).all()
    broken = set(damaged)
    unknown = broken - {k.number for k in kits}
    if unknown:
        raise InputError(
            f"kit(s) {', '.join(map(str, sorted(unknown)))} are not in shipment {shipment_id}",
            location="damaged",
        )
    for kit in kits:
        kit.status = "damaged" if kit.number in broken else "available"
    shipment.received_at, shipment.received_by = utcnow(), actor.user_id
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="receive",
        entity="shipment",
        entity_id=shipment.id,
        changes={
            "received_at": (None, shipment.received_at),
            "damaged": (None, sorted(broken)),
        },
    )
    return _shipment_view(session, shipment)


def _kit_view(kit: InventoryKit) -> KitView:
    return KitView(
        number=kit.number,
        site_id=kit.site_id,
        expiry=kit.expiry,
        status=kit.status,
        shipment_id=kit.shipment_id,
    )


def list_site_kits(*, session: Session, actor: Principal, site_id: int) -> list[KitView]:
    """The site's inventory (kits reserved for, in transit to, at or dispensed at the site)."""
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_SUPPLY)
    kits = session.scalars(
        select(InventoryKit).where(InventoryKit.site_id == site.id).order_by(InventoryKit.number)
    )
    return [_kit_view(k) for k in kits]


def record_dispensing(
    session: Session,
    *,
    actor: Principal,
    grant: Grant,
    patient: Patient,
    site: Site,
    arm: str,
    cycle: int,
    on_date: dt.date,
) -> tuple[InventoryKit, Dispensing]:
    """Take a kit of the patient's arm at the site and record it as dispensed (audited)."""
    kit = take_kit(session, trial_id=patient.trial_id, site=site, arm=arm, on_date=on_date)
    row = Dispensing(
        patient_id=patient.id,
        kit_id=kit.id,
        cycle=cycle,
        dispensed_at=utcnow(),
        dispensed_by=actor.user_id,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"cycle {cycle} of this patient was dispensed meanwhile: reload"
        ) from exc
    raise_resupply(session, trial_id=patient.trial_id, site=site, on_date=on_date)
    return kit, row


def dispense(
    *, session: Session, actor: Principal, patient_id: int, cycle: int, on_date: dt.date
) -> DispensingView:
    """Dispense the kit for a later treatment cycle (cycle 1 is dispensed at randomisation)."""
    patient, grant = patient_or_absent(session, actor, patient_id, Action.HANDLE_KITS)
    if cycle < 2:
        raise InputError(
            "cycle 1 is dispensed at randomisation; give a later cycle", location="cycle"
        )
    found = session.execute(
        select(Randomisation, AllocationSlot.arm)
        .join(AllocationSlot, AllocationSlot.id == Randomisation.slot_id)
        .where(Randomisation.patient_id == patient.id)
    ).first()
    if found is None:
        raise ConflictError("the patient is not randomised: no kit can be dispensed")
    done = session.scalars(
        select(Dispensing.id).where(Dispensing.patient_id == patient.id, Dispensing.cycle == cycle)
    ).first()
    if done is not None:
        raise ConflictError(f"cycle {cycle} was dispensed already to this patient")
    site = get_site_or_raise(session, patient.site_id)
    kit, row = record_dispensing(
        session,
        actor=actor,
        grant=grant,
        patient=patient,
        site=site,
        arm=str(found[1]),
        cycle=cycle,
        on_date=on_date,
    )
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="dispensing",
        entity_id=row.id,
        values={"patient_id": patient.id, "cycle": cycle, "kit_number": kit.number},
    )
    return DispensingView(
        patient_id=patient.id, cycle=cycle, kit_number=kit.number, dispensed_at=row.dispensed_at
    )
