"""The pure demo-data generator: reproducible, real screen failures, the design's PFS medians."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pytest

from tests.records import sor_record
from trialkit.demodata import (
    DAYS_PER_MONTH,
    DEMO_SITES,
    FAILURES,
    Candidate,
    Course,
    clinical_course,
    cutoff_cap,
    first_day_with,
    pfs_medians,
    plan_screening,
    recruiting_sites,
    replay,
    target_events,
    visible_records,
)
from trialkit.endpoints import (
    CensoringRules,
    LesionRecord,
    PatientOutcome,
    TumourResponse,
    derive_pfs,
    evaluate_recist,
)
from trialkit.protocol import Protocol
from trialkit.screening import screen


@pytest.fixture(scope="module")
def candidates(sor: Protocol) -> tuple[Candidate, ...]:
    return plan_screening(np.random.default_rng(2007), sor, patients=240)


def _failing(outcome: dict[str, object]) -> set[str]:
    """Top-level criteria that exclude: an inclusion not met, an exclusion not ruled out."""
    criteria = outcome["criteria"]
    assert isinstance(criteria, list)
    return {
        c["id"]
        for c in criteria
        if c["parent"] is None
        and (c["status"] != "met" if c["kind"] == "inclusion" else c["status"] != "not_met")
    }


def test_the_plan_is_reproducible_from_its_seed(sor: Protocol) -> None:
    first = plan_screening(np.random.default_rng(5), sor, patients=40)
    again = plan_screening(np.random.default_rng(5), sor, patients=40)
    other = plan_screening(np.random.default_rng(6), sor, patients=40)
    assert first == again
    assert first != other
    course = clinical_course(
        np.random.default_rng(1), sor, first[0].screening, arm="A", median_months=12.2
    )
    assert course == clinical_course(
        np.random.default_rng(1), sor, first[0].screening, arm="A", median_months=12.2
    )


def test_screen_failures_fail_for_the_intended_criterion_only(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    failures = [c for c in candidates if not c.eligible]
    assert 15 <= len(failures) <= 25  # about 240 screened, about 220 eligible
    assert len({c.screening.failure for c in failures}) == len(FAILURES)  # varied reasons
    for candidate in candidates:
        outcome = screen(sor, sor_record(candidate.screening.record, source="demo")).as_dict()
        assert outcome["missing"] == [], candidate.screening_number
        failure = candidate.screening.failure
        expected = {failure.criterion} if failure else set()
        assert _failing(outcome) == expected, (candidate.screening_number, failure)
        if failure is None:
            assert outcome["eligible"] is True
            assert outcome["background_therapy"] == candidate.screening.group


def test_all_background_therapy_groups_and_recruiting_sites_occur(
    candidates: tuple[Candidate, ...],
) -> None:
    groups = Counter(c.screening.group for c in candidates if c.eligible)
    assert set(groups) == {"endocrine", "chemotherapy_then_endocrine", "chemotherapy"}
    assert min(groups.values()) >= 30
    sites = {c.site.code for c in candidates}
    assert sites == {s.code for s in recruiting_sites()}
    assert {s.country for s in DEMO_SITES} == {"DE", "IT", "PL", "RU"}
    for candidate in candidates:
        site = candidate.site
        assert site.recruits_from is not None
        assert site.recruits_from <= candidate.screening.screening_date
        assert candidate.screening.screening_date < candidate.screening.randomisation_date
        assert dt.date(2007, 11, 22) <= candidate.screening.randomisation_date
        assert candidate.screening.randomisation_date <= dt.date(2010, 6, 30)


def _median_months(sor: Protocol, candidate: Candidate, arm: str, median: float, n: int) -> float:
    days = [
        (
            clinical_course(
                np.random.default_rng([3, i]),
                sor,
                candidate.screening,
                arm=arm,
                median_months=median,
            ).pfs_true
            - candidate.screening.randomisation_date
        ).days
        for i in range(n)
    ]
    return float(np.median(days)) / DAYS_PER_MONTH


@pytest.mark.parametrize("scenario", ["alt", "null"])
def test_pfs_medians_by_arm_match_the_design(
    sor: Protocol, candidates: tuple[Candidate, ...], scenario: str
) -> None:
    medians = pfs_medians(sor, scenario)  # type: ignore[arg-type]
    assert medians == ({"A": 12.2, "B": 7.9} if scenario == "alt" else {"A": 7.9, "B": 7.9})
    n = 1500
    for arm, median in medians.items():
        observed = _median_months(sor, candidates[0], arm, median, n)
        # the sample median of an exponential has sd ~ median / (ln 2 * sqrt(n)); allow 4 sd
        assert abs(observed - median) < 4 * median / (np.log(2) * np.sqrt(n)), (arm, observed)


def test_a_course_records_progression_by_recist_and_treatment_ends_there(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    eligible = [c for c in candidates if c.eligible][:60]
    seen_event = False
    for i, candidate in enumerate(eligible):
        course = clinical_course(
            np.random.default_rng([9, i]), sor, candidate.screening, arm="B", median_months=7.9
        )
        records = visible_records(course, dt.date(2030, 1, 1))
        forms = Counter(r.form for r in records)
        assert forms["tumour_baseline"] == 1
        assert forms["end_of_treatment"] == 1
        assert forms["study_drug"] >= 1
        if candidate.screening.group == "endocrine":
            assert forms["docetaxel_cycle"] == 0
        else:
            assert 1 <= forms["docetaxel_cycle"] <= 6
        assessments = [r for r in records if r.form == "tumour_assessment"]
        detected = course.progression_documented is not None
        if detected and course.progression_true is not None:
            seen_event = True
            last = assessments[-1].data
            assert last["date"] == str(course.progression_documented)
            assert last["date"] >= course.progression_true.isoformat()
        for record in records:  # nothing is entered before it happens
            assert record.known_on >= course.randomisation_date
    assert seen_event


def test_kits_are_dispensed_only_when_due_and_only_while_on_treatment(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    """Every kit the course dispenses passes the service's dispensing check: cycles in
    sequence, each no earlier than its window after the last, none on or after the end of
    treatment, death or the end of study."""
    assert sor.study_drug is not None
    earliest_gap = sor.study_drug.cycle_days - sor.study_drug.window_days
    eligible = [c for c in candidates if c.eligible][:80]
    died = 0
    for i, candidate in enumerate(eligible):
        course = clinical_course(
            np.random.default_rng([11, i]), sor, candidate.screening, arm="A", median_months=12.2
        )
        records = visible_records(course, dt.date(2030, 1, 1))
        kits = [k for r in records for k in r.dispensings]
        assert [c for c, _ in kits] == list(range(1, len(kits) + 1))
        assert kits[0][1] == course.randomisation_date
        assert all((b - a).days >= earliest_gap for (_, a), (_, b) in itertools.pairwise(kits))
        ends = [
            dt.date.fromisoformat(str(r.data["date"]))
            for r in records
            if r.form in ("end_of_treatment", "death", "end_of_study")
        ]
        died += any(r.form == "death" for r in records)
        assert all(day < min(ends) for _, day in kits[1:]), (kits, ends)
    assert died


def test_cut_off_hides_what_is_not_yet_known(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    candidate = next(c for c in candidates if c.eligible)
    course = clinical_course(
        np.random.default_rng(4), sor, candidate.screening, arm="A", median_months=12.2
    )
    cutoff = course.randomisation_date + dt.timedelta(days=100)
    shown = visible_records(course, cutoff)
    assert all(r.known_on <= cutoff for r in shown)
    for record in shown:
        if record.form == "adverse_event" and record.ends_on and record.ends_on > cutoff:
            assert record.data.get("ongoing") is True
            assert "end_date" not in record.data


def test_event_target_and_first_day(sor: Protocol) -> None:
    assert target_events(sor, 220) == 110  # near but not at the design's 120
    days = [dt.date(2009, 1, d) for d in (5, 1, 3)] + [None]
    assert first_day_with(days, 2) == dt.date(2009, 1, 3)
    assert first_day_with(days, 4) is None


def test_recist_reads_progression_exactly_where_the_course_puts_it(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    """RECIST 1.1 over the drawn measurements: no progression before the planned one, then PD."""
    eligible = [c for c in candidates if c.eligible][:80]
    progressed = 0
    for i, candidate in enumerate(eligible):
        arm, median = ("A", 12.2) if i % 2 else ("B", 7.9)
        course = clinical_course(
            np.random.default_rng([12, i]), sor, candidate.screening, arm=arm, median_months=median
        )
        records = visible_records(course, dt.date(2030, 1, 1))
        baseline = next(r.data for r in records if r.form == "tumour_baseline")
        assessments = sorted(
            (r.data for r in records if r.form == "tumour_assessment"), key=lambda d: d["date"]
        )
        lesions = LesionRecord.model_validate(
            {
                "randomisation_date": course.randomisation_date,
                "baseline": baseline,
                "assessments": assessments,
            }
        )
        assert sor.response is not None
        evaluation = evaluate_recist(lesions, sor.response)
        detected = course.progression_documented is not None
        if detected:
            progressed += 1
            assert evaluation.date_of_progression == course.progression_documented, candidate
        else:
            assert evaluation.date_of_progression is None, candidate
    assert progressed > 20


@pytest.mark.parametrize(("scenario", "seed"), [("alt", 1), ("alt", 2), ("null", 1)])
def test_the_full_demo_stops_near_120_events_with_enrolment_open(
    sor: Protocol, scenario: str, seed: int
) -> None:
    """The replay at full size, arms by coin flip (the service draws them from the sealed list)."""
    candidates = plan_screening(np.random.default_rng([seed, 0]), sor, patients=240)
    medians = pfs_medians(sor, scenario)  # type: ignore[arg-type]
    flips = np.random.default_rng([seed, 2])
    screened: list[Candidate] = []

    def randomise(candidate: Candidate) -> Course:
        assert candidate in screened  # screened first
        arm = "A" if flips.random() < 0.5 else "B"
        return clinical_course(
            np.random.default_rng([seed, 1, candidate.index]),
            sor,
            candidate.screening,
            arm=arm,
            median_months=medians[arm],
        )

    done = replay(sor, candidates, screen=screened.append, randomise=randomise)
    assert done.target_events == 110
    assert 110 <= done.pfs_events <= 117  # near, not at, the design's 120
    assert done.cutoff <= cutoff_cap(sor) < sor.dates.final_enrolment  # enrolment open
    assert len(done.courses) >= 200  # about 220 randomised
    assert all(c.randomisation_date <= done.cutoff for c in done.courses.values())
    assert all(c.screening.complete_on <= done.cutoff for c in screened)


def test_letrozole_starts_on_day_15_to_21_of_the_last_docetaxel_cycle(
    sor: Protocol, candidates: tuple[Candidate, ...]
) -> None:
    """The record: letrozole 'starting on day 15-21 of the last cycle of chemotherapy'."""
    plans = [c.screening for c in candidates if c.screening.group == "chemotherapy_then_endocrine"]
    assert plans
    starts = 0
    for index, plan in enumerate(plans):
        course = clinical_course(
            np.random.default_rng(index), sor, plan, arm="A", median_months=40.0
        )
        cycles = [
            dt.date.fromisoformat(r.data["date"])
            for r in course.records
            if r.form == "docetaxel_cycle"
        ]
        for record in course.records:
            if record.form == "letrozole":
                start = dt.date.fromisoformat(record.data["start_date"])
                day = (start - max(c for c in cycles if c <= start)).days + 1
                assert 15 <= day <= 21, (plan, day)
                starts += 1
    assert starts > 0


def _outcome(sor: Protocol, course: Course, cutoff: dt.date) -> PatientOutcome:
    """What the recorded data show at ``cutoff`` (the service reads the same forms)."""
    records = visible_records(course, cutoff)
    assessments = sorted(
        (r.data for r in records if r.form == "tumour_assessment"), key=lambda d: d["date"]
    )
    lesions = LesionRecord.model_validate(
        {
            "randomisation_date": course.randomisation_date,
            "baseline": next(r.data for r in records if r.form == "tumour_baseline"),
            "assessments": assessments,
        }
    )
    assert sor.response is not None
    evaluation = evaluate_recist(lesions, sor.response)
    death = next((r.data["date"] for r in records if r.form == "death"), None)
    therapies = [r.data["start_date"] for r in records if r.form == "new_therapy"]
    return PatientOutcome(
        usubjid=str(id(course)),
        randomisation_date=course.randomisation_date,
        assessments=tuple(
            TumourResponse(t.date, t.overall_response) for t in evaluation.assessments
        ),
        progression_date=evaluation.date_of_progression,
        death_date=None if death is None else dt.date.fromisoformat(death),
        new_therapy_date=dt.date.fromisoformat(min(therapies)) if therapies else None,
    )


def test_the_demo_holds_the_situations_each_pfs_censoring_rule_exists_for(sor: Protocol) -> None:
    """New therapy before progression and two missed assessments before the event occur (a few
    patients each), so FDA 2018 censors some events that EMA 2012 counts; the generator's own
    count of PFS events is the FDA derivation's."""
    candidates = plan_screening(np.random.default_rng([3, 0]), sor, patients=240)
    medians = pfs_medians(sor, "alt")
    flips = np.random.default_rng([3, 2])

    def randomise(candidate: Candidate) -> Course:
        arm = "A" if flips.random() < 0.5 else "B"
        return clinical_course(
            np.random.default_rng([3, 1, candidate.index]),
            sor,
            candidate.screening,
            arm=arm,
            median_months=medians[arm],
        )

    done = replay(sor, candidates, screen=lambda _: None, randomise=randomise)
    outcomes = [_outcome(sor, c, done.cutoff) for c in done.courses.values()]
    fda = [derive_pfs(o, CensoringRules.fda(sor.schedule)) for o in outcomes]
    ema = [derive_pfs(o, CensoringRules.ema(sor.schedule)) for o in outcomes]
    reasons = Counter(t.rule.code for t in fda)
    assert sum(t.event for t in fda) == done.pfs_events
    # a few of each, as trials meet them (not a large share of the ~220 randomised)
    assert 0 < reasons["NEW_THERAPY"] <= 15, reasons
    assert 0 < reasons["MISSED_ASSESSMENTS"] <= 15, reasons
    counted = Counter(f.rule.code for f, e in zip(fda, ema, strict=True) if e.event and not f.event)
    # EMA 2012 counts every event after missed assessments, and the progressions after new
    # therapy that are documented by the cut-off (the others are still to come)
    assert counted["MISSED_ASSESSMENTS"] == reasons["MISSED_ASSESSMENTS"]
    assert counted["NEW_THERAPY"] > 0
    assert set(counted) == {"MISSED_ASSESSMENTS", "NEW_THERAPY"}


def test_the_demo_randomises_no_one_past_the_enrolment_cap(sor: Protocol) -> None:
    """A demo screening many women stops randomising at the cap (the service would refuse)."""
    assert sor.enrolment is not None
    capped = sor.model_copy(update={"enrolment": sor.enrolment.model_copy(update={"cap": 30})})
    candidates = plan_screening(np.random.default_rng([5, 0]), sor, patients=80)
    assert sum(c.eligible for c in candidates) > 30

    def randomise(candidate: Candidate) -> Course:
        return clinical_course(
            np.random.default_rng([5, 1, candidate.index]),
            sor,
            candidate.screening,
            arm="B",
            median_months=60.0,  # few events: the replay goes on to the cap
        )

    done = replay(capped, candidates, screen=lambda _: None, randomise=randomise)
    assert len(done.courses) == 30
