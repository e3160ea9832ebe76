"""Kit numbers and the choice among equally good kits reveal no arm, at the depot or at a site.

The numbers a pharmacist or the sponsor's depot staff see, and which of several kits of the same
expiry is shipped or dispensed, must not predict the arm: the statistical test runs over a whole
seeded demo (every site's kits, every shipment, the depot), the others check that the sealed
keys, not the numbers, decide.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.demo_fixtures import SeededDemo
from tests.factories import ENROLMENT_DAY, SYSTEM, make_site, make_trial, seal_trial, stock_site
from trialkit.randomisation import kit_order_keys
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.randomisation import allocation, supply
from trialkit.service.randomisation.tables.randomisation import AllocationSeal
from trialkit.service.randomisation.tables.supply import InventoryKit, KitListEntry, ResupplyRequest
from trialkit.service.trials.tables import Site

PERMUTATIONS = 999


def _best_threshold(arms: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per row: the most kits one cut of the number order classifies right (either way round).

    ``arms`` holds rows of kits in number order (true: the first arm). Below the cut one arm,
    above it the other: ``2 a - i + n - A`` or ``i - 2 a + A`` right, with ``a`` first-arm kits
    among the ``i`` below the cut, ``A`` in all and ``n`` kits.
    """
    n = arms.shape[1]
    below = np.concatenate(
        [np.zeros((arms.shape[0], 1), dtype=np.int64), np.cumsum(arms, axis=1)], axis=1
    )
    cut = np.arange(n + 1)
    total = below[:, -1:]
    right = np.maximum(2 * below - cut + n - total, cut - 2 * below + total)
    return np.asarray(right.max(axis=1), dtype=np.int64)


def _runs(arms: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Per row: how far the runs of one arm along the numbers are from a random order's mean."""
    n = arms.shape[1]
    first = arms.sum(axis=1)
    expected = 1 + 2 * first * (n - first) / n
    runs = 1 + (arms[:, 1:] != arms[:, :-1]).sum(axis=1)
    return np.asarray(np.abs(runs - expected), dtype=np.float64)


def _p_values(arms_in_number_order: list[bool], rng: np.random.Generator) -> list[float]:
    """Permutation p-values of the best cut and of the runs (the arms shuffled over the kits)."""
    observed = np.array([arms_in_number_order])
    shuffled = rng.permuted(np.repeat(observed, PERMUTATIONS, axis=0), axis=1)
    return [
        float((1 + (stat(shuffled) >= stat(observed)[0]).sum()) / (PERMUTATIONS + 1))
        for stat in (_best_threshold, _runs)
    ]


def _kit_groups(session: Session, trial_id: int) -> dict[str, list[bool]]:
    """Each group a blinded person sees, as arms (first arm: true) in kit number order."""
    first_arm = session.scalars(
        select(KitListEntry.arm).where(KitListEntry.trial_id == trial_id).order_by(KitListEntry.arm)
    ).first()
    rows = session.execute(
        select(
            InventoryKit.number,
            InventoryKit.site_id,
            InventoryKit.status,
            InventoryKit.shipment_id,
            KitListEntry.arm,
        )
        .join(
            KitListEntry,
            (KitListEntry.trial_id == InventoryKit.trial_id)
            & (KitListEntry.number == InventoryKit.number),
        )
        .where(InventoryKit.trial_id == trial_id)
        .order_by(InventoryKit.number)
    ).all()
    groups: dict[str, list[bool]] = {}
    for _number, site_id, status, shipment_id, arm in rows:
        names = ["depot"] if site_id is None else [f"site {site_id}", f"shipment {shipment_id}"]
        if status == "available":
            names.append(f"site {site_id} shelf")
        for name in names:
            groups.setdefault(name, []).append(arm == first_arm)
    return {
        name: arms for name, arms in groups.items() if len(arms) >= 6 and 0 < sum(arms) < len(arms)
    }


def test_kit_numbers_predict_no_arm_at_the_depot_or_any_site_after_a_whole_demo(
    session: Session, demo_trial: SeededDemo
) -> None:
    """For the depot, each site (every kit it received, and its shelf) and each shipment: no
    cut of the number order and no run pattern tells the arms apart better than chance.

    Each group gets permutation p-values (the arms shuffled over its kits) of the best cut's
    accuracy and of the runs; Fisher's method combines them. Kits packed and dispensed by
    number put arm-sorted ranges on every shelf (p about 1e-30 in this demo).
    """
    groups = _kit_groups(session, demo_trial.trial_id)
    assert "depot" in groups
    assert sum(name.startswith("shipment") for name in groups) >= 5
    assert sum(name.endswith("shelf") for name in groups) >= 5
    rng = np.random.default_rng(20070620)
    p_values = {name: _p_values(arms, rng) for name, arms in sorted(groups.items())}
    fisher = -2 * sum(math.log(p) for ps in p_values.values() for p in ps)
    degrees = 2 * 2 * len(p_values)
    # chi-square upper tail with even degrees of freedom, in closed form
    half = fisher / 2
    tail = math.exp(-half) * sum(half**k / math.factorial(k) for k in range(degrees // 2))
    smallest = min(p_values.items(), key=lambda item: min(item[1]))
    assert tail > 0.001, (tail, smallest)


@pytest.fixture
def stocked(session: Session) -> tuple[TrialView, SiteView, bytes]:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    seal = session.get(AllocationSeal, trial.id)
    assert seal is not None
    return trial, site, seal.seed


def _site_kits(session: Session, trial: TrialView, site: SiteView) -> dict[int, str]:
    return dict(
        session.execute(
            select(InventoryKit.number, KitListEntry.arm)
            .join(
                KitListEntry,
                (KitListEntry.trial_id == InventoryKit.trial_id)
                & (KitListEntry.number == InventoryKit.number),
            )
            .where(InventoryKit.site_id == site.id, InventoryKit.status == "available")
        ).all()
    )


def test_a_dispensed_kit_is_the_sealed_random_choice_among_the_earliest_expiry_not_the_lowest(
    session: Session, stocked: tuple[TrialView, SiteView, bytes]
) -> None:
    """Each arm's kits leave the shelf in the order of their sealed dispensing keys, after
    expiry; taking the lowest number would show the lower numbers left to be the other arm."""
    trial, site, seed = stocked
    shelf = _site_kits(session, trial, site)
    arm = shelf[min(shelf)]
    ours = sorted(n for n, a in shelf.items() if a == arm)
    assert len(ours) == 10
    # the last kit by key expires first: expiry comes before the key
    by_key = sorted(ours, key=lambda n: kit_order_keys(seed, n)[1])
    soon = by_key[-1]
    session.execute(
        update(InventoryKit)
        .where(InventoryKit.trial_id == trial.id, InventoryKit.number == soon)
        .values(expiry=ENROLMENT_DAY + dt.timedelta(days=200))
    )
    row = session.get(Site, site.id)
    assert row is not None
    taken = [
        supply.take_kit(
            session, trial_id=trial.id, site=row, arm=arm, on_date=ENROLMENT_DAY, what="given a kit"
        ).number
        for _ in ours
    ]
    assert taken == [soon, *by_key[:-1]]
    assert taken[1:] != sorted(taken[1:])  # not by number (1 chance in 9! that keys agree)


def test_a_shipment_packs_each_arm_by_the_sealed_shipping_key_not_by_number(
    session: Session, stocked: tuple[TrialView, SiteView, bytes]
) -> None:
    """The depot packs each arm's kits by expiry, then the sealed shipping key: by number, the
    arm consumed faster would come from ever higher numbers and shipments hold arm ranges."""
    trial, site, seed = stocked
    request = session.scalars(
        select(ResupplyRequest).where(ResupplyRequest.site_id == site.id)
    ).one()
    arms = dict(
        session.execute(
            select(KitListEntry.number, KitListEntry.arm).where(KitListEntry.trial_id == trial.id)
        ).all()
    )
    shipped = {int(n) for n in request.kit_numbers}
    assert len(shipped) == 20
    for arm in set(arms.values()):
        of_arm = [n for n, a in arms.items() if a == arm]
        first_by_key = sorted(of_arm, key=lambda n: kit_order_keys(seed, n)[0])[:10]
        assert {n for n in shipped if arms[n] == arm} == set(first_by_key)
        assert set(first_by_key) != set(sorted(of_arm)[:10])


def test_the_kit_lists_order_keys_are_sealed_and_verified(
    session: Session, stocked: tuple[TrialView, SiteView, bytes]
) -> None:
    """The keys are regenerated from the seed by verification: an edited key is found."""
    trial, _, seed = stocked
    assert allocation.verify_sealed(session=session, actor=SYSTEM, trial_id=trial.id).verified
    entry = session.scalars(
        select(KitListEntry).where(KitListEntry.trial_id == trial.id).limit(1)
    ).one()
    assert (entry.ship_key, entry.dispense_key) == kit_order_keys(seed, entry.number)
    entry.dispense_key = entry.dispense_key ^ 1
    session.flush()
    result = allocation.verify_sealed(session=session, actor=SYSTEM, trial_id=trial.id)
    assert not result.verified
    assert f"kit {entry.number}: its stored order keys are not the sealed ones" in (
        result.problem or ""
    )
