"""``trialkit design``: exit codes, one JSON object, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialkit.cli.main import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    out = capsys.readouterr()
    assert out.err == ""
    data = json.loads(out.out)
    assert isinstance(data, dict)
    return data


def test_protocol_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["design", "protocol", "--protocol", "sor", "--json"])
    assert data["protocol"] == "SOR"
    claims = data["claims"]
    assert isinstance(claims, list)
    assert len(claims) == 8
    assert all(c["agrees"] and c["method"] for c in claims)
    assert {"id", "statement", "stated", "computed", "tolerance", "agrees", "method"} <= set(
        claims[0]
    )
    assert 10 < float(data["implied_accrual_months"]) < 20  # type: ignore[arg-type]
    assert "expected_event_120_months_with_actual_enrolment" in data


def test_protocol_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "protocol"]) == 0
    assert "false_positive_rate" in capsys.readouterr().out


def test_survival_json_matches_rpact_reference(capsys: pytest.CaptureFixture[str]) -> None:
    # rpact reference "fixed_1to1_accrual_followup" (tests/design/reference)
    data = _json(
        capsys,
        [
            "design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
            "--accrual-time", "18", "--follow-up", "6", "--json",
        ],
    )  # fmt: skip
    assert data["events"] == pytest.approx(166.242400505235, rel=1e-6)
    assert data["events_planned"] == 167
    assert data["n"] == pytest.approx(264.343256415053, rel=1e-6)
    assert data["analysis_time"] == pytest.approx(24)
    assert data["critical_hr"] == pytest.approx(0.73784351061383, abs=1e-6)
    assert data["power"] == 0.8


def test_survival_group_sequential(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        [
            "design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
            "--accrual-time", "18", "--follow-up", "6", "--information-rates", "0.5,0.75,1",
            "--json",
        ],
    )  # fmt: skip
    stages = data["stages"]
    assert isinstance(stages, list)
    # rpact reference "gs_of_3_stages": analyses at months 14.812, 18.938, 24
    assert [s["time"] for s in stages] == pytest.approx([14.81207, 18.93755, 24.0], abs=1e-3)


def test_negative_follow_up_when_events_come_early(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        [
            "design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
            "--accrual-time", "18", "--n", "500", "--json",
        ],
    )  # fmt: skip
    # rpact reference "fixed_events_before_end_of_accrual": follow-up -2.6915, analysis 15.3085
    assert data["follow_up_time"] == pytest.approx(-2.691474, abs=1e-4)
    assert float(data["analysis_time"]) < float(data["accrual_time"])  # type: ignore[arg-type]


def test_decision_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        [
            "design",
            "decision",
            "--events",
            "120",
            "--decision-hr",
            "0.82",
            "--hr",
            "0.65",
            "--json",
        ],
    )
    assert data["false_positive_rate"] == pytest.approx(0.138527, abs=1e-6)
    assert data["false_negative_rate"] == pytest.approx(0.101592, abs=1e-6)


def test_boundaries_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        ["design", "boundaries", "--information-rates", "0.5,0.75,1", "--spending", "pocock",
         "--json"],
    )  # fmt: skip
    # rpact reference "pocock_3"
    assert data["z"] == pytest.approx([2.156999218, 2.312422730, 2.326931633], abs=1e-4)
    assert data["futility_z"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
          "--accrual-time", "18", "--n", "220", "--follow-up", "4"], "give exactly two of"),
        (["design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
          "--accrual-time", "18", "--n", "100", "--power", "0.9"], "can give at most"),
        (["design", "survival", "--median-control", "-1", "--hr", "0.7",
          "--accrual-time", "18", "--n", "100"], "median control must be a positive"),
        (["design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
          "--hr", "0.8", "--accrual-time", "18", "--n", "400"], "contradicts the medians"),
        (["design", "survival", "--median-control", "7.9", "--hr", "0.7", "--alpha", "1.2",
          "--accrual-time", "18", "--n", "400"], "alpha must lie strictly between 0 and 1"),
        (["design", "survival", "--median-control", "7.9", "--hr", "0.7",
          "--accrual-time", "18", "--n", "400", "--method", "logrank"], "--method must be one"),
        (["design", "boundaries", "--information-rates", "0.5,x"], "--information-rates must"),
        (["design", "boundaries", "--power", "0"], "power must lie strictly"),
        (["design", "decision", "--events", "0", "--decision-hr", "0.8", "--hr", "0.6"],
         "number of events must be positive"),
        (["design", "protocol", "--protocol", "nope", "--json"], "no protocol named"),
        (["design", "survival", "--median-control", "7.9", "--hr", "0.7"], "give exactly two"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--json"] if "--json" not in argv else argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1
    assert message in out.err


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plots_are_written(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str) -> None:
    survival_plot = tmp_path / f"survival{suffix}"
    decision_plot = tmp_path / f"decision{suffix}"
    _json(
        capsys,
        [
            "design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
            "--accrual-time", "18", "--follow-up", "6", "--information-rates", "0.5,1",
            "--plot", str(survival_plot), "--json",
        ],
    )  # fmt: skip
    _json(
        capsys,
        ["design", "decision", "--events", "120", "--decision-hr", "0.82", "--hr", "0.65",
         "--plot", str(decision_plot), "--json"],
    )  # fmt: skip
    assert survival_plot.stat().st_size > 1000
    assert decision_plot.stat().st_size > 1000


def test_plot_with_unknown_suffix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["design", "decision", "--events", "120", "--decision-hr", "0.82", "--hr", "0.65"]
    assert main([*argv, "--plot", str(tmp_path / "x.pdf")]) == 2
    assert "--plot must name a .png or .svg file" in capsys.readouterr().err
