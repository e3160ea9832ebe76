"""``trialkit predict events``: the JSON contract, the no-arm rule, the plot and exit codes."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from trialkit.cli.main import main
from trialkit.predict import simulate_truth

ORIGIN = date(2007, 11, 22)
KEYS = {
    "target",
    "cutoff",
    "events_so_far",
    "at_risk",
    "predicted_date_median",
    "predicted_date_90pi",
    "enrolment_complete_date_median",
    "model",
}


@pytest.fixture(scope="module")
def blinded_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Blinded data of a SOR-like trial cut at its 60th event (one dropout added)."""
    truth = simulate_truth(np.random.default_rng(3))
    cut = int(truth.event_days()[59])
    path = tmp_path_factory.mktemp("predict") / "blinded.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["patient_id", "enrolment_date", "event_date", "censor_date", "dropout"])
        for k, (enrol, event) in enumerate(zip(truth.enrolment_day, truth.event_day, strict=True)):
            if enrol > cut:
                continue
            day = ORIGIN + timedelta(days=int(enrol))
            if event <= cut:
                out.writerow([f"P{k}", day, ORIGIN + timedelta(days=int(event)), "", 0])
            elif k % 25 == 0:
                out.writerow([f"P{k}", day, "", day + timedelta(days=20), 1])
            else:
                out.writerow([f"P{k}", day, "", "", 0])
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["predict", "events", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract(capsys: pytest.CaptureFixture[str], blinded_csv: Path) -> None:
    code, out, err = _run(
        capsys, "--data", str(blinded_csv), "--target", "120", "--sims", "500", "--seed", "4",
        "--json", "--at", "2010-06-30",
    )  # fmt: skip
    assert code == 0, err
    assert err == ""
    got = json.loads(out)  # exactly one JSON object, nothing else
    assert set(got) >= KEYS
    assert got["target"] == 120
    assert got["events_so_far"] == 60
    assert got["at_risk"] > 0
    assert got["dropouts"] > 0
    assert got["model"] == "average"  # the default: model averaging (benchmarks/RESULTS.md)
    lo, hi = got["predicted_date_90pi"]
    assert got["cutoff"] < lo <= got["predicted_date_median"] <= hi
    assert date.fromisoformat(got["enrolment_complete_date_median"]) > date.fromisoformat(
        got["cutoff"]
    )
    assert got["seed"] == 4
    assert 0.0 <= got["at"][0]["probability_target_reached"] <= 1.0
    # reproducible from the seed
    again = json.loads(_run(capsys, "--data", str(blinded_csv), "--sims", "500", "--seed", "4",
                            "--json", "--at", "2010-06-30")[1])  # fmt: skip
    assert again == got


def test_cutoff_and_model_options(capsys: pytest.CaptureFixture[str], blinded_csv: Path) -> None:
    code, out, err = _run(
        capsys, "--data", str(blinded_csv), "--cutoff", "2009-01-01", "--model", "weibull",
        "--sims", "200", "--json",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert got["cutoff"] == "2009-01-01"
    assert got["model"] == "weibull"
    assert got["events_so_far"] < 60


def test_text_summary_and_plot(
    capsys: pytest.CaptureFixture[str], blinded_csv: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "events.png"
    code, out, err = _run(capsys, "--data", str(blinded_csv), "--sims", "200", "--plot", str(plot))
    assert code == 0, err
    assert "Target event 120: median" in out
    assert plot.stat().st_size > 10_000


def test_design_stage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "--design", "--protocol", "sor", "--start", "2007-11-22", "--sims", "500", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    assert set(got) >= KEYS
    assert got["stage"] == "design"
    assert got["events_so_far"] == 0
    assert "2010-03-01" < got["predicted_date_median"] < "2010-08-01"


def test_an_arm_column_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "unblinded.csv"
    path.write_text("enrolment_date,event_date,arm\n2008-01-01,2008-03-01,sorafenib\n")
    code, out, err = _run(capsys, "--data", str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "'arm' looks like the treatment arm" in err
    assert "remove the arm column" in err


DATA = "{data}"  # replaced by the fixture's path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv"], "file not found"),
        (["--knots", "60"], "--knots and --enrolment need --data"),
        (["--data", DATA, "--model", "gamma"], "--model must be one of"),
        (["--data", DATA, "--cutoff", "01/02/2009"], "--cutoff must be a date"),
        (["--data", DATA, "--sims", "3"], "--sims must be at least 10"),
        (["--data", DATA, "--target", "300"], "cannot be reached"),
        (["--data", DATA, "--plot", "x.pdf"], "use a file name ending in .png or .svg"),
        (["--design", "--start", "2008-99-01"], "--start must be a date"),
        (["--design", "--data", DATA], "give --data or --design, not both"),
        (["--target", "x"], "Invalid value for '--target'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], blinded_csv: Path, args: list[str], message: str
) -> None:
    argv = [str(blinded_csv) if a == DATA else a for a in args]
    if "--sims" not in argv:
        argv += ["--sims", "50"]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert message in err


def test_bad_row_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("enrolment_date,event_date\n2008-01-01,\n2008-02-30,\n")
    code, _, err = _run(capsys, "--data", str(path))
    assert code == 2
    assert f"{path}:3: " in err
    assert "not a date" in err


@pytest.mark.parametrize("model", ["auto", "average", "mixture"])
def test_predict_from_a_csv_withholds_the_mixture_component_estimates_in_text_and_json(
    capsys: pytest.CaptureFixture[str], blinded_csv: Path, model: str
) -> None:
    """The mixture's component medians and their hazard ratio approximate the arms: no path
    shows them (the database path never did; --data printed them)."""
    base = ("--data", str(blinded_csv), "--sims", "100", "--seed", "2", "--model", model)
    code, text, err = _run(capsys, *base)
    assert (code, err) == (0, "")
    code, out, err = _run(capsys, *base, "--json")
    assert (code, err) == (0, "")
    fits = {f["model"]: f for f in json.loads(out)["event_models"]}
    assert fits["mixture"]["params"] == {}
    assert fits["mixture"]["params_withheld"] == "component estimates approximate the arms"
    if "exponential" in fits:  # other models' parameters say nothing of the arms
        assert fits["exponential"]["params"]
    mixture_line = next(line for line in text.splitlines() if line.lstrip().startswith("mixture"))
    assert mixture_line.endswith("parameters withheld (blinded)")
    for shown in (text, out):
        for word in ("median_1", "median_2", "hazard_ratio", "share_1"):
            assert word not in shown
