"""The DSMB's safety figures: SAEs and SUSARs by arm, exposure-adjusted incidence, and the time
to the first grade 3 or higher adverse event by arm (Kaplan-Meier, checked against R survival).

The blinded report pools every patient into one column and leaves SUSARs out: whether an SAE
is a SUSAR depends on the arm (on placebo it is not reported as one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trialkit.analysis import KaplanMeier, kaplan_meier

__all__ = ["DAYS_PER_YEAR", "DsmbPatient", "GroupSafety", "group_safety"]

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class DsmbPatient:
    """A patient of the safety population, as the DSMB's figures need her.

    ``grade3_day``: days from randomisation to the start of her first adverse event of grade 3
    or higher (``None``: none by the cut-off); ``follow_days``: days from randomisation to the
    cut-off or death, where the time to that event is censored.
    """

    usubjid: str
    group: str
    exposure_days: int
    sae_cases: int
    susars: int
    grade3_day: int | None
    follow_days: int


@dataclass(frozen=True)
class GroupSafety:
    """One column: SAEs, SUSARs, exposure-adjusted incidence, and the Kaplan-Meier curve."""

    group: str
    n: int
    patients_with_sae: int
    sae_cases: int
    susars: int
    exposure_years: float
    patients_grade3: int
    km: KaplanMeier | None

    def per_100_years(self, patients: int) -> float | None:
        """Patients with the event per 100 patient-years on study drug."""
        return None if self.exposure_years <= 0 else 100 * patients / self.exposure_years

    @property
    def sae_incidence(self) -> float | None:
        return self.per_100_years(self.patients_with_sae)

    @property
    def grade3_incidence(self) -> float | None:
        return self.per_100_years(self.patients_grade3)

    def free_of_grade3(self, day: int) -> float | None:
        """The Kaplan-Meier probability of no grade 3+ event by ``day``."""
        if self.km is None:
            return None
        return float(self.km.survival_at([day])[0])


def group_safety(patients: Sequence[DsmbPatient], groups: Sequence[str]) -> list[GroupSafety]:
    """The figures of each group, in ``groups`` order."""
    out: list[GroupSafety] = []
    for group in groups:
        members = [p for p in patients if p.group == group]
        km = None
        if members:
            time = [p.grade3_day if p.grade3_day is not None else p.follow_days for p in members]
            event = [int(p.grade3_day is not None) for p in members]
            km = kaplan_meier(np.asarray(time, dtype=float), np.asarray(event))
        out.append(
            GroupSafety(
                group=group,
                n=len(members),
                patients_with_sae=sum(p.sae_cases > 0 for p in members),
                sae_cases=sum(p.sae_cases for p in members),
                susars=sum(p.susars for p in members),
                exposure_years=sum(p.exposure_days for p in members) / DAYS_PER_YEAR,
                patients_grade3=sum(p.grade3_day is not None for p in members),
                km=km,
            )
        )
    return out
