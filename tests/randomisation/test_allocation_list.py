"""Stratified permuted blocks: balance, concealment, determinism, extension, hash, verification."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections import Counter

import pytest

from tests.randomisation._helpers import OTHER_SEED, SEED, predictable_positions, small_spec
from trialkit.errors import InputError, ProtocolError, RandomisationError
from trialkit.protocol import Protocol, parse_protocol
from trialkit.randomisation import (
    AllocationList,
    Factor,
    Slot,
    allocation_spec,
    canonical_text,
    extend_stratum,
    generate_allocation_list,
    list_from_document,
    list_hash,
    list_to_document,
    next_slot,
    verify,
)


@pytest.fixture(scope="module")
def sor_list(sor: Protocol) -> AllocationList:
    return generate_allocation_list(SEED, allocation_spec(sor))


def _blocks(slots: tuple[Slot, ...]) -> dict[int, list[Slot]]:
    blocks: dict[int, list[Slot]] = {}
    for slot in slots:
        blocks.setdefault(slot.block, []).append(slot)
    return blocks


# --- the SOR strata come from the protocol file ------------------------------------------


def test_sor_strata_are_background_therapy_by_country_from_the_protocol(sor: Protocol) -> None:
    spec = allocation_spec(sor)
    assert [f.name for f in spec.factors] == ["background_therapy", "country"]
    assert len(spec.strata) == 12
    assert spec.strata[0].key == "endocrine/DE"
    assert spec.strata[-1].key == "chemotherapy/RU"
    assert spec.block_sizes == (2, 4)
    assert spec.stratum_of({"background_therapy": "chemotherapy", "country": "PL"}).index == 10


def test_every_sor_stratum_has_the_protocol_length_with_margin(
    sor: Protocol, sor_list: AllocationList
) -> None:
    assert sor.allocation.slots_per_stratum >= 220  # all 220 patients could share one stratum
    assert len(sor_list.strata) == 12
    for key in sor_list.strata:
        slots = sor_list.stratum_slots(key)
        assert (
            sor.allocation.slots_per_stratum <= len(slots) <= sor.allocation.slots_per_stratum + 3
        )
        assert [s.sequence for s in slots] == list(range(1, len(slots) + 1))


# --- ICH E9 §2.3: balance -------------------------------------------------------------------


def test_ich_e9_stratified_blocks_balance_each_stratum(sor_list: AllocationList) -> None:
    for key in sor_list.strata:
        for number, block in _blocks(sor_list.stratum_slots(key)).items():
            assert len(block) == block[0].block_size, (key, number)
            assert {s.block_size for s in block} == {len(block)}
            counts = Counter(s.arm for s in block)
            assert counts["A"] == counts["B"] == len(block) // 2, (key, number)


def test_ich_e9_arms_within_half_the_largest_block_at_every_point(sor_list: AllocationList) -> None:
    # stronger than "within one block size": with blocks of 2 and 4 the difference never
    # exceeds 2 at any point of any stratum, and is 0 at every block boundary
    for key in sor_list.strata:
        diff = 0
        for slot in sor_list.stratum_slots(key):
            diff += 1 if slot.arm == "A" else -1
            assert abs(diff) <= 2, (key, slot.sequence)
            if _is_block_end(sor_list, slot):
                assert diff == 0, (key, slot.sequence)


def _is_block_end(allocation_list: AllocationList, slot: Slot) -> bool:
    block = [s for s in allocation_list.stratum_slots(slot.stratum) if s.block == slot.block]
    return block[-1] == slot


def test_ratio_2_to_1_respected_in_every_block_and_overall() -> None:
    spec = small_spec(ratio=(2, 1), block_sizes=(3, 6), slots=300)
    result = generate_allocation_list(SEED, spec)
    for key in result.strata:
        slots = result.stratum_slots(key)
        for block in _blocks(slots).values():
            counts = Counter(s.arm for s in block)
            assert counts["A"] == 2 * counts["B"]
        counts = Counter(s.arm for s in slots)
        assert counts["A"] == 2 * counts["B"]


def test_a_2_to_1_protocol_gets_default_blocks_of_3_and_6() -> None:
    from tests.protocol.test_loader import DATA

    geri = parse_protocol((DATA / "geriatric.yaml").read_text(encoding="utf-8"))
    spec = allocation_spec(geri)
    assert spec.block_sizes == (3, 6)
    assert [s.key for s in spec.strata] == ["all"]


def test_block_sizes_must_be_multiples_of_the_ratio_sum(sor: Protocol) -> None:
    with pytest.raises(InputError, match="multiples of the ratio sum 3"):
        small_spec(ratio=(2, 1), block_sizes=(2, 4))
    source = sor_source().replace("block_sizes: [2, 4]", "block_sizes: [2, 3]")
    with pytest.raises(ProtocolError, match="multiples of the ratio sum 2"):
        parse_protocol(source)


def sor_source() -> str:
    from tests.protocol.test_loader import SOR_SOURCE

    return SOR_SOURCE


# --- concealment ----------------------------------------------------------------------------


def test_concealed_block_sizes_vary_in_every_stratum(sor_list: AllocationList) -> None:
    for key in sor_list.strata:
        sizes = Counter(b[0].block_size for b in _blocks(sor_list.stratum_slots(key)).values())
        assert set(sizes) == {2, 4}, key
    # sizes are drawn with equal probability: over all strata about half the blocks are 2s
    sizes = Counter(
        b[0].block_size
        for k in sor_list.strata
        for b in _blocks(sor_list.stratum_slots(k)).values()
    )
    share = sizes[2] / (sizes[2] + sizes[4])
    assert 0.44 < share < 0.56  # about 1,060 blocks: +-0.06 is beyond 3.9 standard errors


def test_concealed_last_slot_of_a_block_is_not_always_predictable(
    sor_list: AllocationList,
) -> None:
    quotas = {2: {"A": 1, "B": 1}, 4: {"A": 2, "B": 2}}
    ends_predicted = ends = 0
    predicted = total = 0
    for key in sor_list.strata:
        slots = sor_list.stratum_slots(key)
        flags = predictable_positions([s.arm for s in slots], quotas)
        predicted += sum(flags)
        total += len(flags)
        for slot, flag in zip(slots, flags, strict=True):
            if slot.block_size == 4 and _is_block_end(sor_list, slot):
                ends += 1
                ends_predicted += flag
    # with a fixed block size of 4 every 4th assignment is known from the ones before it
    fixed = generate_allocation_list(SEED, small_spec(block_sizes=(4,), slots=264))
    fixed_flags = predictable_positions([s.arm for s in fixed.slots[:264]], {4: quotas[4]})
    assert all(fixed_flags[3::4])
    # varying sizes: many block ends cannot be named from the history
    assert ends_predicted < ends
    assert predicted / total < sum(fixed_flags) / len(fixed_flags)


# --- determinism and independence -------------------------------------------------------------


def test_same_seed_gives_the_identical_list_and_hash(sor: Protocol) -> None:
    spec = allocation_spec(sor)
    first, second = generate_allocation_list(SEED, spec), generate_allocation_list(SEED, spec)
    assert first.slots == second.slots
    assert first.hash == second.hash


def test_a_different_seed_gives_a_different_list(sor: Protocol) -> None:
    spec = allocation_spec(sor)
    first, other = generate_allocation_list(SEED, spec), generate_allocation_list(OTHER_SEED, spec)
    assert first.hash != other.hash
    same = sum(a.arm == b.arm for a, b in zip(first.slots, other.slots, strict=False))
    assert 0.4 < same / len(first.slots) < 0.6


def test_a_short_seed_is_refused() -> None:
    with pytest.raises(InputError, match="at least 16"):
        generate_allocation_list(b"0123456789", small_spec())


def test_the_construction_can_be_reimplemented_from_its_documentation() -> None:
    """An auditor's independent implementation, written from the module docstrings only."""
    spec = small_spec(slots=10)

    def words(label: str):  # type: ignore[no-untyped-def]
        counter = 0
        while True:
            msg = label.encode() + b"\x00" + counter.to_bytes(8, "big")
            block = hmac.new(SEED, msg, hashlib.sha256).digest()
            for i in range(0, 32, 8):
                yield int.from_bytes(block[i : i + 8], "big")
            counter += 1

    def below(stream, n: int) -> int:  # type: ignore[no-untyped-def]
        limit = 2**64 - 2**64 % n
        return next(w for w in stream if w < limit) % n

    rows = []
    for index, key in enumerate(["DE", "IT"]):
        stream = words(f"trialkit/v1/allocation/{index}/0")
        seq = 0
        block = 0
        while seq < 10:
            size = (2, 4)[below(stream, 2)]
            arms = ["A"] * (size // 2) + ["B"] * (size // 2)
            for i in range(len(arms) - 1, 0, -1):
                j = below(stream, i + 1)
                arms[i], arms[j] = arms[j], arms[i]
            block += 1
            for arm in arms:
                seq += 1
                rows.append([key, seq, block, size, arm])
    numbers = words("trialkit/v1/randomisation-number/0")
    used: set[int] = set()
    for row in rows:
        n = 100000 + below(numbers, 900000)
        while n in used:
            n = 100000 + below(numbers, 900000)
        used.add(n)
        row += [n, 0]
    text = "trialkit-allocation-list/v1\n" + "".join(
        "\t".join(map(str, r)) + "\n" for r in sorted(rows, key=lambda r: (r[0], r[1]))
    )
    ours = generate_allocation_list(SEED, spec)
    assert canonical_text(ours.slots) == text
    assert ours.hash == hashlib.sha256(text.encode()).hexdigest()


# --- randomisation numbers --------------------------------------------------------------------


def test_randomisation_numbers_are_unique_across_strata_and_non_informative(
    sor_list: AllocationList,
) -> None:
    numbers = [s.randomisation_number for s in sor_list.slots]
    assert len(set(numbers)) == len(numbers)
    assert all(100_000 <= n <= 999_999 for n in numbers)
    for key in sor_list.strata:
        within = [s.randomisation_number for s in sor_list.stratum_slots(key)]
        assert within != sorted(within)
    by_arm = {arm: [s.randomisation_number for s in sor_list.slots if s.arm == arm] for arm in "AB"}
    means = {arm: sum(v) / len(v) for arm, v in by_arm.items()}
    assert abs(means["A"] - means["B"]) < 40_000  # about 4 standard errors of the difference
    parity = Counter((s.arm, s.randomisation_number % 2) for s in sor_list.slots)
    assert abs(parity["A", 0] - parity["A", 1]) < 0.1 * len(by_arm["A"])


# --- safe extension ---------------------------------------------------------------------------


def test_extension_appends_fresh_blocks_and_never_alters_existing_slots(sor: Protocol) -> None:
    spec = allocation_spec(sor)
    base = generate_allocation_list(SEED, spec)
    extended = extend_stratum(base, SEED, spec, "endocrine/IT", 30)
    assert set(base.slots) <= set(extended.slots)
    old = base.stratum_slots("endocrine/IT")
    new = extended.stratum_slots("endocrine/IT")[len(old) :]
    assert 30 <= len(new) <= 33
    assert {s.extension for s in new} == {1}
    assert [s.sequence for s in new] == list(range(len(old) + 1, len(old) + len(new) + 1))
    assert new[0].block == old[-1].block + 1
    for block in _blocks(new).values():
        assert Counter(s.arm for s in block)["A"] == len(block) // 2
    numbers = [s.randomisation_number for s in extended.slots]
    assert len(set(numbers)) == len(numbers)
    # a second extension of another stratum is numbered 2 and uses its own stream
    twice = extend_stratum(extended, SEED, spec, "chemotherapy/RU", 4)
    assert {s.extension for s in twice.slots} == {0, 1, 2}
    assert set(extended.slots) <= set(twice.slots)
    assert verify(SEED, spec, twice.slots).verified


def test_extension_uses_a_stream_separate_from_the_initial_list() -> None:
    spec = small_spec(slots=40)
    short = generate_allocation_list(SEED, small_spec(slots=4))
    long = generate_allocation_list(SEED, spec)
    extended = extend_stratum(short, SEED, spec, "DE", 36)
    # continuing the initial stream would reproduce the long list; the extension must not
    assert [s.arm for s in extended.stratum_slots("DE")] != [
        s.arm for s in long.stratum_slots("DE")[: len(extended.stratum_slots("DE"))]
    ]


def test_next_slot_refuses_an_exhausted_stratum_without_naming_an_arm() -> None:
    result = generate_allocation_list(SEED, small_spec(slots=4))
    slots = result.stratum_slots("IT")
    assert next_slot(result, "IT", 0) == slots[0]
    with pytest.raises(RandomisationError, match="extend the stratum") as caught:
        next_slot(result, "IT", len(slots))
    assert "arm" not in str(caught.value).lower().replace("randomis", "")


# --- hash and verification --------------------------------------------------------------------


def test_hash_is_sha256_of_the_canonical_serialisation(sor_list: AllocationList) -> None:
    text = canonical_text(reversed(sor_list.slots))  # order of input does not matter
    assert text.startswith("trialkit-allocation-list/v1\n")
    assert text.count("\n") == len(sor_list.slots) + 1
    assert sor_list.hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert list_hash(sor_list.slots) == sor_list.hash


def test_verify_proves_an_untouched_list(sor: Protocol, sor_list: AllocationList) -> None:
    result = verify(SEED, allocation_spec(sor), sor_list.slots)
    assert result.verified
    assert result.stored_hash == result.expected_hash == sor_list.hash
    assert str(result) == f"verified: {len(sor_list.slots)} slots, hash {sor_list.hash}"


def test_verify_names_the_first_altered_slot(sor: Protocol, sor_list: AllocationList) -> None:
    slots = list(sor_list.slots)
    slots[100] = dataclasses.replace(slots[100], arm="B" if slots[100].arm == "A" else "A")
    slots[200] = dataclasses.replace(slots[200], randomisation_number=1)
    result = verify(SEED, allocation_spec(sor), slots)
    assert not result.verified
    assert result.first_difference is not None
    assert result.first_difference.position == 100
    assert result.first_difference.field == "arm"
    assert result.first_difference.stratum == sor_list.slots[100].stratum
    assert result.stored_hash != result.expected_hash


def test_verify_detects_a_removed_slot_and_a_wrong_seed(
    sor: Protocol, sor_list: AllocationList
) -> None:
    spec = allocation_spec(sor)
    result = verify(SEED, spec, sor_list.slots[:-1])
    assert not result.verified
    assert result.first_difference is not None
    assert "missing from the stored list" in str(result)
    assert not verify(OTHER_SEED, spec, sor_list.slots).verified


def test_verify_detects_a_forged_extension() -> None:
    spec = small_spec(slots=8)
    base = generate_allocation_list(SEED, spec)
    forged = [
        *base.slots,
        Slot("DE", base.stratum_slots("DE")[-1].sequence + 1, 99, 2, "A", 123456, 1),
    ]
    assert not verify(SEED, spec, forged).verified


def test_document_round_trip_and_malformed_documents_are_refused(
    sor_list: AllocationList,
) -> None:
    document = list_to_document(sor_list)
    assert "seed" not in document
    assert list_from_document(document).slots == sor_list.slots
    with pytest.raises(InputError, match="not an allocation list"):
        list_from_document({"slots": []})
    broken = {**document, "slots": [{**document["slots"][0], "sequence": "one"}]}
    with pytest.raises(InputError, match=r"slots\[0\]"):
        list_from_document(broken)


def test_stratum_of_refuses_unknown_levels() -> None:
    spec = small_spec(factors=(Factor("country", ("DE", "IT")),))
    with pytest.raises(RandomisationError, match="'FR' is not one of DE, IT"):
        spec.stratum_of({"country": "FR"})
    with pytest.raises(RandomisationError, match="has no country"):
        spec.stratum_of({})
