"""``trialkit simulate``: one JSON object, the documented keys, one-line errors, exact dumps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trialkit.cli.main import main
from trialkit.protocol import load_protocol

_CONTROL = next(arm.label for arm in load_protocol("sor").arms if arm.role == "control")

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
    arms = {arm.role: arm.label for arm in load_protocol("sor").arms}  # Sorafenib, Placebo
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    assert {r[1] for r in rows} == set(arms.values())  # the protocol's arms, as it labels them
    if rounding:  # the same trial as dates: whole days; the kernel must then handle ties
        import numpy as np

        from trialkit.simulate.kernels import two_arm_statistics

        rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
        days = np.array([[round(float(r[5]) * 30.4375) for r in rows]], dtype=float)
        event = np.array([[r[6] == "1" for r in rows]])
        treated = np.array([[r[1] == arms["treatment"] for r in rows]])
        st = two_arm_statistics(days, event, treated)
        days_csv = tmp_path / "days.csv"
        days_csv.write_text(
            "time,event,arm\n"
            + "".join(f"{d:g},{r[6]},{r[1]}\n" for d, r in zip(days[0], rows, strict=True))
        )
        argv = ["analyze", "survival", str(days_csv), "--time", "time", "--event", "event",
                "--group", "arm", "--reference", arms["control"], "--json"]  # fmt: skip
        out = _json(capsys, argv)
        assert out["logrank"]["chisq"] == pytest.approx(float(st.z[0]) ** 2, rel=1e-10)
        assert out["cox"]["coef"] == pytest.approx(float(st.log_hr[0]), abs=1e-9)
        return
    out = _json(capsys, ["analyze", "survival", str(path), "--time", "time", "--event", "event",
                         "--group", "arm", "--reference", arms["control"], "--json"])  # fmt: skip
    assert out["events"] == dumped["events"]
    assert out["logrank"]["chisq"] == pytest.approx(dumped["logrank_chisq"], rel=1e-10)
    assert out["cox"]["hr"] == pytest.approx(dumped["hr"], rel=1e-10)


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
        (["--median-control", "0"], "control median must be a positive number"),
        (["--median-treatment", "-3"], "treatment median must be a positive number"),
        (["--alpha", "1.2"], "alpha must lie in (0, 1)"),
        (["--grid", "hr=0.5-1.0"], "--grid must look like hr=0.5:1.0:0.05"),
        (["--grid", "hr=1.0:0.5:0.1"], "stop must not be below start"),
        (["--information-rates", "0.5,x"], "--information-rates must be comma-separated"),
        (["--backend", "gpu"], "pip install 'trialkit[gpu]'"),
        (["--trials", "0"], "--trials must be at least 1"),
        (["--allocation", "urn"], "--allocation must be simple or blocks"),
        (["--plot", "x.png"], "--plot draws the power curve of a --grid"),
        (["--cluster", "foo"], "write --cluster local"),
        (["--cluster", "local", "--backend", "gpu"], "drop one of them"),
        (["--host-draws"], "--host-draws applies to --backend gpu only"),
        (["--dump-trial", "100", "x.csv"], "the trial to dump must be between 0 and 99"),
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

    import trialkit.cli.simulate as cli

    advanced: list[float] = []

    class Recording(cli.Progress):  # type: ignore[misc]
        def advance(self, task_id: Any, advance: float = 1) -> None:
            advanced.append(advance)
            super().advance(task_id, advance)

    monkeypatch.setattr(cli, "Progress", Recording)
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


def test_gpu_backend_end_to_end_with_numpy_standing_in_for_cupy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the whole --backend gpu path (CLI, runner, array kernel, --dump-trial) with numpy as
    # the array namespace and, like CuPy, a stream of its own (numpy's Philox)
    import numpy as np

    import trialkit.simulate.gpu as gpu

    def own_stream(xp: Any, seed: int, index: int) -> np.random.Generator:
        return np.random.Generator(
            np.random.Philox(np.random.SeedSequence(seed, spawn_key=(index,)))
        )

    monkeypatch.setattr(gpu, "load_cupy", lambda: np)
    monkeypatch.setattr(gpu, "device_generator", own_stream)
    path = tmp_path / "trial.csv"
    argv = ["simulate", "--trials", "5000", "--seed", "8", "--dropout-rate", "0.2",
            "--dump-trial", "4100", str(path), "--json"]  # fmt: skip
    on_gpu = _json(capsys, [*argv, "--backend", "gpu"])
    out = _json(capsys, ["analyze", "survival", str(path), "--time", "time", "--event", "event",
                         "--group", "arm", "--reference", _CONTROL, "--json"])  # fmt: skip
    dumped = on_gpu["dumped_trial"]
    assert out["events"] == dumped["events"]
    assert out["logrank"]["chisq"] == pytest.approx(dumped["logrank_chisq"], rel=1e-10)
    assert out["cox"]["hr"] == pytest.approx(dumped["hr"], rel=1e-10)
    on_cpu = _json(capsys, argv)
    assert on_gpu["backend"] == "gpu"
    assert on_gpu["mean_analysis_time"] != on_cpu["mean_analysis_time"]  # its own stream
    # --host-draws: the CPU's random numbers, so the CPU's trials and results
    host = _json(capsys, [*argv, "--backend", "gpu", "--host-draws"])
    for key in ("reject_rate", "logrank_reject_rate", "mean_analysis_time", "hr_quantiles"):
        assert host[key] == on_cpu[key]
    assert host["dumped_trial"]["analysis_time"] == on_cpu["dumped_trial"]["analysis_time"]
