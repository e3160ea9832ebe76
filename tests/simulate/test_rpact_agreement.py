"""trialkit's simulation agrees with rpact's getSimulationSurvival within Monte Carlo error.

Reference values: ``reference/rpact_simulation.json``, produced by
``reference/rpact_simulation.R`` (rpact 3.3.4, 10^5 iterations per scenario). Both
programs estimate the same probabilities independently, so the difference of two
rates has standard error :math:`\\sqrt{p(1-p)(1/n_{rpact} + 1/n_{trialkit})}` (with
the pooled :math:`p`); rates must agree within 3 of these. Mean analysis times must
agree within 0.05 months, and also within 4 combined standard errors
:math:`\\sqrt{s_r^2/n_r + s_t^2/n_t}`, where :math:`s` are the standard deviations of
the analysis time. trialkit runs with ``entry="fixed"`` (rpact's deterministic entry
grid); rpact alternates arms where trialkit uses permuted blocks of 4, which gives the
same arm sizes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trialkit.protocol import Protocol
from trialkit.simulate.backends.registry import get_backend
from trialkit.simulate.engine import LOGICAL_BATCH, simulate
from trialkit.simulate.results import SimulationResult
from trialkit.simulate.scenario import Scenario, scenario_from_protocol

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "rpact_simulation.json").read_text(encoding="utf-8")
)
SCENARIOS: dict[str, dict[str, Any]] = REFERENCE["scenarios"]
ACCRUAL = REFERENCE["info"]["accrual_time"]
TRIALS = 4 * LOGICAL_BATCH * 3  # 49,152 trials per scenario
SEED = 20240601


def _scenario(sor: Protocol, ref: dict[str, Any]) -> Scenario:
    kwargs: dict[str, Any] = {"entry": "fixed", "alpha": ref["alpha"]}
    if "hazards_control" in ref:
        kwargs.update(
            hazards_control=ref["hazards_control"],
            pfs_breaks=[ref["pfs_breaks"]],
            hr=ref["hr"],
            accrual_rates=ref["accrual_rates"],
            accrual_breaks=[ref["accrual_breaks"]],
        )
    else:
        kwargs.update(
            median_control=ref["median_control"],
            median_treatment=ref["median_treatment"],
            accrual_time=ACCRUAL,
        )
    if "dropout_rate" in ref:
        kwargs.update(dropout_rate=ref["dropout_rate"], dropout_time=ref["dropout_time"])
    if "information_rates" in ref:
        kwargs.update(information_rates=ref["information_rates"], spending=ref["spending"])
    return scenario_from_protocol(sor, **kwargs)


def rate_z(ours: float, n_ours: int, theirs: float, n_theirs: int) -> float:
    """Difference of two independent MC rates in units of its standard error."""
    pooled = (ours * n_ours + theirs * n_theirs) / (n_ours + n_theirs)
    se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_ours + 1 / n_theirs))
    return (ours - theirs) / se


def time_z(ours: float, se_ours: float, theirs: float, sd_theirs: float, n_theirs: int) -> float:
    """Difference of two mean analysis times in units of its standard error."""
    return (ours - theirs) / math.sqrt(se_ours**2 + sd_theirs**2 / n_theirs)


@pytest.fixture(scope="module")
def results(sor: Protocol) -> dict[str, SimulationResult]:
    return {name: simulate(_scenario(sor, ref), TRIALS, SEED) for name, ref in SCENARIOS.items()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_rejection_rates_within_three_mc_se(
    name: str, results: dict[str, SimulationResult]
) -> None:
    ref = SCENARIOS[name]
    res = results[name]
    n_ref = ref["iterations"]
    assert abs(rate_z(res.logrank_reject_rate, res.trials, ref["overall_reject"], n_ref)) < 3
    if len(res.looks) > 1:
        assert list(res.scenario["efficacy_z"]) == pytest.approx(ref["critical_z"], abs=1e-6)
        for look, stage in zip(res.looks, ref["stages"], strict=True):
            assert abs(rate_z(look.reject_rate, res.trials, stage["reject"], n_ref)) < 3


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_mean_analysis_time_within_005_months(
    name: str, results: dict[str, SimulationResult]
) -> None:
    ref = SCENARIOS[name]
    res = results[name]
    n_ref = ref["iterations"]
    se = res.mc_standard_error["mean_analysis_time"]
    assert abs(res.mean_analysis_time - ref["mean_analysis_time"]) < 0.05
    assert abs(time_z(res.mean_analysis_time, se, ref["mean_analysis_time"],
                      ref["sd_analysis_time"], n_ref)) < 4  # fmt: skip
    for look, stage in zip(res.looks, ref["stages"], strict=True):
        assert abs(look.mean_analysis_time - stage["mean_analysis_time"]) < 0.05
    if len(res.looks) == 1:
        assert res.mean_events == pytest.approx(ref["mean_events"], abs=1e-3)


@pytest.mark.parametrize("name", ["sor_h0", "sor_h1", "sor_dropout", "piecewise"])
def test_decision_rule_on_logrank_hr_matches_rpact(sor: Protocol, name: str) -> None:
    """rpact's log-rank HR estimate exp(-2 z / sqrt(D)) <= 0.82, computed from our kernels."""
    ref = SCENARIOS[name]
    scenario = _scenario(sor, ref)
    hits = 0
    batches = 6
    for index in range(batches):
        _, events, o, e, v, _ = (
            get_backend("numba").statistics(scenario, SEED, index, LOGICAL_BATCH).arrays()
        )
        z = (e[:, -1] - o[:, -1]) / np.sqrt(v[:, -1])
        hits += int((np.exp(-2 * z / np.sqrt(events[:, -1])) <= 0.82).sum())
    n = batches * LOGICAL_BATCH
    assert abs(rate_z(hits / n, n, ref["decision_lr_reject"], ref["iterations"])) < 3
