"""``trialkit simulate``: one JSON object, the documented keys, one-line errors, exact dumps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trialkit.cli.main import main

KEYS = {
    "trials", "seed", "reject_rate", "logrank_reject_rate", "mc_standard_error",
    "mean_analysis_time", "analysis_time_quantiles", "hr_quantiles", "mean_events",
    "backend", "elapsed_seconds",
}  # fmt: skip


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    assert main(argv) == 0
    out = capsys.readouterr()
    assert out.err == ""
    data = json.loads(out.out)  # exactly one JSON document on stdout
    assert isinstance(data, dict)
    return data


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["simulate", "--protocol", "sor", "--trials", "3000", "--seed", "5",
                          "--json"])  # fmt: skip
    assert set(data) >= KEYS
    assert data["trials"] == 3000
    assert data["seed"] == 5
    assert data["backend"] == "numba"
    assert set(data["analysis_time_quantiles"]) == {"2.5", "50", "97.5"}
    assert data["mean_events"] == 120
    q = data["hr_quantiles"]
    assert q["2.5"] < q["50"] < q["97.5"]
    assert "looks" not in data


def test_group_sequential_reports_each_look(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["simulate", "--trials", "2000", "--information-rates", "0.5,0.75,1",
                          "--spending", "pocock", "--json"])  # fmt: skip
    looks = data["looks"]
    assert [look["events"] for look in looks] == [60, 90, 120]
    assert looks[-1]["cumulative_reject_rate"] == pytest.approx(data["logrank_reject_rate"])


def test_summary_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--trials", "1000"]) == 0
    assert "decision rule (observed HR <= 0.82)" in capsys.readouterr().out


@pytest.mark.parametrize("rounding", [False, True])
def test_dumped_trial_reanalyses_to_the_simulated_statistics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rounding: bool
) -> None:
    path = tmp_path / "trial.csv"
    sim = _json(capsys, ["simulate", "--trials", "5000", "--seed", "8", "--dropout-rate", "0.2",
                         "--dump-trial", "4100", str(path), "--json"])  # fmt: skip
    dumped = sim["dumped_trial"]
    if rounding:  # the same trial as dates: whole days; the kernel must then handle ties
        import numpy as np

        from trialkit.simulate.kernels import two_arm_statistics

        rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
        days = np.array([[round(float(r[5]) * 30.4375) for r in rows]], dtype=float)
        event = np.array([[r[6] == "1" for r in rows]])
        treated = np.array([[r[1] == "Sorafenib" for r in rows]])
        st = two_arm_statistics(days, event, treated)
        days_csv = tmp_path / "days.csv"
        days_csv.write_text(
            "time,event,arm\n"
            + "".join(f"{d:g},{r[6]},{r[1]}\n" for d, r in zip(days[0], rows, strict=True))
        )
        argv = ["analyze", "survival", str(days_csv), "--time", "time", "--event", "event",
                "--group", "arm", "--reference", "Placebo", "--json"]  # fmt: skip
        out = _json(capsys, argv)
        assert out["logrank"]["chisq"] == pytest.approx(float(st.z[0]) ** 2, rel=1e-10)
        assert out["cox"]["coef"] == pytest.approx(float(st.log_hr[0]), abs=1e-9)
        return
    out = _json(capsys, ["analyze", "survival", str(path), "--time", "time", "--event", "event",
                         "--group", "arm", "--reference", "Placebo", "--json"])  # fmt: skip
    assert out["events"] == dumped["events"]
    assert out["logrank"]["chisq"] == pytest.approx(dumped["logrank_chisq"], rel=1e-10)
    assert out["cox"]["hr"] == pytest.approx(dumped["hr"], rel=1e-10)


def test_dumped_arms_are_the_protocols_labels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "trial.csv"
    _json(capsys, ["simulate", "--trials", "50", "--dump-trial", "3", str(path), "--json"])
    arms = {line.split(",")[1] for line in path.read_text().splitlines()[1:]}
    assert arms == {"Sorafenib", "Placebo"}  # the arms' labels in the sor protocol


def test_breslow_ties_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--trials", "500", "--seed", "3", "--json"]
    efron = _json(capsys, argv)
    breslow = _json(capsys, [*argv, "--ties", "breslow"])
    assert breslow["scenario"]["ties"] == "breslow"
    assert efron["scenario"]["ties"] == "efron"
    # continuous times: no ties, so the two methods give the same estimates
    assert breslow["hr_quantiles"] == pytest.approx(efron["hr_quantiles"], rel=1e-9)


def test_grid_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "power.png"
    data = _json(capsys, ["simulate", "--trials", "1000", "--grid", "hr=0.6:1.0:0.2",
                          "--plot", str(plot), "--json"])  # fmt: skip
    assert [row["hr"] for row in data["grid"]] == [0.6, 0.8, 1.0]
    rates = [row["reject_rate"] for row in data["grid"]]
    assert rates == sorted(rates, reverse=True)
    assert plot.stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--events", "250"], "220 patients can give at most 220 events; you asked for 250"),
        (["--median-control", "0"], "--median-control: the control median must be a positive"),
        (["--median-treatment", "-3"], "--median-treatment: the treatment median must be"),
        (["--alpha", "1.2"], "--alpha: the one-sided alpha must lie in (0, 0.5)"),
        (["--grid", "hr=0.5-1.0"], "--grid: must look like hr=0.5:1.0:0.05"),
        (["--grid", "hr=1.0:0.5:0.1"], "--grid: stop must not be below start"),
        (["--information-rates", "0.5,x"], "--information-rates: must be comma-separated"),
        (["--median-treatment", "9", "--hr", "0.7"], "--hr: give --median-treatment or hr"),
        (["--backend", "gpu"], "--backend: backend must be one of numba, cuda, numpy"),
        (["--trials", "0"], "--trials: must be between 1 and"),
        (["--seed", "-1"], "--seed: must be an integer from 0"),
        (["--allocation", "urn"], "--allocation: must be simple or blocks"),
        (["--ties", "exact"], "--ties: must be efron or breslow"),
        (["--spending", "x"], "--spending: must be obrien-fleming or pocock"),
        (["--plot", "x.png"], "--plot draws the power curve of a --grid"),
        (["--cluster", "foo"], "--cluster: got 'foo'"),
        (["--dump-trial", "100", "x.csv"], "--dump-trial: the trial to dump must be between 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["simulate", "--trials", "100", *argv]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1
    assert message in out.err
    assert "Traceback" not in out.err


def test_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import rich.progress

    import trialkit.cli.simulate as cli

    advanced: list[float] = []

    class Recording(rich.progress.Progress):
        def advance(self, task_id: Any, advance: float = 1) -> None:
            advanced.append(advance)
            super().advance(task_id, advance)

    monkeypatch.setattr(rich.progress, "Progress", Recording)  # imported when a bar is shown
    monkeypatch.setattr(cli, "PROGRESS_MIN_TRIALS", 5000)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["simulate", "--trials", "9000", "--seed", "2"]) == 0
    assert sum(advanced) == 9000  # one tick per finished chunk, up to every trial
    assert "decision rule" in capsys.readouterr().out.lower()
    advanced.clear()
    assert main(["simulate", "--trials", "9000", "--seed", "2", "--json"]) == 0
    assert advanced == []  # --json: no bar, one JSON object and nothing else
    assert json.loads(capsys.readouterr().out)["trials"] == 9000


def test_non_proportional_hazards_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--trials", "2000", "--seed", "3", "--json", "--hazards-control",
            "0.1,0.05", "--pfs-breaks", "4"]  # fmt: skip
    same = _json(capsys, [*argv, "--hazards-treatment", "0.1,0.05"])
    better = _json(capsys, [*argv, "--hazards-treatment", "0.1,0.025"])
    assert same["scenario"]["hazards_treatment"] == [0.1, 0.05]
    assert better["scenario"]["hazards_treatment"] == [0.1, 0.025]
    # equal hazards: the null; a later halving of the hazard: far more rejections
    assert same["logrank_reject_rate"] < 0.05
    assert better["logrank_reject_rate"] > same["logrank_reject_rate"] + 0.2
