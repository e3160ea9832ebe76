"""The supply rules live once, in :mod:`trialkit.randomisation.supply`: the service's one-statement
kit pick (SQL, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) takes the kit the core's
:func:`~trialkit.randomisation.supply.choose_kit` chooses, and the service's resupply request is
the core's :func:`~trialkit.randomisation.supply.resupply_needs`, on random shelves and stocks
(SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import ENROLMENT_DAY, make_site, make_trial, seal_trial, stock_site
from trialkit.errors import SupplyError
from trialkit.randomisation import InventoryKit as CoreKit
from trialkit.randomisation import Kit, KitList, choose_kit, resupply_needs
from trialkit.service.randomisation import supply
from trialkit.service.randomisation.tables.supply import InventoryKit, KitListEntry
from trialkit.service.trials.tables import Site

DEPOT = "depot"
ON = ENROLMENT_DAY + dt.timedelta(days=40)
# few distinct expiries around the usability bounds, so that ties (decided by the sealed keys)
# and kits just usable or just not are common
OFFSETS = (-1, 0, 1, 2, 30)
SITE_STATUSES = ("available", "available", "available", "reserved", "in_transit", "dispensed")
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Shelf:
    trial_id: int
    site: Site
    kit_list: KitList
    site_kits: tuple[int, ...]  # kit ids at the site
    depot_kits: tuple[int, ...]  # kit ids at the depot
    cover: int


@pytest.fixture
def shelf(session: Session) -> Shelf:
    trial = make_trial(session)
    site_view = make_site(session, trial, country="DE")
    seal_trial(session, trial, kits=60)
    stock_site(session, trial, site_view)
    site = session.get(Site, site_view.id)
    assert site is not None
    entries = session.scalars(select(KitListEntry).where(KitListEntry.trial_id == trial.id)).all()
    kit_list = KitList(
        "sor",
        tuple(Kit(e.number, e.arm, e.batch, e.ship_key, e.dispense_key) for e in entries),
    )
    kits = session.scalars(
        select(InventoryKit).where(InventoryKit.trial_id == trial.id).order_by(InventoryKit.id)
    ).all()
    return Shelf(
        trial.id,
        site,
        kit_list,
        tuple(k.id for k in kits if k.site_id == site.id),
        tuple(k.id for k in kits if k.site_id is None),
        supply.cover_days(session, trial.id),
    )


def _expiry(offset: int, bound: int) -> dt.date:
    return ON + dt.timedelta(days=bound + offset)


def _core_inventory(rows: list[InventoryKit]) -> list[CoreKit]:
    """The database's kits as the core sees them: the depot's stock is available there."""
    return [
        CoreKit(
            k.number,
            DEPOT if k.site_id is None else str(k.site_id),
            k.expiry,
            "available" if k.status == "depot" else k.status,  # type: ignore[arg-type]
        )
        for k in rows
    ]


def _kits(session: Session, w: Shelf) -> list[InventoryKit]:
    session.expire_all()
    return list(
        session.scalars(select(InventoryKit).where(InventoryKit.trial_id == w.trial_id)).all()
    )


@EXAMPLES
@given(data=st.data())
def test_the_sql_kit_pick_is_the_cores_choose_kit_on_random_shelves(
    session: Session, shelf: Shelf, data: st.DataObject
) -> None:
    """Expiry, the cover, the dispensable status and the sealed dispensing key: the one
    statement that takes a kit takes the kit the core chooses, or refuses when it refuses."""
    n = len(shelf.site_kits)
    offsets = data.draw(st.lists(st.sampled_from(OFFSETS), min_size=n, max_size=n))
    statuses = data.draw(st.lists(st.sampled_from(SITE_STATUSES), min_size=n, max_size=n))
    for arm in sorted({k.arm for k in shelf.kit_list.kits}):
        savepoint = session.begin_nested()
        for kit_id, offset, status in zip(shelf.site_kits, offsets, statuses, strict=True):
            session.execute(
                update(InventoryKit)
                .where(InventoryKit.id == kit_id)
                .values(expiry=_expiry(offset, shelf.cover), status=status)
            )
        inventory = _core_inventory(_kits(session, shelf))
        try:
            expected: int | None = choose_kit(
                inventory,
                shelf.kit_list,
                site=str(shelf.site.id),
                arm=arm,
                on=ON,
                cover_days=shelf.cover,
            )
        except SupplyError:
            expected = None
        try:
            taken: int | None = supply.take_kit(
                session,
                trial_id=shelf.trial_id,
                site=shelf.site,
                arm=arm,
                on_date=ON,
                what="given a kit",
            ).number
        except SupplyError:
            taken = None
        savepoint.rollback()
        assert taken == expected


@EXAMPLES
@given(data=st.data())
def test_the_services_resupply_request_is_the_cores_resupply_needs_on_random_stocks(
    session: Session, shelf: Shelf, data: st.DataObject
) -> None:
    """Whether a request is raised, whether the depot fills it and which kits it reserves
    (every arm to the target, first expiry first, ties by the sealed shipping key): the
    service's request is what the core's resupply_needs returns for the same inventory."""
    bound = shelf.cover + supply.RESUPPLY_LEAD_DAYS
    n, m = len(shelf.site_kits), len(shelf.depot_kits)
    site_offsets = data.draw(st.lists(st.sampled_from(OFFSETS), min_size=n, max_size=n))
    statuses = data.draw(st.lists(st.sampled_from(SITE_STATUSES), min_size=n, max_size=n))
    depot_offsets = data.draw(st.lists(st.sampled_from(OFFSETS), min_size=m, max_size=m))
    # the first ``full`` kits stay usable: totals on both sides of the threshold
    full = data.draw(st.integers(0, n))
    site_offsets[:full], statuses[:full] = [30] * full, ["available"] * full
    savepoint = session.begin_nested()
    for kit_id, offset, status in zip(shelf.site_kits, site_offsets, statuses, strict=True):
        session.execute(
            update(InventoryKit)
            .where(InventoryKit.id == kit_id)
            .values(expiry=_expiry(offset, bound), status=status)
        )
    for kit_id, offset in zip(shelf.depot_kits, depot_offsets, strict=True):
        session.execute(
            update(InventoryKit)
            .where(InventoryKit.id == kit_id)
            .values(expiry=_expiry(offset, bound))
        )
    arms = len({k.arm for k in shelf.kit_list.kits})
    (expected,) = resupply_needs(
        _core_inventory(_kits(session, shelf)),
        shelf.kit_list,
        sites=[str(shelf.site.id)],
        depot=DEPOT,
        on=ON,
        threshold=supply.site_threshold(arms),
        target=supply.RESUPPLY_TARGET,
        cover_days=bound,
    ) or (None,)
    request = supply.raise_resupply(session, trial_id=shelf.trial_id, site=shelf.site, on_date=ON)
    got = None if request is None else (tuple(sorted(request.kit_numbers)), request.complete)
    savepoint.rollback()
    assert got == (None if expected is None else (expected.kit_numbers, expected.complete))
