"""What an allocation list is generated from: arms, ratio, block sizes and strata.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.spec`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from trialkit.errors import InputError, RandomisationError
from trialkit.protocol.model import Protocol

__all__ = ["UNSTRATIFIED", "AllocationSpec", "Factor", "Stratum", "allocation_spec"]

UNSTRATIFIED = "all"


@dataclass(frozen=True)
class Factor:
    """A stratification (or minimisation) factor and its levels, in protocol order."""

    name: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Stratum:
    """One stratum: its index (stream label), key (``endocrine/DE``) and factor levels."""

    index: int
    key: str
    levels: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class AllocationSpec:
    """Everything list generation needs, taken from a protocol (or built directly in tests).

    Parameters
    ----------
    arms
        Arm ids, in the order their share of a block is laid out before shuffling.
    ratio
        Integer weight of each arm, aligned with ``arms`` (1:1 -> ``(1, 1)``).
    block_sizes
        Sizes drawn with equal probability for each new block; multiples of ``sum(ratio)``.
    factors
        Stratification factors; none means one stratum named ``all``.
    slots_per_stratum
        Minimum length of each stratum's initial list (whole blocks, so it may be exceeded).
    """

    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    block_sizes: tuple[int, ...]
    factors: tuple[Factor, ...] = ()
    slots_per_stratum: int = 500
    protocol_id: str = ""

    def __post_init__(self) -> None:
        if len(self.arms) < 2 or len(self.arms) != len(self.ratio):
            raise InputError("an allocation needs at least two arms, each with one ratio weight")
        if len(set(self.arms)) != len(self.arms):
            raise InputError(f"arm ids must be unique, got {self.arms}")
        if any(r <= 0 for r in self.ratio):
            raise InputError(f"ratio weights must be positive integers, got {self.ratio}")
        total = sum(self.ratio)
        if not self.block_sizes or any(b <= 0 or b % total for b in self.block_sizes):
            raise InputError(
                f"block sizes must be positive multiples of the ratio sum {total}, "
                f"got {self.block_sizes}"
            )
        if self.slots_per_stratum <= 0:
            raise InputError("slots_per_stratum must be positive")

    @property
    def ratio_by_arm(self) -> dict[str, int]:
        return dict(zip(self.arms, self.ratio, strict=True))

    @property
    def strata(self) -> tuple[Stratum, ...]:
        """All strata, in generation order (cartesian product of levels, first factor slowest)."""
        if not self.factors:
            return (Stratum(0, UNSTRATIFIED, ()),)
        combos = itertools.product(*(f.levels for f in self.factors))
        return tuple(
            Stratum(
                index,
                "/".join(combo),
                tuple((f.name, level) for f, level in zip(self.factors, combo, strict=True)),
            )
            for index, combo in enumerate(combos)
        )

    def stratum(self, key: str) -> Stratum:
        """The stratum with this key, or a :class:`RandomisationError` naming the valid keys."""
        for stratum in self.strata:
            if stratum.key == key:
                return stratum
        raise RandomisationError(
            f"no stratum {key!r}; strata are {', '.join(s.key for s in self.strata)}"
        )

    def stratum_of(self, patient_factors: Mapping[str, str]) -> Stratum:
        """The stratum of a patient given the level of each factor (``{"country": "DE"}``)."""
        parts = []
        for factor in self.factors:
            level = patient_factors.get(factor.name)
            if level is None:
                raise RandomisationError(
                    f"the patient has no {factor.name}; it is needed to find the stratum"
                )
            if level not in factor.levels:
                raise RandomisationError(
                    f"{factor.name} {level!r} is not one of {', '.join(factor.levels)}"
                )
            parts.append(level)
        return self.stratum("/".join(parts) if parts else UNSTRATIFIED)


def _levels(protocol: Protocol, name: str) -> tuple[str, ...]:
    if name == "background_therapy":
        if protocol.background_therapy is None:  # pragma: no cover - the model refuses it
            raise InputError("background_therapy stratification needs a background_therapy")
        return tuple(rule.id for rule in protocol.background_therapy.rules)
    if name == "country":
        return tuple(c.code for c in protocol.countries)
    return tuple(c.name for c in protocol.centres)


def allocation_spec(protocol: Protocol) -> AllocationSpec:
    """The allocation spec a protocol's ``allocation`` block describes."""
    allocation = protocol.allocation
    arms = tuple(arm.id for arm in protocol.arms)
    return AllocationSpec(
        arms=arms,
        ratio=tuple(allocation.ratio[a] for a in arms),
        block_sizes=allocation.effective_block_sizes,
        factors=tuple(Factor(name, _levels(protocol, name)) for name in allocation.strata),
        slots_per_stratum=allocation.slots_per_stratum,
        protocol_id=protocol.id,
    )
