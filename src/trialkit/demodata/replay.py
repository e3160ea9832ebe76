"""The demo's timeline: screenings and randomisations in date order, up to the data cut-off.

:func:`replay` walks the plan day by day and hands each step to the caller (the service seeder
screens and randomises through the service; a test flips coins). A randomisation returns the
patient's course, drawn given her arm. Before each step it asks whether the cut-off has come:
the first day by which :func:`~trialkit.demodata.plan.target_events` PFS events are known,
among the courses drawn so far. That is exact, because no later patient's event can be known
before her own randomisation. The cut-off never falls later than :data:`CAP_DAYS` before the
final enrolment date, so enrolment is still open on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trialkit.demodata.course import Course
from trialkit.demodata.plan import Candidate, first_day_with, target_events
from trialkit.protocol import Protocol

__all__ = ["CAP_DAYS", "Replay", "cutoff_cap", "replay"]

CAP_DAYS = 14
"""The cut-off falls at least this many days before the final enrolment date."""


@dataclass(frozen=True)
class Replay:
    """What happened by the cut-off: who was screened and each randomised patient's course."""

    cutoff: dt.date
    target_events: int
    screened: tuple[int, ...]
    courses: Mapping[int, Course]

    @property
    def pfs_events(self) -> int:
        """PFS events known by the cut-off (what the recorded data will show)."""
        return sum(
            1
            for c in self.courses.values()
            if c.pfs_event_known_on is not None and c.pfs_event_known_on <= self.cutoff
        )


def cutoff_cap(protocol: Protocol) -> dt.date:
    """The latest possible cut-off: enrolment still open on it."""
    return protocol.dates.final_enrolment - dt.timedelta(days=CAP_DAYS)


def replay(
    protocol: Protocol,
    candidates: tuple[Candidate, ...],
    *,
    screen: Callable[[Candidate], None],
    randomise: Callable[[Candidate], Course],
) -> Replay:
    """Screen (when the record is complete) and randomise in date order until the cut-off;
    no one is randomised once the protocol's enrolment cap is reached (enrolment closes)."""
    target = target_events(protocol, sum(c.eligible for c in candidates))
    cap = cutoff_cap(protocol)
    steps = sorted(
        [(c.screening.complete_on, 0, c.index) for c in candidates]
        + [(c.screening.randomisation_date, 1, c.index) for c in candidates if c.eligible]
    )
    by_index = {c.index: c for c in candidates}
    courses: dict[int, Course] = {}
    screened: list[int] = []
    cutoff: dt.date | None = None
    for day, step, index in steps:
        reached = first_day_with((c.pfs_event_known_on for c in courses.values()), target)
        if reached is not None and reached < day:
            cutoff = reached
            break
        if day > cap:
            cutoff = cap
            break
        if step == 0:
            screen(by_index[index])
            screened.append(index)
        elif protocol.enrolment is None or len(courses) < protocol.enrolment.cap:
            courses[index] = randomise(by_index[index])  # past the cap, enrolment is closed
    if cutoff is None:
        reached = first_day_with((c.pfs_event_known_on for c in courses.values()), target)
        cutoff = min(reached or cap, cap)
    return Replay(cutoff, target, tuple(screened), courses)
