"""Each patient's expected visits and windows, and which are done, late, missed or due.

Treatment visits follow the cycles as given; tumour assessments are fixed from
randomisation so that they do not drift; nothing is expected after death.

Details and reasoning: docs/capture.md, section `trialkit.endpoints.schedule`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from trialkit.errors import InputError
from trialkit.protocol.model import Protocol, VisitForm
from trialkit.therapy import TherapyAssignment, treatment_calendar

__all__ = [
    "ActualVisit",
    "ExpectedVisit",
    "PatientSchedule",
    "VisitCheck",
    "VisitKind",
    "VisitReport",
    "VisitStatus",
    "check_visits",
    "patient_schedule",
    "visit_forms",
]

VisitKind = Literal["treatment", "tumour_assessments", "survival_follow_up"]
"""The part of the protocol's schedule a visit comes from (its treatment, its tumour
assessments, its survival follow-up)."""
VisitStatus = Literal["done", "out_of_window", "overdue", "due", "upcoming"]


@dataclass(frozen=True)
class ExpectedVisit:
    """A visit the protocol expects: its target date and window.

    ``tolerance_days``: an actual visit this close to the target is taken as this visit (done
    late or early) rather than as an unscheduled one; half the interval between visits.
    """

    kind: VisitKind
    number: int
    label: str
    target: date
    earliest: date
    latest: date
    tolerance_days: int

    def __str__(self) -> str:
        return f"{self.target}  [{self.earliest} .. {self.latest}]  {self.label}"


@dataclass(frozen=True)
class PatientSchedule:
    """Every visit expected for one patient up to a date, in date order."""

    randomisation_date: date
    until: date
    visits: tuple[ExpectedVisit, ...]

    def __str__(self) -> str:
        return "\n".join(str(v) for v in self.visits)


def _repeating(
    kind: VisitKind,
    label: str,
    anchor: date,
    interval: int,
    window: int,
    *,
    stop: date,
) -> list[ExpectedVisit]:
    out = []
    k = 1
    while (target := anchor + timedelta(days=k * interval)) - timedelta(days=window) <= stop:
        out.append(
            ExpectedVisit(
                kind,
                k,
                f"{label} {k}",
                target,
                target - timedelta(days=window),
                target + timedelta(days=window),
                interval // 2,
            )
        )
        k += 1
    return out


def _cycle_targets(
    planned: Sequence[tuple[int, date]], cycle_days: int, given: Mapping[int, date]
) -> dict[int, date]:
    """Each cycle's day 1: ``cycle_days`` after the previous cycle's day 1 as given, else as
    planned (the first cycle stays on its planned day)."""
    targets: dict[int, date] = {}
    previous: int | None = None
    for cycle, day1 in planned:
        if previous is not None:
            day1 = given.get(previous, targets[previous]) + timedelta(days=cycle_days)
        targets[cycle] = day1
        previous = cycle
    return targets


def patient_schedule(
    protocol: Protocol,
    randomisation_date: date,
    *,
    until: date,
    assignment: TherapyAssignment | None = None,
    last_cycle: int | None = None,
    progression_date: date | None = None,
    death_date: date | None = None,
    cycle_dates: Mapping[int, date] | None = None,
    treatment_end: date | None = None,
    study_end: date | None = None,
) -> PatientSchedule:
    """The visits expected from randomisation up to ``until`` (windows opening by then).

    Parameters
    ----------
    protocol
        Supplies ``schedule:`` (assessment and follow-up intervals, windows).
    randomisation_date
        Day 0 of the schedule (study drug and cycle 1 start on it).
    until
        Last date to plan for (usually today plus one interval, or the end of the study).
    assignment
        The background therapy; without it no treatment visits are planned.
    last_cycle
        The last chemotherapy cycle when chemotherapy stopped early (best response, toxicity).
    progression_date, death_date
        Tumour assessments stop at progression and survival follow-up starts; everything stops
        at death: no visit whose day falls after it is expected (even if its window opened
        before).
    cycle_dates
        Day 1 of each chemotherapy cycle given so far, by cycle number. Cycle ``k + 1`` is due
        one cycle length (21 days) after cycle ``k`` as given, or after cycle ``k``'s planned
        day when it has not been given; the letrozole switch window (days 15-21 of the last
        cycle) moves with the last cycle. Tumour assessments do not move.
    treatment_end
        The end of study treatment (toxicity, withdrawal ...): no treatment visit is expected
        after it, as after progression; assessments and follow-up go on.
    study_end
        The end of the patient's participation (withdrawal of consent, lost to follow-up):
        nothing is expected after it, as after death.
    """
    if protocol.schedule is None:
        raise InputError(f"protocol {protocol.id} has no schedule: section; add one to plan visits")
    plan = protocol.schedule
    stop = min(d for d in (until, death_date, study_end) if d is not None)
    visits: list[ExpectedVisit] = []
    if assignment is not None and assignment.assigned:
        calendar = treatment_calendar(assignment, randomisation_date, last_cycle=last_cycle)
        cycle_days = next((r.cycle_days for r in assignment.regimens if r.cycle_days), 21)
        treatment_stop = min(stop, progression_date or date.max, treatment_end or date.max)
        w = timedelta(days=plan.treatment_window_days)
        planned = [(e.cycle, e.earliest) for e in calendar.entries if e.cycle is not None]
        given = dict(cycle_dates or {})
        targets = _cycle_targets(planned, cycle_days, given)
        # the switch window follows the last cycle's day 1 as given (or as now expected)
        moved = (
            timedelta(0)
            if not planned
            else given.get(planned[-1][0], targets[planned[-1][0]]) - planned[-1][1]
        )
        for entry in calendar.entries:
            if entry.cycle is not None:
                target = targets[entry.cycle]
                if target <= treatment_stop:
                    visits.append(
                        ExpectedVisit(
                            "treatment",
                            entry.cycle,
                            entry.what,
                            target,
                            target - w,
                            target + w,
                            cycle_days // 2,
                        )
                    )
            elif entry.latest != entry.earliest and entry.earliest + moved <= treatment_stop:
                # switching to letrozole on days 15-21 of the last cycle: the window is the rule
                # (number 0: the letrozole start reports it; matched by date, anywhere in the
                # window or half a cycle around it)
                visits.append(
                    ExpectedVisit(
                        "treatment",
                        0,
                        entry.what,
                        entry.earliest + moved,
                        entry.earliest + moved,
                        entry.latest + moved,
                        cycle_days // 2,
                    )
                )
    tumour = plan.tumour_assessments
    visits += _repeating(
        "tumour_assessments",
        "tumour assessment",
        randomisation_date,
        tumour.interval_days,
        tumour.window_days,
        stop=min(stop, progression_date or date.max),
    )
    if progression_date is not None:
        follow = plan.survival_follow_up
        visits += _repeating(
            "survival_follow_up",
            "survival follow-up",
            progression_date,
            follow.interval_days,
            follow.window_days,
            stop=stop,
        )
    ended = min((d for d in (death_date, study_end) if d is not None), default=None)
    if ended is not None:  # a window that opened before death is not a visit due after it
        visits = [v for v in visits if v.target <= ended]
    visits.sort(key=lambda v: (v.target, v.kind))
    return PatientSchedule(randomisation_date, until, tuple(visits))


@dataclass(frozen=True)
class ActualVisit:
    """A visit that took place; ``number``: the expected visit it reports, when recorded
    (a docetaxel cycle's number), else it is matched by date."""

    kind: VisitKind
    date: date
    number: int | None = None


@dataclass(frozen=True)
class VisitCheck:
    """One expected visit and what happened: the matched actual date and the status."""

    visit: ExpectedVisit
    status: VisitStatus
    actual: date | None

    @property
    def days_off(self) -> int | None:
        """Actual minus target date, in days."""
        return None if self.actual is None else (self.actual - self.visit.target).days

    def __str__(self) -> str:
        done = f" on {self.actual} ({self.days_off:+d} days)" if self.actual else ""
        return f"{self.visit.label}: {self.status.replace('_', ' ')}{done}"


@dataclass(frozen=True)
class VisitReport:
    """Every expected visit's status on ``today``, and actual visits matching none."""

    today: date
    checks: tuple[VisitCheck, ...]
    unscheduled: tuple[ActualVisit, ...]

    @property
    def overdue(self) -> tuple[VisitCheck, ...]:
        return tuple(c for c in self.checks if c.status == "overdue")

    @property
    def out_of_window(self) -> tuple[VisitCheck, ...]:
        return tuple(c for c in self.checks if c.status == "out_of_window")

    def __str__(self) -> str:
        lines = [f"visits on {self.today}:"] + [f"  {c}" for c in self.checks]
        lines += [f"  unscheduled {v.kind.replace('_', ' ')} on {v.date}" for v in self.unscheduled]
        return "\n".join(lines)


def check_visits(
    schedule: PatientSchedule, actual: Sequence[ActualVisit], *, today: date
) -> VisitReport:
    """Match actual visits to expected ones and flag overdue and out-of-window visits.

    An actual visit with a ``number`` is matched to the expected visit of that kind and
    number (however far from its target); the others, in date order, to the nearest
    unmatched expected visit of the same kind within its tolerance (half the interval). A
    match inside the window is ``done``, outside it ``out_of_window``. An unmatched visit
    whose window closed before ``today`` is ``overdue``; one whose window is open is ``due``;
    a later one is ``upcoming``.
    """
    matched: dict[int, date] = {}
    unscheduled: list[ActualVisit] = []
    for visit in sorted(actual, key=lambda v: (v.number is None, v.date)):
        if visit.number is not None:
            same = next(
                (
                    k
                    for k, e in enumerate(schedule.visits)
                    if e.kind == visit.kind and e.number == visit.number and k not in matched
                ),
                None,
            )
            if same is None:
                unscheduled.append(visit)
            else:
                matched[same] = visit.date
            continue
        candidates = [
            (abs((visit.date - e.target).days), k)
            for k, e in enumerate(schedule.visits)
            if e.kind == visit.kind
            and k not in matched
            and abs((visit.date - e.target).days) <= e.tolerance_days
        ]
        if not candidates:
            unscheduled.append(visit)
            continue
        _, k = min(candidates)
        matched[k] = visit.date
    checks = []
    for k, expected in enumerate(schedule.visits):
        on = matched.get(k)
        status: VisitStatus
        if on is not None:
            status = "done" if expected.earliest <= on <= expected.latest else "out_of_window"
        elif today > expected.latest:
            status = "overdue"
        elif today >= expected.earliest:
            status = "due"
        else:
            status = "upcoming"
        checks.append(VisitCheck(expected, status, on))
    return VisitReport(today, tuple(checks), tuple(sorted(unscheduled, key=lambda v: v.date)))


def visit_forms(protocol: Protocol) -> dict[str, tuple[VisitKind, VisitForm]]:
    """The forms the schedule records at treatment visits and tumour assessments, by name,
    with the kind of visit each dates (survival follow-up contacts are read on their own)."""
    schedule = protocol.schedule
    if schedule is None:
        return {}
    out: dict[str, tuple[VisitKind, VisitForm]] = {}
    out.update({v.form: ("treatment", v) for v in schedule.treatment_forms})
    out.update({v.form: ("tumour_assessments", v) for v in schedule.tumour_assessments.forms})
    return out
