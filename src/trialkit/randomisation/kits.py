"""The blinded kit list: kit numbers that reveal nothing about the arm, sealed like the list.

Kit numbers are consecutive and the arms are shuffled over them; two sealed order
keys per kit break ties of expiry when shipping and dispensing.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.kits`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from trialkit.errors import InputError, SupplyError
from trialkit.randomisation.spec import AllocationSpec
from trialkit.randomisation.stream import SeedStream

__all__ = [
    "KIT_FORMAT",
    "Kit",
    "KitList",
    "KitListVerification",
    "generate_kit_list",
    "kit_list_hash",
    "kit_order_keys",
    "verify_kit_list",
]

KIT_FORMAT = "trialkit-kit-list/v1"


@dataclass(frozen=True)
class Kit:
    """One kit of the kit list (unblinded: it holds the arm; the keys are sealed too)."""

    number: int
    arm: str
    batch: int
    ship_key: int
    dispense_key: int


def kit_order_keys(seed: bytes, number: int) -> tuple[int, int]:
    """The sealed ``(ship_key, dispense_key)`` of kit ``number`` (see the module docstring)."""
    return (
        SeedStream(seed, "kit-order", "ship", str(number)).below(_KEY_RANGE),
        SeedStream(seed, "kit-order", "dispense", str(number)).below(_KEY_RANGE),
    )


_KEY_RANGE = 1 << 63


def kit_list_hash(kits: Iterable[Kit]) -> str:
    """SHA-256 (hex) of the canonical serialisation of the kits."""
    lines = "".join(
        f"{k.number}\t{k.arm}\t{k.batch}\n" for k in sorted(kits, key=lambda k: k.number)
    )
    return hashlib.sha256((KIT_FORMAT + "\n" + lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KitList:
    """The kit list in number order; ``arm_of`` is for the service and unblinded roles only."""

    protocol_id: str
    kits: tuple[Kit, ...]
    _arms: dict[int, str] = field(init=False, repr=False, compare=False)
    _kits: dict[int, Kit] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.kits, key=lambda k: k.number))
        numbers = [k.number for k in ordered]
        if len(set(numbers)) != len(numbers):
            raise InputError("kit numbers must be unique")
        object.__setattr__(self, "kits", ordered)
        object.__setattr__(self, "_arms", {k.number: k.arm for k in ordered})
        object.__setattr__(self, "_kits", {k.number: k for k in ordered})

    @cached_property
    def hash(self) -> str:
        return kit_list_hash(self.kits)

    def dispense_key(self, number: int) -> int:
        """The kit's sealed dispensing order key (ties of expiry: the lowest goes first)."""
        return self._kit(number).dispense_key

    def ship_key(self, number: int) -> int:
        """The kit's sealed shipping order key (ties of expiry: the lowest is packed first)."""
        return self._kit(number).ship_key

    def _kit(self, number: int) -> Kit:
        try:
            return self._kits[number]
        except KeyError:
            raise SupplyError(f"kit {number} is not on the kit list") from None

    def arm_of(self, number: int) -> str:
        """The arm of a kit; an unknown number is a :class:`SupplyError`."""
        try:
            return self._arms[number]
        except KeyError:
            raise SupplyError(f"kit {number} is not on the kit list") from None

    def __contains__(self, number: object) -> bool:
        return number in self._arms

    def __str__(self) -> str:
        batches = len({k.batch for k in self.kits})
        return (
            f"kit list {self.protocol_id or '(no protocol)'}: {len(self.kits)} kits in "
            f"{batches} batch(es), numbers {self.kits[0].number}-{self.kits[-1].number}, "
            f"sha256 {self.hash}"
        )


def generate_kit_list(
    seed: bytes,
    spec: AllocationSpec,
    count: int,
    *,
    first_number: int = 100_001,
    batch: int = 0,
    existing: KitList | None = None,
) -> KitList:
    """Generate a batch of ``count`` kits (a multiple of the ratio sum) from the sealed seed.

    A later batch (``batch`` >= 1) appended to ``existing`` uses its own stream and
    numbers after the highest existing one; existing kits are never changed.
    """
    total = sum(spec.ratio)
    if count <= 0 or count % total:
        raise InputError(
            f"a kit batch needs a positive multiple of {total} kits (ratio {spec.ratio_by_arm}), "
            f"got {count}"
        )
    kits: tuple[Kit, ...] = existing.kits if existing is not None else ()
    if kits:
        first_number = max(first_number, kits[-1].number + 1)
        if batch in {k.batch for k in kits}:
            raise InputError(f"batch {batch} already exists; give the next batch number")
    arms = [
        a for a, r in zip(spec.arms, spec.ratio, strict=True) for _ in range(count // total * r)
    ]
    SeedStream(seed, "kits", str(batch)).shuffle(arms)
    new = tuple(
        Kit(first_number + i, arm, batch, *kit_order_keys(seed, first_number + i))
        for i, arm in enumerate(arms)
    )
    return KitList(spec.protocol_id, kits + new)


@dataclass(frozen=True)
class KitListVerification:
    """Whether a stored kit list is what the seed regenerates; names the first differing kit."""

    verified: bool
    kits: int
    stored_hash: str
    expected_hash: str
    first_difference: str | None

    def __str__(self) -> str:
        if self.verified:
            return f"verified: {self.kits} kits, hash {self.stored_hash}"
        return f"NOT verified: {self.first_difference}"


def verify_kit_list(
    seed: bytes, spec: AllocationSpec, stored: Iterable[Kit]
) -> KitListVerification:
    """Regenerate every stored batch (its size and first number read from the stored kits)."""
    stored_list = KitList(spec.protocol_id, tuple(stored))
    sizes = Counter(k.batch for k in stored_list.kits)
    firsts: dict[int, int] = {}
    for kit in stored_list.kits:
        firsts.setdefault(kit.batch, kit.number)
    expected: KitList | None = None
    difference = None
    for batch in sorted(sizes):
        try:
            expected = generate_kit_list(
                seed, spec, sizes[batch], first_number=firsts[batch], batch=batch, existing=expected
            )
        except InputError as exc:
            difference = f"batch {batch}: {exc.message}"
            break
    expected_kits = expected.kits if expected is not None else ()
    if difference is None:
        for got, want in zip(stored_list.kits, expected_kits, strict=False):
            if got != want:
                # never the arms: a blinded administrator reads this (the sealed-list check)
                difference = (
                    f"kit {got.number}: its stored number, contents or batch ({got.batch}) are "
                    f"not those regenerated for kit {want.number} (batch {want.batch})"
                    if (got.number, got.arm, got.batch) != (want.number, want.arm, want.batch)
                    else f"kit {got.number}: its stored order keys are not the sealed ones"
                )
                break
    return KitListVerification(
        verified=difference is None and len(expected_kits) == len(stored_list.kits),
        kits=len(stored_list.kits),
        stored_hash=stored_list.hash,
        expected_hash=kit_list_hash(expected_kits),
        first_difference=difference,
    )
