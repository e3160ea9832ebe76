"""PFS, TTP, OS, ORR and DoR on hand-built patients, one censoring rule each.

Schedule: assessments every 56 days +-7 (SOR). Two missed assessments: an event more than
2 * 56 + 7 = 119 days after the last adequate assessment. AVAL = ADT - STARTDT + 1.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from trialkit.endpoints import (
    DAYS_PER_MONTH,
    CensoringRules,
    PatientOutcome,
    Response,
    TumourResponse,
    derive_dor,
    derive_orr,
    derive_os,
    derive_pfs,
    derive_ttp,
)
from trialkit.errors import RecordError
from trialkit.protocol import Protocol

R = date(2008, 1, 1)
FDA = CensoringRules.fda()
EMA = CensoringRules.ema()


def day(n: int) -> date:
    return R + timedelta(days=n)


def patient(*visits: tuple[int, Response], **kw: object) -> PatientOutcome:
    dates = {k: day(v) if isinstance(v, int) else v for k, v in kw.items()}
    return PatientOutcome(
        usubjid="SOR-001",
        randomisation_date=R,
        assessments=tuple(TumourResponse(day(d), r) for d, r in visits),
        **dates,  # type: ignore[arg-type]
    )


def test_schedule_comes_from_the_protocol(sor: Protocol) -> None:
    rules = CensoringRules.fda(sor.schedule)
    assert (rules.missed, rules.interval_days, rules.window_days) == (2, 56, 7)
    assert rules.missed_limit_days == 119


def test_pd_at_an_assessment_is_an_event() -> None:
    pfs = derive_pfs(patient((56, "SD"), (112, "PD")))
    # 2008-01-01 to 2008-04-22 (day 112): 112 + 1 = 113 days.
    assert (pfs.cnsr, pfs.days, pfs.rule.code, pfs.date) == (0, 113, "PD", day(112))
    assert pfs.months == pytest.approx(113 / DAYS_PER_MONTH)
    assert pfs.rule.evntdesc == "Disease progression"


def test_pd_after_two_missed_assessments() -> None:
    # Last adequate on day 56; days 112 and 168 missed; PD on day 180 is 124 > 119 days later.
    late = patient((56, "SD"), (180, "PD"))
    fda = derive_pfs(late, FDA)
    assert (fda.cnsr, fda.date, fda.days, fda.rule.code) == (1, day(56), 57, "MISSED_ASSESSMENTS")
    # EMA: the event counts on its own date.
    ema = derive_pfs(late, EMA)
    assert (ema.cnsr, ema.days, ema.rule.code) == (0, 181, "PD")
    # Day 175 is 119 days after day 56: still inside the second assessment's window, one miss.
    assert derive_pfs(patient((56, "SD"), (175, "PD")), FDA).rule.code == "PD"


def test_ne_assessment_is_not_adequate() -> None:
    # Day 112 NE: the last adequate assessment stays day 56, so PD on day 180 is censored.
    pfs = derive_pfs(patient((56, "SD"), (112, "NE"), (180, "PD")), FDA)
    assert (pfs.cnsr, pfs.date) == (1, day(56))


def test_death_without_any_assessment() -> None:
    # Death on day 30, before the first assessment was due: event, 31 days.
    early = derive_pfs(patient(death_date=30))
    assert (early.cnsr, early.days, early.rule.code) == (0, 31, "DEATH")
    # Death on day 150 with no assessment: 150 > 119 days after randomisation, two assessments
    # missed: censored at randomisation (1 day) under FDA; an event on day 151 under EMA.
    late = patient(death_date=150)
    fda = derive_pfs(late, FDA)
    assert (fda.cnsr, fda.date, fda.days) == (1, R, 1)
    assert derive_pfs(late, EMA).days == 151


def test_death_within_the_window_is_an_event() -> None:
    # Last assessment day 56; death day 150 is 94 days later (one assessment missed): event.
    pfs = derive_pfs(patient((56, "SD"), death_date=150))
    assert (pfs.cnsr, pfs.days, pfs.rule.code) == (0, 151, "DEATH")


def test_new_anticancer_therapy_before_pd() -> None:
    # SD day 56 and 112, new therapy day 130, PD day 168.
    p = patient((56, "SD"), (112, "SD"), (168, "PD"), new_therapy_date=130)
    fda = derive_pfs(p, FDA)
    assert (fda.cnsr, fda.date, fda.days, fda.rule.code) == (1, day(112), 113, "NEW_THERAPY")
    assert fda.rule.cnsdtdsc.startswith("Last adequate tumour assessment")
    ema = derive_pfs(p, EMA)
    assert (ema.cnsr, ema.days) == (0, 169)
    # New therapy with no progression at all: censored at the last assessment before it.
    alive = derive_pfs(patient((56, "SD"), (112, "SD"), (168, "SD"), new_therapy_date=130))
    assert (alive.date, alive.rule.code) == (day(112), "NEW_THERAPY")


def test_no_baseline_or_no_post_baseline_assessment() -> None:
    none = derive_pfs(patient())
    assert (none.cnsr, none.date, none.days, none.rule.code) == (1, R, 1, "NO_POST_BASELINE")
    assert none.rule.cnsdtdsc == "Randomisation date"
    only_ne = derive_pfs(patient((56, "NE")))
    assert only_ne.rule.code == "NO_POST_BASELINE"
    no_base = PatientOutcome(
        "SOR-002", R, (TumourResponse(day(56), "PD"),), baseline_assessed=False
    )
    assert derive_pfs(no_base).rule.code == "NO_BASELINE"


def test_alive_without_progression() -> None:
    pfs = derive_pfs(patient((56, "SD"), (112, "PR"), (168, "NE")))
    assert (pfs.cnsr, pfs.date, pfs.rule.code) == (1, day(112), "NO_EVENT")


def test_pd_then_death() -> None:
    p = patient((56, "SD"), (112, "PD"), death_date=200, last_alive_date=190)
    assert derive_pfs(p).days == 113
    assert derive_ttp(p).days == 113
    os_ = derive_os(p)
    # OS: death on day 200, 201 days, an event whatever the PFS did.
    assert (os_.cnsr, os_.days, os_.rule.code) == (0, 201, "DEATH")


def test_pd_and_death_on_the_same_day_is_pd() -> None:
    assert derive_pfs(patient((56, "PD"), death_date=56)).rule.code == "PD"


def test_ttp_censors_death_without_progression() -> None:
    p = patient((56, "SD"), death_date=100)
    assert derive_pfs(p).rule.code == "DEATH"
    ttp = derive_ttp(p)
    assert (ttp.cnsr, ttp.date, ttp.days, ttp.rule.code) == (1, day(56), 57, "DEATH_WITHOUT_PD")


def test_os_censored_on_the_date_last_known_alive() -> None:
    alive = derive_os(patient((56, "SD"), last_alive_date=300))
    assert (alive.cnsr, alive.days, alive.rule.code) == (1, 301, "ALIVE")
    assert derive_os(patient()).days == 1


def test_orr_and_duration_of_response() -> None:
    responder = patient((56, "PR"), (112, "PR"), (168, "PD"))
    orr = derive_orr(responder)
    assert orr.responder
    assert orr.best.response == "PR"
    # DoR from the first PR (day 56) to PD (day 168): 112 + 1 = 113 days.
    dor = derive_dor(responder)
    assert dor is not None
    assert (dor.start, dor.date, dor.days, dor.cnsr) == (day(56), day(168), 113, 0)
    # Responder still responding: censored at the last adequate assessment, day 112 -> 57.
    ongoing = derive_dor(patient((56, "PR"), (112, "SD")))
    assert ongoing is not None
    assert (ongoing.days, ongoing.rule.code) == (57, "NO_EVENT")
    # Non-responders have no DoR.
    assert derive_dor(patient((56, "SD"), (112, "PD"))) is None
    assert not derive_orr(patient((56, "SD"))).responder
    # A PR after new anticancer therapy does not count for ORR.
    assert not derive_orr(patient((56, "SD"), (112, "PR"), new_therapy_date=100)).responder


def test_inconsistent_records_are_refused() -> None:
    with pytest.raises(RecordError, match="after death"):
        patient((56, "SD"), (112, "SD"), death_date=100)
    with pytest.raises(RecordError, match="date order"):
        patient((112, "SD"), (56, "SD"))
    with pytest.raises(RecordError, match="before randomisation"):
        patient(death_date=-3)
