"""Blinded drug supply: site inventory, shipments, receipt, dispensing and resupply.

Kits leave the depot only through a resupply request, raised and filled by the
rules of :mod:`trialkit.randomisation.supply`, so that no site learns an arm mix.

Details and reasoning: docs/randomisation.md, section `trialkit.service.randomisation.supply`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, Select, Update, and_, bindparam, case, func, select, update
from sqlalchemy.orm import Session, aliased

from trialkit.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    SupplyError,
    SupplyShortError,
)
from trialkit.randomisation import (
    arm_shortfall,
    check_sizing,
    depot_fills,
    fefo_order,
    resupply_threshold,
    top_up,
    usable_after,
)
from trialkit.randomisation.supply import DISPENSABLE, SITE_STOCK
from trialkit.service.platform import audit, notify
from trialkit.service.platform.db.base import insert_unique, utcnow
from trialkit.service.platform.policy import (
    Action,
    authorize,
    patient_or_absent,
    site_or_absent,
    site_scope,
)
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.people import Role
from trialkit.service.platform.views import (
    DispensingView,
    KitView,
    ResupplyRequestView,
    ShipmentView,
)
from trialkit.service.randomisation.dispensing_check import check_dispensing
from trialkit.service.randomisation.tables.randomisation import AllocationSlot, Randomisation
from trialkit.service.randomisation.tables.supply import (
    Dispensing,
    InventoryKit,
    KitListEntry,
    ResupplyRequest,
    Shipment,
)
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.locks import require_unlocked
from trialkit.service.trials.tables import Site
from trialkit.service.trials.trials import get_site_or_raise, get_trial_or_raise, trial_protocol

__all__ = [
    "RESUPPLY_LEAD_DAYS",
    "RESUPPLY_LEAD_DISPENSINGS",
    "RESUPPLY_TARGET",
    "SITE_SUPPLY_LOCK",
    "cover_days",
    "dispense",
    "dispensing_view",
    "kit_shortage",
    "list_resupply_requests",
    "list_site_kits",
    "lock_site_supply",
    "raise_resupply",
    "receive_shipment",
    "require_every_arm",
    "ship_resupply",
    "site_threshold",
    "supply_refusal",
]

RESUPPLY_TARGET = 10
"""Each arm is brought up to this many usable kits by a resupply."""
RESUPPLY_LEAD_DISPENSINGS = 5
"""The kits a site may dispense between a request and the receipt of its shipment, all of
one arm in the worst case (SOR: a site treats a handful of patients on 21- or 28-day cycles,
so about two weeks of its dispensings)."""
RESUPPLY_LEAD_DAYS = 14
"""The longest time assumed from a request to the receipt of its shipment: stock counts only
kits that stay dispensable that long."""
SITE_SUPPLY_LOCK = 0x5355_5050  # "SUPP": the class of PostgreSQL advisory lock keyed by site id
"""The first key of a site's supply lock (:func:`lock_site_supply`); the second is the site id."""


def lock_site_supply(session: Session, site_id: int) -> None:
    """Take the site's supply lock until the transaction ends (re-entrant).

    PostgreSQL: a transaction-scoped advisory lock on (:data:`SITE_SUPPLY_LOCK`, site id),
    a lock of its own rather than ``FOR UPDATE`` on the sites row, which every insert that
    names the site checks with ``FOR KEY SHARE``. SQLite: nothing to take (``BEGIN
    IMMEDIATE`` serialises writers). Taken first by each use case that changes the site's
    kits (see :mod:`trialkit.service.platform.transaction` for the lock order).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_SITE_SUPPLY, {"lock_class": SITE_SUPPLY_LOCK, "lock_site": site_id})


_LOCK_SITE_SUPPLY = select(
    func.pg_advisory_xact_lock(
        bindparam("lock_class", type_=Integer), bindparam("lock_site", type_=Integer)
    )
)


def _locked(session: Session, query: Select[InventoryKit]) -> Select[InventoryKit]:
    # PostgreSQL: skip kits another transaction is taking (any unexpired kit of the arm will
    # do, unlike slots, which must be used in order); SQLite serialises writers anyway
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=InventoryKit)
    return query


_KIT_ARM = (
    select(KitListEntry.arm)
    .where(
        KitListEntry.trial_id == InventoryKit.trial_id,
        KitListEntry.number == InventoryKit.number,
    )
    .scalar_subquery()
)
"""A kit's arm, looked up per kit through the kit list's unique (trial, number) index.

A correlated subquery rather than a join: the planner then probes the index once per kit
whatever its statistics say. Joined, PostgreSQL planned a nested loop that scans the whole
kit list per kit while the tables had no statistics yet (after sealing, before autovacuum
analysed them): about 15 ms per dispensing instead of 0.4 ms.
"""

_SHIP_KEY = (
    select(KitListEntry.ship_key)
    .where(
        KitListEntry.trial_id == InventoryKit.trial_id,
        KitListEntry.number == InventoryKit.number,
    )
    .scalar_subquery()
)
"""A kit's sealed shipping key (same lookup as :data:`_KIT_ARM`): the depot packs the kits
of an arm first expiry first, then in this order, never by number (kit numbers are what the
site sees; packed by number, shipments would hold arm-sorted ranges)."""


def _kits_of_arm(trial_id: int, arm: str) -> Select[InventoryKit]:
    return (
        select(InventoryKit)
        .where(InventoryKit.trial_id == trial_id, _KIT_ARM == arm)  # noqa: SIM300 (SQL, not Yoda)
        .order_by(*fefo_order(InventoryKit.expiry, _SHIP_KEY, InventoryKit.number))
    )


_NO_KIT = (
    "site {site} cannot dispense a kit for whichever treatment a patient receives on {on}, "
    "so no patient there can be {what} (the refusal is the same for every patient): the pharmacist "
    "should receive any pending shipment; otherwise the sponsor's depot should fill the site's "
    "resupply request"
)


def supply_refusal(site: Site, on_date: dt.date, what: str, *, raised: bool = False) -> SupplyError:
    """The one refusal for a site short of a kit, wherever it is found (names no arm).

    ``what`` is the use case refused ("randomised", "given a kit"); ``raised``: the
    shortage raised a resupply request that the refusal commits
    (:class:`~trialkit.errors.SupplyShortError`), which the answer does not show.
    """
    error = SupplyShortError if raised else SupplyError
    return error(_NO_KIT.format(site=site.code, on=on_date, what=what))


def _arms(session: Session, trial_id: int) -> list[str]:
    return [arm.id for arm in trial_protocol(get_trial_or_raise(session, trial_id)).arms]


def cover_days(session: Session, trial_id: int) -> int:
    """Days a dispensed kit must stay unexpired: the protocol's study-drug cycle, which one kit
    covers (``study_drug.cycle_days``; none for a protocol that dispenses no cycled kits)."""
    study_drug = trial_protocol(get_trial_or_raise(session, trial_id)).study_drug
    return study_drug.cycle_days if study_drug is not None else 0


def site_threshold(arms: int, *, target: int = RESUPPLY_TARGET) -> int:
    """The total stock below which a site with ``arms`` arms is resupplied (SOR: 16)."""
    return resupply_threshold(target=target, arms=arms, lead_dispensings=RESUPPLY_LEAD_DISPENSINGS)


_SITE_KITS = (
    select(_KIT_ARM.label("arm"), InventoryKit.status, InventoryKit.expiry)
    .where(
        InventoryKit.trial_id == bindparam("trial_id"),
        InventoryKit.site_id == bindparam("site_id"),
        InventoryKit.status.in_(SITE_STOCK),
        InventoryKit.expiry > bindparam("after"),
    )
    .subquery()
)
# built once: these run on every randomisation and dispensing
_STOCK_COUNTS = select(_SITE_KITS.c.arm, func.count()).group_by(_SITE_KITS.c.arm)
_STOCK_AND_AVAILABLE = select(
    _SITE_KITS.c.arm,
    func.sum(case((_SITE_KITS.c.expiry > bindparam("horizon"), 1), else_=0)),
    func.sum(
        case(
            (and_(_SITE_KITS.c.status == DISPENSABLE, _SITE_KITS.c.expiry > bindparam("cover")), 1),
            else_=0,
        )
    ),
).group_by(_SITE_KITS.c.arm)


def _site_counts(
    session: Session, *, trial_id: int, site_id: int, on_date: dt.date
) -> tuple[dict[str, int], dict[str, int]]:
    """Per arm, in one query: the site's stock (:func:`_stock`) and its dispensable kits
    (available, unexpired for the protocol's cycle, :func:`cover_days`)."""
    days = cover_days(session, trial_id)
    cover = usable_after(on_date, days)
    horizon = usable_after(on_date, days + RESUPPLY_LEAD_DAYS)
    rows = session.execute(
        _STOCK_AND_AVAILABLE,
        {
            "trial_id": trial_id,
            "site_id": site_id,
            "after": cover,  # the earlier of the two bounds
            "cover": cover,
            "horizon": horizon,
        },
    ).all()
    stock = {str(arm): int(n) for arm, n, _ in rows if n}
    available = {str(arm): int(n) for arm, _, n in rows if n}
    return stock, available


def _every_arm_dispensable(session: Session, trial_id: int, available: dict[str, int]) -> bool:
    """Whether the site holds a dispensable kit of every arm (``available`` by arm)."""
    return all(available.get(arm, 0) >= 1 for arm in _arms(session, trial_id))


def require_every_arm(
    session: Session, *, trial_id: int, site: Site, on_date: dt.date, what: str
) -> None:
    """Take the site's supply lock, then refuse unless the site holds a dispensable kit of
    every arm (the message names none), raising a resupply request first if its stock
    calls for one.

    Checked before a patient is randomised (no list slot is taken) and before a later
    cycle is dispensed: a refusal that depended on the patient's arm would tell the site
    that patients share, or do not share, an arm. Under the lock no other transaction
    takes a kit at the site until this one ends, so the kit the caller then takes exists.
    A request raised here survives the refusal (:class:`~trialkit.errors.SupplyShortError`
    commits it): else a site whose stock ran short without a dispensing (kits passing the
    expiry horizon) would lose its request with every refused attempt and never be
    resupplied. When nothing is refused, the dispensing that follows checks the stock
    after it (:func:`record_dispensing`), so its audit events, and the audit chain's head
    lock, come after the caller's other locks.
    """
    lock_site_supply(session, site.id)
    # one count serves both: a request only reserves depot kits, never a site's available ones
    stock, available = _site_counts(session, trial_id=trial_id, site_id=site.id, on_date=on_date)
    if _every_arm_dispensable(session, trial_id, available):
        return
    raised = _raise_resupply(
        session,
        trial_id=trial_id,
        site=site,
        on_date=on_date,
        threshold=None,
        target=RESUPPLY_TARGET,
        stock=stock,
    )
    raise supply_refusal(site, on_date, what, raised=raised is not None)


def kit_shortage(
    session: Session, *, trial_id: int, site: Site, on_date: dt.date, what: str
) -> str | None:
    """:func:`require_every_arm`'s refusal, read only (no lock, no resupply request); ``None``
    if the site holds a dispensable kit of every arm."""
    _, available = _site_counts(session, trial_id=trial_id, site_id=site.id, on_date=on_date)
    if _every_arm_dispensable(session, trial_id, available):
        return None
    return supply_refusal(site, on_date, what).message


def _take_kit_statement(*, lock: bool) -> Update:
    picked = aliased(InventoryKit, name="picked")
    sealed = (KitListEntry.trial_id == picked.trial_id, KitListEntry.number == picked.number)
    arm = select(KitListEntry.arm).where(*sealed).scalar_subquery()
    # among the earliest-expiring kits of the arm, the sealed dispensing key decides, never
    # the number: by number, a pharmacist would learn that the lower numbers left on the shelf
    # are of the other arm (and which kit the next patient of that arm gets)
    key = select(KitListEntry.dispense_key).where(*sealed).scalar_subquery()
    first = (
        select(picked.id)
        .where(
            picked.trial_id == bindparam("take_trial"),
            arm == bindparam("take_arm"),
            picked.site_id == bindparam("take_site"),
            picked.status == DISPENSABLE,
            picked.expiry > bindparam("take_after"),
        )
        .order_by(*fefo_order(picked.expiry, key, picked.number))
        .limit(1)
    )
    if lock:  # see _locked
        first = first.with_for_update(skip_locked=True)
    return (
        update(InventoryKit)
        .where(InventoryKit.id == first.scalar_subquery())
        .values(status="dispensed")
        .returning(InventoryKit)
        .execution_options(synchronize_session="fetch")
    )


# built once: pick the kit and mark it dispensed in one statement (by dialect: lock or not)
_TAKE_KIT = {lock: _take_kit_statement(lock=lock) for lock in (False, True)}
_WAIT_FOR_KITS = (  # every usable kit of the arm at the site, waiting for their lock holders
    select(InventoryKit.id)
    .where(
        InventoryKit.trial_id == bindparam("take_trial"),
        _KIT_ARM == bindparam("take_arm"),  # noqa: SIM300 (SQL, not Yoda)
        InventoryKit.site_id == bindparam("take_site"),
        InventoryKit.status == DISPENSABLE,
        InventoryKit.expiry > bindparam("take_after"),
    )
    .with_for_update(of=InventoryKit)
)


def take_kit(
    session: Session, *, trial_id: int, site: Site, arm: str, on_date: dt.date, what: str
) -> InventoryKit:
    """The first-expiring usable kit of ``arm`` at the site (ties: the lowest sealed dispensing
    key), taken (status ``dispensed``) and locked; without one, :func:`supply_refusal` (the
    same refusal as before the draw)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    params = {
        "take_trial": trial_id,
        "take_arm": arm,
        "take_site": site.id,
        "take_after": usable_after(on_date, cover_days(session, trial_id)),
    }
    kit: InventoryKit | None = session.scalars(_TAKE_KIT[postgresql], params).first()
    if kit is None and postgresql:
        # every usable kit is locked by a transaction that skipped the site's supply lock
        # (the service's own take it first): wait for those to end, then take one of the
        # kits they left, now locked by this transaction
        session.execute(_WAIT_FOR_KITS, params)
        kit = session.scalars(_TAKE_KIT[postgresql], params).first()
    if kit is None:  # kits gone since require_every_arm: refused as it refuses, for any arm
        raise supply_refusal(site, on_date, what)
    return kit


def _fill(
    session: Session,
    *,
    trial_id: int,
    site: Site,
    arms: list[str],
    needs: dict[str, int],
    on_date: dt.date,
    target: int,
) -> list[int] | None:
    """Reserve the depot kits of each arm that the request ``needs`` (from
    :func:`~trialkit.randomisation.supply.arm_shortfall`), first expiry first, then by the
    sealed shipping key; ``None`` if the depot is short
    (:func:`~trialkit.randomisation.supply.depot_fills`: ``target`` usable kits of every arm).
    """
    horizon = usable_after(on_date, cover_days(session, trial_id) + RESUPPLY_LEAD_DAYS)
    # the first ``target`` of each arm: as many as depot_fills asks for, and at least the need
    shelves: dict[str, list[InventoryKit]] = {}
    for arm in arms:
        query = _kits_of_arm(trial_id, arm).where(
            InventoryKit.site_id.is_(None),
            InventoryKit.status == "depot",
            InventoryKit.expiry > horizon,
        )
        shelves[arm] = list(session.scalars(_locked(session, query.limit(target))).all())
        if not depot_fills({arm: len(shelves[arm])}, [arm], target=target):
            return None
    chosen = {arm: shelves[arm][: needs[arm]] for arm in arms}
    numbers: list[int] = []
    for kits in chosen.values():
        for kit in kits:
            kit.status, kit.site_id = "reserved", site.id
            numbers.append(kit.number)
    return sorted(numbers)


def _stock(session: Session, *, trial_id: int, site: Site, on_date: dt.date) -> dict[str, int]:
    """Usable kits per arm at, reserved for or on their way to the site (never shown)."""
    rows = session.execute(
        _STOCK_COUNTS,
        {
            "trial_id": trial_id,
            "site_id": site.id,
            "after": usable_after(on_date, cover_days(session, trial_id) + RESUPPLY_LEAD_DAYS),
        },
    ).all()
    return {str(arm): int(n) for arm, n in rows}


def raise_resupply(
    session: Session,
    *,
    trial_id: int,
    site: Site,
    on_date: dt.date,
    threshold: int | None = None,
    target: int = RESUPPLY_TARGET,
) -> ResupplyRequest | None:
    """Raise a resupply request if the site's *total* stock is below the threshold.

    ``threshold`` defaults to :func:`site_threshold`. The request brings every arm to
    ``target`` (kit numbers only), or waits for depot stock with no kits.
    """
    return _raise_resupply(
        session,
        trial_id=trial_id,
        site=site,
        on_date=on_date,
        threshold=threshold,
        target=target,
        stock=None,
    )


def _raise_resupply(
    session: Session,
    *,
    trial_id: int,
    site: Site,
    on_date: dt.date,
    threshold: int | None,
    target: int,
    stock: dict[str, int] | None,
) -> ResupplyRequest | None:
    """:func:`raise_resupply`, given the site's stock if the caller has just counted it."""
    arms = _arms(session, trial_id)
    if threshold is None:
        threshold = site_threshold(len(arms), target=target)
    check_sizing(threshold, target, len(arms))
    if stock is None:
        stock = _stock(session, trial_id=trial_id, site=site, on_date=on_date)
    if arm_shortfall(stock, arms, threshold=threshold, target=target) is None:
        return None
    # serialise on the site's supply lock (callers hold it already), then look again. Kits
    # reserved by a request not yet shipped count as stock, so another request is raised only
    # if the total is still low (as the sizing needs: consumption while a shipment is on its
    # way may take it below); a request waiting for depot stock holds no kits, so none is
    # raised beside it
    lock_site_supply(session, site.id)
    waiting = session.scalars(
        select(ResupplyRequest.id).where(
            ResupplyRequest.site_id == site.id,
            ResupplyRequest.shipment_id.is_(None),
            ResupplyRequest.complete.is_(False),
        )
    ).first()
    counts = _stock(session, trial_id=trial_id, site=site, on_date=on_date)
    needs = arm_shortfall(counts, arms, threshold=threshold, target=target)
    if waiting is not None or needs is None:
        return None
    numbers = _fill(
        session,
        trial_id=trial_id,
        site=site,
        arms=arms,
        needs=needs,
        on_date=on_date,
        target=target,
    )
    request = ResupplyRequest(
        trial_id=trial_id,
        site_id=site.id,
        kit_numbers=numbers or [],
        complete=numbers is not None,
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
        values={
            "site_id": site.id,
            "kit_numbers": request.kit_numbers,
            "complete": request.complete,
        },
        reason=f"the site's total usable stock fell below {threshold} kits"
        + ("" if request.complete else "; waiting for depot stock"),
        site_id=site.id,
    )
    notify.notify(
        session,
        trial_id=trial_id,
        kind=notify.Kind.RESUPPLY_REQUEST,
        # the site receives the kits; the depot (administrators hold MANAGE_SUPPLY) ships them
        to=(notify.To.role(Role.PHARMACIST, site_id=site.id), notify.To.role(Role.ADMINISTRATOR)),
        message=notify.resupply_request_message(
            trial=get_trial_or_raise(session, trial_id).acronym,
            site_code=site.code,
            kits=len(request.kit_numbers),
            waiting_for_depot=not request.complete,
        ),
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


def ship_resupply(
    *, session: Session, actor: Principal, request_id: int, today: dt.date
) -> ShipmentView:
    """Ship a resupply request's kits from the depot to its site (the sponsor's depot).

    A request that waited for depot stock is filled first, as on the day it is raised
    (every arm to the target, only if the depot could fill any arm mix).
    """
    request = session.get(ResupplyRequest, request_id)
    if request is None:
        authorize(actor, Action.MANAGE_SUPPLY, trial_id=None)
        raise NotFoundError(f"resupply request {request_id} not found")
    grant = authorize(actor, Action.MANAGE_SUPPLY, trial_id=request.trial_id)
    lock_site_supply(session, request.site_id)
    session.refresh(request)  # as the last holder of the lock left it: shipped once only
    if request.shipment_id is not None:
        raise ConflictError(
            f"resupply request {request_id} was shipped already (shipment {request.shipment_id})"
        )
    if not request.complete:
        site = get_site_or_raise(session, request.site_id)
        on_date = today
        numbers = _fill(
            session,
            trial_id=request.trial_id,
            site=site,
            arms=_arms(session, request.trial_id),
            needs=top_up(
                _stock(session, trial_id=request.trial_id, site=site, on_date=on_date),
                _arms(session, request.trial_id),
                target=RESUPPLY_TARGET,
            ),
            on_date=on_date,
            target=RESUPPLY_TARGET,
        )
        if numbers is None:
            raise ConflictError(
                f"resupply request {request_id} cannot be filled yet: the depot holds fewer "
                f"than {RESUPPLY_TARGET} usable kits of some treatment arm; add kits to the "
                "depot, then ship it"
            )
        audit.record(
            session,
            actor=actor,
            grant=grant,
            action="update",
            entity="resupply_request",
            entity_id=request.id,
            changes={"kit_numbers": (request.kit_numbers, numbers), "complete": (False, True)},
            reason="filled from depot stock",
        )
        request.kit_numbers, request.complete = numbers, True
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
    today: dt.date,
) -> ShipmentView:
    """The site pharmacist's receipt: kits become available (or damaged, as counted).

    Damaged kits lower the site's total stock, which may raise the next request at once.
    """
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
    lock_site_supply(session, shipment.site_id)
    session.refresh(shipment)  # as the last holder of the lock left it: received once only
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
    site = get_site_or_raise(session, shipment.site_id)
    raise_resupply(session, trial_id=shipment.trial_id, site=site, on_date=today)
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
    what: str,
    override_reason: str | None = None,
) -> tuple[InventoryKit, Dispensing]:
    """Take a kit of the patient's arm at the site and record it as dispensed (audited).

    The caller has checked :func:`require_every_arm` before anything arm-dependent, and
    holds the site's supply lock since; ``what`` names the use case in a refusal.
    """
    kit = take_kit(
        session, trial_id=patient.trial_id, site=site, arm=arm, on_date=on_date, what=what
    )
    values: dict[str, Any] = {
        "patient_id": patient.id,
        "kit_id": kit.id,
        "cycle": cycle,
        "dispensed_at": utcnow(),
        "dispensed_by": actor.user_id,
        "dispensed_on": on_date,
        "override_reason": override_reason,
    }
    row_id = insert_unique(session, Dispensing, values)  # flushes the kit's status first
    if row_id is None:
        raise ConflictError(f"cycle {cycle} of this patient was dispensed meanwhile: reload")
    row = Dispensing(id=row_id, **values)  # not added: the row is stored
    raise_resupply(session, trial_id=patient.trial_id, site=site, on_date=on_date)
    return kit, row


def dispense(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    cycle: int,
    on_date: dt.date,
    override_reason: str | None = None,
) -> DispensingView:
    """Dispense the kit for a later treatment cycle (cycle 1 is dispensed at randomisation).

    :func:`~trialkit.service.randomisation.dispensing_check.check_dispensing` decides first, before
    any kit or arm is looked at. A refusal it allows to override is overridden by a pharmacist's
    documented ``override_reason``, kept on the dispensing and in its audit event; a reason given
    when nothing is refused is not kept.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.HANDLE_KITS)
    require_unlocked(session, patient=patient)
    if cycle < 2:
        raise InputError(
            "cycle 1 is dispensed at randomisation; give a later cycle", location="cycle"
        )
    reason = (override_reason or "").strip() or None
    if reason is not None and len(reason) > 2000:
        raise InputError(
            "the override reason has at most 2000 characters", location="override_reason"
        )
    trial = get_trial_or_raise(session, patient.trial_id)
    checked = check_dispensing(
        session, patient=patient, protocol=trial_protocol(trial), cycle=cycle, on_date=on_date
    )
    if checked.refusal is not None and not checked.overridable:
        raise ConflictError(f"dispensing refused: {checked.refusal}", location="cycle")
    if checked.refusal is not None and reason is None:
        raise ConflictError(
            f"dispensing refused: {checked.refusal}. A pharmacist may override this refusal "
            "by giving the documented reason (override_reason)",
            location="override_reason",
        )
    overridden = checked.refusal if reason is not None else None
    arm = session.scalar(
        select(AllocationSlot.arm)
        .join(Randomisation, Randomisation.slot_id == AllocationSlot.id)
        .where(Randomisation.patient_id == patient.id)
    )
    if arm is None:  # the check refuses a patient who is not randomised
        raise ConflictError("the patient is not randomised: no kit can be dispensed")
    site = get_site_or_raise(session, patient.site_id)
    require_every_arm(
        session, trial_id=patient.trial_id, site=site, on_date=on_date, what="given a kit"
    )
    kit, row = record_dispensing(
        session,
        actor=actor,
        grant=grant,
        patient=patient,
        site=site,
        arm=str(arm),
        cycle=cycle,
        on_date=on_date,
        what="given a kit",
        override_reason=reason if overridden is not None else None,
    )
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="dispensing",
        entity_id=row.id,
        values={
            "patient_id": patient.id,
            "cycle": cycle,
            "kit_number": kit.number,
            "dispensed_on": on_date,
            "override_reason": row.override_reason,
        },
        reason=None if overridden is None else f'override of "{overridden}": {reason}',
    )
    return dispensing_view(row, kit.number)


def dispensing_view(row: Dispensing, kit_number: int) -> DispensingView:
    """A dispensing as the pharmacist sees it (kit number, never the arm)."""
    return DispensingView(
        patient_id=row.patient_id,
        cycle=row.cycle,
        kit_number=kit_number,
        dispensed_at=row.dispensed_at,
        dispensed_on=row.dispensed_on or row.dispensed_at.date(),
        override_reason=row.override_reason,
    )
