"""``trialkit recist evaluate``: the JSON contract on the example lesion files, and errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from trialkit.cli.main import main

RECIST = EXAMPLES / "recist"
# the stable contract of issue 7, section 3 (extra keys are allowed)
KEYS = {
    "timepoints",
    "best_overall_response",
    "confirmed_response",
    "response_date",
    "progression_date",
}
TIMEPOINT_KEYS = {
    "date",
    "sum_mm",
    "nadir_mm",
    "target_response",
    "non_target_response",
    "overall_response",
}
TARGET = {"CR", "PR", "SD", "PD", "NE", "NA"}
NON_TARGET = {"CR", "NON_CR_NON_PD", "PD", "NE", "NA"}
OVERALL = {"CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE"}


def _json(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict[str, Any]:
    code = main(["recist", "evaluate", str(path), "--json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    data: dict[str, Any] = json.loads(out)
    return data


def test_contract_keys(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(RECIST.glob("*.json")):
        got = _json(capsys, path)
        assert set(got) >= KEYS, path
        assert got["best_overall_response"] in OVERALL
        assert isinstance(got["confirmed_response"], bool)
        for point in got["timepoints"]:
            assert set(point) >= TIMEPOINT_KEYS
            assert point["target_response"] in TARGET
            assert point["non_target_response"] in NON_TARGET
            assert point["overall_response"] in OVERALL


def test_partial_response_then_progression_from_nadir(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "01_partial_response_then_progression_from_nadir.json")
    # Baseline 42 + 25 + 18 + 17 = 102. Sums 72 (-29.4%: SD, just short of PR), 57 (-44.1%: PR,
    # the nadir), 64 (+7 mm from the nadir but still -37.3% from baseline: PR), 73 (+16 mm and
    # +28.1% from the nadir of 57: PD, although 28.4% below baseline).
    assert got["baseline"]["sum_mm"] == 102
    assert [a["sum_mm"] for a in got["timepoints"]] == [72, 57, 64, 73]
    assert [a["overall_response"] for a in got["timepoints"]] == ["SD", "PR", "PR", "PD"]
    assert got["timepoints"][0]["change_from_baseline_pct"] == pytest.approx(-29.41)
    assert got["timepoints"][3]["change_from_nadir_pct"] == pytest.approx(28.07)
    assert [a["nadir_mm"] for a in got["timepoints"]] == [102, 72, 57, 57]
    assert got["best_overall_response"] == "PR"
    assert got["response_date"] == "2008-06-23"
    assert got["confirmed_response"] is True  # the PR on day 168 confirms the one on day 112
    assert got["progression_date"] == "2008-10-13"


def test_lymph_node_complete_response(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "02_lymph_node_complete_response.json")
    # Lung lesion gone, nodes 9 and 7 mm (< 10 mm): CR with a sum of 16 mm.
    assert [a["overall_response"] for a in got["timepoints"]] == ["PR", "CR", "CR"]
    assert got["timepoints"][1]["sum_mm"] == 16
    # "too small" node counts 5 mm: 0 + 8 + 5 = 13.
    assert got["timepoints"][2]["sum_mm"] == 13
    assert got["best_overall_response"] == "CR"
    assert got["response_date"] == "2008-08-25"
    assert got["confirmed_response"] is True
    assert got["progression_date"] is None


def test_equivocal_new_lesion_dates_progression_back(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "03_equivocal_new_lesion_then_confirmed.json")
    assert [a["overall_response"] for a in got["timepoints"]] == ["SD", "SD", "PD"]
    # Progression dates back to the first equivocal scan (day 56), so no SD lasted: BOR PD.
    assert got["progression_date"] == "2008-10-27"
    assert got["best_overall_response"] == "PD"
    assert got["response_date"] is None
    assert got["confirmed_response"] is False


def test_bone_only_disease_and_a_finding(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "04_bone_only_non_target_disease.json")
    assert [a["overall_response"] for a in got["timepoints"]] == [
        "NON_CR_NON_PD",
        "NON_CR_NON_PD",
        "NE",
        "PD",
    ]
    # Day 21 is too early for SD duration (42 days); day 56 counts.
    assert got["best_overall_response"] == "NON_CR_NON_PD"
    assert [f["code"] for f in got["baseline"]["findings"]] == ["baseline_too_early"]


def test_confirmation_is_a_protocol_setting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Example 01 has a single PR (day 112) followed by another PR 56 days later: confirmed, so
    # PR either way. Example 02's CR (day 112) is confirmed by the CR on day 168.
    source = resources.files("trialkit.protocol.protocols").joinpath("sor.yaml").read_text()
    changed = source.replace("confirmation_required: false", "confirmation_required: true")
    assert changed != source
    protocol = tmp_path / "sor_confirmed.yaml"
    protocol.write_text(changed, encoding="utf-8")
    got = _json(capsys, RECIST / "02_lymph_node_complete_response.json", "-p", str(protocol))
    assert got["confirmation_required"] is True
    assert got["best_overall_response"] == "CR"
    # A lesion file whose only PR is followed by PD: unconfirmed PR -> SD when confirming.
    data = json.loads((RECIST / "01_partial_response_then_progression_from_nadir.json").read_text())
    del data["assessments"][2]
    single = tmp_path / "single_pr.json"
    single.write_text(json.dumps(data), encoding="utf-8")
    plain = _json(capsys, single)
    assert (plain["best_overall_response"], plain["confirmed_response"]) == ("PR", False)
    confirming = _json(capsys, single, "-p", str(protocol))
    assert confirming["best_overall_response"] == "SD"
    assert confirming["response_date"] is None


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recist", "evaluate", str(RECIST / "04_bone_only_non_target_disease.json")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "best overall response NON_CR_NON_PD" in out
    assert "baseline_too_early" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"assessments": []}', "baseline: Field required"),
        (
            '{"baseline": {"date": "2008-01-01"}, '
            '"assessments": [{"date": "2008-03-01", "target": {"T1": "large"}}]}',
            "assessments[0].target.T1: 'large' is not a measurement",
        ),
        (
            '{"baseline": {"date": "2008-01-01"}, '
            '"assessments": [{"date": "2008-03-01", "non_target": {"NT1": "gone"}}]}',
            "assessments[0].non_target.NT1",
        ),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_malformed_input_exits_2_with_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "lesions.json"
    path.write_text(content, encoding="utf-8")
    code = main(["recist", "evaluate", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert expected in err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["recist", "evaluate", str(tmp_path / "nope.json")])
    _, err = capsys.readouterr()
    assert code == 2
    assert "no such file" in err
