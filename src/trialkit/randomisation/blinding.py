"""Who may see the arm, and views of randomisation results that cannot leak it.

Blinding is enforced by types, not by remembering to delete a field: a blinded
view is a different class (:class:`BlindedRandomisation`, :class:`BlindedKit`)
that has no arm field, no block, block size or position in the stratum (which
together with the block sizes would let a reader predict the next assignment),
and no arm-to-kit mapping. It uses ``__slots__``, so nothing can be attached to
it later. :func:`redact` is the one way from an unblinded record to what a role
may see; the service and the API return only what it returns.

Who may see arms is decided by the trial service's policy
(:func:`trialkit.service.platform.policy.can_see_arm`, the one source of truth for
roles); this pure module takes that decision as a bool (``sees_arm``), so the
core holds no second notion of roles.

Emergency unblinding (an investigator, one of their own patients, with a
reason) is a service use case that records who, when and why; it returns
:func:`emergency_view` for that one patient and changes nothing here.

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
