"""Blinded drug supply: which kit to dispense, and which kits to ship to a site.

Both helpers need the kit list (kit number -> arm), so only the service calls
them; what they return never carries an arm. :func:`choose_kit` returns a kit
number. :func:`resupply_needs` returns, per site, the kit numbers to ship: when
either arm's usable stock at a site falls below the threshold, *every* arm is
brought back up to the target, so a shipment does not single out the arm that
ran low, and kit numbers are listed in ascending order (not grouped by arm).

A kit is *usable* on a date when it is available (received at the site, not
dispensed, damaged or quarantined) and does not expire within ``cover_days``
days: ``expiry > on + cover_days``. Among usable kits of the right arm the one
that expires first is dispensed or shipped first (FEFO), ties by kit number.
A site's stock for resupply also counts usable kits in transit to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from trialkit.errors import InputError, SupplyError
from trialkit.randomization.kits import KitList

__all__ = ["InventoryKit", "ResupplyRequest", "choose_kit", "resupply_needs", "usable"]

KitStatus = Literal["available", "in_transit", "dispensed", "damaged", "quarantined", "expired"]


@dataclass(frozen=True)
class InventoryKit:
    """A kit in a snapshot of the inventory: where it is, when it expires, its status."""

    number: int
    location: str
    expiry: date
    status: KitStatus = "available"


def usable(kit: InventoryKit, on: date, cover_days: int = 0) -> bool:
    """Whether the kit can be dispensed or shipped on ``on`` (available, unexpired with cover)."""
    return kit.status == "available" and kit.expiry > on + timedelta(days=cover_days)


def _fefo(kits: Iterable[InventoryKit]) -> list[InventoryKit]:
    return sorted(kits, key=lambda k: (k.expiry, k.number))


def choose_kit(
    inventory: Iterable[InventoryKit],
    kit_list: KitList,
    *,
    site: str,
    arm: str,
    on: date,
    cover_days: int = 0,
) -> int:
    """The kit number to dispense to a patient of ``arm`` at ``site`` on ``on`` (FEFO).

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
    return _fefo(candidates)[0].number


@dataclass(frozen=True)
class ResupplyRequest:
    """Kits to ship to one site: kit numbers only, never arms or counts by arm."""

    site: str
    kit_numbers: tuple[int, ...]
    complete: bool

    def __str__(self) -> str:
        short = "" if self.complete else " (the depot could not fill it completely)"
        return f"ship {len(self.kit_numbers)} kit(s) to {self.site}{short}"


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
    """The shipments needed now, from ``depot`` to the ``sites`` whose stock is low.

    Parameters
    ----------
    inventory
        Every kit with its location (sites and the depot) and status.
    kit_list
        The sealed kit list (kit number -> arm); used here, never returned.
    threshold
        A site is resupplied when any arm has fewer than this many usable kits.
    target
        Each arm is then brought up to this many usable kits (``target >= threshold``).
    """
    if threshold < 0 or target < max(threshold, 1):
        raise InputError(
            f"resupply needs 0 <= threshold <= target and target >= 1, got threshold "
            f"{threshold}, target {target}"
        )
    kits = list(inventory)
    arms = sorted({k.arm for k in kit_list.kits})
    depot_stock = {
        arm: [
            k
            for k in _fefo(kits)
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
            # kits already on their way count, or every check would ship them again
            incoming = k.status == "in_transit" and usable(
                InventoryKit(k.number, k.location, k.expiry), on, cover_days
            )
            if k.location == site and (usable(k, on, cover_days) or incoming):
                stock[kit_list.arm_of(k.number)] += 1
        if all(n >= threshold for n in stock.values()):
            continue
        numbers: list[int] = []
        complete = True
        for arm in arms:
            need = max(0, target - stock[arm])
            taken, depot_stock[arm] = depot_stock[arm][:need], depot_stock[arm][need:]
            complete &= len(taken) == need
            numbers += [k.number for k in taken]
        requests.append(ResupplyRequest(site, tuple(sorted(numbers)), complete))
    return tuple(requests)
