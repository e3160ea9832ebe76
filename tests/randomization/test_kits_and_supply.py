"""Blinded kits: no arm-revealing pattern, equal arms, sealed hash, FEFO dispensing, resupply."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import date, timedelta

import pytest

from tests.randomization._helpers import OTHER_SEED, SEED, small_spec
from trialkit.errors import InputError, SupplyError
from trialkit.protocol import Protocol
from trialkit.randomization import allocation_spec
from trialkit.randomization.kits import KitList, generate_kit_list, verify_kit_list
from trialkit.randomization.supply import InventoryKit, ResupplyRequest, choose_kit, resupply_needs

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


def test_resupply_ships_kit_numbers_never_arms_when_either_arm_runs_low(kits: KitList) -> None:
    expiry = TODAY + timedelta(days=365)
    a, b = _of_arm(kits, "A", 40), _of_arm(kits, "B", 40)
    inventory = [
        *_inventory(kits, "IT-01", a[:1], expiry),  # 1 A-kit left: below threshold 2
        *_inventory(kits, "IT-01", b[:3], expiry),
        *_inventory(kits, "DE-01", a[1:4] + b[3:6], expiry),  # 3 and 3: fine
        *_inventory(kits, "DEPOT", a[10:40] + b[10:40], expiry),
    ]
    requests = resupply_needs(
        inventory, kits, sites=["IT-01", "DE-01"], depot="DEPOT", on=TODAY, threshold=2, target=4
    )
    assert len(requests) == 1
    request = requests[0]
    assert request.site == "IT-01"
    # both arms brought to 4: three A-kits and one B-kit, as numbers in ascending order
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
            shipped, kits, sites=["IT-01"], depot="DEPOT", on=TODAY, threshold=2, target=4
        )
        == ()
    )


def test_resupply_takes_depot_kits_first_expiry_first_and_flags_a_short_depot(
    kits: KitList,
) -> None:
    a, b = _of_arm(kits, "A", 3), _of_arm(kits, "B", 3)
    inventory = [
        InventoryKit(a[0], "DEPOT", TODAY + timedelta(days=200)),
        InventoryKit(a[1], "DEPOT", TODAY + timedelta(days=100)),
        InventoryKit(a[2], "DEPOT", TODAY + timedelta(days=10)),  # expires within cover
        InventoryKit(b[0], "DEPOT", TODAY + timedelta(days=300)),
    ]
    (request,) = resupply_needs(
        inventory,
        kits,
        sites=["PL-01"],
        depot="DEPOT",
        on=TODAY,
        threshold=1,
        target=2,
        cover_days=30,
    )
    assert set(request.kit_numbers) == {a[0], a[1], b[0]}
    assert not request.complete
    with pytest.raises(InputError):
        resupply_needs(inventory, kits, sites=[], depot="DEPOT", on=TODAY, threshold=3, target=2)
