"""A randomised demo patient's clinical course, drawn given her arm (the sponsor's simulated truth).

Details and reasoning: docs/capture.md, section `trialkit.demodata.course`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from trialkit.demodata.records import ScreeningPlan
from trialkit.errors import InputError
from trialkit.protocol import Protocol
from trialkit.therapy.dosing import regimen_dose

__all__ = [
    "CTCAE_TERMS",
    "DAYS_PER_MONTH",
    "P_EARLY_NEW_THERAPY",
    "P_MISS_TWO",
    "Course",
    "CourseRecord",
    "Scenario",
    "clinical_course",
    "pfs_medians",
    "visible_records",
]

DAYS_PER_MONTH = 30.4375
P_MISS_TWO = 0.08
"""Chance that a patient with at least three assessments due before her event misses the last
two of them (FDA 2018: censored at the last adequate assessment; EMA 2012: an event)."""
P_EARLY_NEW_THERAPY = 0.06
"""Chance that a patient who will progress starts new anticancer therapy before progression is
documented (FDA 2018: censored at the last adequate assessment on or before it; EMA 2012: not)."""
KITS_PER_FORM = 3
"""Study-drug kits recorded on one study-drug form."""
Scenario = Literal["alt", "null"]

_AE_TERMS: tuple[tuple[str, float, float, tuple[float, ...]], ...] = (
    # term, P(any) on sorafenib, P(any) on placebo, grade 1-4 weights
    ("Hand-foot skin reaction", 0.55, 0.10, (0.35, 0.35, 0.30, 0.0)),
    ("Hypertension", 0.35, 0.12, (0.30, 0.45, 0.25, 0.0)),
    ("Diarrhoea", 0.45, 0.25, (0.50, 0.35, 0.14, 0.01)),
    ("Rash", 0.30, 0.10, (0.60, 0.32, 0.08, 0.0)),
    ("Fatigue", 0.45, 0.40, (0.50, 0.40, 0.10, 0.0)),
    ("Nausea", 0.30, 0.28, (0.65, 0.30, 0.05, 0.0)),
    ("Stomatitis", 0.20, 0.12, (0.60, 0.30, 0.10, 0.0)),
    ("Anorexia", 0.18, 0.12, (0.65, 0.30, 0.05, 0.0)),
)
_CHEMO_AE_TERMS: tuple[tuple[str, float, tuple[float, ...]], ...] = (
    ("Neutropenia", 0.55, (0.10, 0.25, 0.35, 0.30)),
    ("Alopecia", 0.60, (0.30, 0.70, 0.0, 0.0)),
    ("Febrile neutropenia", 0.10, (0.0, 0.0, 0.85, 0.15)),
    ("Peripheral sensory neuropathy", 0.25, (0.60, 0.35, 0.05, 0.0)),
)
_ENDOCRINE_AE_TERMS: tuple[tuple[str, float, tuple[float, ...]], ...] = (
    ("Arthralgia", 0.25, (0.65, 0.30, 0.05, 0.0)),
    ("Hot flashes", 0.20, (0.75, 0.25, 0.0, 0.0)),
)
CTCAE_TERMS = {
    "Hand-foot skin reaction": "Palmar-plantar erythrodysesthesia syndrome",
    "Diarrhoea": "Diarrhea",
    "Rash": "Rash maculo-papular",
    "Stomatitis": "Mucositis oral",
    "Neutropenia": "Neutrophil count decreased",
}
"""The CTCAE v5.0 term of each verbatim term the demo records that is not one itself."""
_DRUG_RELATED = frozenset(
    {"Hand-foot skin reaction", "Hypertension", "Diarrhoea", "Rash", "Stomatitis"}
)
_NEXT_LINE = {
    "endocrine": ("Exemestane", "Fulvestrant", "Capecitabine", "Tamoxifen"),
    "chemotherapy_then_endocrine": ("Capecitabine", "Exemestane", "Vinorelbine", "Fulvestrant"),
    "chemotherapy": ("Capecitabine", "Vinorelbine", "Gemcitabine", "Paclitaxel weekly"),
}


@dataclass(frozen=True)
class CourseRecord:
    """A form record, known to the site (entered) on ``known_on``.

    ``ends_on``: the record's end date (an adverse event's, a kit's period), left out while it
    lies after the cut-off; ``dispensings``: the (cycle, date) of each kit a study-drug record
    covers (the seeder dispenses them and adds the kit numbers); ``reason``: set on later
    versions of a once-only form.
    """

    known_on: dt.date
    form: str
    data: dict[str, Any]
    ends_on: dt.date | None = None
    dispensings: tuple[tuple[int, dt.date], ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class Course:
    """The drawn truth and the records that follow from it."""

    randomisation_date: dt.date
    pfs_true: dt.date
    """The drawn truth: progression, or death before it (recorded or not)."""
    progression_true: dt.date | None
    death: dt.date | None
    dropout: dt.date | None
    pfs_event_date: dt.date | None
    """Recorded PFS event under the FDA 2018 rules: the assessment that shows progression, or
    death before it; ``None`` when censored (no event yet, or new anticancer therapy or two
    missed assessments before it)."""
    pfs_event_known_on: dt.date | None
    records: tuple[CourseRecord, ...] = field(default=())
    progression_documented: dt.date | None = None
    """The assessment that shows progression by RECIST 1.1, whatever the censoring rules."""


def pfs_medians(protocol: Protocol, scenario: Scenario) -> dict[str, float]:
    """The median PFS (months) of each arm id: the design's, or the control's for both (null)."""
    if protocol.design is None:
        raise ValueError(f"protocol {protocol.id} has no design: no PFS medians to draw from")
    control = protocol.design.median_control
    treatment = control if scenario == "null" else protocol.design.median_treatment
    return {a.id: treatment if a.role == "treatment" else control for a in protocol.arms}


def _days(months: float) -> int:
    return max(1, math.ceil(months * DAYS_PER_MONTH))


def _lag(rng: np.random.Generator, slow: bool) -> dt.timedelta:
    days = int(rng.integers(15, 45)) if slow else int(rng.geometric(0.25)) - 1
    return dt.timedelta(days=days)


@dataclass
class _Lesions:
    baseline: dict[str, float]
    organs: dict[str, str]
    non_target: dict[str, str]


def _lesions(rng: np.random.Generator, plan: ScreeningPlan) -> _Lesions:
    disease = plan.record["disease"]
    sites: list[str] = []
    if disease["liver"]:
        sites += ["liver", "liver"][: int(rng.integers(1, 3))]
    if disease["visceral"] and (not disease["liver"] or rng.random() < 0.4):
        sites.append("lung")
    if disease["soft_tissue"]:
        sites.append("chest wall")
    baseline = {f"T{i + 1}": float(rng.integers(12, 56)) for i in range(len(sites))}
    organs = {f"T{i + 1}": organ for i, organ in enumerate(sites)}
    non_target = {"N1": "bone"} if disease["bone"] else {}
    if disease["bone"] and rng.random() < 0.3:
        non_target["N2"] = "bone"
    return _Lesions(baseline, organs, non_target)


def _assessment(
    lesions: _Lesions, day: dt.date, factor: float, *, progression: str | None
) -> dict[str, Any]:
    target = {k: round(v * factor, 1) for k, v in lesions.baseline.items()}
    non_target: dict[str, str] = dict.fromkeys(lesions.non_target, "present")
    new_lesions = False
    if progression == "new":
        new_lesions = True
    elif progression == "non_target":
        non_target[next(iter(non_target))] = "unequivocal_progression"
    return {
        "date": day.isoformat(),
        "target": target,
        "non_target": non_target,
        "new_lesions": new_lesions,
    }


def clinical_course(
    rng: np.random.Generator,
    protocol: Protocol,
    plan: ScreeningPlan,
    *,
    arm: str,
    median_months: float,
    slow_site: bool = False,
) -> Course:
    """Draw one randomised patient's course given her arm (see the module docstring)."""
    r = plan.randomisation_date
    treatment = protocol.arm(arm).role == "treatment"
    interval = protocol.schedule.tumour_assessments.interval_days if protocol.schedule else 56
    records: list[CourseRecord] = []

    def add(on: dt.date, form: str, data: dict[str, Any], **extra: Any) -> None:
        records.append(CourseRecord(on + _lag(rng, slow_site), form, data, **extra))

    pfs_days = _days(float(rng.exponential(median_months / math.log(2))))
    dies_first = bool(rng.random() < 0.07)
    progression_true = None if dies_first else r + dt.timedelta(days=pfs_days)
    death: dt.date | None = r + dt.timedelta(days=pfs_days) if dies_first else None
    if progression_true is not None:
        death = progression_true + dt.timedelta(days=_days(float(rng.exponential(16.0))))
    dropout: dt.date | None = None
    dropout_reason = ""
    if rng.random() < 0.08:
        dropout = r + dt.timedelta(days=int(rng.integers(20, 420)))
        dropout_reason = "withdrawal_of_consent" if rng.random() < 0.75 else "lost_to_follow_up"
    toxicity_stop: dt.date | None = None
    if rng.random() < (0.10 if treatment else 0.05):
        toxicity_stop = r + dt.timedelta(days=int(rng.integers(30, 240)))
    # new anticancer therapy before documented progression (clinical deterioration)
    early_therapy: dt.date | None = None
    if rng.random() < P_EARLY_NEW_THERAPY and progression_true is not None and pfs_days > 60:
        start = r + dt.timedelta(days=int(pfs_days * rng.uniform(0.4, 0.9)))
        if start < (dropout or dt.date.max):
            early_therapy = start
    # the last two assessments due before the event missed (at least one adequate before them)
    skipped: tuple[int, ...] = ()
    due_before = (pfs_days - 5) // interval  # visits surely before the event, whatever the jitter
    if rng.random() < P_MISS_TWO and due_before >= 3:
        skipped = (due_before - 1, due_before)

    early_known = dt.date.min
    if early_therapy is not None:
        early_known = early_therapy + _lag(rng, slow_site)
        records.append(
            CourseRecord(
                early_known,
                "new_therapy",
                {
                    "start_date": early_therapy.isoformat(),
                    "therapy": str(rng.choice(_NEXT_LINE[plan.group])),
                },
            )
        )

    # tumour assessments until progression, death or dropout
    lesions = _lesions(rng, plan)
    records.append(
        CourseRecord(
            r,
            "tumour_baseline",
            {
                "date": plan.scan_dates[-1].isoformat(),
                "target": [
                    {"id": k, "organ": lesions.organs[k], "diameter_mm": v, "method": "CT"}
                    for k, v in lesions.baseline.items()
                ],
                "non_target": [
                    {"id": k, "organ": organ, "method": "bone scan"}
                    for k, organ in lesions.non_target.items()
                ],
            },
        )
    )
    nadir_factor = float(rng.choice([rng.uniform(0.35, 0.68), rng.uniform(0.82, 1.05)]))
    stop = min(d for d in (death, dropout, dt.date.max) if d is not None)
    pfs_event_date: dt.date | None = None
    pfs_known: dt.date | None = None
    known = r
    k, missed_last = 0, False
    last_adequate = plan.scan_dates[-1]
    total = sum(lesions.baseline.values()) or 1.0
    min_factor = 1.0
    while True:
        k += 1
        scheduled = r + dt.timedelta(days=interval * k)
        late = not missed_last and rng.random() < 0.05
        day = scheduled + dt.timedelta(
            days=int(rng.integers(9, 15)) if late else int(rng.integers(-4, 5))
        )
        if day >= stop:
            break
        progressed = progression_true is not None and day >= progression_true
        if not progressed and k in skipped:
            missed_last = True
            continue
        if not progressed and not missed_last and k > 1 and rng.random() < 0.03:
            missed_last = True  # one missed visit, never two in a row by chance
            continue
        missed_last = False
        factor = 1.0 - (1.0 - nadir_factor) * min(1.0, k / 2)
        if progressed:
            how = "target" if lesions.baseline else "new"
            if lesions.baseline and rng.random() < 0.3:
                how = "new" if rng.random() < 0.7 or not lesions.non_target else "non_target"
            if how == "target":  # RECIST: the sum +20% and +5 mm over the smallest so far
                nadir = total * min_factor
                factor = max(1.3 * nadir, nadir + 8.0) / total
            else:
                factor = min_factor
            data = _assessment(lesions, day, factor, progression=None if how == "target" else how)
        else:
            factor += float(rng.uniform(0, 0.04))
            min_factor = min(min_factor, factor)
            data = _assessment(lesions, day, factor, progression=None)
        known = max(known, day + _lag(rng, slow_site))
        if early_therapy is not None and day > early_therapy:
            known = max(known, early_known)  # never known before the therapy that censors it
        records.append(CourseRecord(known, "tumour_assessment", data))
        if not progressed:
            last_adequate = day
        if progressed:
            pfs_event_date, pfs_known = day, known
            break
    detected = pfs_event_date
    if detected is None and death is not None and death < (dropout or dt.date.max):
        pfs_event_date = death  # died first, or progressed and died before the next scan
    window = protocol.schedule.tumour_assessments.window_days if protocol.schedule else 7
    if pfs_event_date is not None and (pfs_event_date - last_adequate).days > 2 * interval + window:
        pfs_event_date = pfs_known = None  # after two missed assessments: censored (FDA 2018)
    if pfs_event_date is not None and early_therapy is not None and early_therapy < pfs_event_date:
        pfs_event_date = pfs_known = None  # after new anticancer therapy: censored (FDA 2018)
    # treatment ends at progression, death, dropout or toxicity, whichever comes first
    ends = [
        (d, why)
        for d, why in (
            (detected, "progression"),
            (death, "death"),
            (dropout, dropout_reason),
            (toxicity_stop, "adverse_event"),
            (early_therapy, "investigator_decision"),
        )
        if d is not None
    ]
    end_day, end_reason = min(ends)
    add(end_day, "end_of_treatment", {"date": end_day.isoformat(), "reason": end_reason})
    _treatment(rng, protocol, plan, r, end_day, add, records)
    _adverse_events(rng, plan, r, end_day, treatment, add, death=death)
    if dropout is not None and dropout < (death or dt.date.max):
        add(dropout, "end_of_study", {"date": dropout.isoformat(), "reason": dropout_reason})
        death = None
    elif death is not None:
        cause = (
            "progression"
            if progression_true is not None
            else str(rng.choice(["other", "adverse_event", "unknown"], p=[0.5, 0.2, 0.3]))
        )
        death_known = max(death + dt.timedelta(days=int(rng.integers(3, 30))), early_known)
        records.append(
            CourseRecord(death_known, "death", {"date": death.isoformat(), "cause": cause})
        )
        records.append(
            CourseRecord(
                death_known, "end_of_study", {"date": death.isoformat(), "reason": "death"}
            )
        )
        if pfs_event_date == death:
            pfs_known = death_known
    if detected is not None:
        therapy = str(rng.choice(_NEXT_LINE[plan.group]))
        start = detected + dt.timedelta(days=int(rng.integers(10, 45)))
        already = early_therapy is not None  # on the new therapy since before progression
        if not already and start < (death or dt.date.max) and start < (dropout or dt.date.max):
            add(start, "new_therapy", {"start_date": start.isoformat(), "therapy": therapy})
        contact = detected + dt.timedelta(days=91)
        first = True
        while contact < min(death or dt.date.max, dropout or dt.date.max):
            records.append(
                CourseRecord(
                    contact + _lag(rng, slow_site),
                    "last_known_alive",
                    {"date": contact.isoformat()},
                    reason=None if first else "survival follow-up contact",
                )
            )
            first = False
            contact += dt.timedelta(days=int(rng.integers(84, 99)))
    return Course(
        randomisation_date=r,
        pfs_true=r + dt.timedelta(days=pfs_days),
        progression_true=progression_true,
        death=death,
        dropout=dropout,
        pfs_event_date=pfs_event_date,
        pfs_event_known_on=pfs_known,
        records=tuple(sorted(records, key=lambda c: c.known_on)),
        progression_documented=detected,
    )


def _treatment(
    rng: np.random.Generator,
    protocol: Protocol,
    plan: ScreeningPlan,
    r: dt.date,
    end_day: dt.date,
    add: Any,
    records: list[CourseRecord],
) -> None:
    """Docetaxel cycles, letrozole, and study drug: a kit every study-drug cycle of the protocol
    (SOR: 112 tablets every 28 days), recorded on one study-drug form per three kits (about one
    per tumour-assessment interval).

    A kit is given on its cycle's due day or up to two days late (never early: the dispensing
    check refuses a cycle before its window), and only while on treatment, strictly before the
    end of treatment (which comes no later than death, withdrawal or the end of study).
    """
    if protocol.study_drug is None:
        raise InputError(
            f"protocol {protocol.acronym} gives no study-drug cycle (study_drug.cycle_days): the "
            "demo dispenses a kit per cycle"
        )
    cycle_days = protocol.study_drug.cycle_days
    kits: list[tuple[int, dt.date]] = []
    cycle, day = 1, r
    while day < end_day or cycle == 1:
        kits.append((cycle, day))
        cycle, day = cycle + 1, day + dt.timedelta(days=cycle_days + int(rng.integers(0, 3)))
    for first in range(0, len(kits), KITS_PER_FORM):
        period = tuple(kits[first : first + KITS_PER_FORM])
        following = kits[first + KITS_PER_FORM][1] if first + KITS_PER_FORM < len(kits) else day
        ends = min(following, end_day) - dt.timedelta(days=1)
        records.append(
            CourseRecord(
                period[-1][1],
                "study_drug",
                {"start_date": period[0][1].isoformat(), "tablets_dispensed": 112 * len(period)},
                ends_on=max(ends, period[-1][1]),
                dispensings=period,
            )
        )
    spec = protocol.background_therapy
    letrozole_from: dt.date | None = r + dt.timedelta(days=int(rng.integers(0, 3)))
    if plan.group != "endocrine" and spec is not None:
        docetaxel = next(g for g in spec.regimens if g.id == "docetaxel")
        body = plan.record["body"]
        dose = regimen_dose(
            docetaxel,
            spec.body_surface_area,
            height_cm=body["height_cm"],
            weight_kg=body["weight_kg"],
        )
        planned = 6  # up to 6 cycles; fewer when treatment ends first
        day, given = r + dt.timedelta(days=int(rng.integers(0, 3))), 0
        last = day
        while given < planned and day < end_day:
            given += 1
            delayed = given > 1 and rng.random() < 0.05
            if delayed:
                day += dt.timedelta(days=7)
            reduced = given > 2 and rng.random() < 0.1
            mg_m2 = 60.0 if reduced else docetaxel.dose
            data = {
                "cycle": given,
                "date": day.isoformat(),
                "dose_mg_m2": mg_m2,
                "dose_mg": dose.mg if not reduced else round(mg_m2 * (dose.bsa_m2 or 1.8)),
                "delayed": delayed,
                "reduced": reduced,
            }
            if rng.random() < 0.03:
                del data["dose_mg"]  # left blank: the edit checks query it
            add(day, "docetaxel_cycle", data)
            last = day
            day += dt.timedelta(days=21)
        # the record: letrozole "starting on day 15-21 of the last cycle" (day 1 = the cycle's date)
        letrozole_from = (
            last + dt.timedelta(days=int(rng.integers(14, 21)))
            if plan.group == "chemotherapy_then_endocrine" and given
            else None
        )
    if letrozole_from is not None and letrozole_from < end_day:
        add(letrozole_from, "letrozole", {"start_date": letrozole_from.isoformat(), "dose_mg": 2.5})


def _adverse_events(
    rng: np.random.Generator,
    plan: ScreeningPlan,
    r: dt.date,
    end_day: dt.date,
    treatment: bool,
    add: Any,
    *,
    death: dt.date | None,
) -> None:
    window = max(7, min((end_day - r).days, 240))
    terms: list[tuple[str, float, tuple[float, ...]]] = [
        (term, p_a if treatment else p_b, grades) for term, p_a, p_b, grades in _AE_TERMS
    ]
    if plan.group != "endocrine":
        terms += list(_CHEMO_AE_TERMS)
    if plan.group != "chemotherapy":
        terms += list(_ENDOCRINE_AE_TERMS)
    for term, probability, weights in terms:
        if rng.random() >= probability:
            continue
        start = r + dt.timedelta(days=int(rng.integers(3, window + 3)))
        p = np.asarray(weights) / sum(weights)
        grade = int(rng.choice(4, p=p)) + 1
        serious = grade >= 3 and (term == "Febrile neutropenia" or rng.random() < 0.35)
        related = term in _DRUG_RELATED
        data: dict[str, Any] = {
            "term": term,
            "grade": grade,
            "start_date": start.isoformat(),
            "serious": serious,
            "relationship": str(rng.choice(["possible", "probable", "related"]))
            if related
            else str(rng.choice(["not_related", "unlikely", "possible"])),
            "action_taken": ("dose_interrupted" if rng.random() < 0.6 else "dose_reduced")
            if grade >= 3
            else "none",
        }
        if rng.random() < 0.05:
            del data["relationship"]  # left blank: the edit checks query it
        end = start + dt.timedelta(days=int(rng.integers(4, 60)))
        if death is not None and start >= death:
            continue
        add(start, "adverse_event", data, ends_on=min(end, death or end))


def visible_records(course: Course, cutoff: dt.date) -> tuple[CourseRecord, ...]:
    """The records entered by ``cutoff``: end dates after it left out (an AE is then ongoing)."""
    shown: list[CourseRecord] = []
    for record in course.records:
        if record.dispensings and record.known_on > cutoff:
            given = tuple(d for d in record.dispensings if d[1] <= cutoff)
            if not given:
                continue
            data = dict(record.data, tablets_dispensed=112 * len(given))
            shown.append(replace(record, known_on=given[-1][1], data=data, dispensings=given))
            continue
        if record.known_on > cutoff:
            continue
        if record.ends_on is not None:
            data = dict(record.data)
            if record.ends_on <= cutoff:
                data["end_date"] = record.ends_on.isoformat()
                if record.form == "study_drug":
                    start = record.dispensings[0][1] if record.dispensings else record.known_on
                    taken = 4 * ((record.ends_on - start).days + 1)
                    data["tablets_returned"] = max(0, data["tablets_dispensed"] - taken)
            elif record.form == "adverse_event":
                data["ongoing"] = True
            record = replace(record, data=data)
        shown.append(record)
    return tuple(sorted(shown, key=lambda c: c.known_on))
