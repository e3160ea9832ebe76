"""The sealed allocation list: generation, safe extension, canonical form and hash.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.allocation_list`.

References
----------
.. [1] ICH E9. Statistical principles for clinical trials, section 2.3. 1998.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and Practice,
   2nd ed., chapter 3 and section 7.3 (stratified randomisation). Wiley, 2016.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from trialkit.errors import InputError, RandomisationError
from trialkit.randomisation.blocks import draw_blocks
from trialkit.randomisation.spec import AllocationSpec, Stratum
from trialkit.randomisation.stream import SeedStream

__all__ = [
    "FORMAT",
    "AllocationList",
    "Slot",
    "canonical_text",
    "extend_stratum",
    "generate_allocation_list",
    "list_from_document",
    "list_hash",
    "list_to_document",
    "next_slot",
]

FORMAT = "trialkit-allocation-list/v1"
NUMBER_LOW = 100_000
NUMBER_SPAN = 900_000


@dataclass(frozen=True)
class Slot:
    """One slot of the allocation list (unblinded: it holds the arm)."""

    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str
    randomisation_number: int
    extension: int = 0

    def canonical_line(self) -> str:
        return "\t".join(str(getattr(self, f.name)) for f in fields(self)) + "\n"


def _canonical_order(slots: Iterable[Slot]) -> tuple[Slot, ...]:
    return tuple(sorted(slots, key=lambda s: (s.stratum, s.sequence)))


def canonical_text(slots: Iterable[Slot]) -> str:
    """The canonical serialisation whose SHA-256 is the list's hash (see module docstring)."""
    return FORMAT + "\n" + "".join(s.canonical_line() for s in _canonical_order(slots))


def list_hash(slots: Iterable[Slot]) -> str:
    """SHA-256 (hex) of the canonical serialisation of ``slots``."""
    return hashlib.sha256(canonical_text(slots).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AllocationList:
    """An allocation list in canonical order; its ``hash`` is what the service records."""

    protocol_id: str
    slots: tuple[Slot, ...]
    _by_stratum: dict[str, tuple[Slot, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = _canonical_order(self.slots)
        object.__setattr__(self, "slots", ordered)
        groups: dict[str, list[Slot]] = {}
        for slot in ordered:
            groups.setdefault(slot.stratum, []).append(slot)
        object.__setattr__(self, "_by_stratum", {k: tuple(v) for k, v in groups.items()})

    @cached_property
    def hash(self) -> str:
        return list_hash(self.slots)

    @property
    def strata(self) -> tuple[str, ...]:
        return tuple(self._by_stratum)

    @property
    def extensions(self) -> int:
        """How many extensions have been appended (0 for a fresh list)."""
        return max((s.extension for s in self.slots), default=0)

    def stratum_slots(self, key: str) -> tuple[Slot, ...]:
        """The slots of one stratum, in sequence order."""
        return self._by_stratum.get(key, ())

    def __str__(self) -> str:
        lengths = [len(v) for v in self._by_stratum.values()]
        return (
            f"allocation list {self.protocol_id or '(no protocol)'}: {len(self.slots)} slots in "
            f"{len(lengths)} strata ({min(lengths, default=0)}-{max(lengths, default=0)} each), "
            f"{self.extensions} extension(s), sha256 {self.hash}"
        )


def _numbers(seed: bytes, extension: int, count: int, used: set[int]) -> list[int]:
    if len(used) + count > NUMBER_SPAN // 2:
        raise RandomisationError(
            f"the list would hold {len(used) + count} slots; six-digit randomisation numbers "
            f"allow at most {NUMBER_SPAN // 2}"
        )
    stream = SeedStream(seed, "randomisation-number", str(extension))
    out: list[int] = []
    while len(out) < count:
        number = NUMBER_LOW + stream.below(NUMBER_SPAN)
        if number not in used:
            used.add(number)
            out.append(number)
    return out


def _stratum_slots(
    seed: bytes,
    spec: AllocationSpec,
    stratum: Stratum,
    *,
    extension: int,
    min_slots: int,
    after: Slot | None,
) -> list[tuple[str, int, int, int, str]]:
    stream = SeedStream(seed, "allocation", str(stratum.index), str(extension))
    sequence = after.sequence if after else 0
    block_number = after.block if after else 0
    rows = []
    for block in draw_blocks(stream, spec, min_slots):
        block_number += 1
        for arm in block.arms:
            sequence += 1
            rows.append((stratum.key, sequence, block_number, block.size, arm))
    return rows


def generate_allocation_list(seed: bytes, spec: AllocationSpec) -> AllocationList:
    """Generate the initial allocation list (extension 0) from the sealed seed.

    Parameters
    ----------
    seed
        The trial seed, drawn once by the service with ``secrets.token_bytes(32)``.
    spec
        Arms, ratio, block sizes, strata and list length (:func:`allocation_spec`).

    Returns
    -------
    AllocationList
        Every stratum with at least ``spec.slots_per_stratum`` slots in whole blocks.
    """
    rows = []
    for stratum in spec.strata:
        rows += _stratum_slots(
            seed, spec, stratum, extension=0, min_slots=spec.slots_per_stratum, after=None
        )
    numbers = _numbers(seed, 0, len(rows), set())
    slots = [Slot(*row, number, 0) for row, number in zip(rows, numbers, strict=True)]
    return AllocationList(spec.protocol_id, tuple(slots))


def extend_stratum(
    allocation_list: AllocationList,
    seed: bytes,
    spec: AllocationSpec,
    stratum: str,
    min_slots: int,
    *,
    extension: int | None = None,
) -> AllocationList:
    """Append at least ``min_slots`` slots (whole blocks) to one stratum from a fresh stream.

    The new blocks come from the stream ``allocation/<stratum index>/<e>`` where
    ``e`` is the next extension number of the list; no existing slot is altered,
    and randomisation numbers stay unique over the whole list.
    """
    if min_slots <= 0:
        raise InputError("an extension needs a positive number of slots")
    target = spec.stratum(stratum)
    number = allocation_list.extensions + 1 if extension is None else extension
    existing = allocation_list.stratum_slots(stratum)
    rows = _stratum_slots(
        seed,
        spec,
        target,
        extension=number,
        min_slots=min_slots,
        after=existing[-1] if existing else None,
    )
    used = {s.randomisation_number for s in allocation_list.slots}
    numbers = _numbers(seed, number, len(rows), used)
    new = [Slot(*row, n, number) for row, n in zip(rows, numbers, strict=True)]
    return AllocationList(allocation_list.protocol_id, allocation_list.slots + tuple(new))


def next_slot(allocation_list: AllocationList, stratum: str, used: int) -> Slot:
    """The slot for the next patient of a stratum, given how many of its slots are used.

    Raises :class:`~trialkit.errors.RandomisationError` (naming no arm) when the
    stratum has run out, so that the service extends it before randomising.
    """
    slots = allocation_list.stratum_slots(stratum)
    if used < 0:
        raise InputError("the number of used slots cannot be negative")
    if used >= len(slots):
        raise RandomisationError(
            f"stratum {stratum!r} has used all {len(slots)} slots of its list; "
            "extend the stratum (extend_stratum) before randomising"
        )
    return slots[used]


def list_to_document(allocation_list: AllocationList) -> dict[str, Any]:
    """A JSON-ready mapping of the list (the seed is never part of it)."""
    return {
        "format": FORMAT,
        "protocol": allocation_list.protocol_id,
        "hash": allocation_list.hash,
        "slots": [
            {f.name: getattr(slot, f.name) for f in fields(Slot)} for slot in allocation_list.slots
        ],
    }


def list_from_document(document: Mapping[str, Any], *, source: str = "<list>") -> AllocationList:
    """Read a list written by :func:`list_to_document`; malformed input raises InputError."""
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise InputError(f"not an allocation list: expected format {FORMAT!r}", location=source)
    raw = document.get("slots")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InputError("'slots' must be a list of slot objects", location=f"{source}: slots")
    slots = []
    types = {"stratum": str, "arm": str}
    for i, item in enumerate(raw):
        where = f"{source}: slots[{i}]"
        if not isinstance(item, Mapping):
            raise InputError("each slot must be an object", location=where)
        values: dict[str, Any] = {}
        for f in fields(Slot):
            if f.name not in item:
                raise InputError(f"missing field {f.name!r}", location=where)
            value = item[f.name]
            kind = types.get(f.name, int)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InputError(
                    f"{f.name} must be {'a string' if kind is str else 'an integer'}, "
                    f"got {value!r}",
                    location=where,
                )
            values[f.name] = value
        slots.append(Slot(**values))
    protocol = document.get("protocol", "")
    return AllocationList(str(protocol), tuple(slots))
