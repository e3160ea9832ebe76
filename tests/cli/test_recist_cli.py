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
KEYS = {"baseline", "assessments", "best_overall_response", "date_of_progression"}
ASSESSMENT_KEYS = {
    "date",
    "sum_mm",
    "change_from_baseline_pct",
    "change_from_nadir_pct",
    "target_response",
    "non_target_response",
    "new_lesions",
    "overall_response",
}


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
        assert {"sum_mm", "targets", "findings"} <= set(got["baseline"])
        for assessment in got["assessments"]:
            assert set(assessment) >= ASSESSMENT_KEYS


def test_partial_response_then_progression_from_nadir(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "01_partial_response_then_progression_from_nadir.json")
    # Baseline 42 + 25 + 18 + 17 = 102. Sums 72 (-29.4%: SD, just short of PR), 57 (-44.1%: PR,
    # the nadir), 64 (+7 mm from the nadir but still -37.3% from baseline: PR), 73 (+16 mm and
    # +28.1% from the nadir of 57: PD, although 28.4% below baseline).
    assert got["baseline"]["sum_mm"] == 102
    assert [a["sum_mm"] for a in got["assessments"]] == [72, 57, 64, 73]
    assert [a["overall_response"] for a in got["assessments"]] == ["SD", "PR", "PR", "PD"]
    assert got["assessments"][0]["change_from_baseline_pct"] == pytest.approx(-29.41)
    assert got["assessments"][3]["change_from_nadir_pct"] == pytest.approx(28.07)
    assert got["best_overall_response"] == "PR"
    assert got["date_of_progression"] == "2008-10-13"


def test_lymph_node_complete_response(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "02_lymph_node_complete_response.json")
    # Lung lesion gone, nodes 9 and 7 mm (< 10 mm): CR with a sum of 16 mm.
    assert [a["overall_response"] for a in got["assessments"]] == ["PR", "CR", "CR"]
    assert got["assessments"][1]["sum_mm"] == 16
    # "too small" node counts 5 mm: 0 + 8 + 5 = 13.
    assert got["assessments"][2]["sum_mm"] == 13
    assert got["best_overall_response"] == "CR"
    assert got["date_of_progression"] is None


def test_equivocal_new_lesion_dates_progression_back(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "03_equivocal_new_lesion_then_confirmed.json")
    assert [a["overall_response"] for a in got["assessments"]] == ["SD", "SD", "PD"]
    # Progression dates back to the first equivocal scan (day 56), so no SD lasted: BOR PD.
    assert got["date_of_progression"] == "2008-10-27"
    assert got["best_overall_response"] == "PD"


def test_bone_only_disease_and_a_finding(capsys: pytest.CaptureFixture[str]) -> None:
    got = _json(capsys, RECIST / "04_bone_only_non_target_disease.json")
    assert [a["overall_response"] for a in got["assessments"]] == [
        "NON-CR/NON-PD",
        "NON-CR/NON-PD",
        "NE",
        "PD",
    ]
    # Day 21 is too early for SD duration (42 days); day 56 counts.
    assert got["best_overall_response"] == "NON-CR/NON-PD"
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
    assert _json(capsys, single)["best_overall_response"] == "PR"
    assert _json(capsys, single, "-p", str(protocol))["best_overall_response"] == "SD"


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recist", "evaluate", str(RECIST / "04_bone_only_non_target_disease.json")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "best overall response NON-CR/NON-PD" in out
    assert "baseline_too_early" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"assessments": []}', "baseline: Field required"),
        (
            '{"baseline": {"date": "2008-01-01"}, '
            '"assessments": [{"date": "2008-03-01", "targets": {"T1": "large"}}]}',
            "assessments[0].targets.T1: 'large' is not a measurement",
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
