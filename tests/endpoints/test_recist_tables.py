"""RECIST 1.1 overall-response tables, row by row, and the boundaries of every threshold.

Each case goes in through the issue 7 JSON contract (``parse_lesion_record``) and out through
:func:`evaluate_recist`, so the tables are proven on what ``trialkit recist evaluate`` reads.
Source: Eisenhauer et al., Eur J Cancer 2009;45:228-247, tables 1 and 2, sections 4.3-4.4.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from trialkit.endpoints import RecistEvaluation, evaluate_recist, parse_lesion_record

RANDOMISED = date(2008, 3, 3)
BASELINE = date(2008, 2, 25)

# Baseline: one liver target of 50 mm. Values giving each target response at one assessment.
TARGET_MM: dict[str, float | None] = {
    "CR": 0,  # disappeared
    "PR": 30,  # -40% from 50
    "SD": 45,  # -10%
    "PD": 61,  # +22% and +11 mm over the nadir of 50
    "NE": None,  # not evaluated
}
NON_TARGET_STATUS: dict[str, str | None] = {
    "CR": "absent",
    "NON_CR_NON_PD": "present",
    "NE": None,
    "PD": "unequivocal_progression",
}


def _evaluate(
    targets: list[dict[str, Any]],
    non_targets: list[dict[str, Any]],
    assessments: list[dict[str, Any]],
) -> RecistEvaluation:
    record = parse_lesion_record(
        {
            "randomisation_date": RANDOMISED.isoformat(),
            "baseline": {
                "date": BASELINE.isoformat(),
                "target": targets,
                "non_target": non_targets,
            },
            "assessments": [
                {"date": (RANDOMISED + timedelta(days=56 * (k + 1))).isoformat(), **a}
                for k, a in enumerate(assessments)
            ],
        }
    )
    return evaluate_recist(record)


def _one(target: str | None, non_target: str | None, new: bool) -> tuple[str, str, str]:
    targets = [{"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 50}]
    assessment: dict[str, Any] = {"new_lesions": new}
    if target is not None:
        assessment["target"] = {"T1": TARGET_MM[target]}
    if non_target is not None:
        assessment["non_target"] = {"NT1": NON_TARGET_STATUS[non_target]}
    result = _evaluate(
        targets if target is not None else [],
        [{"id": "NT1", "organ": "bone"}] if non_target is not None else [],
        [assessment],
    )
    (point,) = result.assessments
    return point.target.response, point.non_target_response, point.overall_response


# RECIST 1.1 table 1: patients with target (+/- non-target) disease.
# "non-PD" = CR or non-CR/non-PD; "not all evaluated" = NE; "any" expands to every value.
TABLE_1 = [
    ("CR", "CR", False, "CR"),
    ("CR", None, False, "CR"),  # no non-target disease at baseline
    ("CR", "NON_CR_NON_PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "CR", False, "PR"),
    ("PR", "NON_CR_NON_PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("SD", "CR", False, "SD"),
    ("SD", "NON_CR_NON_PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("NE", "CR", False, "NE"),
    ("NE", "NON_CR_NON_PD", False, "NE"),
    *[("PD", nt, new, "PD") for nt in NON_TARGET_STATUS for new in (False, True)],
    *[(t, "PD", new, "PD") for t in TARGET_MM for new in (False, True)],
    *[(t, nt, True, "PD") for t in TARGET_MM for nt in NON_TARGET_STATUS],
]
# RECIST 1.1 table 2: patients with non-target disease only.
TABLE_2 = [
    ("CR", False, "CR"),
    ("NON_CR_NON_PD", False, "NON_CR_NON_PD"),
    ("NE", False, "NE"),
    ("PD", False, "PD"),
    ("PD", True, "PD"),
    *[(nt, True, "PD") for nt in NON_TARGET_STATUS],
]


@pytest.mark.parametrize(("target", "non_target", "new", "overall"), TABLE_1)
def test_table_1_targets_and_non_targets(
    target: str, non_target: str | None, new: bool, overall: str
) -> None:
    got_target, got_non_target, got_overall = _one(target, non_target, new)
    assert got_target == target
    assert got_non_target == (non_target or "NA")
    assert got_overall == overall


@pytest.mark.parametrize(("non_target", "new", "overall"), TABLE_2)
def test_table_2_non_target_disease_only(non_target: str, new: bool, overall: str) -> None:
    assert _one(None, non_target, new) == ("NA", non_target, overall)


def _target_responses(baseline_mm: float, *sums: float | None, node: bool = False) -> list[str]:
    targets = [{"id": "T1", "organ": "liver", "lymph_node": node, "diameter_mm": baseline_mm}]
    result = _evaluate(targets, [], [{"target": {"T1": s}} for s in sums])
    return [p.target.response for p in result.assessments]


def test_partial_response_at_exactly_minus_30_percent() -> None:
    # 30% of 30 mm is 9 mm: 21 mm is exactly -30% (PR); 21.1 mm is -29.7% (SD). The product
    # 0.7 * 30 is 20.999...96 in binary floating point: the rule must still say PR.
    assert _target_responses(30, 21) == ["PR"]
    assert _target_responses(30, 21.1) == ["SD"]
    assert _target_responses(100, 70) == ["PR"]
    assert _target_responses(100, 70.1) == ["SD"]


def test_progression_at_exactly_plus_20_percent_and_5_mm() -> None:
    # Nadir 25 mm: 30 mm is +20% and +5 mm exactly -> PD; 29.9 mm is neither -> SD.
    assert _target_responses(25, 30) == ["PD"]
    assert _target_responses(25, 29.9) == ["SD"]


def test_plus_20_percent_without_5_mm_is_not_progression() -> None:
    # Nadir 20 mm: 24 mm is +20% but only +4 mm -> SD; 25 mm is +25% and +5 mm -> PD.
    assert _target_responses(20, 24) == ["SD"]
    assert _target_responses(20, 25) == ["PD"]


def test_5_mm_without_20_percent_is_not_progression() -> None:
    # Nadir 50 mm: 59 mm is +9 mm but +18% -> SD; 60 mm is +20% and +10 mm -> PD.
    assert _target_responses(50, 59) == ["SD"]
    assert _target_responses(50, 60) == ["PD"]


def test_progression_counts_from_the_nadir_after_a_response() -> None:
    # 40 -> 25 (-37.5%: PR, the new nadir) -> 30 (+5 mm and +20% over 25: PD, 25% below
    # baseline); 29 mm (+4 mm over the nadir) is not PD, and at -27.5% from baseline it is SD.
    assert _target_responses(40, 25, 30) == ["PR", "PD"]
    assert _target_responses(40, 25, 29) == ["PR", "SD"]


def test_nodal_complete_response_below_10_mm_short_axis() -> None:
    # A nodal target of 20 mm short axis: at exactly 10 mm it is still pathological, so not CR
    # (-50%: PR); at 9.9 mm it is normal, so CR although the sum is 9.9 mm.
    assert _target_responses(20, 10, node=True) == ["PR"]
    assert _target_responses(20, 9.9, node=True) == ["CR"]


def test_nodal_baseline_sizes() -> None:
    # Short axis >= 15 mm: a measurable target; 10 to < 15: pathological, a non-target;
    # < 10: normal, not a lesion.
    def codes(mm: float) -> list[str]:
        targets = [{"id": "N1", "organ": "axilla", "lymph_node": True, "diameter_mm": mm}]
        return [f.code for f in _evaluate(targets, [], []).baseline.findings]

    assert codes(15) == []
    assert codes(14.9) == ["node_not_measurable"]
    assert codes(10) == ["node_not_measurable"]
    assert codes(9.9) == ["node_not_pathological"]


def test_too_small_to_measure_counts_5_mm() -> None:
    targets = [{"id": "T1", "organ": "lung", "lymph_node": False, "diameter_mm": 20}]
    result = _evaluate(targets, [], [{"target": {"T1": "too_small"}}])
    (point,) = result.assessments
    assert point.target.sum_mm == 5
    assert point.target.response == "PR"  # present, so not CR


def test_a_reappearing_target_is_progression_after_cr_only() -> None:
    # After a CR (30 -> 0), any reappearance is PD, even 4 mm (below the 5 mm rule).
    assert _target_responses(30, 0, 4) == ["CR", "PD"]
    # After a PR it counts through the sum: two targets 30 + 30, one gone and one at 15 (-75%
    # PR, nadir 15); the gone one back at 3 mm (sum 18, +3 mm over the nadir): still PR.
    targets = [
        {"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 30},
        {"id": "T2", "organ": "lung", "lymph_node": False, "diameter_mm": 30},
    ]
    result = _evaluate(
        targets, [], [{"target": {"T1": 0, "T2": 15}}, {"target": {"T1": 3, "T2": 15}}]
    )
    assert [p.target.response for p in result.assessments] == ["PR", "PR"]
    # A nodal target after CR: back to 9.9 mm is still normal (CR); 10 mm is PD.
    assert _target_responses(20, 8, 9.9, node=True) == ["CR", "CR"]
    assert _target_responses(20, 8, 10, node=True) == ["CR", "PD"]


@pytest.mark.parametrize(("day", "best"), [(41, "NE"), (42, "SD")])
def test_stable_disease_needs_6_weeks_from_randomisation(day: int, best: str) -> None:
    record = parse_lesion_record(
        {
            "randomisation_date": RANDOMISED.isoformat(),
            "baseline": {
                "date": BASELINE.isoformat(),
                "target": [{"id": "T1", "organ": "liver", "diameter_mm": 50}],
            },
            "assessments": [
                {"date": (RANDOMISED + timedelta(days=day)).isoformat(), "target": {"T1": 48}}
            ],
        }
    )
    assert evaluate_recist(record).best.response == best
