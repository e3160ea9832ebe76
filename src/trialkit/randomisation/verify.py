"""Prove that a stored allocation list is the one the sealed seed generates.

:func:`verify` regenerates the initial list from the seed and the spec, replays
the stored list's extensions in order (each extension's stratum and length are
read from the stored slots), and compares slot by slot in canonical order. The
result names the first slot that differs, which field, and both values.

Like clinicedc's ``edc-randomization``, which refuses to start when the stored
list differs from its source, the service runs this check before it uses a
list; ``trialkit randomisation verify`` runs it from the command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from trialkit.randomisation.allocation_list import (
    AllocationList,
    Slot,
    extend_stratum,
    generate_allocation_list,
    list_hash,
)
from trialkit.randomisation.spec import AllocationSpec

__all__ = ["SlotDifference", "VerificationResult", "regenerate", "verify"]


@dataclass(frozen=True)
class SlotDifference:
    """The first place where the stored list and the regenerated list disagree."""

    position: int
    stratum: str
    sequence: int
    field: str
    stored: str
    expected: str

    def __str__(self) -> str:
        if self.field == "presence":
            return self.blinded()
        return (
            f"{self._where}: {self.field} is {self.stored} in the stored list "
            f"but {self.expected} regenerated"
        )

    @property
    def _where(self) -> str:
        return f"slot {self.position + 1} (stratum {self.stratum}, sequence {self.sequence})"

    def blinded(self) -> str:
        """Where the lists differ and in which field, without either value: what a blinded
        reader (an administrator verifying the sealed lists) may see, since a slot's stored or
        regenerated value may be its arm."""
        if self.field == "presence":
            missing = self.stored == "absent"
            return f"{self._where}: {'missing from' if missing else 'extra in'} the stored list"
        return f"{self._where}: its {self.field} is not the regenerated one"


@dataclass(frozen=True)
class VerificationResult:
    """Whether the stored list is exactly what the seed regenerates, with both hashes."""

    verified: bool
    slots: int
    stored_hash: str
    expected_hash: str
    first_difference: SlotDifference | None

    def __str__(self) -> str:
        if self.verified:
            return f"verified: {self.slots} slots, hash {self.stored_hash}"
        assert self.first_difference is not None
        return f"NOT verified: {self.first_difference}"


def _extension_plan(slots: Iterable[Slot]) -> list[tuple[int, str, int]]:
    plan: dict[int, tuple[str, int]] = {}
    for slot in slots:
        if slot.extension > 0:
            stratum, count = plan.get(slot.extension, (slot.stratum, 0))
            plan[slot.extension] = (stratum, count + 1)
    return [(e, stratum, count) for e, (stratum, count) in sorted(plan.items())]


def regenerate(seed: bytes, spec: AllocationSpec, stored: Iterable[Slot]) -> AllocationList:
    """The list the seed gives, with the same extensions (stratum, length) as ``stored``."""
    stored = tuple(stored)
    expected = generate_allocation_list(seed, spec)
    for extension, stratum, count in _extension_plan(stored):
        if stratum not in {s.key for s in spec.strata}:
            continue  # reported as a difference by the slot comparison
        expected = extend_stratum(expected, seed, spec, stratum, count, extension=extension)
    return expected


def verify(seed: bytes, spec: AllocationSpec, stored_slots: Iterable[Slot]) -> VerificationResult:
    """Regenerate the list from ``seed`` and ``spec`` and compare it with ``stored_slots``.

    Parameters
    ----------
    seed
        The sealed trial seed.
    spec
        The allocation spec of the protocol version the list was generated under.
    stored_slots
        The slots as stored (any order; compared in canonical order).
    """
    stored = AllocationList("", tuple(stored_slots)).slots
    expected = regenerate(seed, spec, stored).slots
    difference = None
    for position, (got, want) in enumerate(zip(stored, expected, strict=False)):
        if got != want:
            name = next(
                f.name for f in fields(Slot) if getattr(got, f.name) != getattr(want, f.name)
            )
            difference = SlotDifference(
                position,
                got.stratum,
                got.sequence,
                name,
                str(getattr(got, name)),
                str(getattr(want, name)),
            )
            break
    if difference is None and len(stored) != len(expected):
        position = min(len(stored), len(expected))
        longer = stored if len(stored) > len(expected) else expected
        extra = longer[position]
        difference = SlotDifference(
            position,
            extra.stratum,
            extra.sequence,
            "presence",
            "present" if longer is stored else "absent",
            "present" if longer is expected else "absent",
        )
    return VerificationResult(
        verified=difference is None,
        slots=len(stored),
        stored_hash=list_hash(stored),
        expected_hash=list_hash(expected),
        first_difference=difference,
    )
