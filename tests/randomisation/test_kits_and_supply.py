"""Blinded kits: no arm-revealing pattern, equal arms, sealed hash, FEFO dispensing, resupply."""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.randomisation._helpers import OTHER_SEED, SEED, small_spec
from trialkit.errors import InputError, SupplyError
from trialkit.protocol import Protocol, load_protocol
from trialkit.randomisation import allocation_spec
from trialkit.randomisation.kits import KitList, generate_kit_list, kit_order_keys, verify_kit_list
from trialkit.randomisation.supply import (
    InventoryKit,
    ResupplyRequest,
    choose_kit,
    guaranteed_arm_stock,
    resupply_needs,
    resupply_threshold,
)

TODAY = date(2008, 3, 1)


@pytest.fixture(scope="module")
def kits(sor: Protocol) -> KitList:
    return generate_kit_list(SEED, allocation_spec(sor), 1000)


def test_sor_kit_list_has_equal_numbers_of_sorafenib_and_placebo_kits(kits: KitList) -> None:
    assert Counter(k.arm for k in kits.kits) == {"A": 500, "B": 500}
    assert [k.number for k in kits.kits] == list(range(100_001, 101_001))


def test_kit_numbers_show_no_pattern_that_reveals_the_arm(kits: KitList) -> None:
    arms = [k.arm for k in kits.kits]
    # no digit of the number (last digit, parity, check-digit-like sums) predicts the arm
    for name, feature in {
        "last digit": lambda n: n % 10,
        "digit sum mod 10": lambda n: sum(map(int, str(n))) % 10,
        "hundreds": lambda n: n // 100 % 10,
    }.items():
        by_value = Counter((feature(k.number), k.arm) for k in kits.kits)
        for value in range(10):
            a, b = by_value[value, "A"], by_value[value, "B"]
            if a + b >= 40:
                assert abs(a - b) / (a + b) < 0.45, (name, value)
    # runs of the same arm along the numbers look like a random sequence (Wald-Wolfowitz):
    # 1000 kits, 500 each -> expected 501 runs, sd about 15.8
    runs = 1 + sum(x != y for x, y in itertools.pairwise(arms))
    assert abs(runs - 501) < 5 * 15.8
    # not alternating and not in halves
    assert arms[:500].count("A") not in (0, 500)


def test_kit_list_is_seeded_hashed_and_verified(sor: Protocol, kits: KitList) -> None:
    spec = allocation_spec(sor)
    assert generate_kit_list(SEED, spec, 1000).hash == kits.hash
    assert generate_kit_list(OTHER_SEED, spec, 1000).hash != kits.hash
    assert verify_kit_list(SEED, spec, kits.kits).verified
    assert str(verify_kit_list(SEED, spec, kits.kits)).startswith("verified: 1000 kits")
    forged = list(kits.kits)
    forged[7] = dataclasses.replace(forged[7], arm="B" if forged[7].arm == "A" else "A")
    result = verify_kit_list(SEED, spec, forged)
    assert not result.verified
    assert f"kit {forged[7].number}" in str(result)
    # the message is read by a blinded administrator: no arm code, no arm label
    words = set(str(result).replace("(", " ").replace(")", " ").replace(",", " ").split())
    assert not words & {a.id for a in sor.arms}
    assert not [a.label for a in sor.arms if a.label in str(result)]
    assert not verify_kit_list(OTHER_SEED, spec, kits.kits).verified


def test_a_second_kit_batch_appends_without_changing_the_first(
    sor: Protocol, kits: KitList
) -> None:
    spec = allocation_spec(sor)
    more = generate_kit_list(SEED, spec, 200, batch=1, existing=kits)
    assert set(kits.kits) <= set(more.kits)
    new = [k for k in more.kits if k.batch == 1]
    assert [k.number for k in new] == list(range(101_001, 101_201))
    assert Counter(k.arm for k in new) == {"A": 100, "B": 100}
    assert verify_kit_list(SEED, spec, more.kits).verified
    with pytest.raises(InputError, match="batch 1 already exists"):
        generate_kit_list(SEED, spec, 200, batch=1, existing=more)


def test_kit_batches_must_respect_the_ratio() -> None:
    with pytest.raises(InputError, match="multiple of 3"):
        generate_kit_list(SEED, small_spec(ratio=(2, 1), block_sizes=(3,)), 10)
    two_to_one = generate_kit_list(SEED, small_spec(ratio=(2, 1), block_sizes=(3,)), 30)
    assert Counter(k.arm for k in two_to_one.kits) == {"A": 20, "B": 10}


def _inventory(kits: KitList, site: str, numbers: list[int], expiry: date) -> list[InventoryKit]:
    return [InventoryKit(n, site, expiry) for n in numbers]


def _of_arm(kits: KitList, arm: str, n: int, skip: int = 0) -> list[int]:
    return [k.number for k in kits.kits if k.arm == arm][skip : skip + n]


def test_dispensing_picks_an_unexpired_kit_of_the_patients_arm_first_expiry_first(
    kits: KitList,
) -> None:
    a = _of_arm(kits, "A", 4)
    b = _of_arm(kits, "B", 2)
    inventory = [
        InventoryKit(a[0], "IT-01", TODAY - timedelta(days=1)),  # expired
        InventoryKit(a[1], "IT-01", TODAY + timedelta(days=90)),
        InventoryKit(a[2], "IT-01", TODAY + timedelta(days=30)),  # first expiry first out
        InventoryKit(a[3], "DE-01", TODAY + timedelta(days=10)),  # another site
        InventoryKit(b[0], "IT-01", TODAY + timedelta(days=5)),
        InventoryKit(b[1], "IT-01", TODAY + timedelta(days=5), status="dispensed"),
    ]
    assert choose_kit(inventory, kits, site="IT-01", arm="A", on=TODAY) == a[2]
    assert choose_kit(inventory, kits, site="IT-01", arm="B", on=TODAY) == b[0]
    # a kit must last the cover period (for example one 21-day cycle)
    assert choose_kit(inventory, kits, site="IT-01", arm="A", on=TODAY, cover_days=45) == a[1]
    with pytest.raises(SupplyError, match="site IT-01 holds no dispensable kit") as caught:
        choose_kit(inventory, kits, site="IT-01", arm="B", on=TODAY, cover_days=21)
    message = str(caught.value)
    assert "A" not in message.replace("IT-01", "")
    assert "placebo" not in message.lower()


def test_among_kits_of_the_same_expiry_the_sealed_keys_choose_never_the_kit_numbers(
    kits: KitList,
) -> None:
    """Dispensing takes the lowest sealed dispensing key, shipping the lowest shipping keys:
    by number, the kits left would show the lower numbers to be of the other arm."""
    expiry = TODAY + timedelta(days=365)
    a = _of_arm(kits, "A", 12)
    shelf = _inventory(kits, "IT-01", a, expiry)
    chosen = choose_kit(shelf, kits, site="IT-01", arm="A", on=TODAY)
    assert chosen == min(a, key=kits.dispense_key)
    assert [kits.dispense_key(n) for n in a] == [kit_order_keys(SEED, n)[1] for n in a]
    depot = _inventory(kits, "DEPOT", a + _of_arm(kits, "B", 12), expiry)
    (request,) = resupply_needs(
        depot, kits, sites=["IT-01"], depot="DEPOT", on=TODAY, threshold=5, target=4
    )
    packed_a = {n for n in request.kit_numbers if kits.arm_of(n) == "A"}
    assert packed_a == set(sorted(a, key=kits.ship_key)[:4])
    # the two keys are independent: the first kit packed is not bound to go out first
    assert [kits.ship_key(n) for n in a] != [kits.dispense_key(n) for n in a]
    assert sorted(a, key=kits.ship_key) != sorted(a, key=kits.dispense_key)
    with pytest.raises(SupplyError, match="kit 1 is not on the kit list"):
        kits.dispense_key(1)


def test_resupply_ships_kit_numbers_never_arms_bringing_every_arm_to_the_target(
    kits: KitList,
) -> None:
    expiry = TODAY + timedelta(days=365)
    a, b = _of_arm(kits, "A", 40), _of_arm(kits, "B", 40)
    inventory = [
        *_inventory(kits, "IT-01", a[:1], expiry),  # 1 + 3 = 4 kits: below the threshold 5
        *_inventory(kits, "IT-01", b[:3], expiry),
        *_inventory(kits, "DE-01", a[1:4] + b[3:5], expiry),  # 3 + 2 = 5: fine
        *_inventory(kits, "DEPOT", a[10:40] + b[10:40], expiry),
    ]
    requests = resupply_needs(
        inventory, kits, sites=["IT-01", "DE-01"], depot="DEPOT", on=TODAY, threshold=5, target=4
    )
    assert len(requests) == 1
    request = requests[0]
    assert request.site == "IT-01"
    # both arms brought to 4: three A-kits and one B-kit, as numbers in ascending order;
    # 2 x 4 - 4 = 4 kits, the number the site consumed since it was full
    assert sorted(kits.arm_of(n) for n in request.kit_numbers) == ["A", "A", "A", "B"]
    assert list(request.kit_numbers) == sorted(request.kit_numbers)
    assert request.complete
    assert {f.name for f in dataclasses.fields(ResupplyRequest)} == {
        "site",
        "kit_numbers",
        "complete",
    }
    assert str(request) == "ship 4 kit(s) to IT-01"
    # once shipped (in transit) the site is not resupplied again
    shipped = [
        InventoryKit(k.number, "IT-01", k.expiry, "in_transit")
        if k.number in request.kit_numbers
        else k
        for k in inventory
    ]
    assert (
        resupply_needs(
            shipped, kits, sites=["IT-01"], depot="DEPOT", on=TODAY, threshold=5, target=4
        )
        == ()
    )


def test_resupply_takes_depot_kits_first_expiry_first(kits: KitList) -> None:
    a, b = _of_arm(kits, "A", 4), _of_arm(kits, "B", 3)
    inventory = [
        InventoryKit(a[0], "DEPOT", TODAY + timedelta(days=200)),
        InventoryKit(a[1], "DEPOT", TODAY + timedelta(days=100)),
        InventoryKit(a[2], "DEPOT", TODAY + timedelta(days=10)),  # expires within cover
        InventoryKit(a[3], "DEPOT", TODAY + timedelta(days=300)),
        InventoryKit(b[0], "DEPOT", TODAY + timedelta(days=300)),
        InventoryKit(b[1], "DEPOT", TODAY + timedelta(days=50)),
        InventoryKit(b[2], "PL-01", TODAY + timedelta(days=50)),
    ]
    (request,) = resupply_needs(
        inventory,
        kits,
        sites=["PL-01"],
        depot="DEPOT",
        on=TODAY,
        threshold=3,
        target=2,
        cover_days=30,
    )
    # A: the two usable kits expiring first; B: one kit (the site holds one), expiring first
    assert set(request.kit_numbers) == {a[0], a[1], b[1]}
    assert request.complete
    with pytest.raises(InputError, match="threshold above 2"):
        resupply_needs(inventory, kits, sites=[], depot="DEPOT", on=TODAY, threshold=2, target=2)
    with pytest.raises(InputError, match="at most 4"):
        resupply_needs(inventory, kits, sites=[], depot="DEPOT", on=TODAY, threshold=5, target=2)


def test_a_short_depot_fills_no_request_partially_whatever_the_arm_mix(kits: KitList) -> None:
    """A partial fill would ship a number of kits that depends on the arm the site needs."""
    expiry = TODAY + timedelta(days=365)
    a, b = _of_arm(kits, "A", 20), _of_arm(kits, "B", 20)
    depot = _inventory(kits, "DEPOT", a[10:20] + b[10:13], expiry)  # 10 A, 3 B (target 4)
    for site_stock in (a[:1] + b[:3], a[:3] + b[:1], a[:2] + b[:2]):
        inventory = [*_inventory(kits, "IT-01", site_stock, expiry), *depot]
        (request,) = resupply_needs(
            inventory, kits, sites=["IT-01"], depot="DEPOT", on=TODAY, threshold=5, target=4
        )
        assert request == ResupplyRequest("IT-01", (), complete=False)
        assert str(request) == "resupply IT-01: waiting for depot stock"


@functools.cache
def _sor_kits() -> KitList:  # not a fixture: hypothesis would print it with every example
    return generate_kit_list(SEED, allocation_spec(load_protocol("sor")), 1000)


def _replay(
    kits: KitList, consumed_arms: str, *, target: int, threshold: int, lead: int
) -> tuple[list[tuple[int, int]], bool]:
    """Dispense kits of the given arms in turn at a site that starts full, checking for
    resupply after each dispensing; a request's kits are in transit (counted as stock) and
    arrive ``lead`` dispensings later. Returns the site's observations, (dispensing, kits
    shipped) for every request, and whether an arm ran out when a patient needed it."""
    expiry = TODAY + timedelta(days=365)
    depot = {arm: iter(_of_arm(kits, arm, 400, skip=50)) for arm in "AB"}
    at_site = [InventoryKit(next(depot[arm]), "S", expiry) for arm in "AB" for _ in range(target)]
    in_depot = [InventoryKit(n, "DEPOT", expiry) for arm in "AB" for n in depot[arm]]
    seen: list[tuple[int, int]] = []
    in_flight: list[tuple[int, int]] = []  # (arrival: before this dispensing, kit number)
    for step, arm in enumerate(consumed_arms, start=1):
        at_site += [InventoryKit(n, "S", expiry) for due, n in in_flight if due <= step]
        in_flight = [(due, n) for due, n in in_flight if due > step]
        mine = [k for k in at_site if kits.arm_of(k.number) == arm]
        if not mine:
            return seen, True
        at_site.remove(mine[0])
        transit = [InventoryKit(n, "S", expiry, "in_transit") for _, n in in_flight]
        for request in resupply_needs(
            [*at_site, *transit, *in_depot],
            kits,
            sites=["S"],
            depot="DEPOT",
            on=TODAY,
            threshold=threshold,
            target=target,
        ):
            seen.append((step, len(request.kit_numbers)))
            in_flight += [(step + 1 + lead, n) for n in request.kit_numbers]
            in_depot = [k for k in in_depot if k.number not in request.kit_numbers]
    return seen, False


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from("AB"), min_size=1, max_size=60).map("".join))
def test_when_and_how_much_a_site_is_resupplied_depends_only_on_its_total_consumption(
    arms: str,
) -> None:
    """A blinded site sees when requests are raised and how many kits they hold: the same for
    every arm mix of the same number of dispensings (here: against all kits of one arm)."""
    kits = _sor_kits()
    target, lead = 6, 0
    threshold = resupply_threshold(target=target, arms=2, lead_dispensings=lead)
    seen, _ = _replay(kits, arms, target=target, threshold=threshold, lead=lead)
    same_total, _ = _replay(kits, "A" * len(arms), target=target, threshold=threshold, lead=lead)
    assert seen == same_total


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from("AB"), min_size=1, max_size=80).map("".join),
    st.integers(0, 5),
    st.integers(0, 4),
)
def test_the_threshold_covers_the_lead_time_even_when_every_kit_is_of_one_arm(
    arms: str, lead: int, extra: int
) -> None:
    kits = _sor_kits()
    target = lead + 1 + extra
    threshold = resupply_threshold(target=target, arms=2, lead_dispensings=lead)
    assert guaranteed_arm_stock(threshold=threshold, target=target, arms=2) == lead + 1
    for consumed in (arms, "A" * len(arms), "B" * len(arms)):
        _, ran_out = _replay(kits, consumed, target=target, threshold=threshold, lead=lead)
        assert not ran_out, consumed
    if lead >= 1:  # a threshold one lower runs out when every kit is of one arm
        _, ran_out = _replay(kits, "A" * 80, target=target, threshold=threshold - 1, lead=lead)
        assert ran_out
    with pytest.raises(InputError, match="above the lead-time"):
        resupply_threshold(target=lead, arms=2, lead_dispensings=lead)
