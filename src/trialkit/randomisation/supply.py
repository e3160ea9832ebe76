"""Blinded drug supply: which kit to dispense, and which kits to ship to a site.

Both helpers need the kit list (kit number -> arm); what they return never carries
an arm. :func:`choose_kit` returns a kit number. :func:`resupply_needs` returns, per
site, the kit numbers to ship.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.supply`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeVar

from trialkit.errors import InputError, SupplyError
from trialkit.randomisation.kits import KitList

__all__ = [
    "DISPENSABLE",
    "SITE_STOCK",
    "InventoryKit",
    "ResupplyRequest",
    "arm_shortfall",
    "check_sizing",
    "choose_kit",
    "depot_fills",
    "fefo_order",
    "guaranteed_arm_stock",
    "resupply_needs",
    "resupply_threshold",
    "top_up",
    "usable",
    "usable_after",
]

KitStatus = Literal[
    "available", "reserved", "in_transit", "dispensed", "damaged", "quarantined", "expired"
]
DISPENSABLE: KitStatus = "available"
"""The one status of a kit that can be dispensed (or, at the depot, shipped)."""
SITE_STOCK: tuple[KitStatus, ...] = ("available", "reserved", "in_transit")
"""The statuses of a site's kits that count as its stock for resupply: on its shelf, reserved
for it at the depot by a request not yet shipped, or on their way to it (kits already coming
count, or every check would ship them again)."""

_E = TypeVar("_E")
_K = TypeVar("_K")
_N = TypeVar("_N")


@dataclass(frozen=True)
class InventoryKit:
    """A kit in a snapshot of the inventory: where it is, when it expires, its status."""

    number: int
    location: str
    expiry: date
    status: KitStatus = "available"


def usable_after(on: date, cover_days: int = 0) -> date:
    """The date a usable kit's expiry must be later than: ``on`` plus the cover.

    The one definition of "unexpired with cover"; the service's queries compare
    ``expiry > usable_after(...)`` with it.
    """
    return on + timedelta(days=cover_days)


def usable(kit: InventoryKit, on: date, cover_days: int = 0) -> bool:
    """Whether the kit can be dispensed or shipped on ``on`` (available, unexpired with cover)."""
    return kit.status == DISPENSABLE and kit.expiry > usable_after(on, cover_days)


def fefo_order(expiry: _E, key: _K, number: _N) -> tuple[_E, _K, _N]:
    """The dispensing and packing order: first expiry first out, ties by the kit's sealed
    order ``key`` (dispensing or shipping key), never by number; the number last only so
    that the order is total.

    The one definition of the order: :func:`choose_kit` and :func:`resupply_needs` sort by it,
    and the service's SQL orders by it, given columns.
    """
    return (expiry, key, number)


def _fefo(kits: Iterable[InventoryKit], key: Callable[[int], int]) -> list[InventoryKit]:
    """First expiry first out; ties by the sealed order ``key`` of the kit number."""
    return sorted(kits, key=lambda k: fefo_order(k.expiry, key(k.number), k.number))


def choose_kit(
    inventory: Iterable[InventoryKit],
    kit_list: KitList,
    *,
    site: str,
    arm: str,
    on: date,
    cover_days: int = 0,
) -> int:
    """The kit number to dispense to a patient of ``arm`` at ``site`` on ``on`` (FEFO, ties by
    the sealed dispensing key).

    Raises
    ------
    SupplyError
        When the site holds no usable kit of the patient's arm. The message names
        the site but not the arm.
    """
    candidates = [
        k
        for k in inventory
        if k.location == site and usable(k, on, cover_days) and kit_list.arm_of(k.number) == arm
    ]
    if not candidates:
        raise SupplyError(
            f"site {site} holds no dispensable kit for this patient on {on.isoformat()}; "
            "raise a resupply request and dispense when it is received"
        )
    return _fefo(candidates, kit_list.dispense_key)[0].number


@dataclass(frozen=True)
class ResupplyRequest:
    """Kits to ship to one site: kit numbers only, never arms or counts by arm.

    ``complete`` is false when the depot could not fill the request for every arm
    mix; then ``kit_numbers`` is empty and the request waits for depot stock.
    """

    site: str
    kit_numbers: tuple[int, ...]
    complete: bool

    def __str__(self) -> str:
        if not self.complete:
            return f"resupply {self.site}: waiting for depot stock"
        return f"ship {len(self.kit_numbers)} kit(s) to {self.site}"


def guaranteed_arm_stock(*, threshold: int, target: int, arms: int) -> int:
    """The usable kits every arm holds while a site's total is at or above ``threshold``.

    No arm holds more than ``target`` (shipments fill up to it), so when the total
    is at least ``threshold`` the other ``arms - 1`` arms hold at most
    ``(arms - 1) * target`` of it.
    """
    return threshold - (arms - 1) * target


def resupply_threshold(*, target: int, arms: int, lead_dispensings: int) -> int:
    """The total stock below which a site is resupplied, covering ``lead_dispensings``.

    The request is raised by the consumption that takes the total below the
    threshold; the arm consumed then still holds ``guaranteed - 1`` kits, which
    must cover the kits dispensed until the shipment is received, all of one arm
    in the worst case: ``threshold - (arms - 1) * target - 1 >= lead_dispensings``.
    """
    if arms < 1 or lead_dispensings < 0 or target < lead_dispensings + 1:
        raise InputError(
            f"resupply sizing needs at least one arm and a per-arm target above the lead-time "
            f"dispensings, got {arms} arm(s), target {target}, lead {lead_dispensings}"
        )
    return (arms - 1) * target + lead_dispensings + 1


def check_sizing(threshold: int, target: int, arms: int) -> None:
    """Refuse a threshold and target with which some arm could run out above the threshold."""
    if target < 1 or not (arms - 1) * target < threshold <= arms * target:
        raise InputError(
            f"resupply needs a per-arm target >= 1 and a total threshold above "
            f"{(arms - 1) * target} (so that every arm keeps a kit while the total is above it) "
            f"and at most {arms * target} (the total when every arm is at the target); got "
            f"threshold {threshold}, target {target} for {arms} arm(s)"
        )


def resupply_needs(
    inventory: Iterable[InventoryKit],
    kit_list: KitList,
    *,
    sites: Sequence[str],
    depot: str,
    on: date,
    threshold: int,
    target: int,
    cover_days: int = 0,
) -> tuple[ResupplyRequest, ...]:
    """The shipments needed now, from ``depot`` to the ``sites`` whose total stock is low.

    Parameters
    ----------
    inventory
        Every kit with its location (sites and the depot) and status.
    kit_list
        The sealed kit list (kit number -> arm); used here, never returned.
    threshold
        A site is resupplied when its total usable stock (all arms, in transit
        included) is below this (see the module docstring and :func:`resupply_threshold`).
    target
        Each arm is then brought up to this many usable kits.
    """
    kits = list(inventory)
    arms = sorted({k.arm for k in kit_list.kits})
    check_sizing(threshold, target, len(arms))
    depot_stock = {
        arm: [
            k
            for k in _fefo(kits, kit_list.ship_key)
            if k.location == depot
            and usable(k, on, cover_days)
            and kit_list.arm_of(k.number) == arm
        ]
        for arm in arms
    }
    requests = []
    for site in sites:
        stock = dict.fromkeys(arms, 0)
        for k in kits:
            if k.location == site and _counts_as_stock(k, on, cover_days):
                stock[kit_list.arm_of(k.number)] += 1
        needs = arm_shortfall(stock, arms, threshold=threshold, target=target)
        if needs is None:
            continue
        if not depot_fills({arm: len(depot_stock[arm]) for arm in arms}, arms, target=target):
            requests.append(ResupplyRequest(site, (), complete=False))
            continue
        numbers: list[int] = []
        for arm in arms:
            taken, depot_stock[arm] = depot_stock[arm][: needs[arm]], depot_stock[arm][needs[arm] :]
            numbers += [k.number for k in taken]
        requests.append(ResupplyRequest(site, tuple(sorted(numbers)), complete=True))
    return tuple(requests)


def _counts_as_stock(kit: InventoryKit, on: date, cover_days: int) -> bool:
    """Whether a site's kit counts as its stock: a :data:`SITE_STOCK` status, unexpired with
    the cover (a kit reserved for the site or in transit is dispensable once received)."""
    return kit.status in SITE_STOCK and kit.expiry > usable_after(on, cover_days)


def arm_shortfall(
    stock: Mapping[str, int], arms: Sequence[str], *, threshold: int, target: int
) -> dict[str, int] | None:
    """The kits of each arm a site's resupply needs, or ``None`` when none is raised.

    ``stock`` holds the site's usable stock per arm (missing arms: none). The trigger is the
    *total* against ``threshold``; every arm is then brought up to ``target``.
    """
    if sum(stock.get(arm, 0) for arm in arms) >= threshold:
        return None
    return top_up(stock, arms, target=target)


def top_up(stock: Mapping[str, int], arms: Sequence[str], *, target: int) -> dict[str, int]:
    """The kits of each arm that bring a site's ``stock`` per arm up to ``target``."""
    return {arm: max(0, target - stock.get(arm, 0)) for arm in arms}


def depot_fills(depot: Mapping[str, int], arms: Sequence[str], *, target: int) -> bool:
    """Whether the depot, holding ``depot`` usable kits per arm, fills a request now.

    Only if it could fill any arm mix (``target`` of every arm): whether and how much is
    shipped must not depend on which arm the site is short of.
    """
    return all(depot.get(arm, 0) >= target for arm in arms)
