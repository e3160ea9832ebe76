"""Who may see the arm, and views of randomisation results that cannot leak it.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.blinding`.

References
----------
.. [1] ICH E9. Statistical principles for clinical trials, section 2.3.2 (blinding). 1998.
.. [2] ICH E6(R3). Good clinical practice, 2025: investigational product handling and
   unblinding procedures.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.randomisation.kits import Kit

__all__ = [
    "ARM_REVEALING_FIELDS",
    "BlindedKit",
    "BlindedRandomisation",
    "RandomisationRecord",
    "UnblindedRandomisation",
    "emergency_view",
    "kit_view",
    "redact",
]

ARM_REVEALING_FIELDS = frozenset(
    {"arm", "arm_label", "product", "block", "block_size", "sequence", "kit_arms"}
)


@dataclass(frozen=True, slots=True)
class RandomisationRecord:
    """A randomisation as the service records it: unblinded, never returned as it is."""

    randomisation_number: int
    stratum: str
    kit_number: int
    arm: str
    arm_label: str
    sequence: int
    block: int
    block_size: int


@dataclass(frozen=True, slots=True)
class BlindedRandomisation:
    """What a blinded role sees of a randomisation: no arm, no block, no position."""

    randomisation_number: int
    stratum: str
    kit_number: int

    def __str__(self) -> str:
        return (
            f"randomisation number {self.randomisation_number}, kit {self.kit_number} "
            f"(stratum {self.stratum})"
        )


@dataclass(frozen=True, slots=True)
class UnblindedRandomisation:
    """What an unblinded role (or an emergency unblinding) sees: the arm as well."""

    randomisation_number: int
    stratum: str
    kit_number: int
    arm: str
    arm_label: str

    def __str__(self) -> str:
        return (
            f"randomisation number {self.randomisation_number}, kit {self.kit_number} "
            f"(stratum {self.stratum}): arm {self.arm} ({self.arm_label})"
        )


def redact(
    record: RandomisationRecord, *, sees_arm: bool
) -> BlindedRandomisation | UnblindedRandomisation:
    """The view of ``record`` for a reader who may (``sees_arm``) or may not see arms."""
    if sees_arm:
        return emergency_view(record)
    return BlindedRandomisation(record.randomisation_number, record.stratum, record.kit_number)


def emergency_view(record: RandomisationRecord) -> UnblindedRandomisation:
    """The unblinded view, for unblinded roles or one recorded emergency unblinding."""
    return UnblindedRandomisation(
        record.randomisation_number, record.stratum, record.kit_number, record.arm, record.arm_label
    )


@dataclass(frozen=True, slots=True)
class BlindedKit:
    """A kit as blinded staff see it: its number and batch, never its arm."""

    number: int
    batch: int


def kit_view(kit: Kit, *, sees_arm: bool) -> BlindedKit | Kit:
    """The kit as a reader who may (``sees_arm``) or may not see arms sees it."""
    return kit if sees_arm else BlindedKit(kit.number, kit.batch)
