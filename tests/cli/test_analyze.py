"""``trialkit analyze survival``: JSON contract, table, plot and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.analysis._reference import reference
from trialkit.cli.main import main

DATA = Path(__file__).parents[1] / "analysis" / "data"
BASE = ["analyze", "survival", "--time", "time", "--event", "event", "--group", "group"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*BASE, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_matches_r_reference(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, str(DATA / "lung.csv"), "--reference", "male", "--strata", "strata", "--json"
    )
    assert code == 0, err
    assert err == ""
    got = json.loads(out)  # exactly one JSON object and nothing else
    r = reference()["lung"]
    assert got["n"] == 226
    assert got["groups"]["male"]["n"] + got["groups"]["female"]["n"] == 226
    km = r["km"]["log-log"]["female"]
    assert got["groups"]["female"]["median"] == pytest.approx(km["quantile"][1], rel=1e-9)
    assert got["groups"]["female"]["median_ci"] == pytest.approx(
        [km["quantile_lower"][1], km["quantile_upper"][1]], rel=1e-9
    )
    assert got["logrank"]["chisq"] == pytest.approx(r["logrank"]["chisq"], rel=1e-6)
    assert got["logrank"]["df"] == 1
    assert got["stratified_logrank"]["chisq"] == pytest.approx(
        r["stratified_logrank"]["chisq"], rel=1e-6
    )
    cox = r["cox"]["efron"]
    assert got["cox"]["coef"] == pytest.approx(cox["coef"][0], rel=1e-6)
    assert got["cox"]["hr_ci"] == pytest.approx([cox["hr_lower"][0], cox["hr_upper"][0]], rel=1e-6)
    assert got["cox"]["lrt"] == pytest.approx(cox["lrt"], rel=1e-6)
    assert got["cox"]["score"] == pytest.approx(cox["score"], rel=1e-6)
    assert got["cox"]["ties"] == "efron"
    scox = r["stratified_cox"]["efron"]
    assert got["stratified_cox"]["hr"] == pytest.approx(scox["hr"][0], rel=1e-6)


def test_breslow_log_and_no_strata(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        str(DATA / "flat.csv"),
        "--reference",
        "B",
        "--ties",
        "breslow",
        "--conf-type",
        "log",
        "--json",
    )
    assert code == 0
    got = json.loads(out)
    assert got["groups"]["A"]["median"] == 2.5  # the flat-step midpoint rule
    assert got["stratified_logrank"] is None
    assert got["stratified_cox"] is None
    assert got["cox"]["coef"] == pytest.approx(reference()["flat"]["cox"]["breslow"]["coef"][0])


def test_table_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "km.png"
    code, out, err = _run(
        capsys, str(DATA / "veteran.csv"), "--reference", "standard", "--plot", str(png)
    )
    assert code == 0, err
    assert "Kaplan-Meier by arm" in out
    assert "test vs standard" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def _bad_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["missing.csv", "--reference", "A"], "file not found"),
        ([str(DATA / "flat.csv"), "--reference", "C"], "reference level 'C' does not occur"),
        ([str(DATA / "flat.csv"), "--reference", "A", "--strata", "nope"], "no column 'nope'"),
        ([str(DATA / "flat.csv"), "--reference", "A", "--ties", "exact"], "--ties must be"),
        ([str(DATA / "flat.csv"), "--reference", "A", "--plot", "x.pdf"], ".png or .svg"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("time,event,group\n1,1,a\nabc,0,b\n", "bad.csv:3: column 'time' has 'abc', not a number"),
        ("time,event,group\n1,1,a\n2,0,b\n3,1,c\n", "exactly 2 levels"),
        ("time,event,group\n1,1,a\n\n-2,0,b\n", "line 4"),
        ("time,event,group\n1,1,a\n2,3,b\n", "events must be 1 (event) or 0 (censored)"),
    ],
)
def test_bad_rows_are_located(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, fragment: str
) -> None:
    code, _, err = _run(capsys, _bad_csv(tmp_path, text), "--reference", "a")
    assert code == 2
    assert err.count("\n") == 1
    assert fragment in err
