"""The per-trial random streams: the kernel's own draws, the host's copy, their distributions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from trialkit.protocol import Protocol
from trialkit.simulate.backends.numba import drawn_statistics, kernel_statistics
from trialkit.simulate.generate import block_patterns
from trialkit.simulate.scenario import scenario_from_protocol
from trialkit.simulate.streams import ZIGGURAT_R, stream_draws, ziggurat_tables

SCENARIOS: dict[str, dict[str, Any]] = {
    "sor": {},
    "fixed entry, simple allocation, dropout": {
        "entry": "fixed", "allocation": "simple", "dropout_rate": 0.2, "n": 90, "events": 60,
    },
    "piecewise hazards and accrual, two looks, Breslow": {
        "hazards_control": [0.1, 0.05], "hazards_treatment": [0.07, 0.04], "pfs_breaks": [6.0],
        "accrual_rates": [5.0, 12.0], "accrual_breaks": [4.0], "information_rates": [0.5, 1],
        "ties": "breslow",
    },
}  # fmt: skip


@pytest.mark.parametrize("case", list(SCENARIOS))
def test_the_kernel_draws_the_host_streams_values(sor: Protocol, case: str) -> None:
    # the kernel's draws in registers and numpy's lane by lane: the same statistics, bit for bit
    scenario = scenario_from_protocol(sor, **SCENARIOS[case])
    own = drawn_statistics(scenario, 11, 3, 600)
    host = kernel_statistics(scenario, stream_draws(scenario, 11, 3, 600))
    for a, b in zip(own.arrays(), host.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_batch_is_the_same_however_many_trials_are_drawn(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor)
    few = stream_draws(scenario, 5, 2, 10)
    many = stream_draws(scenario, 5, 2, 300)
    np.testing.assert_array_equal(few.pfs, many.pfs[:10])
    assert few.spacings is not None
    assert many.spacings is not None
    np.testing.assert_array_equal(few.spacings, many.spacings[:10])


def test_exponentials_are_unit_exponential(sor: Protocol) -> None:
    raw = stream_draws(scenario_from_protocol(sor), 3, 0, 4096)
    assert raw.spacings is not None
    x = np.concatenate([raw.pfs.ravel(), raw.spacings.ravel()])  # 1.8 million draws
    se = 1 / np.sqrt(x.size)  # of the mean; the variance of a unit exponential is 1
    assert abs(x.mean() - 1) < 4 * se
    assert abs(x.var() - 1) < 4 * np.sqrt(8 / x.size)  # var of (X - 1)^2 is 8
    assert stats.kstest(x, "expon").pvalue > 1e-4
    # the ziggurat's tail (layer 0 beyond r) is drawn, as often as exp(-r) says
    beyond = np.count_nonzero(x > ZIGGURAT_R)
    expected = x.size * np.exp(-ZIGGURAT_R)
    assert abs(beyond - expected) < 5 * np.sqrt(expected)
    # each patient's draw independent of the next patient's and of the next trial's
    assert abs(stats.pearsonr(raw.pfs[:, 0], raw.pfs[:, 1]).statistic) < 4 / np.sqrt(4096)
    assert abs(stats.pearsonr(raw.pfs[:-1, 0], raw.pfs[1:, 0]).statistic) < 4 / np.sqrt(4095)


def test_block_arrangements_are_equally_likely(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor)
    raw = stream_draws(scenario, 8, 1, 2000)
    count = block_patterns(*scenario.allocation_ratio).shape[0]
    freq = np.bincount(np.asarray(raw.allocation).ravel(), minlength=count)
    assert freq.size == count
    assert stats.chisquare(freq).pvalue > 1e-4


def test_uniform_allocation_draws_are_uniform(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, allocation="simple")
    u = np.asarray(stream_draws(scenario, 8, 1, 1000).allocation).ravel()
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_ziggurat_tables_are_numpys_to_rounding() -> None:
    # numba ships NumPy's published tables (ziggurat_constants.h) for its own generator
    from numba.np.random import _constants as numpy_tables

    k, w, f = ziggurat_tables()
    np.testing.assert_allclose(k.astype(float), numpy_tables.ke_double.astype(float), rtol=1e-13)
    assert k[1] == numpy_tables.ke_double[1] == 0
    np.testing.assert_allclose(w, numpy_tables.we_double, rtol=1e-13)
    np.testing.assert_allclose(f, numpy_tables.fe_double, rtol=1e-13)
    assert numpy_tables.ziggurat_exp_r == ZIGGURAT_R


def test_a_result_names_the_streams_it_drew(sor: Protocol) -> None:
    from trialkit.simulate.engine import simulate
    from trialkit.simulate.streams import STREAMS

    got = simulate(scenario_from_protocol(sor), 50, 1).to_dict()
    assert got["random_streams"] == STREAMS
    assert "xoroshiro128+" in STREAMS
