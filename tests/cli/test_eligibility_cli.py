"""The stable command-line contracts of ``trialkit protocol`` and ``trialkit eligibility``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, example
from trialkit.cli.main import main

ELIGIBLE = str(EXAMPLES / "01_endocrine_bone_only.json")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_is_one_object_with_the_contract_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["eligibility", "check", ELIGIBLE, "--protocol", "sor", "--json"], capsys)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert {"protocol", "eligible", "background_therapy", "criteria", "missing"} <= set(result)
    assert result["protocol"] == "SOR"
    assert result["eligible"] is True
    assert result["background_therapy"] == "endocrine"
    assert len(result["criteria"]) == 52
    first = result["criteria"][0]
    assert {"id", "kind", "status", "reason", "text"} <= set(first)
    assert (first["id"], first["kind"], first["status"]) == ("I1", "inclusion", "met")


@pytest.mark.parametrize(
    ("name", "eligible", "therapy"),
    [
        ("02_chemo_then_endocrine_liver_alt_4x", True, "chemotherapy_then_endocrine"),
        ("03_chemotherapy_triple_negative", True, "chemotherapy"),
        ("04_her2_positive", False, None),
        ("05_premenopausal_er_positive_no_ablation", False, "endocrine"),
        ("06_missing_labs", None, "endocrine"),
        ("08_triple_negative_recent_taxane", False, "chemotherapy"),
    ],
)
def test_verdicts_of_the_examples(
    capsys: pytest.CaptureFixture[str], name: str, eligible: bool | None, therapy: str | None
) -> None:
    code, out, _ = run(["eligibility", "check", str(EXAMPLES / f"{name}.json"), "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert (result["eligible"], result["background_therapy"]) == (eligible, therapy)
    if eligible is None:
        assert result["missing"] == [
            "labs.anc",
            "labs.creatinine.uln",
            "labs.creatinine.value",
            "labs.platelets",
        ]


def test_liver_metastases_allow_alt_four_times_uln(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "02_chemo_then_endocrine_liver_alt_4x.json")
    _, out, _ = run(["eligibility", "check", path, "--json"], capsys)
    i105 = next(c for c in json.loads(out)["criteria"] if c["id"] == "I10.5")
    assert i105["status"] == "met"
    assert i105["reason"] == (
        "ALT 4 x ULN <= 5 x ULN, AST 3.75 x ULN <= 5 x ULN, liver involvement"
    )


def test_table_output_names_verdict_and_therapy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["eligibility", "check", str(EXAMPLES / "04_her2_positive.json")], capsys)
    assert code == 0
    assert "NOT ELIGIBLE" in out
    assert "HER2 positive (IHC 3+, FISH amplified)" in out


def test_a_malformed_record_exits_2_with_the_json_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = example("01_endocrine_bone_only")
    data["labs"]["alt"]["value"] = "high"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run(["eligibility", "check", str(path), "--json"], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "$.labs.alt.value" in err
    assert "'high'" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"ecog": 1,', "not valid JSON"),
        ('{"ecog": 7}', "$.ecog: Input should be less than or equal to 5"),
        ('{"labs": {"haemoglobin": {"value": 9, "unit": "furlongs"}}}', "unknown unit 'furlongs'"),
        ('{"unexpected": true}', "$.unexpected: Extra inputs are not permitted"),
        ("[1, 2]", "$: Input should be a valid dictionary"),
    ],
)
def test_bad_records_give_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "record.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(["eligibility", "check", str(path), "--json"], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert expected in err


def test_missing_file_and_unknown_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["eligibility", "check", "nowhere.json"], capsys)
    assert code == 2
    assert "no such file" in err
    code, _, err = run(["eligibility", "check", ELIGIBLE, "--protocol", "nope"], capsys)
    assert code == 2
    assert "no protocol named 'nope'" in err


def test_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["eligibility", "check", ELIGIBLE, "--bogus"], capsys)
    assert (code, out) == (2, "")
    assert err == "error: No such option: --bogus (see 'trialkit eligibility check --help')\n"


def test_schema_is_a_json_schema_of_the_record(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["eligibility", "schema", "--protocol", "sor"], capsys)
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"labs", "receptors", "menopause", "planned_randomisation_date"} <= set(
        schema["properties"]
    )
    labs = schema["properties"]["labs"]["anyOf"][0]["properties"]
    assert labs["alt"]["anyOf"][0]["required"] == ["value", "unit"]
    assert schema["properties"]["ecog"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 5,
    }


def test_schema_comes_from_the_protocols_screening_form(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SOR and GERI define different screening forms, so their schemas differ."""
    geri = str(Path(__file__).parents[1] / "protocol" / "data" / "geriatric.yaml")
    code, out, _ = run(["eligibility", "schema", "--protocol", geri], capsys)
    assert code == 0
    schema = json.loads(out)
    assert "g8_score" in schema["properties"]
    assert "menopause" not in schema["properties"]
    code, out, _ = run(["eligibility", "schema", "--protocol", "sor"], capsys)
    assert "g8_score" not in json.loads(out)["properties"]


def test_protocol_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["protocol", "show", "--protocol", "sor"], capsys)
    assert code == 0
    for fragment in (
        "SOR",
        "Russian Federation",
        "Milano",
        "sorafenib 400 mg",
        "docetaxel",
        "120 events",
    ):
        assert fragment in out
    code, out, _ = run(["protocol", "show", "--json"], capsys)
    assert json.loads(out)["acronym"] == "SOR"


def test_demo_shows_protocol_and_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--examples", str(EXAMPLES)], capsys)
    assert code == 0
    for path in EXAMPLES.glob("*.json"):
        assert path.stem in out
    assert "UNDETERMINED" in out
    assert "NOT ELIGIBLE" in out
