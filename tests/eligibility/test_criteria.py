"""The SOR criterion matrix: every criterion and sub-item met, not met and unknown.

Each case patches the complete eligible example (see ``conftest.py``) and asserts the
criterion's status, a fragment of its reason that names the data used, and, for unknown
cases, the field path the ``missing`` list must name. The planned randomisation date of
the example is 2008-03-14 (2008 is a leap year); boundary dates are written out in full.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from tests.conftest import RECORD

from trialkit.eligibility import EligibilityResult
from trialkit.eligibility.context import without_none
from trialkit.errors import RecordError
from trialkit.protocol import Protocol, load_protocol

Evaluate = Callable[..., EligibilityResult]
Patch = Mapping[str, Any]

DELETE = "<delete>"  # the factory's sentinel (conftest.DELETE): the datum is not recorded
RANDOMISATION = dt.date(2008, 3, 14)
SEED_RECORD = RECORD  # the registry record, vendored beside the protocol


def days_before(days: int) -> str:
    """The ISO date ``days`` days before the planned randomisation date."""
    return (RANDOMISATION - dt.timedelta(days=days)).isoformat()


# Starting points other than the endocrine, bone-only, post-menopausal example.
TRIPLE_NEGATIVE: Patch = {"receptors": {"er": "negative", "pgr": "negative"}}
ER_POSITIVE_VISCERAL: Patch = {"disease": {"visceral": True}}
# 45 years old, menses a month ago, FSH below the postmenopausal range, no oophorectomy.
PREMENOPAUSAL: Patch = {
    "patient": {"date_of_birth": "1962-06-01"},
    "menopause": {
        "months_since_last_menses": 1,
        "fsh": {"value": 6.0, "unit": "IU/L", "postmenopausal_min": 30.0},
        "ovarian_ablation": "unwilling",
    },
}
# Pharmacological ovarian ablation is a GnRH analogue: a gonadotropin-suppressing agent.
UNDERGOING_ABLATION: Patch = {
    "menopause": {"ovarian_ablation": "undergoing", "gonadotropin_suppression": True}
}
CHILDBEARING: Patch = {
    "reproductive": {
        "childbearing_potential": True,
        "pregnancy_test": {"date": days_before(7), "type": "serum", "result": "negative"},
        "contraception_agreed": True,
    }
}
RADIOTHERAPY: Patch = {
    "prior_therapies": {
        "radiotherapy": {
            "received": True,
            "end_date": days_before(21),
            "acute_toxicity_recovered": True,
            "only_site_of_disease": False,
            "marrow_percent": 25.0,
        }
    }
}


def lab(name: str, value: float, unit: str, uln: float | None = None) -> Patch:
    entry: dict[str, Any] = {"value": value, "unit": unit}
    if uln is not None:
        entry["uln"] = uln
    return {"labs": {name: entry}}


def taxane(end: str) -> Patch:
    return {"prior_therapies": {"adjuvant_taxane": {"received": True, "end_date": end}}}


def history(**fields: Any) -> Patch:
    return {"history": fields}


def cardiac(**fields: Any) -> Patch:
    return {"history": {"cardiac": fields}}


def therapies(**fields: Any) -> Patch:
    return {"prior_therapies": fields}


def other_cancer(**fields: Any) -> Patch:
    return {"history": {"other_cancers": [{"kind": "other", **fields}]}}


@dataclass(frozen=True)
class Case:
    """One row of the matrix: patches -> the criterion's status, reason and missing data."""

    criterion: str
    status: str
    label: str
    patches: tuple[Patch, ...]
    reason: str
    missing: str | None = None

    @property
    def id(self) -> str:
        return f"{self.criterion}-{self.status}-{self.label}"


def met(criterion: str, label: str, *patches: Patch, reason: str) -> Case:
    return Case(criterion, "met", label, patches, reason)


def not_met(criterion: str, label: str, *patches: Patch, reason: str) -> Case:
    return Case(criterion, "not_met", label, patches, reason)


def unknown(criterion: str, label: str, *patches: Patch, reason: str, missing: str) -> Case:
    return Case(criterion, "unknown", label, patches, reason, missing)


CASES: list[Case] = [
    # ------------------------------------------------------------------ I1
    met("I1", "example", reason="female; confirmed adenocarcinoma of the breast"),
    not_met("I1", "male", {"patient": {"sex": "male"}}, reason="sex recorded as male"),
    not_met(
        "I1",
        "not-confirmed",
        {"histology": {"confirmed": False}},
        reason="not histologically or cytologically confirmed",
    ),
    not_met(
        "I1", "not-adenocarcinoma", {"histology": {"type": "other"}}, reason="not adenocarcinoma"
    ),
    unknown(
        "I1",
        "confirmation-unrecorded",
        {"histology": {"confirmed": DELETE}},
        reason="missing ",
        missing="histology.confirmed",
    ),
    # ------------------------------------------------------------------ I2
    met("I2", "example", reason="evaluable metastatic disease; scans 2008-02-25, 2008-02-27"),
    met(
        "I2",
        "scan-exactly-28-days",
        {"disease": {"scan_dates": [days_before(28)]}},
        reason="scans 2008-02-15 within 28 days before randomisation",
    ),
    met(
        "I2",
        "unresectable-local-recurrence",
        {"disease": {"extent": "locally_recurrent", "measurability": "measurable"}},
        reason="measurable unresectable locally recurrent disease",
    ),
    not_met(
        "I2",
        "scan-29-days",
        {"disease": {"scan_dates": [days_before(29), days_before(3)]}},
        reason="not within the 4 weeks (28 days) before randomisation: 2008-02-14",
    ),
    not_met(
        "I2",
        "scan-after-randomisation",
        {"disease": {"scan_dates": ["2008-03-15"]}},
        reason="not within the 4 weeks (28 days) before randomisation: 2008-03-15",
    ),
    not_met(
        "I2",
        "not-measurable",
        {"disease": {"measurability": "none"}},
        reason="neither measurable nor evaluable",
    ),
    not_met(
        "I2",
        "resectable-local-recurrence",
        {"disease": {"extent": "locally_recurrent", "resectable_with_curative_intent": True}},
        reason="amenable to resection with curative intent",
    ),
    not_met("I2", "no-scan", {"disease": {"scan_dates": []}}, reason="no scan"),
    unknown(
        "I2",
        "scans-unrecorded",
        {"disease": {"scan_dates": DELETE}},
        reason="missing ",
        missing="disease.scan_dates",
    ),
    unknown(
        "I2",
        "resectability-unrecorded",
        {
            "disease": {
                "extent": "locally_recurrent",
                "resectable_with_curative_intent": DELETE,
            }
        },
        reason="missing ",
        missing="disease.resectable_with_curative_intent",
    ),
    # ------------------------------------------------------------------ I3
    met("I3", "example", reason="age 61 years (>= 18); met by I3.2"),
    met(
        "I3",
        "18th-birthday-on-randomisation-date",
        {"patient": {"date_of_birth": "1990-03-14"}},
        reason="age 18 years (>= 18)",
    ),
    met(
        "I3",
        "premenopausal-undergoing-ablation",
        PREMENOPAUSAL,
        UNDERGOING_ABLATION,
        reason="met by I3.4",
    ),
    met(
        "I3",
        "hormone-negative-premenopausal",
        TRIPLE_NEGATIVE,
        PREMENOPAUSAL,
        reason="age 45 years (>= 18)",
    ),
    not_met(
        "I3",
        "18th-birthday-the-day-after",
        {"patient": {"date_of_birth": "1990-03-15"}},
        reason="age 17 years (< 18)",
    ),
    not_met(
        "I3",
        "er-positive-premenopausal-no-ablation",
        PREMENOPAUSAL,
        {"menopause": {"ovarian_ablation": "willing"}},
        reason="none of I3.1, I3.2, I3.3, I3.4 met",
    ),
    unknown(
        "I3",
        "birth-date-unrecorded",
        {"patient": {"date_of_birth": DELETE}},
        reason="missing ",
        missing="patient.date_of_birth",
    ),
    unknown(
        "I3",
        "menopause-undecided",
        PREMENOPAUSAL,
        {"menopause": {"months_since_last_menses": DELETE, "ovarian_ablation": "willing"}},
        reason="undecided: I3.2",
        missing="menopause.months_since_last_menses",
    ),
    # ------------------------------------------------------------------ I3.1
    met(
        "I3.1",
        "oophorectomy",
        {"menopause": {"bilateral_oophorectomy": True}},
        reason="bilateral oophorectomy",
    ),
    not_met("I3.1", "example", reason="no bilateral oophorectomy"),
    unknown(
        "I3.1",
        "unrecorded",
        {"menopause": {"bilateral_oophorectomy": DELETE}},
        reason="missing ",
        missing="menopause.bilateral_oophorectomy",
    ),
    # ------------------------------------------------------------------ I3.2
    met("I3.2", "example", reason="no menses for 96 months (>= 12)"),
    met(
        "I3.2",
        "exactly-12-months",
        {"menopause": {"months_since_last_menses": 12}},
        reason="no menses for 12 months (>= 12)",
    ),
    not_met(
        "I3.2",
        "11-months",
        {"menopause": {"months_since_last_menses": 11}},
        reason="no menses for 11 months (< 12 required)",
    ),
    not_met(
        "I3.2",
        "hysterectomy",
        {"menopause": {"hysterectomy": True}},
        reason="uterus not intact (hysterectomy)",
    ),
    not_met(
        "I3.2",
        "gonadotropin-suppression",
        {"menopause": {"gonadotropin_suppression": True}},
        reason="on gonadotropin-suppressing agents",
    ),
    unknown(
        "I3.2",
        "unrecorded",
        {"menopause": {"months_since_last_menses": DELETE}},
        reason="missing ",
        missing="menopause.months_since_last_menses",
    ),
    # ------------------------------------------------------------------ I3.3
    met(
        "I3.3",
        "fsh-postmenopausal-under-60-no-menses-for-12-months",
        PREMENOPAUSAL,
        {"menopause": {"fsh": {"value": 30.0}, "months_since_last_menses": 12}},
        reason="FSH 30 IU/L within the postmenopausal range (from 30) and no menses for 12 months",
    ),
    not_met(
        "I3.3",
        "fsh-unrecorded-menses-last-month",
        PREMENOPAUSAL,
        {"menopause": {"fsh": DELETE}},
        reason="menses 1 month(s) ago: FSH counts only after 12 months without menses",
    ),
    unknown(
        "I3.3",
        "fsh-postmenopausal-menses-last-month",
        PREMENOPAUSAL,
        {"menopause": {"fsh": {"value": 80.0}}},
        reason="FSH 80 IU/L (postmenopausal from 30), last menses 1 month(s) ago",
        missing="",  # nothing is absent: the data contradict each other
    ),
    unknown(
        "I3.3",
        "fsh-postmenopausal-menstrual-history-unrecorded",
        PREMENOPAUSAL,
        {"menopause": {"fsh": {"value": 80.0}, "months_since_last_menses": DELETE}},
        reason="missing ",
        missing="menopause.months_since_last_menses",
    ),
    not_met(
        "I3.3",
        "fsh-premenopausal",
        PREMENOPAUSAL,
        reason="FSH 6 IU/L below the postmenopausal range (from 30)",
    ),
    not_met(
        "I3.3",
        "60-or-older",
        {"menopause": {"fsh": {"value": 80.0, "unit": "IU/L", "postmenopausal_min": 30.0}}},
        reason="applies to patients under 60; patient is 61",
    ),
    not_met(
        "I3.3",
        "hysterectomy",
        PREMENOPAUSAL,
        {"menopause": {"hysterectomy": True, "fsh": {"value": 80.0}}},
        reason="applies only without prior hysterectomy",
    ),
    unknown(
        "I3.3",
        "fsh-unrecorded-under-60",
        PREMENOPAUSAL,
        {
            "menopause": {
                "fsh": DELETE,
                "months_since_last_menses": 14,
                "gonadotropin_suppression": True,
            }
        },
        reason="missing ",
        missing="menopause.fsh",
    ),
    # ------------------------------------------------------------------ I3.4
    met(
        "I3.4",
        "undergoing",
        PREMENOPAUSAL,
        UNDERGOING_ABLATION,
        reason="undergoing pharmacological ovarian ablation",
    ),
    unknown(
        "I3.4",
        "undergoing-not-on-gonadotropin-suppression",
        PREMENOPAUSAL,
        {"menopause": {"ovarian_ablation": "undergoing", "gonadotropin_suppression": False}},
        reason="contradictory data - undergoing pharmacological ovarian ablation",
        missing="",  # nothing is absent: the data contradict each other
    ),
    not_met(
        "I3.4",
        "unwilling",
        PREMENOPAUSAL,
        reason="not undergoing pharmacological ovarian ablation (recorded: unwilling)",
    ),
    unknown(
        "I3.4",
        "unrecorded",
        {"menopause": {"ovarian_ablation": DELETE}},
        reason="missing ",
        missing="menopause.ovarian_ablation",
    ),
    # ------------------------------------------------------------------ I4 (chemotherapy)
    met("I4", "no-taxane", TRIPLE_NEGATIVE, reason="no adjuvant or neoadjuvant taxane"),
    met(
        "I4",
        "taxane-exactly-12-months",
        TRIPLE_NEGATIVE,
        taxane("2007-03-14"),
        reason="taxane completed 2007-03-14, 12 full months before randomisation (>= 12)",
    ),
    met(
        "I4",
        "taxane-exactly-12-months-er-visceral",
        ER_POSITIVE_VISCERAL,
        taxane("2007-03-14"),
        reason="12 full months before randomisation (>= 12)",
    ),
    not_met(
        "I4",
        "taxane-one-day-short",
        TRIPLE_NEGATIVE,
        taxane("2007-03-15"),
        reason="taxane completed 2007-03-15, 11 full months before randomisation "
        "(at least 12 required)",
    ),
    not_met(
        "I4",
        "taxane-one-day-short-er-visceral",
        ER_POSITIVE_VISCERAL,
        taxane("2007-03-15"),
        reason="(at least 12 required)",
    ),
    unknown(
        "I4",
        "taxane-end-unrecorded",
        TRIPLE_NEGATIVE,
        {"prior_therapies": {"adjuvant_taxane": {"received": True}}},
        reason="missing ",
        missing="prior_therapies.adjuvant_taxane.end_date",
    ),
    unknown(
        "I4",
        "candidacy-undecided-visceral",
        taxane("2007-12-01"),
        {"disease": {"visceral": DELETE}},
        reason="cannot tell whether it applies",
        missing="disease.visceral",
    ),
    unknown(
        "I4",
        "candidacy-undecided-liver",
        taxane("2007-12-01"),
        {"disease": {"liver": DELETE}},
        reason="cannot tell whether it applies",
        missing="disease.liver",
    ),
    # ------------------------------------------------------------------ I5
    met(
        "I5",
        "exactly-21-days",
        therapies(other_adjuvant_chemotherapy={"received": True, "end_date": days_before(21)}),
        reason="21 days before randomisation (>= 21)",
    ),
    met(
        "I5",
        "none",
        therapies(other_adjuvant_chemotherapy={"received": False}),
        reason="no other adjuvant chemotherapy",
    ),
    not_met(
        "I5",
        "20-days",
        therapies(other_adjuvant_chemotherapy={"received": True, "end_date": days_before(20)}),
        reason="20 days before randomisation (at least 21 required)",
    ),
    unknown(
        "I5",
        "end-unrecorded",
        therapies(other_adjuvant_chemotherapy={"end_date": DELETE}),
        reason="missing ",
        missing="prior_therapies.other_adjuvant_chemotherapy.end_date",
    ),
    # ------------------------------------------------------------------ I6
    met(
        "I6",
        "exactly-3-months",
        therapies(adjuvant_aromatase_inhibitor={"received": True, "end_date": "2007-12-14"}),
        reason="3 full months before randomisation (>= 3)",
    ),
    met("I6", "none", reason="no adjuvant aromatase inhibitor"),
    not_met(
        "I6",
        "one-day-short",
        therapies(adjuvant_aromatase_inhibitor={"received": True, "end_date": "2007-12-15"}),
        reason="aromatase inhibitor completed 2007-12-15, 2 full months before randomisation "
        "(at least 3 required)",
    ),
    unknown(
        "I6",
        "end-unrecorded",
        therapies(adjuvant_aromatase_inhibitor={"received": True}),
        reason="missing ",
        missing="prior_therapies.adjuvant_aromatase_inhibitor.end_date",
    ),
    # ------------------------------------------------------------------ I7
    met(
        "I7",
        "exactly-28-days",
        therapies(adjuvant_tamoxifen={"received": True, "end_date": days_before(28)}),
        reason="28 days before randomisation (>= 28)",
    ),
    not_met(
        "I7",
        "27-days",
        therapies(adjuvant_tamoxifen={"received": True, "end_date": days_before(27)}),
        reason="27 days before randomisation (at least 28 required)",
    ),
    met(
        "I7",
        "received-unrecorded-but-ended-long-ago",
        # whether or not it was received, nothing ended within 4 weeks: decided
        therapies(adjuvant_tamoxifen={"received": DELETE}),
        reason="tamoxifen completed 2007-05-31, 288 days before randomisation (>= 28)",
    ),
    unknown(
        "I7",
        "end-unrecorded",
        therapies(adjuvant_tamoxifen={"end_date": DELETE}),
        reason="missing ",
        missing="prior_therapies.adjuvant_tamoxifen.end_date",
    ),
    # ------------------------------------------------------------------ I8
    met("I8", "none", reason="no prior radiotherapy"),
    met(
        "I8",
        "21-days-marrow-25-chemotherapy",
        TRIPLE_NEGATIVE,
        RADIOTHERAPY,
        reason="radiotherapy completed 2008-02-22, toxicities recovered, not the only disease site",
    ),
    met(
        "I8",
        "marrow-over-25-endocrine-only",
        RADIOTHERAPY,
        therapies(radiotherapy={"marrow_percent": 40.0}),
        reason="radiotherapy completed 2008-02-22",
    ),
    not_met(
        "I8",
        "marrow-25.1-chemotherapy",
        TRIPLE_NEGATIVE,
        RADIOTHERAPY,
        therapies(radiotherapy={"marrow_percent": 25.1}),
        reason="25.1% of bone-marrow-producing areas (> 25%) in a candidate for chemotherapy",
    ),
    not_met(
        "I8",
        "20-days",
        RADIOTHERAPY,
        therapies(radiotherapy={"end_date": days_before(20)}),
        reason="only 20 days before randomisation (at least 21 required)",
    ),
    not_met(
        "I8",
        "toxicity-not-recovered",
        RADIOTHERAPY,
        therapies(radiotherapy={"acute_toxicity_recovered": False}),
        reason="acute radiotherapy toxicities not recovered",
    ),
    not_met(
        "I8",
        "only-site",
        RADIOTHERAPY,
        therapies(radiotherapy={"only_site_of_disease": True}),
        reason="previously radiated area(s) are the only site of disease",
    ),
    unknown(
        "I8",
        "end-unrecorded",
        RADIOTHERAPY,
        therapies(radiotherapy={"end_date": DELETE}),
        reason="missing ",
        missing="prior_therapies.radiotherapy.end_date",
    ),
    unknown(
        "I8",
        "marrow-unrecorded-chemotherapy",
        TRIPLE_NEGATIVE,
        RADIOTHERAPY,
        therapies(radiotherapy={"marrow_percent": DELETE}),
        reason="missing ",
        missing="prior_therapies.radiotherapy.marrow_percent",
    ),
    unknown(
        "I8",
        "candidacy-undecided",
        RADIOTHERAPY,
        therapies(radiotherapy={"marrow_percent": 30.0}),
        {"disease": {"visceral": DELETE}},
        reason="missing ",
        missing="disease.visceral",
    ),
    # ------------------------------------------------------------------ I9
    met("I9", "ecog-1", reason="ECOG 1"),
    met("I9", "ecog-0", {"ecog": 0}, reason="ECOG 0"),
    not_met("I9", "ecog-2", {"ecog": 2}, reason="ECOG 2 > 1"),
    unknown("I9", "unrecorded", {"ecog": DELETE}, reason="missing ", missing="ecog"),
    # ------------------------------------------------------------------ I10
    met("I10", "example", reason="all of I10.1, I10.2, I10.3, I10.4, I10.5, I10.6, I10.7, I10.8"),
    not_met("I10", "haemoglobin-8.9", lab("haemoglobin", 8.9, "g/dL"), reason="not met: I10.1"),
    unknown(
        "I10",
        "haemoglobin-unrecorded",
        {"labs": {"haemoglobin": DELETE}},
        reason="undecided: I10.1",
        missing="labs.haemoglobin",
    ),
    # ------------------------------------------------------------------ I10.1
    met(
        "I10.1",
        "exactly-9.0-g-dl",
        lab("haemoglobin", 9.0, "g/dL"),
        reason="haemoglobin 9 g/dL >= 9.0",
    ),
    met("I10.1", "90-g-l", lab("haemoglobin", 90, "g/L"), reason="haemoglobin 9 g/dL >= 9.0"),
    met(
        "I10.1",
        "5.6-mmol-l",
        lab("haemoglobin", 5.6, "mmol/L"),
        reason="haemoglobin 9.02 g/dL >= 9.0",
    ),
    not_met(
        "I10.1", "8.9-g-dl", lab("haemoglobin", 8.9, "g/dL"), reason="haemoglobin 8.9 g/dL < 9.0"
    ),
    not_met("I10.1", "89-g-l", lab("haemoglobin", 89, "g/L"), reason="haemoglobin 8.9 g/dL < 9.0"),
    not_met(
        "I10.1",
        "5.585-mmol-l",
        # 5.585 x 1.6114 = 8.99967 g/dL: below 9.0, and the reason must not round it to "9"
        lab("haemoglobin", 5.585, "mmol/L"),
        reason="haemoglobin 8.9997 g/dL < 9.0",
    ),
    unknown(
        "I10.1",
        "unrecorded",
        {"labs": {"haemoglobin": DELETE}},
        reason="missing ",
        missing="labs.haemoglobin",
    ),
    # ------------------------------------------------------------------ I10.2
    met("I10.2", "exactly-1.5e9-l", lab("anc", 1.5, "x10^9/L"), reason="ANC 1.5 x 10^9/L >= 1.5"),
    met("I10.2", "exactly-1500-mm3", lab("anc", 1500, "/mm3"), reason="ANC 1.5 x 10^9/L >= 1.5"),
    not_met("I10.2", "1499-mm3", lab("anc", 1499, "/mm3"), reason="ANC 1.499 x 10^9/L < 1.5"),
    not_met("I10.2", "1.4e9-l", lab("anc", 1.4, "10^9/L"), reason="ANC 1.4 x 10^9/L < 1.5"),
    unknown(
        "I10.2", "unrecorded", {"labs": {"anc": DELETE}}, reason="missing ", missing="labs.anc"
    ),
    # ------------------------------------------------------------------ I10.3
    met(
        "I10.3",
        "exactly-100e9-l",
        lab("platelets", 100, "10^9/L"),
        reason="platelets 100 x 10^9/L >= 100",
    ),
    met(
        "I10.3",
        "exactly-100000-mm3",
        lab("platelets", 100_000, "/mm3"),
        reason="platelets 100 x 10^9/L >= 100",
    ),
    not_met(
        "I10.3",
        "99999-mm3",
        lab("platelets", 99_999, "/mm3"),
        reason="platelets 99.999 x 10^9/L < 100",
    ),
    not_met("I10.3", "99e9-l", lab("platelets", 99, "G/L"), reason="platelets 99 x 10^9/L < 100"),
    unknown(
        "I10.3",
        "unrecorded",
        {"labs": {"platelets": DELETE}},
        reason="missing ",
        missing="labs.platelets",
    ),
    # ------------------------------------------------------------------ I10.4
    met(
        "I10.4",
        "exactly-1.5-uln",
        lab("bilirubin", 1.8, "mg/dL", uln=1.2),
        reason="bilirubin 1.5 x ULN <= 1.5 x ULN",
    ),
    not_met(
        "I10.4",
        "1.51-uln",
        lab("bilirubin", 30.2, "umol/L", uln=20.0),
        reason="bilirubin 1.51 x ULN > 1.5 x ULN",
    ),
    unknown(
        "I10.4",
        "uln-unrecorded",
        lab("bilirubin", 0.7, "mg/dL"),
        {"labs": {"bilirubin": {"uln": DELETE}}},
        reason="missing ",
        missing="labs.bilirubin.uln",
    ),
    # ------------------------------------------------------------------ I10.5
    met(
        "I10.5",
        "alt-exactly-2.5-uln-no-liver",
        lab("alt", 100, "U/L", uln=40),
        reason="ALT 2.5 x ULN <= 2.5 x ULN",
    ),
    met(
        "I10.5",
        "ast-exactly-2.5-uln-no-liver",
        lab("ast", 100, "U/L", uln=40),
        reason="AST 2.5 x ULN <= 2.5 x ULN, no liver involvement",
    ),
    met(
        "I10.5",
        "alt-4-uln-liver",
        lab("alt", 160, "U/L", uln=40),
        {"disease": {"liver": True, "visceral": True}},
        reason="ALT 4 x ULN <= 5 x ULN",
    ),
    met(
        "I10.5",
        "alt-ast-exactly-5-uln-liver",
        lab("alt", 200, "U/L", uln=40),
        lab("ast", 200, "U/L", uln=40),
        {"disease": {"liver": True, "visceral": True}},
        reason="ALT 5 x ULN <= 5 x ULN, AST 5 x ULN <= 5 x ULN, liver involvement",
    ),
    met(
        "I10.5",
        "normal-liver-involvement-unrecorded",
        {"disease": {"liver": DELETE}},
        reason="ALT 0.7 x ULN, AST 0.775 x ULN, both <= 2.5 x ULN (liver involvement not recorded",
    ),
    not_met(
        "I10.5",
        "above-5-uln-liver-involvement-unrecorded",
        lab("ast", 240, "U/L", uln=40),
        {"disease": {"liver": DELETE}},
        reason="AST 6 x ULN > 5 x ULN (liver involvement not recorded",
    ),
    not_met(
        "I10.5",
        "alt-3.1-uln-ast-unrecorded",
        lab("alt", 124, "U/L", uln=40),
        {"labs": {"ast": DELETE}},
        reason="ALT 3.1 x ULN > 2.5 x ULN, AST (or its ULN) not recorded, no liver involvement",
    ),
    not_met(
        "I10.5",
        "alt-2.51-uln-no-liver",
        lab("alt", 100.4, "U/L", uln=40),
        reason="ALT 2.51 x ULN > 2.5 x ULN",
    ),
    not_met(
        "I10.5",
        "alt-3.1-uln-no-liver",
        lab("alt", 124, "U/L", uln=40),
        reason="ALT 3.1 x ULN > 2.5 x ULN, AST 0.775 x ULN <= 2.5 x ULN, no liver involvement",
    ),
    not_met(
        "I10.5",
        "ast-2.51-uln-no-liver",
        lab("ast", 100.4, "U/L", uln=40),
        reason="AST 2.51 x ULN > 2.5 x ULN",
    ),
    not_met(
        "I10.5",
        "alt-4-uln-no-liver",
        lab("alt", 160, "U/L", uln=40),
        reason="ALT 4 x ULN > 2.5 x ULN",
    ),
    not_met(
        "I10.5",
        "ast-5.01-uln-liver",
        lab("ast", 200.4, "U/L", uln=40),
        {"disease": {"liver": True, "visceral": True}},
        reason="AST 5.01 x ULN > 5 x ULN, liver involvement",
    ),
    unknown(
        "I10.5",
        "alt-uln-unrecorded",
        {"labs": {"alt": {"uln": DELETE}}},
        reason="missing ",
        missing="labs.alt.uln",
    ),
    unknown(
        "I10.5",
        "alt-3-uln-liver-involvement-unrecorded",
        lab("alt", 120, "U/L", uln=40),
        {"disease": {"liver": DELETE}},
        reason="missing ",
        missing="disease.liver",
    ),
    # ------------------------------------------------------------------ I10.6
    met("I10.6", "example", reason="INR 1 <= 1.5, aPTT 31 s within normal limits (25-37 s)"),
    met("I10.6", "inr-exactly-1.5", lab("inr", 1.5, "ratio"), reason="INR 1.5 <= 1.5"),
    not_met("I10.6", "inr-1.51", lab("inr", 1.51, "ratio"), reason="INR 1.51 > 1.5"),
    not_met(
        "I10.6",
        "aptt-above-uln",
        {"labs": {"aptt": {"value": 38}}},
        reason="aPTT 38 s outside normal limits (25-37 s)",
    ),
    not_met(
        "I10.6",
        "aptt-below-lln",
        {"labs": {"aptt": {"value": 24}}},
        reason="aPTT 24 s outside normal limits (25-37 s)",
    ),
    unknown(
        "I10.6", "inr-unrecorded", {"labs": {"inr": DELETE}}, reason="missing ", missing="labs.inr"
    ),
    # ------------------------------------------------------------------ I10.7
    # not_met is impossible by construction: the record's agents are all allowed ("may be
    # allowed to participate"); test_every_anticoagulant_is_allowed checks the whole enum.
    met("I10.7", "none", reason="no anticoagulation"),
    met(
        "I10.7",
        "warfarin",
        {"anticoagulation": {"agent": "warfarin"}},
        reason="on warfarin: allowed; measure INR before the first sorafenib/placebo dose and "
        "at least weekly until stable",
    ),
    met("I10.7", "heparin", {"anticoagulation": {"agent": "heparin"}}, reason="(heparin)"),
    unknown(
        "I10.7",
        "unrecorded",
        {"anticoagulation": {"agent": DELETE}},
        reason="missing ",
        missing="anticoagulation.agent",
    ),
    # ------------------------------------------------------------------ I10.8
    met(
        "I10.8",
        "exactly-1.5-uln",
        lab("creatinine", 1.65, "mg/dL", uln=1.1),
        reason="creatinine 1.5 x ULN <= 1.5 x ULN",
    ),
    met(
        "I10.8",
        "exactly-1.5-uln-umol",
        lab("creatinine", 132.6, "µmol/L", uln=88.4),
        reason="creatinine 1.5 x ULN <= 1.5 x ULN",
    ),
    not_met(
        "I10.8",
        "1.51-uln",
        lab("creatinine", 1.661, "mg/dL", uln=1.1),
        reason="creatinine 1.51 x ULN > 1.5 x ULN",
    ),
    unknown(
        "I10.8",
        "uln-unrecorded",
        {"labs": {"creatinine": {"uln": DELETE}}},
        reason="missing ",
        missing="labs.creatinine.uln",
    ),
    # ------------------------------------------------------------------ I11
    met("I11", "not-childbearing", reason="not of childbearing potential"),
    met(
        "I11",
        "serum-test-exactly-7-days",
        CHILDBEARING,
        reason="negative serum pregnancy test on 2008-03-07; barrier contraception agreed",
    ),
    not_met(
        "I11",
        "serum-test-8-days",
        CHILDBEARING,
        {"reproductive": {"pregnancy_test": {"date": days_before(8)}}},
        reason="pregnancy test on 2008-03-06 is not within the 7 days before randomisation",
    ),
    not_met(
        "I11",
        "urine-test",
        CHILDBEARING,
        {"reproductive": {"pregnancy_test": {"type": "urine"}}},
        reason="not a serum test",
    ),
    not_met(
        "I11",
        "no-contraception",
        CHILDBEARING,
        {"reproductive": {"contraception_agreed": False}},
        reason="contraception not agreed",
    ),
    unknown(
        "I11",
        "test-unrecorded",
        {"reproductive": {"childbearing_potential": True, "contraception_agreed": True}},
        reason="missing ",
        missing="reproductive.pregnancy_test.date",
    ),
    # ------------------------------------------------------------------ I12
    met("I12", "example", reason="consent signed 2008-02-20, before the first study procedure"),
    met(
        "I12",
        "same-day",
        {"consent": {"signed_date": "2008-02-25"}},
        reason="consent signed 2008-02-25",
    ),
    not_met(
        "I12",
        "unwilling",
        {"consent": {"willing_and_able": False}},
        reason="not willing or able",
    ),
    not_met(
        "I12",
        "signed-after-procedure",
        {"consent": {"signed_date": "2008-02-26"}},
        reason="after the first study-specific procedure (2008-02-25)",
    ),
    unknown(
        "I12",
        "signature-unrecorded",
        {"consent": {"signed_date": DELETE}},
        reason="missing ",
        missing="consent.signed_date",
    ),
    # ------------------------------------------------------------------ I13
    met("I13", "able", reason="able to swallow, retain and absorb tablets"),
    not_met(
        "I13", "unable", {"able_to_swallow_tablets": False}, reason="unable to swallow, retain"
    ),
    unknown(
        "I13",
        "unrecorded",
        {"able_to_swallow_tablets": DELETE},
        reason="missing ",
        missing="able_to_swallow_tablets",
    ),
    # ------------------------------------------------------------------ E1
    met(
        "E1",
        "ihc-3+",
        {"receptors": {"her2": {"ihc": "3+"}}},
        reason="HER2 positive (IHC 3+, FISH not_done)",
    ),
    met(
        "E1",
        "fish-amplified",
        {"receptors": {"her2": {"ihc": "2+", "fish": "amplified"}}},
        reason="HER2 positive (IHC 2+, FISH amplified)",
    ),
    met(
        "E1",
        "ihc-3+-fish-unrecorded",
        {"receptors": {"her2": {"ihc": "3+", "fish": DELETE}}},
        reason="HER2 positive (IHC 3+",
    ),
    met(
        "E1",
        "ihc-2+-fish-not-done",
        {"receptors": {"her2": {"ihc": "2+"}}},
        reason="HER2 status unknown (IHC 2+, FISH not done)",
    ),
    not_met("E1", "ihc-1+", reason="HER2 negative (IHC 1+, FISH not_done)"),
    not_met(
        "E1",
        "ihc-2+-fish-not-amplified",
        {"receptors": {"her2": {"ihc": "2+", "fish": "not_amplified"}}},
        reason="HER2 negative (IHC 2+, FISH not_amplified)",
    ),
    unknown(
        "E1",
        "ihc-2+-fish-unrecorded",
        {"receptors": {"her2": {"ihc": "2+", "fish": DELETE}}},
        reason="missing ",
        missing="receptors.her2.fish",
    ),
    # ------------------------------------------------------------------ E2
    met(
        "E2",
        "active",
        {"disease": {"brain": {"metastases": "active"}}},
        reason="active brain metastases",
    ),
    met(
        "E2",
        "treated-with-disease",
        {
            "disease": {
                "brain": {
                    "metastases": "treated",
                    "evidence_of_disease": True,
                    "therapy_end_date": "2007-01-10",
                }
            }
        },
        reason="treated brain metastases with evidence of disease",
    ),
    met(
        "E2",
        "treated-off-therapy-one-day-short-of-3-months",
        {
            "disease": {
                "brain": {
                    "metastases": "treated",
                    "evidence_of_disease": False,
                    "therapy_end_date": "2007-12-15",
                }
            }
        },
        reason="ended 2007-12-15, less than 3 months before randomisation",
    ),
    not_met("E2", "none", reason="no brain metastases"),
    not_met(
        "E2",
        "treated-off-therapy-exactly-3-months",
        {
            "disease": {
                "brain": {
                    "metastases": "treated",
                    "evidence_of_disease": False,
                    "therapy_end_date": "2007-12-14",
                }
            }
        },
        reason="treated brain metastases, no evidence of disease, off therapy since 2007-12-14",
    ),
    not_met(
        "E2",
        "symptoms-imaged",
        {"disease": {"brain": {"neurological_symptoms": True, "imaging_date": days_before(10)}}},
        reason="no brain metastases",
    ),
    unknown(
        "E2",
        "symptoms-without-imaging",
        {"disease": {"brain": {"neurological_symptoms": True}}},
        reason="neurological symptoms without a brain CT or MRI",
        missing="disease.brain.imaging_date",
    ),
    unknown(
        "E2",
        "symptoms-unrecorded-without-imaging",
        {"disease": {"brain": {"neurological_symptoms": DELETE}}},
        reason="neurological symptoms not recorded",
        missing="disease.brain.neurological_symptoms",
    ),
    unknown(
        "E2",
        "treated-therapy-end-unrecorded",
        {"disease": {"brain": {"metastases": "treated", "evidence_of_disease": False}}},
        reason="missing ",
        missing="disease.brain.therapy_end_date",
    ),
    # ------------------------------------------------------------------ E3
    met(
        "E3",
        "prior-advanced-therapy",
        therapies(advanced_disease_therapy=True),
        reason="prior chemotherapy or endocrine therapy for advanced disease",
    ),
    not_met("E3", "none", reason="no prior therapy for advanced disease"),
    unknown(
        "E3",
        "unrecorded",
        therapies(advanced_disease_therapy=DELETE),
        reason="missing ",
        missing="prior_therapies.advanced_disease_therapy",
    ),
    # ------------------------------------------------------------------ E4
    met("E4", "er-unknown", {"receptors": {"er": "unknown"}}, reason="ER unknown, PgR positive"),
    met(
        "E4",
        "pgr-unknown-er-unrecorded",
        {"receptors": {"er": DELETE, "pgr": "unknown"}},
        reason="PgR unknown",
    ),
    not_met("E4", "known", reason="ER positive, PgR positive"),
    unknown(
        "E4",
        "pgr-unrecorded",
        {"receptors": {"pgr": DELETE}},
        reason="missing ",
        missing="receptors.pgr",
    ),
    # ------------------------------------------------------------------ E5
    met(
        "E5",
        "premenopausal-unwilling",
        PREMENOPAUSAL,
        reason="ER+/PgR+, pre-menopausal (menses 1 month(s) ago) and unwilling to undergo",
    ),
    met(
        "E5",
        "menstruating-fsh-postmenopausal-unwilling",
        PREMENOPAUSAL,
        {"menopause": {"fsh": {"value": 80.0}}},
        reason="ER+/PgR+, pre-menopausal (menses 1 month(s) ago) and unwilling to undergo",
    ),
    not_met(
        "E5",
        "premenopausal-willing",
        PREMENOPAUSAL,
        {"menopause": {"ovarian_ablation": "willing"}},
        reason="pre-menopausal; ovarian ablation willing",
    ),
    not_met("E5", "postmenopausal", reason="post-menopausal"),
    not_met("E5", "hormone-negative", TRIPLE_NEGATIVE, PREMENOPAUSAL, reason="ER- and PgR-"),
    unknown(
        "E5",
        "menopause-undecided-unwilling",
        PREMENOPAUSAL,
        {"menopause": {"months_since_last_menses": DELETE}},
        reason="missing ",
        missing="menopause.months_since_last_menses",
    ),
    unknown(
        "E5",
        "fsh-postmenopausal-age-unrecorded-unwilling",
        # FSH counts only under 60: without the age, menopause is undecided (amenorrhoea on
        # gonadotropin-suppressing agents does not decide it by I3.2)
        PREMENOPAUSAL,
        {
            "patient": {"date_of_birth": DELETE},
            "menopause": {
                "fsh": {"value": 80.0},
                "months_since_last_menses": 14,
                "gonadotropin_suppression": True,
            },
        },
        reason="missing ",
        missing="patient.date_of_birth",
    ),
    # ------------------------------------------------------------------ E6
    met("E6", "pregnant", {"reproductive": {"pregnant": True}}, reason="pregnant"),
    met(
        "E6", "breast-feeding", {"reproductive": {"breast_feeding": True}}, reason="breast-feeding"
    ),
    not_met("E6", "neither", reason="neither pregnant nor breast-feeding"),
    unknown(
        "E6",
        "not-pregnant-but-positive-test",
        CHILDBEARING,
        {"reproductive": {"pregnancy_test": {"result": "positive"}}},
        reason="contradictory data - not pregnant is recorded, but the pregnancy test is positive",
        missing="",  # nothing is absent: the data contradict each other
    ),
    unknown(
        "E6",
        "pregnancy-unrecorded",
        {"reproductive": {"pregnant": DELETE}},
        reason="missing ",
        missing="reproductive.pregnant",
    ),
    # ------------------------------------------------------------------ E7
    met(
        "E7",
        "surgery-exactly-28-days",
        history(major_surgery_or_injury={"occurred": True, "date": days_before(28)}),
        reason="on 2008-02-15, 28 days before randomisation (within 28)",
    ),
    not_met(
        "E7",
        "surgery-29-days",
        history(major_surgery_or_injury={"occurred": True, "date": days_before(29)}),
        reason="on 2008-02-14, 29 days before randomisation (more than 28)",
    ),
    not_met("E7", "none", reason="no major surgery, open biopsy or significant injury"),
    unknown(
        "E7",
        "date-unrecorded",
        history(major_surgery_or_injury={"occurred": True}),
        reason="missing ",
        missing="history.major_surgery_or_injury.date",
    ),
    # ------------------------------------------------------------------ E8-E12 (yes/no)
    met(
        "E8",
        "yes",
        history(bleeding_diathesis_or_coagulopathy=True),
        reason="bleeding diathesis or coagulopathy",
    ),
    not_met("E8", "no", reason="no bleeding diathesis or coagulopathy"),
    unknown(
        "E8",
        "unrecorded",
        history(bleeding_diathesis_or_coagulopathy=DELETE),
        reason="missing ",
        missing="history.bleeding_diathesis_or_coagulopathy",
    ),
    met(
        "E9",
        "yes",
        history(non_healing_wound_ulcer_or_fracture=True),
        reason="serious non-healing wound, ulcer or fracture",
    ),
    not_met("E9", "no", reason="no serious non-healing wound"),
    unknown(
        "E9",
        "unrecorded",
        history(non_healing_wound_ulcer_or_fracture=DELETE),
        reason="missing ",
        missing="history.non_healing_wound_ulcer_or_fracture",
    ),
    met("E10", "yes", history(interfering_condition=True), reason="may interfere"),
    not_met("E10", "no", reason="no interfering condition"),
    unknown(
        "E10",
        "unrecorded",
        history(interfering_condition=DELETE),
        reason="missing ",
        missing="history.interfering_condition",
    ),
    met(
        "E11",
        "grade-2",
        history(peripheral_neuropathy_grade=2),
        reason="peripheral neuropathy grade 2 (>= 2)",
    ),
    not_met(
        "E11",
        "grade-1",
        history(peripheral_neuropathy_grade=1),
        reason="peripheral neuropathy grade 1 (< 2)",
    ),
    not_met("E11", "none", reason="no peripheral neuropathy"),
    unknown(
        "E11",
        "unrecorded",
        history(peripheral_neuropathy_grade=DELETE),
        reason="missing ",
        missing="history.peripheral_neuropathy_grade",
    ),
    met(
        "E12",
        "yes",
        therapies(enzyme_inducing_antiepileptic=True),
        reason="uses a cytochrome P450 enzyme-inducing anti-epileptic drug",
    ),
    not_met("E12", "no", reason="no enzyme-inducing anti-epileptic drug"),
    unknown(
        "E12",
        "unrecorded",
        therapies(enzyme_inducing_antiepileptic=DELETE),
        reason="missing ",
        missing="prior_therapies.enzyme_inducing_antiepileptic",
    ),
    # ------------------------------------------------------------------ E13
    met("E13", "nyha-3", cardiac(nyha_class=3), reason="met by E13.1"),
    met("E13", "unstable-angina", cardiac(unstable_angina=True), reason="met by E13.2"),
    not_met("E13", "none", reason="none of E13.1, E13.2, E13.3 met"),
    unknown(
        "E13",
        "nyha-unrecorded",
        cardiac(nyha_class=DELETE),
        reason="undecided: E13.1",
        missing="history.cardiac.nyha_class",
    ),
    met("E13.1", "nyha-3", cardiac(nyha_class=3), reason="heart failure NYHA class 3 (> II)"),
    not_met("E13.1", "nyha-2", cardiac(nyha_class=2), reason="heart failure NYHA class 2 (<= II)"),
    not_met("E13.1", "none", reason="no heart failure"),
    unknown(
        "E13.1",
        "unrecorded",
        cardiac(nyha_class=DELETE),
        reason="missing ",
        missing="history.cardiac.nyha_class",
    ),
    met(
        "E13.2",
        "mi-exactly-6-months",
        cardiac(myocardial_infarction={"occurred": True, "date": "2007-09-14"}),
        reason="myocardial infarction on 2007-09-14 (within 6 months)",
    ),
    met(
        "E13.2",
        "new-angina-exactly-3-months",
        cardiac(new_onset_angina={"occurred": True, "date": "2007-12-14"}),
        reason="new-onset angina since 2007-12-14 (within 3 months)",
    ),
    met("E13.2", "unstable-angina", cardiac(unstable_angina=True), reason="unstable angina"),
    not_met(
        "E13.2",
        "mi-6-months-and-a-day",
        cardiac(myocardial_infarction={"occurred": True, "date": "2007-09-13"}),
        reason="no unstable angina, recent new-onset angina or recent myocardial infarction",
    ),
    not_met(
        "E13.2",
        "new-angina-3-months-and-a-day",
        cardiac(new_onset_angina={"occurred": True, "date": "2007-12-13"}),
        reason="no unstable angina, recent new-onset angina",
    ),
    unknown(
        "E13.2",
        "mi-date-unrecorded",
        cardiac(myocardial_infarction={"occurred": True}),
        reason="missing ",
        missing="history.cardiac.myocardial_infarction.date",
    ),
    met(
        "E13.3",
        "yes",
        cardiac(ventricular_arrhythmia_on_treatment=True),
        reason="ventricular arrhythmia requiring anti-arrhythmic therapy",
    ),
    not_met("E13.3", "no", reason="no ventricular arrhythmia"),
    unknown(
        "E13.3",
        "unrecorded",
        cardiac(ventricular_arrhythmia_on_treatment=DELETE),
        reason="missing ",
        missing="history.cardiac.ventricular_arrhythmia_on_treatment",
    ),
    # ------------------------------------------------------------------ E14
    met(
        "E14",
        "151-90-managed",
        history(blood_pressure={"systolic": 151, "diastolic": 90}),
        reason="blood pressure 151/90 mm Hg despite optimal management",
    ),
    met(
        "E14",
        "150-91-managed",
        history(blood_pressure={"systolic": 150, "diastolic": 91}),
        reason="blood pressure 150/91 mm Hg despite optimal management",
    ),
    not_met(
        "E14",
        "150-90",
        history(blood_pressure={"systolic": 150, "diastolic": 90}),
        reason="blood pressure 150/90 mm Hg (controlled)",
    ),
    not_met(
        "E14",
        "normal-management-unrecorded",
        history(blood_pressure={"optimal_management": DELETE}),
        reason="blood pressure 132/84 mm Hg (controlled)",
    ),
    unknown(
        "E14",
        "151-90-not-managed",
        history(blood_pressure={"systolic": 151, "diastolic": 90, "optimal_management": False}),
        reason="without optimal medical management: optimise",
        missing="",  # nothing is absent: management must be optimised and BP measured again
    ),
    unknown(
        "E14",
        "151-90-management-unrecorded",
        history(blood_pressure={"systolic": 151, "diastolic": 90, "optimal_management": DELETE}),
        reason="missing ",
        missing="history.blood_pressure.optimal_management",
    ),
    unknown(
        "E14",
        "systolic-unrecorded",
        history(blood_pressure={"systolic": DELETE}),
        reason="missing ",
        missing="history.blood_pressure.systolic",
    ),
    # ------------------------------------------------------------------ E15
    met(
        "E15",
        "exactly-6-months",
        history(thromboembolic_event={"occurred": True, "date": "2007-09-14"}),
        reason="thrombotic or embolic event on 2007-09-14 (within 6 months)",
    ),
    not_met(
        "E15",
        "6-months-and-a-day",
        history(thromboembolic_event={"occurred": True, "date": "2007-09-13"}),
        reason="on 2007-09-13 (more than 6 months before randomisation)",
    ),
    not_met("E15", "none", reason="no thrombotic or embolic event"),
    unknown(
        "E15",
        "date-unrecorded",
        history(thromboembolic_event={"occurred": True}),
        reason="missing ",
        missing="history.thromboembolic_event.date",
    ),
    # ------------------------------------------------------------------ E16
    met(
        "E16",
        "grade-3-exactly-28-days",
        history(pulmonary_haemorrhage={"occurred": True, "grade": 3, "date": days_before(28)}),
        reason="pulmonary haemorrhage grade 3 on 2008-02-15 (grade > 2 within 4 weeks)",
    ),
    not_met(
        "E16",
        "grade-2",
        history(pulmonary_haemorrhage={"occurred": True, "grade": 2, "date": days_before(3)}),
        reason="pulmonary haemorrhage grade 2 on 2008-03-11 (not grade > 2 within 4 weeks)",
    ),
    not_met(
        "E16",
        "grade-3-29-days",
        history(pulmonary_haemorrhage={"occurred": True, "grade": 3, "date": days_before(29)}),
        reason="(not grade > 2 within 4 weeks)",
    ),
    not_met("E16", "none", reason="no pulmonary haemorrhage"),
    unknown(
        "E16",
        "grade-unrecorded",
        history(pulmonary_haemorrhage={"occurred": True, "date": days_before(3)}),
        reason="missing ",
        missing="history.pulmonary_haemorrhage.grade",
    ),
    # ------------------------------------------------------------------ E17
    met(
        "E17",
        "grade-4-exactly-28-days",
        history(other_haemorrhage={"occurred": True, "grade": 4, "date": days_before(28)}),
        reason="haemorrhage grade 4 on 2008-02-15 (grade > 3 within 4 weeks)",
    ),
    not_met(
        "E17",
        "grade-3",
        history(other_haemorrhage={"occurred": True, "grade": 3, "date": days_before(3)}),
        reason="haemorrhage grade 3 on 2008-03-11 (not grade > 3 within 4 weeks)",
    ),
    not_met("E17", "none", reason="no other haemorrhage"),
    unknown(
        "E17",
        "date-unrecorded",
        history(other_haemorrhage={"occurred": True, "grade": 4}),
        reason="missing ",
        missing="history.other_haemorrhage.date",
    ),
    # ------------------------------------------------------------------ E18
    met("E18", "grade-3", history(active_infection_grade=3), reason="active infection grade 3"),
    not_met(
        "E18",
        "grade-2",
        history(active_infection_grade=2),
        reason="active infection grade 2 (<= 2)",
    ),
    not_met("E18", "none", reason="no active infection"),
    unknown(
        "E18",
        "unrecorded",
        history(active_infection_grade=DELETE),
        reason="missing ",
        missing="history.active_infection_grade",
    ),
    # ------------------------------------------------------------------ E19
    met("E19", "hiv", history(hiv=True), reason="known HIV infection"),
    met(
        "E19",
        "hepatitis-c-others-unrecorded",
        history(chronic_hepatitis_c=True, hiv=DELETE),
        reason="chronic hepatitis C",
    ),
    not_met("E19", "none", reason="no HIV infection, no chronic hepatitis B or C"),
    unknown("E19", "hiv-unrecorded", history(hiv=DELETE), reason="missing ", missing="history.hiv"),
    # ------------------------------------------------------------------ E20
    met(
        "E20",
        "curatively-treated-exactly-5-years",
        other_cancer(curatively_treated=True, treatment_end_date="2003-03-14"),
        reason="not curatively treated more than 5 years before randomisation",
    ),
    met(
        "E20",
        "not-curatively-treated",
        other_cancer(curatively_treated=False, treatment_end_date="1990-01-01"),
        reason="not curatively treated more than 5 years before randomisation",
    ),
    not_met(
        "E20",
        "curatively-treated-5-years-and-a-day",
        other_cancer(curatively_treated=True, treatment_end_date="2003-03-13"),
        reason="curatively treated more than 5 years before",
    ),
    not_met(
        "E20",
        "treated-basal-cell",
        {"history": {"other_cancers": [{"kind": "basal_cell_treated"}]}},
        reason="within the exceptions",
    ),
    not_met("E20", "none", reason="no other cancer"),
    unknown(
        "E20",
        "treatment-end-unrecorded",
        other_cancer(curatively_treated=True),
        reason="missing ",
        missing="history.other_cancers[0].treatment_end_date",
    ),
    unknown(
        "E20",
        "second-cancer-curative-unrecorded",
        # the excepted basal cell carcinoma needs no dates: only the second item is named
        {
            "history": {
                "other_cancers": [
                    {"kind": "basal_cell_treated"},
                    {"kind": "other", "treatment_end_date": "1995-01-01"},
                ]
            }
        },
        reason="missing ",
        missing="history.other_cancers[1].curatively_treated",
    ),
    unknown(
        "E20",
        "other-cancers-unrecorded",
        history(other_cancers=DELETE),
        reason="missing ",
        missing="history.other_cancers",
    ),
    # ------------------------------------------------------------------ E21
    met(
        "E21",
        "yes",
        history(study_drug_allergy=True),
        reason="allergy or hypersensitivity to a study drug",
    ),
    not_met("E21", "no", reason="no known allergy to study drugs"),
    unknown(
        "E21",
        "unrecorded",
        history(study_drug_allergy=DELETE),
        reason="missing ",
        missing="history.study_drug_allergy",
    ),
    # ------------------------------------------------------------------ E22
    met(
        "E22",
        "last-use-exactly-7-days",
        therapies(
            st_johns_wort_or_rifampin={
                "used": True,
                "ongoing": False,
                "last_use_date": days_before(7),
            }
        ),
        reason="last used 2008-03-07 (within 1 week)",
    ),
    met(
        "E22",
        "ongoing",
        therapies(st_johns_wort_or_rifampin={"used": True, "ongoing": True}),
        reason="concurrent St John's wort or rifampin",
    ),
    not_met(
        "E22",
        "last-use-8-days",
        therapies(
            st_johns_wort_or_rifampin={
                "used": True,
                "ongoing": False,
                "last_use_date": days_before(8),
            }
        ),
        reason="last used 2008-03-06 (more than 1 week before randomisation)",
    ),
    not_met("E22", "never", reason="no St John's wort or rifampin"),
    unknown(
        "E22",
        "last-use-unrecorded",
        therapies(st_johns_wort_or_rifampin={"used": True, "ongoing": False}),
        reason="missing ",
        missing="prior_therapies.st_johns_wort_or_rifampin.last_use_date",
    ),
    # ------------------------------------------------------------------ E23
    met("E23", "yes", therapies(anti_vegf=True), reason="prior or concurrent VEGF/VEGFR"),
    not_met("E23", "no", reason="no VEGF/VEGFR-targeted agent"),
    unknown(
        "E23",
        "unrecorded",
        therapies(anti_vegf=DELETE),
        reason="missing ",
        missing="prior_therapies.anti_vegf",
    ),
    # ------------------------------------------------------------------ E24
    met(
        "E24",
        "exactly-30-days",
        therapies(
            investigational_drug={
                "received": True,
                "last_dose_date": days_before(30),
                "half_life_days": 1.0,
            }
        ),
        reason="30 days before randomisation (within the washout)",
    ),
    met(
        "E24",
        "35-days-5-half-lives-40-days",
        therapies(
            investigational_drug={
                "received": True,
                "last_dose_date": days_before(35),
                "half_life_days": 8.0,
            }
        ),
        reason="35 days before randomisation (within the washout)",
    ),
    not_met(
        "E24",
        "31-days",
        therapies(
            investigational_drug={
                "received": True,
                "last_dose_date": days_before(31),
                "half_life_days": 1.0,
            }
        ),
        reason="31 days before randomisation (washout of max(30 days, 5 half-lives) complete)",
    ),
    not_met(
        "E24",
        "41-days-5-half-lives-40-days",
        therapies(
            investigational_drug={
                "received": True,
                "last_dose_date": days_before(41),
                "half_life_days": 8.0,
            }
        ),
        reason="41 days before randomisation (washout",
    ),
    not_met("E24", "none", reason="no investigational drug"),
    unknown(
        "E24",
        "half-life-unrecorded-after-30-days",
        therapies(investigational_drug={"received": True, "last_dose_date": days_before(31)}),
        reason="missing ",
        missing="prior_therapies.investigational_drug.half_life_days",
    ),
]

# Sub-items that are alternatives or restricted to some patients: "not applicable" cases.
NOT_APPLICABLE: list[tuple[str, tuple[Patch, ...], str]] = [
    (sub, (TRIPLE_NEGATIVE,), "required only of ER+ or PgR+ candidates for endocrine therapy")
    for sub in ("I3.1", "I3.2", "I3.3", "I3.4")
] + [
    ("I4", (taxane("2007-12-01"),), "applies only to candidates for chemotherapy"),
    ("I10.6", ({"anticoagulation": {"agent": "warfarin"}},), "patient on anticoagulation"),
    (
        "I10.6",
        ({"anticoagulation": {"agent": "heparin"}}, lab("inr", 2.4, "ratio")),
        "I10.7 allows participation",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_criterion(case: Case, evaluate: Evaluate) -> None:
    result = evaluate(*case.patches).result(case.criterion)
    assert result.status == case.status, result.reason
    assert case.reason in result.reason
    if case.status == "unknown":
        if case.missing:
            assert case.missing in result.missing, result.missing
            if case.reason == "missing ":  # the reason names what to record
                assert case.missing in result.reason, result.reason
    else:
        assert result.missing == ()


@pytest.mark.parametrize(
    ("criterion", "patches", "reason"),
    NOT_APPLICABLE,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(NOT_APPLICABLE)],
)
def test_not_applicable(
    criterion: str, patches: tuple[Patch, ...], reason: str, evaluate: Evaluate
) -> None:
    """A criterion that does not apply is harmless (met for an inclusion) and says why."""
    result = evaluate(*patches).result(criterion)
    assert not result.applicable
    assert result.status == "met"
    assert result.reason.startswith("not applicable: ")
    assert reason in result.reason


def test_taxane_recent_is_allowed_for_endocrine_bone_only_patient(evaluate: Evaluate) -> None:
    result = evaluate(taxane("2008-01-15"))
    assert result.result("I4").status == "met"
    assert result.eligible is True


def test_i3_alternatives_not_applicable_leave_only_the_age(evaluate: Evaluate) -> None:
    result = evaluate(TRIPLE_NEGATIVE, PREMENOPAUSAL).result("I3")
    assert result.status == "met"
    assert result.reason == "age 45 years (>= 18)"


def test_unwilling_premenopausal_is_blocked_by_i3_and_e5(evaluate: Evaluate) -> None:
    result = evaluate(PREMENOPAUSAL)
    assert result.eligible is False
    assert {c.id for c in result.blocking} == {"I3", "E5"}


def test_undergoing_ovarian_ablation_is_eligible(evaluate: Evaluate) -> None:
    result = evaluate(PREMENOPAUSAL, UNDERGOING_ABLATION)
    assert result.eligible is True, result.summary()
    assert result.result("E5").status == "not_met"


def test_fsh_counts_only_under_60_without_hysterectomy(evaluate: Evaluate) -> None:
    """A 61-year-old with a postmenopausal FSH but menses last month is not post-menopausal."""
    fsh = {"menopause": {"months_since_last_menses": 1, "fsh": {"value": 80.0}}}
    old = evaluate(
        PREMENOPAUSAL, {"patient": {"date_of_birth": "1946-04-12"}}, fsh
    )  # 61 on randomisation
    assert old.result("I3.3").status == "not_met"
    assert old.result("I3").status == "not_met"
    amenorrhoea = {"menopause": {"months_since_last_menses": 14, "gonadotropin_suppression": True}}
    young = evaluate(PREMENOPAUSAL, fsh, amenorrhoea)
    assert young.result("I3.2").status == "not_met"  # amenorrhoea on suppressing agents
    assert young.result("I3.3").status == "met"
    assert young.result("I3").status == "met"


# Menopausal contradictions: a menstruation within the last 12 months (0 and 11 months ago),
# FSH below, at the lower limit of and in the postmenopausal range, or unrecorded, and every
# ablation answer. None of them makes an ER+/PgR+ patient post-menopausal.
_MENSES = (0, 11)
_FSH: dict[str, Patch] = {
    "fsh-premenopausal": {"menopause": {"fsh": {"value": 6.0}}},
    "fsh-at-postmenopausal-min": {"menopause": {"fsh": {"value": 30.0}}},
    "fsh-postmenopausal": {"menopause": {"fsh": {"value": 80.0}}},
    "fsh-unrecorded": {"menopause": {"fsh": DELETE}},
}
_ABLATION = ("unwilling", "willing", "not_applicable")
_CONTRADICTORY = [
    pytest.param(months, fsh, ablation, id=f"menses-{months}-months-ago-{fsh}-{ablation}")
    for months in _MENSES
    for fsh in _FSH
    for ablation in _ABLATION
]


@pytest.mark.parametrize(("months", "fsh", "ablation"), _CONTRADICTORY)
def test_i3_menstruation_within_12_months_is_never_post_menopausal_whatever_the_fsh(
    months: int, fsh: str, ablation: str, evaluate: Evaluate
) -> None:
    """I3/E5: menses in the last 12 months make an ER+/PgR+ woman pre-menopausal (never eligible
    without ovarian ablation); unwilling to undergo ablation, she meets E5."""
    menses = {"menopause": {"months_since_last_menses": months, "ovarian_ablation": ablation}}
    result = evaluate(PREMENOPAUSAL, menses, _FSH[fsh])
    assert result.eligible is not True, result.summary()
    assert result.derived["postmenopausal"] is False
    assert result.result("I3").status != "met"
    assert result.result("I3.3").status != "met"
    assert result.result("E5").status == ("met" if ablation == "unwilling" else "not_met")
    if ablation == "unwilling":
        assert result.eligible is False
        assert "E5" in {c.id for c in result.blocking}


@pytest.mark.parametrize("months", _MENSES)
@pytest.mark.parametrize("fsh", ["fsh-at-postmenopausal-min", "fsh-postmenopausal"])
def test_i3_3_fsh_postmenopausal_with_recent_menses_is_unknown_naming_both(
    months: int, fsh: str, evaluate: Evaluate
) -> None:
    """I3.3: FSH in the postmenopausal range with menses in the last 12 months is contradictory:
    unknown, with a reason naming both data and their values; I3 stays undecided with it."""
    menses = {"menopause": {"months_since_last_menses": months, "ovarian_ablation": "willing"}}
    result = evaluate(PREMENOPAUSAL, menses, _FSH[fsh])
    i33 = result.result("I3.3")
    assert i33.status == "unknown"
    assert i33.reason.startswith("contradictory data")
    assert "menopause.fsh" in i33.reason
    assert "menopause.months_since_last_menses" in i33.reason
    assert f"last menses {months} month(s) ago" in i33.reason
    assert "(postmenopausal from 30)" in i33.reason
    assert i33.missing == ()
    i3 = result.result("I3")
    assert i3.status == "unknown"
    assert "undecided: I3.3 (contradictory data" in i3.reason
    assert result.eligible is None  # willing, not undergoing: undecided until corrected
    assert "I3.3 (contradictory data" in result.summary()


def test_i3_3_fsh_needs_the_menstrual_history(evaluate: Evaluate) -> None:
    """I3.3: FSH alone never makes a patient post-menopausal; an unrecorded menstrual history
    leaves I3, E5 and the verdict undecided (never eligible)."""
    result = evaluate(
        PREMENOPAUSAL,
        {"menopause": {"months_since_last_menses": DELETE, "fsh": {"value": 80.0}}},
    )
    assert result.result("I3.3").status == "unknown"
    assert result.result("E5").status == "unknown"
    assert result.eligible is None
    assert "menopause.months_since_last_menses" in result.missing


@pytest.mark.parametrize("suppression", [False, DELETE, True])
def test_i3_4_ablation_without_gonadotropin_suppression_is_unknown(
    suppression: object, evaluate: Evaluate
) -> None:
    """I3.4: undergoing pharmacological ovarian ablation (a GnRH analogue) while not on
    gonadotropin-suppressing agents is contradictory: unknown, never eligible by I3.4."""
    result = evaluate(
        PREMENOPAUSAL,
        {"menopause": {"ovarian_ablation": "undergoing", "gonadotropin_suppression": suppression}},
    )
    i34 = result.result("I3.4")
    if suppression is False:
        assert i34.status == "unknown"
        assert "menopause.ovarian_ablation" in i34.reason
        assert "menopause.gonadotropin_suppression" in i34.reason
        assert result.eligible is None, result.summary()
    else:  # on suppressing agents, or not recorded: nothing contradicts the ablation
        assert i34.status == "met"
        assert result.eligible is True, result.summary()


def test_every_anticoagulant_is_allowed(evaluate: Evaluate) -> None:
    """I10.7 cannot be not met: it admits every agent the record can hold."""
    forms = load_protocol("sor").forms
    assert forms is not None
    values = forms.code_list("anticoagulant").code_values()
    assert "warfarin" in values
    assert "heparin" in values
    for agent in values:
        result = evaluate({"anticoagulation": {"agent": agent}}).result("I10.7")
        assert result.status == "met", agent


def test_warfarin_waives_inr_and_aptt_limits(evaluate: Evaluate) -> None:
    result = evaluate({"anticoagulation": {"agent": "warfarin"}}, lab("inr", 2.6, "ratio"))
    assert result.result("I10.6").applicable is False
    assert result.result("I10").status == "met"
    assert "at least weekly" in result.result("I10.7").reason


# ---------------------------------------------------------------------- completeness


def test_matrix_covers_every_criterion_of_the_protocol(sor_protocol: Protocol) -> None:
    in_protocol = {c.id for c in sor_protocol.eligibility.criteria}
    assert len(in_protocol) == 52
    for status in ("met", "not_met", "unknown"):
        covered = {case.criterion for case in CASES if case.status == status}
        if status == "not_met":
            covered |= {"I10.7"}  # impossible by construction; see test_every_anticoagulant_...
        assert covered == in_protocol, status


def test_matrix_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _section(record: str, start: str, end: str) -> str:
    return _normalised(record.split(start, 1)[1].split(end, 1)[0])


def test_every_criterion_text_is_verbatim_under_its_number(sor_protocol: Protocol) -> None:
    """Each text is the record's, in the right list, after the criterion's own number."""
    record = SEED_RECORD.read_text(encoding="utf-8")
    sections = {
        "inclusion": _section(record, "Key inclusion criteria", "Participant type(s)"),
        "exclusion": _section(record, "Key exclusion criteria", "Date of first enrolment"),
    }
    for criterion in sor_protocol.eligibility.criteria:
        number = criterion.id[1:]
        numbered = f"{number}. {_normalised(criterion.text)}"
        assert numbered in sections[criterion.kind], criterion.id


# ---------------------------------------------------------------------- missing data, any field

GAP_BASES: dict[str, tuple[Patch, ...]] = {
    "endocrine-bone-only": (),
    "triple-negative-irradiated-childbearing": (
        TRIPLE_NEGATIVE,
        RADIOTHERAPY,
        CHILDBEARING,
        taxane("2006-01-10"),
        therapies(
            adjuvant_aromatase_inhibitor={"received": True, "end_date": "2007-01-10"},
            investigational_drug={
                "received": True,
                "last_dose_date": "2007-06-01",
                "half_life_days": 2.0,
            },
            st_johns_wort_or_rifampin={
                "used": True,
                "ongoing": False,
                "last_use_date": "2007-06-01",
            },
        ),
        history(
            other_cancers=[
                {"kind": "other", "curatively_treated": True, "treatment_end_date": "1999-05-01"}
            ],
            major_surgery_or_injury={"occurred": True, "date": "2007-06-01"},
            thromboembolic_event={"occurred": True, "date": "2006-06-01"},
            pulmonary_haemorrhage={"occurred": True, "grade": 1, "date": "2007-06-01"},
            other_haemorrhage={"occurred": True, "grade": 2, "date": "2007-06-01"},
        ),
        cardiac(myocardial_infarction={"occurred": True, "date": "2005-06-01"}),
    ),
    "premenopausal-ablation-liver": (
        PREMENOPAUSAL,
        UNDERGOING_ABLATION,
        {"disease": {"visceral": True, "liver": True}},
        lab("alt", 160, "U/L", uln=40),
        {
            "disease": {
                "brain": {
                    "metastases": "treated",
                    "evidence_of_disease": False,
                    "therapy_end_date": "2007-06-01",
                    "neurological_symptoms": True,
                    "imaging_date": "2008-03-01",
                }
            }
        },
    ),
}


def _leaves(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every recorded value's path, and each whole section (``labs``, ``history``)."""
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += ([path] if not prefix else []) + _leaves(value, path + ".")
        else:
            out.append(path)
    return out


def _deletion(path: str) -> Patch:
    patch: Any = DELETE
    for key in reversed(path.split(".")):
        patch = {key: patch}
    return patch


def _names(missing: tuple[str, ...], path: str) -> bool:
    """Whether a missing list names a deleted path (itself, a part of it, or what holds it)."""
    return any(
        m == path or m.startswith((path + ".", path + "[")) or path.startswith(m + ".")
        for m in missing
    )


@pytest.mark.parametrize("base", list(GAP_BASES), ids=str)
def test_deleting_any_field_is_named_or_harmless(
    base: str, evaluate: Evaluate, make_record: Callable[..., Any]
) -> None:
    """Delete each recorded field in turn: the reasons still name the data, never falling back
    to 'condition holds', and every criterion the deletion leaves undecided names the field."""
    patches = GAP_BASES[base]
    reference = evaluate(*patches)
    assert reference.eligible is True, reference.summary()
    recorded = without_none(make_record(*patches))
    problems: list[str] = []
    for path in _leaves(recorded):
        if path in {"planned_randomisation_date"} or path.startswith("body"):
            continue  # every window needs the date; body size is for dosing, not eligibility
        try:
            result = evaluate(*patches, _deletion(path))
        except RecordError:
            continue  # a required part of a recorded item (a lab's value or unit)
        for item in result.criteria:
            if item.reason in {"condition holds", "condition does not hold"}:
                problems.append(f"{path} deleted: {item.id} reason {item.reason!r}")
            if item.status == "unknown" and not _names(item.missing, path):
                problems.append(f"{path} deleted: {item.id} unknown, missing={item.missing}")
        if result.eligible is None and not _names(result.missing, path):
            problems.append(f"{path} deleted: verdict undetermined, missing={result.missing}")
    assert not problems, "\n".join(problems)


def test_parent_missing_lists_only_what_keeps_it_open(evaluate: Evaluate) -> None:
    """I3 waits for the birth date, not for I3.3's FSH: I3.2 already decides menopause."""
    result = evaluate({"patient": {"date_of_birth": DELETE}})
    assert result.result("I3.3").status == "unknown"
    assert result.result("I3").missing == ("patient.date_of_birth",)
    assert result.missing == ("patient.date_of_birth",)


def test_unknown_when_names_what_the_check_reads(evaluate: Evaluate) -> None:
    symptoms = evaluate({"disease": {"brain": {"neurological_symptoms": True}}}).result("E2")
    assert symptoms.missing == ("disease.brain.imaging_date",)
    contradiction = evaluate(
        CHILDBEARING, {"reproductive": {"pregnancy_test": {"result": "positive"}}}
    ).result("E6")
    assert contradiction.status == "unknown"
    assert contradiction.missing == ()


def test_missing_names_only_items_that_need_the_datum(evaluate: Evaluate) -> None:
    cancers = [
        {"kind": "basal_cell_treated"},
        {"kind": "other", "curatively_treated": True},
    ]
    result = evaluate(history(other_cancers=cancers)).result("E20")
    assert result.status == "unknown"
    assert result.missing == ("history.other_cancers[1].treatment_end_date",)
