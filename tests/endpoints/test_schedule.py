"""The visit schedule from the SOR protocol file, and overdue / out-of-window flags.

SOR: docetaxel day 1 every 21 days (max 6), letrozole from days 15-21 of the last cycle;
tumour assessments every 56 days +-7; survival follow-up every 91 days +-14 after progression;
treatment visits +-3 days.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tests.conftest import example
from tests.records import sor_record

from trialkit.endpoints.schedule import (
    ActualVisit,
    PatientSchedule,
    check_visits,
    patient_schedule,
)
from trialkit.errors import InputError
from trialkit.protocol import Protocol
from trialkit.therapy import TherapyAssignment, assign_background_therapy

R = date(2008, 1, 7)


def day(n: int) -> date:
    return R + timedelta(days=n)


@pytest.fixture(scope="module")
def chemo_then_letrozole(sor: Protocol) -> TherapyAssignment:
    record = sor_record(example("02_chemo_then_endocrine_liver_alt_4x"))
    assignment = assign_background_therapy(sor, record)
    assert assignment.group == "chemotherapy_then_endocrine"
    return assignment


def _targets(schedule: PatientSchedule, kind: str) -> list[int]:
    return [(v.target - R).days for v in schedule.visits if v.kind == kind]


def test_full_chemotherapy_then_letrozole(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    plan = patient_schedule(sor, R, until=day(200), assignment=chemo_then_letrozole)
    # Six cycles on days 0, 21, ..., 105; letrozole starts on days 15-21 of cycle 6 = 119-125.
    assert _targets(plan, "treatment") == [0, 21, 42, 63, 84, 105, 119]
    switch = next(v for v in plan.visits if v.number == 0)
    assert (switch.earliest, switch.latest) == (day(119), day(125))
    # Tumour assessments on days 56, 112, 168 (224's window opens on day 217, after day 200).
    assert _targets(plan, "tumour_assessments") == [56, 112, 168]
    first = next(v for v in plan.visits if v.kind == "tumour_assessments")
    assert (first.earliest, first.latest) == (day(49), day(63))
    assert _targets(plan, "survival_follow_up") == []


def test_chemotherapy_stopped_early(sor: Protocol, chemo_then_letrozole: TherapyAssignment) -> None:
    # Stopped after cycle 4 (day 63): letrozole on days 77-83.
    plan = patient_schedule(sor, R, until=day(200), assignment=chemo_then_letrozole, last_cycle=4)
    assert _targets(plan, "treatment") == [0, 21, 42, 63, 77]


def test_progression_switches_to_survival_follow_up(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    plan = patient_schedule(
        sor, R, until=day(400), assignment=chemo_then_letrozole, progression_date=day(150)
    )
    # Assessments stop at progression (day 168's window opens on day 161 > 150); follow-up on
    # days 150 + 91 = 241 and 332 (423's window opens on day 409 > 400).
    assert _targets(plan, "tumour_assessments") == [56, 112]
    assert _targets(plan, "survival_follow_up") == [241, 332]
    # Death on day 300 ends the schedule.
    died = patient_schedule(sor, R, until=day(400), progression_date=day(150), death_date=day(300))
    assert _targets(died, "survival_follow_up") == [241]
    # Progression on day 50 ends chemotherapy too: only cycles on days 0, 21, 42.
    early = patient_schedule(
        sor, R, until=day(200), assignment=chemo_then_letrozole, progression_date=day(50)
    )
    assert _targets(early, "treatment") == [0, 21, 42]


def test_no_visit_is_expected_after_death_even_if_its_window_opened_before(
    sor: Protocol,
) -> None:
    # follow-up 2 is due on day 332 (window from day 318): a death on day 325 falls inside the
    # window, so the visit is not expected of her; before the fix it stayed, then overdue.
    died = patient_schedule(sor, R, until=day(400), progression_date=day(150), death_date=day(325))
    assert _targets(died, "survival_follow_up") == [241]
    # the same for the end of study (withdrawal, lost to follow-up)
    left = patient_schedule(sor, R, until=day(400), progression_date=day(150), study_end=day(325))
    assert _targets(left, "survival_follow_up") == [241]


def test_endocrine_alone_has_no_cycle_visits(sor: Protocol) -> None:
    assignment = assign_background_therapy(sor, sor_record(example("01_endocrine_bone_only")))
    plan = patient_schedule(sor, R, until=day(120), assignment=assignment)
    assert _targets(plan, "treatment") == []
    assert _targets(plan, "tumour_assessments") == [56, 112]


def test_overdue_out_of_window_and_unscheduled(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    plan = patient_schedule(sor, R, until=day(200), assignment=chemo_then_letrozole)
    actual = [
        ActualVisit("treatment", day(0)),
        ActualVisit("treatment", day(25)),  # cycle 2 due day 21 +-3: 4 days late
        ActualVisit("tumour_assessments", day(20)),  # 36 days from day 56: not that visit
        ActualVisit("tumour_assessments", day(60)),  # day 56 +-7: done
        ActualVisit("tumour_assessments", day(125)),  # day 112 +-7: 13 days late
    ]
    report = check_visits(plan, actual, today=day(180))
    status = {c.visit.label: c.status for c in report.checks}
    assert status["tumour assessment 1"] == "done"
    assert status["tumour assessment 2"] == "out_of_window"
    assert status["tumour assessment 3"] == "overdue"  # window closed on day 175
    assert [c.days_off for c in report.out_of_window] == [4, 13]
    assert [v.date for v in report.unscheduled] == [day(20)]
    # Cycles 3-6 (days 42-105) were not recorded: overdue on day 180.
    assert len(report.overdue) == 4 + 1 + 1  # cycles 3-6, letrozole start, assessment 3
    # On day 170 assessment 3's window (161-175) is open: due, not overdue.
    due = check_visits(plan, actual, today=day(170))
    assert {c.visit.label: c.status for c in due.checks}["tumour assessment 3"] == "due"
    early = check_visits(plan, [], today=day(10))
    assert {c.visit.label: c.status for c in early.checks}["tumour assessment 1"] == "upcoming"


def test_a_delayed_cycle_moves_the_later_cycles_not_the_assessments(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    # Cycle 2 given on day 28 (7 days late): cycle 3 is due 21 days after it (day 49), and
    # with no later cycle given, 4-6 follow every 21 days (70, 91, 112); the switch to
    # letrozole is days 15-21 of cycle 6 as now expected (126-132). Assessments stay on 56,
    # 112, 168 (RECIST assessments do not drift with chemotherapy).
    given = {1: day(0), 2: day(28)}
    plan = patient_schedule(
        sor, R, until=day(200), assignment=chemo_then_letrozole, cycle_dates=given
    )
    assert _targets(plan, "treatment") == [0, 21, 49, 70, 91, 112, 126]
    switch = next(v for v in plan.visits if v.kind == "treatment" and v.number == 0)
    assert (switch.earliest, switch.latest) == (day(126), day(132))
    assert _targets(plan, "tumour_assessments") == [56, 112, 168]
    # Cycle 3 given on time after the delay (day 49), cycle 4 one day late (day 71):
    # cycle 5 runs from cycle 4 as given (day 92).
    given |= {3: day(49), 4: day(71)}
    plan = patient_schedule(
        sor, R, until=day(200), assignment=chemo_then_letrozole, cycle_dates=given
    )
    assert _targets(plan, "treatment") == [0, 21, 49, 70, 92, 113, 127]
    actual = [ActualVisit("treatment", when, cycle) for cycle, when in given.items()]
    report = check_visits(plan, actual, today=day(80))
    status = {c.visit.number: c.status for c in report.checks if c.visit.kind == "treatment"}
    # only the delayed cycle itself is out of window; the later ones are done
    assert [status[k] for k in (1, 2, 3, 4)] == ["done", "out_of_window", "done", "done"]
    assert report.out_of_window[0].days_off == 7


def test_without_cycle_dates_every_cycle_is_planned_from_randomisation(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    plain = patient_schedule(sor, R, until=day(200), assignment=chemo_then_letrozole)
    empty = patient_schedule(
        sor, R, until=day(200), assignment=chemo_then_letrozole, cycle_dates={}
    )
    assert plain == empty


def test_a_numbered_visit_matches_its_own_cycle(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    # Cycle 2 given 12 days late (day 33): by date alone it is nearer cycle 3's planned day
    # (42) than its own (21) and beyond the tolerance; recorded as cycle 2, it is cycle 2.
    plan = patient_schedule(
        sor,
        R,
        until=day(60),
        assignment=chemo_then_letrozole,
        cycle_dates={1: day(0), 2: day(33)},
    )
    report = check_visits(
        plan,
        [ActualVisit("treatment", day(0), 1), ActualVisit("treatment", day(33), 2)],
        today=day(55),
    )
    treatment = [c for c in report.checks if c.visit.kind == "treatment"]
    assert [(c.visit.number, c.status, c.days_off) for c in treatment] == [
        (1, "done", 0),
        (2, "out_of_window", 12),
        (3, "due", None),  # day 54 +-3 from cycle 2 as given
    ]
    assert report.unscheduled == ()
    # a second record of cycle 2 matches nothing: unscheduled
    twice = check_visits(
        plan,
        [ActualVisit("treatment", day(33), 2), ActualVisit("treatment", day(34), 2)],
        today=day(60),
    )
    assert [v.date for v in twice.unscheduled] == [day(34)]


def test_letrozole_started_on_day_21_of_the_last_cycle_is_on_time(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    # switch window days 119-125 (days 15-21 of cycle 6): day 125 is its last day, six days
    # from the window's first day
    plan = patient_schedule(sor, R, until=day(200), assignment=chemo_then_letrozole)
    report = check_visits(plan, [ActualVisit("treatment", day(125), 0)], today=day(130))
    (switch,) = [c for c in report.checks if c.visit.number == 0]
    assert (switch.status, switch.actual) == ("done", day(125))
    assert report.unscheduled == ()


def test_no_treatment_visit_after_the_end_of_treatment(
    sor: Protocol, chemo_then_letrozole: TherapyAssignment
) -> None:
    # treatment stopped for toxicity on day 50, after cycle 3 (day 42): no cycles 4-6, no
    # switch to letrozole; the assessments go on
    plan = patient_schedule(
        sor, R, until=day(200), assignment=chemo_then_letrozole, treatment_end=day(50)
    )
    assert _targets(plan, "treatment") == [0, 21, 42]
    assert _targets(plan, "tumour_assessments") == [56, 112, 168]
    # lost to follow-up on day 100: nothing is expected after it (the day-112 window
    # opens on day 105)
    left = patient_schedule(
        sor,
        R,
        until=day(400),
        assignment=chemo_then_letrozole,
        treatment_end=day(100),
        study_end=day(100),
    )
    assert _targets(left, "tumour_assessments") == [56]
    assert max(v.earliest for v in left.visits) <= day(100)


def test_protocol_without_schedule_is_refused(sor: Protocol) -> None:
    with pytest.raises(InputError, match="no schedule"):
        patient_schedule(sor.model_copy(update={"schedule": None}), R, until=day(10))
