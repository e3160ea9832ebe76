"""A synthetic SOR-like trial, as report inputs: for the report benchmark and the tests.

Exponential PFS with the protocol's medians (12.2 months sorafenib, 7.9 placebo), OS about
twice as long, uniform accrual over 18 months, cut-off 4 months after the last patient, random
CTCAE-graded adverse events (more on sorafenib), screening failures by criterion. Nothing here is
real data; every draw comes from the ``numpy.random.Generator`` given.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

import trialkit
from trialkit.analysis import AdverseEvent, ConsortPatient
from trialkit.endpoints import DAYS_PER_MONTH, PARAMS, AdslRow, AdtteRow
from trialkit.protocol import Protocol, load_protocol
from trialkit.report.inputs import ArmInfo, DesignFacts, ReportInputs

__all__ = ["synthetic_inputs"]

ARMS = (ArmInfo("A", "Sorafenib", False), ArmInfo("B", "Placebo", True))
SOR_DESIGN = DesignFacts(
    events=120, decision_hr=0.82, alternative_hr=0.65, allocation_ratio=1.0, alpha_one_sided=0.025
)
_TERMS = (
    "Hand-foot skin reaction",
    "Diarrhoea",
    "Fatigue",
    "Rash",
    "Hypertension",
    "Nausea",
    "Alopecia",
    "Neutropenia",
    "Stomatitis",
    "Anorexia",
)
_COUNTRIES = ("DE", "IT", "PL", "RU")
_CRITERIA = ("IN03", "IN05", "EX02", "EX07", "EX11")


def synthetic_inputs(
    rng: np.random.Generator,
    *,
    patients: int = 220,
    blinded: bool = False,
    screened: int = 0,
    protocol: Protocol | None = None,
) -> ReportInputs:
    """A whole trial's report inputs (``blinded`` leaves every arm out, as the service does).

    Each patient's background therapy is one of the groups of the protocol's therapy rules
    (SOR's, unless ``protocol`` is given), as the service records them at randomisation.
    """
    therapy = (protocol or load_protocol("sor")).background_therapy
    groups = [rule.id for rule in therapy.rules] if therapy else ["none"]
    start = dt.date(2007, 9, 1)
    n = patients
    arm = np.where(rng.permutation(n) % 2 == 0, "A", "B")
    rand_day = np.sort(rng.uniform(0, 18 * DAYS_PER_MONTH, n)).astype(int)
    cutoff_day = int(rand_day.max() + 4 * DAYS_PER_MONTH)
    median = np.where(arm == "A", 12.2, 7.9) * DAYS_PER_MONTH
    pfs = rng.exponential(median / np.log(2)) + 1
    os_ = pfs + rng.exponential(2 * median / np.log(2))
    dropout = rng.exponential(60 * DAYS_PER_MONTH, n)
    follow = cutoff_day - rand_day
    label = {a.code: a.label for a in ARMS}
    adsl: list[AdslRow] = []
    adtte: list[AdtteRow] = []
    adtte_ema: list[AdtteRow] = []
    events: list[AdverseEvent] = []
    best, exposure, country = {}, {}, {}
    bg = rng.choice(groups, n)
    for i in range(n):
        uid = f"SOR-{_COUNTRIES[i % 4]}{1 + i % 7:02d}-{i + 1:04d}"
        rdate = start + dt.timedelta(days=int(rand_day[i]))
        treated = rng.random() > 0.02
        died = os_[i] <= min(follow[i], dropout[i])
        arm_code = None if blinded else str(arm[i])
        arm_label = None if blinded else label[str(arm[i])]
        arm_number = None if blinded else 1 + [a.code for a in ARMS].index(str(arm[i]))
        adsl.append(
            AdslRow(
                STUDYID="SOR",
                USUBJID=uid,
                SUBJID=uid[4:],
                SITEID=uid[4:8],
                COUNTRY=None,
                AGE=None,
                AGEU=None,
                SEX="F",
                ARM=arm_label,
                ARMCD=arm_code,
                ACTARM=arm_label if treated else None,
                ACTARMCD=arm_code if treated else None,
                TRT01P=arm_label,
                TRT01PN=arm_number,
                TRT01A=arm_label if treated else None,
                TRT01AN=arm_number if treated else None,
                RANDDT=rdate,
                TRTSDT=rdate if treated else None,
                TRTEDT=None,
                STRATAR=f"{bg[i]}/{'visceral' if rng.random() < 0.6 else 'non-visceral'}",
                BGTHER=str(bg[i]),
                ITTFL="Y",
                SAFFL="Y" if treated else "N",
                PPROTFL="Y" if treated and rng.random() > 0.08 else "N",
                DTHFL="Y" if died else "N",
                DTHDT=rdate + dt.timedelta(days=int(os_[i])) if died else None,
                DTHCAUS="progression" if died else None,
                LSTALVDT=None,
            )
        )
        country[uid] = _COUNTRIES[i % 4]
        for param, t in (("PFS", pfs[i]), ("TTP", pfs[i] * 1.05), ("OS", os_[i])):
            limit = min(follow[i], dropout[i])
            event = t <= limit
            days = max(1, int(t if event else limit))
            for rows, shift in ((adtte, 0), (adtte_ema, 7 if param == "PFS" else 0)):
                rows.append(
                    AdtteRow(
                        STUDYID="SOR",
                        USUBJID=uid,
                        ARM=arm_label,
                        ARMCD=arm_code,
                        TRT01P=arm_label,
                        TRT01PN=arm_number,
                        PARAMCD=param,
                        PARAM=PARAMS[param],
                        STARTDT=rdate,
                        ADT=rdate + dt.timedelta(days=days + (0 if event else shift)),
                        AVAL=days + (0 if event else shift),
                        AVALU="DAYS",
                        CNSR=0 if event else 1,
                        EVNTDESC="event" if event else "censored",
                        CNSDTDSC="",
                        SRCRULE="SYN",
                    )
                )
        p_resp = 0.35 if arm[i] == "A" else 0.25
        bor = rng.choice(
            ["CR", "PR", "SD", "PD", "NE"], p=[0.05, p_resp - 0.05, 0.4, 0.5 - p_resp, 0.1]
        )
        best[uid] = str(bor)
        if bor in ("CR", "PR"):
            dor = max(1, int(pfs[i] * 0.7))
            event = pfs[i] <= follow[i]
            adtte.append(
                AdtteRow(
                    STUDYID="SOR",
                    USUBJID=uid,
                    ARM=arm_label,
                    ARMCD=arm_code,
                    TRT01P=arm_label,
                    TRT01PN=arm_number,
                    PARAMCD="DOR",
                    PARAM=PARAMS["DOR"],
                    STARTDT=rdate,
                    ADT=rdate + dt.timedelta(days=dor),
                    AVAL=dor,
                    AVALU="DAYS",
                    CNSR=0 if event else 1,
                    EVNTDESC="",
                    CNSDTDSC="",
                    SRCRULE="SYN",
                )
            )
        if treated:
            exposure[uid] = int(min(pfs[i], follow[i]))
            for _ in range(rng.poisson(4 if arm[i] == "A" else 2.5)):
                grade = int(rng.choice([1, 2, 3, 4, 5], p=[0.45, 0.3, 0.18, 0.06, 0.01]))
                events.append(
                    AdverseEvent(
                        uid, str(rng.choice(_TERMS)), grade, grade >= 3 and rng.random() < 0.5
                    )
                )
    consort = [
        ConsortPatient(
            eligible=True,
            randomised=True,
            arm=None if blinded else label[str(arm[i])],
            treated=a.SAFFL == "Y",
            analysed=True,
            discontinued_reason="progression" if pfs[i] <= follow[i] else None,
        )
        for i, a in enumerate(adsl)
    ]
    extra = screened or int(n * 0.2)
    for _ in range(extra):
        k = int(rng.integers(1, 3))
        consort.append(
            ConsortPatient(
                eligible=False,
                failed_criteria=tuple(sorted(set(rng.choice(_CRITERIA, k).tolist()))),
            )
        )
    return ReportInputs(
        trial="SOR",
        title="SOR: sorafenib vs placebo with docetaxel and/or letrozole (synthetic data)",
        cutoff=start + dt.timedelta(days=cutoff_day),
        software_version=trialkit.__version__,
        blinded=blinded,
        arms=ARMS,
        design=SOR_DESIGN,
        adsl=tuple(adsl),
        adtte=tuple(adtte),
        adtte_ema=tuple(adtte_ema),
        best_response=best,
        adverse_events=tuple(events),
        exposure_days=exposure,
        consort=tuple(consort),
        country=country,
    )
