"""Screening records of demo patients: eligible women, and screen failures for real reasons.

A record follows the protocol's screening-record schema (``trialkit eligibility schema``). An
eligible record is drawn so that each background-therapy group of SOR occurs (hormone-receptor
positive with bone/soft-tissue disease: endocrine; with visceral disease: chemotherapy then
endocrine; triple negative: chemotherapy). A failing record is an eligible one with exactly one
reason to fail, each named by the criterion it breaks (see :data:`FAILURES`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["FAILURES", "GROUP_SHARES", "Failure", "Group", "ScreeningPlan", "screening_record"]

Group = Literal["endocrine", "chemotherapy_then_endocrine", "chemotherapy"]
GROUP_SHARES: dict[Group, float] = {
    "endocrine": 0.30,
    "chemotherapy_then_endocrine": 0.45,
    "chemotherapy": 0.25,
}
"""Shares of the eligible patients by background-therapy group (a plausible first-line mix)."""


@dataclass(frozen=True)
class Failure:
    """A reason to fail screening: its key and the top-level criterion it breaks."""

    key: str
    criterion: str
    description: str


FAILURES: tuple[Failure, ...] = (
    Failure("her2_positive", "E1", "HER2-positive disease (IHC 3+, FISH amplified)"),
    Failure("hormone_status_unknown", "E4", "oestrogen-receptor status unknown"),
    Failure("ecog_2", "I9", "ECOG performance status 2"),
    Failure("low_platelets", "I10", "platelets 72 x 10^9/L (below 100)"),
    Failure("active_brain_metastases", "E2", "active brain metastases with symptoms"),
    Failure("recent_taxane", "I4", "adjuvant taxane completed 7 months before randomisation"),
    Failure("neuropathy", "E11", "grade 2 peripheral neuropathy"),
    Failure("prior_advanced_chemotherapy", "E3", "chemotherapy already given for advanced disease"),
)


@dataclass(frozen=True)
class ScreeningPlan:
    """What one screening record says and when (dates drawn by the enrolment plan)."""

    screening_date: dt.date
    randomisation_date: dt.date
    group: Group
    failure: Failure | None
    record: dict[str, Any]

    @property
    def scan_dates(self) -> tuple[dt.date, ...]:
        return tuple(dt.date.fromisoformat(s) for s in self.record["disease"]["scan_dates"])

    @property
    def complete_on(self) -> dt.date:
        """The day the record is complete (last scan or pregnancy test): it is entered then."""
        test = self.record["reproductive"].get("pregnancy_test")
        days = [*self.scan_dates, self.screening_date]
        if test is not None:
            days.append(dt.date.fromisoformat(test["date"]))
        return max(days)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _lab(rng: np.random.Generator, low: float, high: float, decimals: int = 1) -> float:
    return round(float(rng.uniform(low, high)), decimals)


def _disease(rng: np.random.Generator, group: Group) -> dict[str, Any]:
    if group == "endocrine":
        bone = bool(rng.random() < 0.8)
        soft = (not bone) or bool(rng.random() < 0.4)
        liver = visceral = False
    else:
        visceral = group == "chemotherapy_then_endocrine" or bool(rng.random() < 0.7)
        liver = visceral and bool(rng.random() < 0.6)
        bone = bool(rng.random() < 0.5)
        soft = bool(rng.random() < 0.4) or not (visceral or bone)
    measurable = visceral or soft
    return {
        "extent": "metastatic" if rng.random() < 0.9 else "locally_recurrent",
        "measurability": "measurable" if measurable else "evaluable",
        "resectable_with_curative_intent": False,
        "bone": bone,
        "soft_tissue": soft,
        "visceral": visceral,
        "liver": liver,
        "brain": {"metastases": "none", "neurological_symptoms": False},
    }


def _group_receptors(rng: np.random.Generator, group: Group) -> dict[str, Any]:
    her2 = (
        {"ihc": "2+", "fish": "not_amplified"}
        if rng.random() < 0.15
        else {"ihc": str(rng.choice(["0", "1+"])), "fish": "not_done"}
    )
    if group == "chemotherapy":
        return {"er": "negative", "pgr": "negative", "her2": her2}
    return {
        "er": "positive",
        "pgr": "positive" if rng.random() < 0.75 else "negative",
        "her2": her2,
    }


def screening_record(
    rng: np.random.Generator,
    *,
    group: Group,
    failure: Failure | None,
    screening_date: dt.date,
    randomisation_date: dt.date,
) -> ScreeningPlan:
    """Draw one screening record (eligible unless ``failure`` names what breaks it)."""
    r = randomisation_date
    gap = (r - screening_date).days
    scans = sorted({screening_date + dt.timedelta(days=int(d)) for d in rng.integers(1, gap, 2)})
    premenopausal_allowed = group == "chemotherapy"
    age = int(rng.integers(32, 76) if premenopausal_allowed else rng.integers(53, 82))
    birth = r - dt.timedelta(days=int(age * 365.25 + rng.integers(20, 340)))
    postmenopausal = age >= 52
    hr_positive = group != "chemotherapy"
    menopause = {
        "bilateral_oophorectomy": False,
        "hysterectomy": False,
        "months_since_last_menses": int(rng.integers(24, 300)) if postmenopausal else 1,
        "gonadotropin_suppression": False,
        "ovarian_ablation": "not_applicable",
    }
    reproductive: dict[str, Any] = {
        "childbearing_potential": not postmenopausal,
        "pregnant": False,
        "breast_feeding": False,
    }
    if not postmenopausal:
        reproductive["pregnancy_test"] = {
            "date": _iso(r - dt.timedelta(days=int(rng.integers(1, 6)))),
            "type": "serum",
            "result": "negative",
        }
        reproductive["contraception_agreed"] = True
    taxane = bool(rng.random() < 0.3)
    other_chemo = bool(rng.random() < 0.6)
    tamoxifen = hr_positive and bool(rng.random() < 0.5)
    aromatase = hr_positive and not tamoxifen and bool(rng.random() < 0.3)

    def ended(months_min: int, months_max: int) -> str:
        return _iso(r - dt.timedelta(days=int(rng.integers(months_min * 31, months_max * 31))))

    prior: dict[str, Any] = {
        "adjuvant_taxane": {"received": True, "end_date": ended(14, 60)}
        if taxane
        else {"received": False},
        "other_adjuvant_chemotherapy": {"received": True, "end_date": ended(14, 96)}
        if other_chemo
        else {"received": False},
        "adjuvant_aromatase_inhibitor": {"received": True, "end_date": ended(5, 30)}
        if aromatase
        else {"received": False},
        "adjuvant_tamoxifen": {"received": True, "end_date": ended(2, 36)}
        if tamoxifen
        else {"received": False},
        "radiotherapy": {"received": False},
        "advanced_disease_therapy": False,
        "anti_vegf": False,
        "investigational_drug": {"received": False},
        "st_johns_wort_or_rifampin": {"used": False},
        "enzyme_inducing_antiepileptic": False,
    }
    disease = _disease(rng, group) | {"scan_dates": [_iso(s) for s in scans]}
    record: dict[str, Any] = {
        "patient": {"sex": "female", "date_of_birth": _iso(birth)},
        "planned_randomisation_date": _iso(r),
        "histology": {"confirmed": True, "method": "histological", "type": "adenocarcinoma"},
        "disease": disease,
        "receptors": _group_receptors(rng, group),
        "menopause": menopause,
        "prior_therapies": prior,
        "ecog": int(rng.random() < 0.45),
        "labs": {
            "haemoglobin": {"value": _lab(rng, 10.2, 14.5), "unit": "g/dL"},
            "anc": {"value": int(rng.integers(1900, 6500)), "unit": "/mm3"},
            "platelets": {"value": int(rng.integers(150, 390)), "unit": "10^9/L"},
            "bilirubin": {"value": _lab(rng, 0.3, 1.1), "unit": "mg/dL", "uln": 1.2},
            "alt": {"value": int(rng.integers(12, 45)), "unit": "U/L", "uln": 40},
            "ast": {"value": int(rng.integers(14, 45)), "unit": "U/L", "uln": 40},
            "inr": {"value": _lab(rng, 0.9, 1.15, 2), "unit": "ratio"},
            "aptt": {"value": int(rng.integers(27, 36)), "unit": "s", "lln": 25, "uln": 37},
            "creatinine": {"value": _lab(rng, 0.5, 1.05, 2), "unit": "mg/dL", "uln": 1.1},
        },
        "anticoagulation": {"agent": "none"},
        "reproductive": reproductive,
        "consent": {
            "willing_and_able": True,
            "signed_date": _iso(screening_date),
            "first_study_procedure_date": _iso(scans[0]),
        },
        "able_to_swallow_tablets": True,
        "history": {
            "bleeding_diathesis_or_coagulopathy": False,
            "non_healing_wound_ulcer_or_fracture": False,
            "interfering_condition": False,
            "peripheral_neuropathy_grade": int(rng.random() < 0.15),
            "cardiac": {
                "nyha_class": 0,
                "unstable_angina": False,
                "new_onset_angina": {"occurred": False},
                "myocardial_infarction": {"occurred": False},
                "ventricular_arrhythmia_on_treatment": False,
            },
            "blood_pressure": {
                "systolic": int(rng.integers(108, 146)),
                "diastolic": int(rng.integers(64, 90)),
                "optimal_management": True,
            },
            "thromboembolic_event": {"occurred": False},
            "pulmonary_haemorrhage": {"occurred": False},
            "other_haemorrhage": {"occurred": False},
            "active_infection_grade": 0,
            "hiv": False,
            "chronic_hepatitis_b": False,
            "chronic_hepatitis_c": False,
            "other_cancers": [],
            "study_drug_allergy": False,
            "major_surgery_or_injury": {"occurred": False},
        },
        "body": {"height_cm": int(rng.integers(150, 179)), "weight_kg": int(rng.integers(48, 96))},
    }
    if failure is not None:
        _break(record, failure, r)
    return ScreeningPlan(screening_date, randomisation_date, group, failure, record)


def _break(record: dict[str, Any], failure: Failure, r: dt.date) -> None:
    """Make the record fail for exactly this reason."""
    if failure.key == "her2_positive":
        record["receptors"]["her2"] = {"ihc": "3+", "fish": "amplified"}
    elif failure.key == "hormone_status_unknown":
        record["receptors"]["er"] = "unknown"
    elif failure.key == "ecog_2":
        record["ecog"] = 2
    elif failure.key == "low_platelets":
        record["labs"]["platelets"]["value"] = 72
    elif failure.key == "active_brain_metastases":
        record["disease"]["brain"] = {
            "metastases": "active",
            "neurological_symptoms": True,
            "imaging_date": record["disease"]["scan_dates"][0],
        }
    elif failure.key == "recent_taxane":
        record["prior_therapies"]["adjuvant_taxane"] = {
            "received": True,
            "end_date": _iso(r - dt.timedelta(days=7 * 30)),
        }
    elif failure.key == "neuropathy":
        record["history"]["peripheral_neuropathy_grade"] = 2
    elif failure.key == "prior_advanced_chemotherapy":
        record["prior_therapies"]["advanced_disease_therapy"] = True
    else:  # pragma: no cover - FAILURES lists every key
        raise ValueError(f"unknown screening failure {failure.key!r}")
