"""The demo trial's plan: who is screened where and when, and the data cut-off rule.

:func:`plan_screening` draws the screened women (about 8% fail screening for one real reason)
with screening dates over an accrual period whose rate ramps up as sites open, each site
ramping up over its first months. Randomisation follows screening by one to three weeks.

The data cut-off is the first day on which the pooled count of recorded PFS events reaches
:func:`target_events` (a little under the design's 120 for 220 patients), as long as enrolment
is still open; :func:`first_day_with` finds it among the courses drawn so far.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from trialkit.demodata.records import (
    FAILURES,
    GROUP_SHARES,
    Group,
    ScreeningPlan,
    screening_record,
)
from trialkit.demodata.sites import DEMO_SITES, DemoSite, recruiting_sites
from trialkit.protocol import Protocol

__all__ = [
    "ACCRUAL_END",
    "FAIL_SHARE",
    "Candidate",
    "first_day_with",
    "plan_screening",
    "target_events",
]

ACCRUAL_END = dt.date(2009, 11, 30)
"""Screening in the demo runs faster than the registry's enrolment period (to 30 June 2010), so
that the events near 120 while enrolment is still open."""
FAIL_SHARE = 0.08
RAMP_DAYS = 120
"""A site reaches its full screening rate this many days after it opens."""


@dataclass(frozen=True)
class Candidate:
    """One screened woman: where, her screening number, and her screening record."""

    index: int
    site: DemoSite
    screening_number: str
    screening: ScreeningPlan

    @property
    def eligible(self) -> bool:
        return self.screening.failure is None


def _ramp(site: DemoSite, day: dt.date) -> float:
    assert site.recruits_from is not None
    elapsed = (day - site.recruits_from).days
    return 0.0 if elapsed < 0 else site.rate * min(1.0, (elapsed + 1) / RAMP_DAYS)


def _weekday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)


def plan_screening(
    rng: np.random.Generator,
    protocol: Protocol,
    *,
    patients: int = 240,
    sites: tuple[DemoSite, ...] = DEMO_SITES,
    accrual_end: dt.date = ACCRUAL_END,
) -> tuple[Candidate, ...]:
    """Draw ``patients`` screened women in screening-date order (see the module docstring)."""
    if patients < 1:
        raise ValueError(f"the demo needs at least one patient (got {patients})")
    recruiting = recruiting_sites(sites)
    start = protocol.dates.first_enrolment
    end = min(accrual_end, protocol.dates.final_enrolment - dt.timedelta(days=30))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    weights = np.array([[_ramp(s, d) for s in recruiting] for d in days])
    per_day = weights.sum(axis=1)
    chosen = np.sort(rng.choice(len(days), size=patients, p=per_day / per_day.sum()))
    failing = set(
        rng.choice(patients, size=max(1, round(FAIL_SHARE * patients)), replace=False).tolist()
    )
    groups: list[Group] = list(GROUP_SHARES)
    shares = np.array([GROUP_SHARES[g] for g in groups])
    numbers: dict[str, int] = {}
    failures = 0
    candidates: list[Candidate] = []
    for index, day_index in enumerate(chosen.tolist()):
        site = recruiting[
            int(rng.choice(len(recruiting), p=weights[day_index] / per_day[day_index]))
        ]
        screened = _weekday(days[day_index])
        randomised = _weekday(screened + dt.timedelta(days=int(rng.integers(7, 20))))
        failure = None
        if index in failing:
            failure, failures = FAILURES[failures % len(FAILURES)], failures + 1
        group = groups[int(rng.choice(len(groups), p=shares))]
        if failure is not None and failure.key == "recent_taxane":
            group = "chemotherapy"  # the taxane window applies to chemotherapy candidates
        record = screening_record(
            rng,
            group=group,
            failure=failure,
            screening_date=screened,
            randomisation_date=randomised,
        )
        numbers[site.code] = numbers.get(site.code, 0) + 1
        number = f"{site.code}-{numbers[site.code]:03d}"
        candidates.append(Candidate(index, site, number, record))
    return tuple(candidates)


def target_events(protocol: Protocol, eligible: int) -> int:
    """The PFS events at the demo's cut-off: 92% of the design's, scaled to the eligible count."""
    if protocol.design is None:
        raise ValueError(f"protocol {protocol.id} has no design: no event target")
    design = protocol.design
    return max(1, math.floor(0.92 * design.events * eligible / design.patients))


def first_day_with(known_on: Iterable[dt.date | None], events: int) -> dt.date | None:
    """The first day by which ``events`` of these event dates are known, or ``None``."""
    days = sorted(d for d in known_on if d is not None)
    return days[events - 1] if len(days) >= events else None
