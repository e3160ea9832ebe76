"""CONSORT flow counts: screened, not eligible (by criterion), randomised, treated,
discontinued (by reason), analysed.

Counting only; arms are optional. With no arm (a blinded reader) every randomised patient falls in
one pooled branch, so the flow shows nothing arm-derived.

References
----------
Schulz KF, Altman DG, Moher D, for the CONSORT Group (2010). CONSORT 2010 Statement: updated
guidelines for reporting parallel group randomised trials. BMJ 340:c332 (the flow diagram).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ConsortArm", "ConsortFlow", "ConsortPatient", "consort_flow"]

POOLED = "All randomised"


@dataclass(frozen=True, slots=True)
class ConsortPatient:
    """What the flow needs of one screened patient.

    ``failed_criteria`` are the ids of the criteria that made the patient not eligible (empty
    for an eligible or undetermined one); ``arm`` is ``None`` for a blinded reader or a patient
    not randomised.
    """

    eligible: bool | None
    failed_criteria: tuple[str, ...] = ()
    randomised: bool = False
    arm: str | None = None
    treated: bool = False
    discontinued_reason: str | None = None
    analysed: bool = False


@dataclass(frozen=True, slots=True)
class ConsortArm:
    """One branch of the flow after randomisation."""

    arm: str
    randomised: int
    treated: int
    not_treated: int
    discontinued: dict[str, int]
    analysed: int


@dataclass(frozen=True, slots=True)
class ConsortFlow:
    screened: int
    not_eligible: int
    not_eligible_by_criterion: dict[str, int]
    undetermined: int
    eligible_not_randomised: int
    randomised: int
    arms: tuple[ConsortArm, ...]

    def summary(self) -> str:
        lines = [
            f"screened {self.screened}; not eligible {self.not_eligible}; "
            f"randomised {self.randomised}"
        ]
        lines += [
            f"  {a.arm}: randomised {a.randomised}, treated {a.treated}, "
            f"discontinued {sum(a.discontinued.values())}, analysed {a.analysed}"
            for a in self.arms
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def consort_flow(
    patients: Sequence[ConsortPatient], *, arms: Sequence[str] | None = None
) -> ConsortFlow:
    """Count the CONSORT flow.

    Parameters
    ----------
    patients
        Every screened patient.
    arms
        The arms' order; ``None`` pools every randomised patient into one branch (the blinded
        flow), and then any ``arm`` given on a patient is ignored.

    Returns
    -------
    ConsortFlow
        A patient failing several criteria counts once under each (so the by-criterion counts
        may add up to more than ``not_eligible``), as CONSORT diagrams list reasons.
    """
    by_criterion: Counter[str] = Counter()
    for p in patients:
        if p.eligible is False:
            by_criterion.update(p.failed_criteria)
    randomised = [p for p in patients if p.randomised]
    names = [POOLED] if arms is None else list(arms)
    branches = []
    for name in names:
        members = [p for p in randomised if arms is None or p.arm == name]
        reasons = Counter(p.discontinued_reason for p in members if p.discontinued_reason)
        treated = sum(p.treated for p in members)
        branches.append(
            ConsortArm(
                arm=name,
                randomised=len(members),
                treated=treated,
                not_treated=len(members) - treated,
                discontinued=dict(sorted(reasons.items())),
                analysed=sum(p.analysed for p in members),
            )
        )
    return ConsortFlow(
        screened=len(patients),
        not_eligible=sum(p.eligible is False for p in patients),
        not_eligible_by_criterion=dict(sorted(by_criterion.items())),
        undetermined=sum(p.eligible is None and not p.randomised for p in patients),
        eligible_not_randomised=sum(p.eligible is True and not p.randomised for p in patients),
        randomised=len(randomised),
        arms=tuple(branches),
    )
