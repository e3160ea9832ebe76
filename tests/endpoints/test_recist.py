"""RECIST 1.1 rules, each checked on a worked example with the arithmetic in a comment.

Sources: Eisenhauer et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1: sections 3-4, tables 1-2,
appendix II) and Schwartz et al., Eur J Cancer 2016;62:132-137 (update and clarification).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from trialkit.endpoints import (
    LesionRecord,
    check_baseline,
    evaluate_assessments,
    non_target_response,
    overall_response,
    parse_lesion_record,
    target_response,
)
from trialkit.errors import RecordError

BASE = date(2008, 1, 2)


def _record(
    targets: list[tuple[str, str, bool, float]],
    visits: list[dict[str, Any]],
    non_targets: list[tuple[str, str]] | None = None,
) -> LesionRecord:
    return parse_lesion_record(
        {
            "baseline": {
                "date": BASE.isoformat(),
                "target": [
                    {"id": i, "organ": o, "lymph_node": n, "diameter_mm": d}
                    for i, o, n, d in targets
                ],
                "non_target": [{"id": i, "organ": o} for i, o in non_targets or []],
            },
            "assessments": [
                {"date": (BASE + timedelta(days=56 * (k + 1))).isoformat(), **v}
                for k, v in enumerate(visits)
            ],
        }
    )


def _targets(record: LesionRecord) -> list[str]:
    return [t.target.response for t in evaluate_assessments(record)]


def test_pd_is_measured_from_the_nadir_not_the_baseline() -> None:
    # Baseline sum 100. Week 8: 60 (-40% from baseline: PR). Week 16: 73 is still 27% below
    # baseline, but 73 - 60 = 13 mm and 13/60 = 21.7% above the nadir: PD.
    record = _record(
        [("T1", "liver", False, 100)], [{"target": {"T1": 60}}, {"target": {"T1": 73}}]
    )
    results = evaluate_assessments(record)
    assert [r.target.response for r in results] == ["PR", "PD"]
    assert results[1].target.nadir_mm == 60
    assert results[1].target.change_from_baseline_pct == pytest.approx(-27.0)
    assert results[1].target.change_from_nadir_pct == pytest.approx(100 * 13 / 60)


def test_a_25_percent_increase_of_4_mm_is_not_pd() -> None:
    # Nadir 16 mm (baseline). 20 mm is +25% but only +4 mm: SD. 21 mm is +5 mm and +31%: PD.
    record = _record([("T1", "lung", False, 16)], [{"target": {"T1": 20}}, {"target": {"T1": 21}}])
    assert _targets(record) == ["SD", "PD"]


def test_pd_and_pr_thresholds_are_inclusive() -> None:
    # Baseline 50: 35 is exactly -30% -> PR; 36 is -28% -> SD.
    assert target_response([(False, 35.0)], baseline_sum=50, nadir=50).response == "PR"
    assert target_response([(False, 36.0)], baseline_sum=50, nadir=50).response == "SD"
    # Nadir 25: 30 is exactly +20% and +5 mm -> PD; 29.9 is neither (and, against a baseline
    # of 30, not a 30% decrease either) -> SD.
    assert target_response([(False, 30.0)], baseline_sum=30, nadir=25).response == "PD"
    assert target_response([(False, 29.9)], baseline_sum=30, nadir=25).response == "SD"
    # Nadir 100: 119 is +19 mm but +19% -> not PD (still 119 > 0.7 * 150 -> SD).
    assert target_response([(False, 119.0)], baseline_sum=150, nadir=100).response == "SD"


def test_lymph_node_cr_with_a_9_mm_short_axis() -> None:
    # Liver 20 mm + node 20 mm short axis = 40. Liver gone and node 9 mm (< 10 mm, normal):
    # CR although the sum is 9 mm, not 0 (section 4.3.1). A 10 mm node is still pathological:
    # sum 10 = -75% -> PR.
    targets = [("T1", "liver", False, 20.0), ("T2", "axilla", True, 20.0)]
    record = _record(
        targets,
        [
            {"target": {"T1": 0, "T2": 10}},
            {"target": {"T1": 0, "T2": 9}},
        ],
    )
    results = evaluate_assessments(record)
    assert [r.target.response for r in results] == ["PR", "CR"]
    assert results[1].target.sum_mm == 9
    assert results[1].overall_response == "CR"


def test_too_small_counts_5_mm_and_disappeared_0() -> None:
    # 30 + 20 = 50 at baseline; T1 too small (5 mm by default) and T2 gone: sum 5 = -90%.
    # Not CR: a lesion too small to measure is still present (appendix II).
    record = _record(
        [("T1", "liver", False, 30), ("T2", "lung", False, 20)],
        [{"target": {"T1": "too_small", "T2": 0}}],
    )
    (result,) = evaluate_assessments(record)
    assert result.target.sum_mm == 5
    assert result.target.response == "PR"


def test_new_lesion_is_pd_regardless_of_target_response() -> None:
    # Target CR (the only lesion gone) but a new liver lesion: overall PD (table 1).
    record = _record([("T1", "lung", False, 30)], [{"target": {"T1": 0}, "new_lesions": True}])
    (result,) = evaluate_assessments(record)
    assert result.target.response == "CR"
    assert result.overall_response == "PD"
    # An equivocal new lesion is not (yet) PD.
    assert overall_response("CR", "NA", "equivocal") == "CR"


def test_not_evaluated_target_gives_ne_unless_the_rest_is_already_pd() -> None:
    # 40 + 20 = 60. T2 not evaluated and T1 down to 30: the missing lesion could be anything, NE.
    # T2 not evaluated and T1 at 70: 70 alone is +10 mm and +16.7% over 60, not yet PD: NE.
    # T2 not evaluated and T1 at 75: 75 - 60 = 15 mm = +25% -> PD whatever T2 is.
    targets = [("T1", "liver", False, 40), ("T2", "lung", False, 20)]
    visits = [{"target": {"T1": v, "T2": None}} for v in (30, 70, 75)]
    results = evaluate_assessments(_record(targets, visits))
    assert [r.target.response for r in results] == ["NE", "NE", "PD"]
    assert results[0].target.sum_mm is None
    assert results[2].target.sum_mm == 75
    # A missing key is "not evaluated" too, and raises a finding for the query.
    (missing,) = evaluate_assessments(_record(targets, [{"target": {"T1": 30}}]))
    assert missing.target.response == "NE"
    assert [f.code for f in missing.findings] == ["missing_target"]
    assert missing.findings[0].path == "assessments[0].target.T2"


def test_ne_assessment_does_not_lower_the_nadir() -> None:
    # Baseline 50 (nadir 50). Week 8 NE (T2 missing; partial sum 20). Week 16: 50 + 0 -> SD;
    # if the NE visit's partial 20 had become the nadir this would wrongly be PD.
    targets = [("T1", "liver", False, 30), ("T2", "lung", False, 20)]
    visits = [{"target": {"T1": 20, "T2": None}}, {"target": {"T1": 30, "T2": 20}}]
    assert _targets(_record(targets, visits)) == ["NE", "SD"]


def test_non_target_and_overall_response_tables() -> None:
    assert non_target_response([]) == "NA"
    assert non_target_response(["absent", "absent"]) == "CR"
    assert non_target_response(["absent", "present"]) == "NON_CR_NON_PD"
    assert non_target_response(["present", None]) == "NE"
    assert non_target_response([None, "unequivocal_progression"]) == "PD"
    # Table 1 (target disease present)
    assert overall_response("CR", "CR", "no") == "CR"
    assert overall_response("CR", "NA", "no") == "CR"
    assert overall_response("CR", "NON_CR_NON_PD", "no") == "PR"
    assert overall_response("CR", "NE", "no") == "PR"
    assert overall_response("PR", "NE", "no") == "PR"
    assert overall_response("SD", "NE", "no") == "SD"
    assert overall_response("NE", "NON_CR_NON_PD", "no") == "NE"
    assert overall_response("SD", "PD", "no") == "PD"
    assert overall_response("PD", "CR", "no") == "PD"
    # Table 2 (non-target disease only)
    assert overall_response("NA", "CR", "no") == "CR"
    assert overall_response("NA", "NON_CR_NON_PD", "no") == "NON_CR_NON_PD"
    assert overall_response("NA", "NE", "no") == "NE"
    assert overall_response("NA", "NON_CR_NON_PD", "yes") == "PD"


def test_non_target_only_patient() -> None:
    # Bone-only disease (evaluable, not measurable): table 2.
    record = _record(
        [],
        [
            {"non_target": {"NT1": "present"}},
            {"non_target": {"NT1": "absent"}},
            {"non_target": {"NT1": "unequivocal_progression"}},
        ],
        non_targets=[("NT1", "bone")],
    )
    results = evaluate_assessments(record)
    assert [r.overall_response for r in results] == ["NON_CR_NON_PD", "CR", "PD"]
    assert all(r.target.response == "NA" for r in results)


def _target(i: str, organ: str, d: float, *, node: bool = False, method: str = "CT") -> Any:
    return {"id": i, "organ": organ, "lymph_node": node, "diameter_mm": d, "method": method}


def _codes(baseline: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
    record = parse_lesion_record({"baseline": {"date": "2008-01-02", **baseline}})
    return [(f.path, f.code) for f in check_baseline(record.baseline, **kw).findings]


def test_baseline_at_most_five_targets_and_two_per_organ() -> None:
    organs = ["liver", "liver", "lung", "lung", "bone", "skin"]
    targets = [_target(f"T{k}", o, 20) for k, o in enumerate(organs)]
    assert _codes({"target": targets}) == [("baseline.target[5]", "too_many_targets")]
    targets = [_target(f"T{k}", "Liver", 20) for k in range(3)]
    assert _codes({"target": targets}) == [("baseline.target[2]", "too_many_targets_in_organ")]


def test_lymph_nodes_count_as_one_organ() -> None:
    # Axillary, mediastinal and supraclavicular nodes: three nodal targets, but all lymph
    # nodes together are one "organ" for the two-per-organ rule.
    targets = [_target(f"N{k}", o, 20, node=True) for k, o in enumerate(["ax", "med", "supra"])]
    assert _codes({"target": targets}) == [("baseline.target[2]", "too_many_targets_in_organ")]


def test_baseline_measurability() -> None:
    targets = [
        _target("T1", "liver", 10),  # exactly 10 mm by CT: measurable
        _target("T2", "lung", 9),  # < 10 mm by CT
        _target("T3", "lung", 15, method="x-ray"),  # chest x-ray needs >= 20 mm
        _target("T4", "liver", 30, method="ultrasound"),  # not a RECIST measurement method
        _target("N1", "axilla", 15, node=True),  # node short axis 15: measurable
    ]
    assert _codes({"target": targets}) == [
        ("baseline.target[1].diameter_mm", "lesion_not_measurable"),
        ("baseline.target[2].diameter_mm", "lesion_not_measurable"),
        ("baseline.target[3].method", "method_not_measurable"),
    ]
    nodes = [_target("N1", "axilla", 12, node=True), _target("N2", "neck", 8, node=True)]
    assert _codes({"target": nodes}) == [
        ("baseline.target[0].diameter_mm", "node_not_measurable"),  # 10-<15: non-target
        ("baseline.target[1].diameter_mm", "node_not_pathological"),  # < 10: normal
    ]
    non_target = {"id": "N3", "organ": "neck", "lymph_node": True, "diameter_mm": 7}
    assert _codes({"non_target": [non_target]}) == [
        ("baseline.non_target[0].diameter_mm", "node_not_pathological")
    ]


def test_baseline_date_duplicates_and_no_disease() -> None:
    # Inclusion criterion 2: scans within 4 weeks (28 days) before randomisation.
    one = [_target("T1", "liver", 20)]
    assert _codes({"target": one}, randomisation_date=date(2008, 1, 30)) == []  # 28 days
    assert _codes({"target": one}, randomisation_date=date(2008, 1, 31)) == [
        ("baseline.date", "baseline_too_early")
    ]
    assert _codes({"target": one}, randomisation_date=date(2008, 1, 1)) == [
        ("baseline.date", "baseline_after_randomisation")
    ]
    assert _codes({"target": one, "non_target": [{"id": "T1", "organ": "bone"}]}) == [
        ("baseline", "duplicate_lesion_id")
    ]
    assert _codes({}) == [("baseline", "no_baseline_disease")]


def test_malformed_record_names_the_json_path() -> None:
    data = {
        "baseline": {"date": "2008-01-02", "target": [_target("T1", "liver", 20)]},
        "assessments": [{"date": "2008-03-01", "target": {"T1": "big"}}],
    }
    with pytest.raises(RecordError) as caught:
        parse_lesion_record(data, source="p.json")
    assert caught.value.location == "p.json: assessments[0].target.T1"
    assert "too_small" in caught.value.message
    with pytest.raises(RecordError, match="not after the previous assessment"):
        parse_lesion_record(
            {"baseline": {"date": "2008-01-02"}, "assessments": [{"date": "2007-12-01"}]}
        )
