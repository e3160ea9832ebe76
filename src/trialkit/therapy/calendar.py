"""The treatment calendar from a randomisation date.

Study drug (sorafenib or placebo, the same for every blinded user) starts on the
start date. Docetaxel cycle k starts on day 1 of the cycle, ``(k - 1) * cycle_days``
after the start. For chemotherapy followed by endocrine therapy, letrozole starts on
days 15-21 of the last chemotherapy cycle (the sixth at most, earlier if
chemotherapy stops at best response or for toxicity). Endocrine therapy alone starts
with the study drug.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from trialkit.errors import InputError
from trialkit.therapy.assign import TherapyAssignment

__all__ = ["CalendarEntry", "TreatmentCalendar", "treatment_calendar"]


@dataclass(frozen=True)
class CalendarEntry:
    """One planned administration or start, on a date or within a window."""

    what: str
    earliest: date
    latest: date
    cycle: int | None = None

    def __str__(self) -> str:
        when = self.earliest.isoformat()
        if self.latest != self.earliest:
            when += f" to {self.latest.isoformat()}"
        return f"{when}  {self.what}"


@dataclass(frozen=True)
class TreatmentCalendar:
    start: date
    group: str
    entries: tuple[CalendarEntry, ...]

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.entries)


def treatment_calendar(
    assignment: TherapyAssignment,
    start: date,
    *,
    study_drug: str = "sorafenib/placebo (2 tablets twice daily)",
    last_cycle: int | None = None,
) -> TreatmentCalendar:
    """Plan the treatment from ``start`` (the randomisation date or the first-dose date).

    ``last_cycle`` is the last chemotherapy cycle when it stops before the maximum.
    """
    if not assignment.assigned or assignment.group is None:
        raise InputError(f"no treatment calendar without a background therapy: {assignment.reason}")
    entries = [CalendarEntry(f"start {study_drug}", start, start)]
    chemo = next((r for r in assignment.regimens if r.cycle_days is not None), None)
    if chemo is None:
        for regimen in assignment.regimens:
            entries.append(CalendarEntry(f"start {regimen.text}", start, start))
        return TreatmentCalendar(start, assignment.group, tuple(entries))
    assert chemo.cycle_days is not None
    assert chemo.day_of_cycle is not None
    max_cycles = chemo.max_cycles or 1
    cycles = max_cycles if last_cycle is None else last_cycle
    if not 1 <= cycles <= max_cycles:
        raise InputError(f"last_cycle must be between 1 and {max_cycles} (got {cycles})")
    for k in range(1, cycles + 1):
        day = start + timedelta(days=(k - 1) * chemo.cycle_days + chemo.day_of_cycle - 1)
        entries.append(
            CalendarEntry(f"{chemo.drug} cycle {k} day 1: {chemo.text}", day, day, cycle=k)
        )
    following = [r for r in assignment.regimens if r is not chemo]
    if following and assignment.switch_window_days is not None:
        last_day1 = entries[-1].earliest
        first, last = assignment.switch_window_days
        for regimen in following:
            entries.append(
                CalendarEntry(
                    f"start {regimen.text} (days {first}-{last} of cycle {cycles})",
                    last_day1 + timedelta(days=first - 1),
                    last_day1 + timedelta(days=last - 1),
                )
            )
    return TreatmentCalendar(start, assignment.group, tuple(entries))
