"""The command-line contract of ``trialkit randomisation generate`` and ``verify``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialkit.cli.main import DEPRECATED_NAMES, main

SEED_HEX = "5e" * 32
(OLD_NAME,) = DEPRECATED_NAMES  # the old spelling of the command


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def list_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "list.json"
    code, out, err = run(
        [
            "randomisation",
            "generate",
            "--protocol",
            "sor",
            "--seed-hex",
            SEED_HEX,
            "--out",
            str(path),
        ],
        capsys,
    )
    assert (code, err) == (0, "")
    assert out.startswith("generated: ")
    assert str(path) in out
    return path


def test_generate_refuses_to_run_without_an_explicit_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["randomisation", "generate", "--protocol", "sor", "--out", str(tmp_path / "x.json")],
        capsys,
    )
    assert (code, out) == (2, "")
    assert "the service draws the seed" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


def test_verify_an_untouched_list_exits_0(
    list_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["randomisation", "verify", str(list_file), "--seed-hex", SEED_HEX, "--protocol", "sor"],
        capsys,
    )
    document = json.loads(list_file.read_text(encoding="utf-8"))
    assert (code, err) == (0, "")
    assert out == f"verified: {len(document['slots'])} slots, hash {document['hash']}\n"


def test_verify_json_is_one_object(list_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["randomisation", "verify", str(list_file), "--seed-hex", SEED_HEX, "--json"], capsys
    )
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["verified"] is True
    assert result["first_difference"] is None
    assert result["hash"] == result["expected_hash"] == result["recorded_hash"]


def test_verify_a_tampered_list_exits_1_naming_the_first_differing_slot(
    list_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(list_file.read_text(encoding="utf-8"))
    slot = document["slots"][10]
    slot["arm"] = "B" if slot["arm"] == "A" else "A"
    list_file.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = run(["randomisation", "verify", str(list_file), "--seed-hex", SEED_HEX], capsys)
    assert code == 1
    assert f"slot 11 (stratum {slot['stratum']}, sequence {slot['sequence']}): arm" in out
    code, out, _ = run(
        ["randomisation", "verify", str(list_file), "--seed-hex", SEED_HEX, "--json"], capsys
    )
    assert code == 1
    difference = json.loads(out)["first_difference"]
    assert (difference["position"], difference["field"]) == (11, "arm")


def test_verify_a_wrong_seed_or_a_wrong_recorded_hash_exits_1(
    list_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["randomisation", "verify", str(list_file), "--seed-hex", "a7" * 32], capsys)
    assert code == 1
    assert out.startswith("NOT verified")
    document = json.loads(list_file.read_text(encoding="utf-8"))
    document["hash"] = "0" * 64
    list_file.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = run(["randomisation", "verify", str(list_file), "--seed-hex", SEED_HEX], capsys)
    assert code == 1
    assert "recorded hash" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something else"}', "not an allocation list"),
        ('{"format": "trialkit-allocation-list/v1", "slots": [{"stratum": 1}]}', "slots[0]"),
    ],
)
def test_verify_malformed_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(["randomisation", "verify", str(path), "--seed-hex", SEED_HEX], capsys)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("seed", "message"), [("zz", "hexadecimal"), ("abcd", "at least 16"), (None, "service")]
)
def test_verify_bad_seeds_exit_2(
    list_file: Path, capsys: pytest.CaptureFixture[str], seed: str | None, message: str
) -> None:
    args = ["randomisation", "verify", str(list_file)] + (["--seed-hex", seed] if seed else [])
    code, _, err = run(args, capsys)
    assert code == 2
    assert message in err


def test_the_old_spelling_randomization_still_verifies_and_is_not_listed(
    list_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        [OLD_NAME, "verify", str(list_file), "--seed-hex", SEED_HEX, "--json"], capsys
    )
    assert code == 0
    assert json.loads(out)["verified"] is True
    assert err == f"note: 'trialkit {OLD_NAME}' is now 'trialkit randomisation'\n"
    code, out, _ = run(["--help"], capsys)
    assert "randomisation" in out
    assert OLD_NAME not in out
