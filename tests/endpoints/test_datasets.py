"""ADSL/ADTTE rows, blinding of the arm, CSV text, and re-analysis with trialkit.analysis."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta

import numpy as np

from trialkit.analysis import kaplan_meier, two_arm_survival
from trialkit.endpoints import (
    ARM_COLUMNS,
    PatientOutcome,
    TumourResponse,
    build_adsl,
    build_adtte,
    csv_text,
    planned_arms,
)
from trialkit.protocol import load_protocol

R = date(2008, 1, 1)


def _pd_patient() -> PatientOutcome:
    return PatientOutcome(
        usubjid="SOR-01-001",
        randomisation_date=R,
        assessments=(
            TumourResponse(R + timedelta(days=56), "PR"),
            TumourResponse(R + timedelta(days=112), "PD"),
        ),
        death_date=R + timedelta(days=300),
        death_cause="progressive disease",
        siteid="01",
        first_dose_date=R + timedelta(days=2),
        stratum="chemotherapy",
        arm="A",
    )


def test_adtte_rows_and_blinding() -> None:
    p = _pd_patient()
    blinded = build_adtte([p], studyid="SOR")
    # PFS, TTP and OS for everyone, DOR for the responder.
    assert [r.PARAMCD for r in blinded] == ["PFS", "TTP", "OS", "DOR"]
    assert all(r.ARM is None and r.ARMCD is None for r in blinded)
    pfs = blinded[0]
    got = (pfs.STARTDT, pfs.ADT, pfs.AVAL, pfs.CNSR, pfs.SRCRULE)
    assert got == (
        R,
        R + timedelta(days=112),
        113,
        0,
        "PD",
    )
    assert blinded[2].AVAL == 301  # OS: death on day 300
    assert blinded[3].AVAL == 57  # DOR: day 56 to day 112
    arms = planned_arms(load_protocol("sor").arms)
    unblinded = build_adtte([p], studyid="SOR", unblinded=True, arms=arms)
    assert (unblinded[0].ARM, unblinded[0].ARMCD) == ("Sorafenib", "SORAFENIB")
    assert (unblinded[0].TRT01P, unblinded[0].TRT01PN) == ("Sorafenib", 1)


def test_arm_names_and_codes_come_from_the_protocol() -> None:
    """ARM is the protocol arm's label, ARMCD its label as a code, TRT01PN its protocol order."""
    arms = planned_arms(load_protocol("sor").arms)
    assert {k: (a.code, a.name, a.number) for k, a in arms.items()} == {
        "A": ("SORAFENIB", "Sorafenib", 1),
        "B": ("PLACEBO", "Placebo", 2),
    }
    relabelled = [
        a.model_copy(update={"label": "Nexavar 400 mg bid"}) for a in load_protocol("sor").arms
    ]
    assert planned_arms(relabelled)["A"].code == "NEXAVAR400MGBID"


def test_adsl_has_demographics_and_planned_and_actual_treatment() -> None:
    arms = planned_arms(load_protocol("sor").arms)
    treated = PatientOutcome(
        "SOR-IT01-001",
        R,
        siteid="IT01",
        first_dose_date=R + timedelta(days=2),
        last_dose_date=R + timedelta(days=200),
        sex="F",
        age=54,
        country="ITA",
        arm="B",
        kit_arms=("B",),
    )
    untreated = PatientOutcome("SOR-IT01-002", R, siteid="IT01", sex="F", age=61, arm="A")
    wrong_kits = PatientOutcome(
        "SOR-IT01-003", R, siteid="IT01", first_dose_date=R, arm="A", kit_arms=("A", "B")
    )
    rows = build_adsl([treated, untreated, wrong_kits], studyid="SOR", unblinded=True, arms=arms)
    first = rows[0]
    assert (first.SUBJID, first.SITEID, first.COUNTRY) == ("IT01-001", "IT01", "ITA")
    assert (first.AGE, first.AGEU, first.SEX) == (54, "YEARS", "F")
    assert (first.ARM, first.ARMCD, first.ACTARM, first.ACTARMCD) == (
        "Placebo",
        "PLACEBO",
        "Placebo",
        "PLACEBO",
    )
    assert (first.TRT01P, first.TRT01PN, first.TRT01A, first.TRT01AN) == (
        "Placebo",
        2,
        "Placebo",
        2,
    )
    assert (
        R,
        R + timedelta(days=2),
        R + timedelta(days=200),
    ) == (first.RANDDT, first.TRTSDT, first.TRTEDT)
    assert (first.ITTFL, first.SAFFL) == ("Y", "Y")
    # randomised, never treated: planned arm, no actual arm, not in the safety population
    assert (rows[1].TRT01P, rows[1].TRT01A, rows[1].SAFFL) == ("Sorafenib", None, "N")
    # kits of both arms: an unplanned treatment, no actual arm
    assert (rows[2].TRT01P, rows[2].TRT01A, rows[2].ACTARMCD) == ("Sorafenib", None, None)
    blinded = build_adsl([treated], studyid="SOR", arms=arms)[0]
    assert all(getattr(blinded, name) is None for name in ARM_COLUMNS)
    assert "TRT01P" not in csv_text([blinded], omit=ARM_COLUMNS)


def test_adtte_is_one_row_per_subject_per_parameter() -> None:
    rows = build_adtte([_pd_patient(), PatientOutcome("SOR-01-002", R)], studyid="SOR")
    keys = [(r.USUBJID, r.PARAMCD) for r in rows]
    assert len(keys) == len(set(keys))
    assert {p for _, p in keys} >= {"PFS", "OS", "TTP"}
    for r in rows:
        assert (r.ADT - r.STARTDT).days + 1 == r.AVAL
        assert r.CNSR in (0, 1)
        assert (r.EVNTDESC if r.CNSR == 0 else r.CNSDTDSC) != ""


def test_adsl_flags() -> None:
    p = _pd_patient()
    never_dosed = PatientOutcome("SOR-01-002", R, last_alive_date=R + timedelta(days=90))
    rows = build_adsl([p, never_dosed], studyid="SOR")
    assert [(r.ITTFL, r.SAFFL, r.PPROTFL, r.DTHFL) for r in rows] == [
        ("Y", "Y", "Y", "Y"),
        ("Y", "N", "N", "N"),
    ]
    last_alive = [r.LSTALVDT for r in rows]
    assert last_alive == [p.death_date, R + timedelta(days=90)]
    assert rows[0].ARM is None


def test_csv_text() -> None:
    text = csv_text(build_adtte([_pd_patient()], studyid="SOR"))
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 4
    assert table[0]["ADT"] == "2008-04-22"
    assert table[0]["AVAL"] == "113"
    assert table[0]["ARM"] == ""
    assert table[0]["EVNTDESC"] == "Disease progression"
    assert csv_text([]) == ""


def _simulated_patients(n: int, seed: int) -> list[PatientOutcome]:
    """Two arms, exponential PFS (medians 7.9 and 12.2 months), 8-weekly assessments."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        arm = "A" if k % 2 == 0 else "B"
        median_days = (12.2 if arm == "A" else 7.9) * 30.4375
        pd_day = int(rng.exponential(median_days / math.log(2))) + 1
        follow_up = int(rng.uniform(200, 900))
        visits = []
        for v in range(56, follow_up, 56):
            visits.append(TumourResponse(R + timedelta(days=v), "PD" if v >= pd_day else "SD"))
            if v >= pd_day:
                break
        out.append(
            PatientOutcome(
                usubjid=f"SOR-{k:03d}",
                randomisation_date=R,
                assessments=tuple(visits),
                last_alive_date=R + timedelta(days=follow_up),
                arm=arm,
            )
        )
    return out


def test_derived_adtte_can_be_reanalysed() -> None:
    rows = [
        r
        for r in build_adtte(_simulated_patients(120, seed=20070620), studyid="SOR", unblinded=True)
        if r.PARAMCD == "PFS"
    ]
    time = np.array([r.AVAL for r in rows], dtype=float)
    event = np.array([1 - r.CNSR for r in rows])
    group = np.array([r.ARMCD for r in rows])
    assert time.min() >= 1
    assert 30 < event.sum() < 120
    median = kaplan_meier(time, event).median
    assert median.estimate is not None
    assert math.isfinite(median.estimate)
    result = two_arm_survival(time, event, group, reference="B")
    assert result.n == 120
    assert np.isfinite(result.cox.hr[0])
    # simulated HR 7.9 / 12.2 = 0.65 (A vs B): the estimate is below 1 with this seed
    assert result.cox.hr[0] < 1
