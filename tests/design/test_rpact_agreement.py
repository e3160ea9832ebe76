"""trialkit against rpact ``getSampleSizeSurvival`` and ``getDesignGroupSequential``.

The reference values come from ``reference/rpact_sample_size.R`` (committed beside
``reference/rpact_sample_size.json``); these tests do not need R.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trialkit.design import group_sequential_design, survival_sample_size

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "rpact_sample_size.json").read_text(encoding="utf-8")
)
SAMPLE_SIZE = {case["input"]["id"]: case for case in REFERENCE["sample_size"]}
BOUNDARIES = {case["input"]["id"]: case for case in REFERENCE["boundaries"]}

EVENTS_RTOL = 1e-3  # the agreement promised: events within 0.1 %
TIME_ATOL = 0.01  # months
HR_ATOL = 1e-4
Z_ATOL = 1e-4


def _as_list(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def _run(inp: dict[str, Any]) -> Any:
    return survival_sample_size(
        median_control=inp["median_control"],
        median_treatment=inp.get("median_treatment"),
        hr=inp.get("hr"),
        alpha=inp["alpha"],
        power=inp["power"],
        allocation_ratio=inp["allocation_ratio"],
        accrual_time=inp.get("accrual_time"),
        n=inp.get("n"),
        follow_up_time=inp.get("follow_up_time"),
        dropout_rate=inp.get("dropout_rate", 0.0),
        dropout_time=inp.get("dropout_time", 12.0),
        method=inp.get("method", "schoenfeld"),
        information_rates=_as_list(inp.get("information_rates", 1.0)),
        spending_function=inp.get("spending", "obrien-fleming"),
        beta_spending=inp.get("beta_spending"),
    )


@pytest.mark.parametrize("case_id", sorted(SAMPLE_SIZE))
def test_sample_size_matches_rpact(case_id: str) -> None:
    ref = SAMPLE_SIZE[case_id]
    got = _run(ref["input"])
    assert got.events == pytest.approx(ref["events"], rel=EVENTS_RTOL)
    assert [s.events for s in got.stages] == pytest.approx(
        _as_list(ref["events_per_stage"]), rel=EVENTS_RTOL
    )
    assert got.n == pytest.approx(ref["n"], rel=EVENTS_RTOL)
    assert got.follow_up_time == pytest.approx(ref["follow_up_time"], abs=TIME_ATOL)
    assert [s.time for s in got.stages] == pytest.approx(
        _as_list(ref["analysis_time"]), abs=TIME_ATOL
    )
    assert got.analysis_time == pytest.approx(_as_list(ref["analysis_time"])[-1], abs=TIME_ATOL)
    assert [s.critical_hr for s in got.stages] == pytest.approx(
        _as_list(ref["critical_hr"]), abs=HR_ATOL
    )
    if ref["futility_hr"] is not None:
        assert [s.futility_hr for s in got.stages[:-1]] == pytest.approx(
            _as_list(ref["futility_hr"]), abs=HR_ATOL
        )


@pytest.mark.parametrize("case_id", sorted(BOUNDARIES))
def test_boundaries_match_rpact(case_id: str) -> None:
    ref = BOUNDARIES[case_id]
    inp = ref["input"]
    got = group_sequential_design(
        alpha=inp["alpha"],
        power=inp["power"],
        information_rates=_as_list(inp["information_rates"]),
        spending_function=inp["spending"],
        beta_spending=inp.get("beta_spending"),
    )
    assert got.z == pytest.approx(_as_list(ref["z"]), abs=Z_ATOL)
    assert got.nominal_p == pytest.approx(_as_list(ref["nominal_p"]), abs=1e-6)
    assert got.cumulative_alpha_spent == pytest.approx(
        _as_list(ref["cumulative_alpha_spent"]), abs=1e-7
    )
    assert got.inflation_factor == pytest.approx(ref["inflation_factor"], rel=1e-4)
    assert got.drift == pytest.approx(ref["drift"], abs=Z_ATOL)
    if ref["futility_z"] is not None:
        assert got.futility_z[:-1] == pytest.approx(_as_list(ref["futility_z"]), abs=Z_ATOL)
        assert got.cumulative_beta_spent == pytest.approx(
            _as_list(ref["cumulative_beta_spent"]), abs=1e-8
        )
