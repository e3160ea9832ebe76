"""The GPU backend on a real CUDA device (skipped without CuPy and a device, as in CI).

Run on a machine with an NVIDIA GPU after ``pip install 'trialkit[gpu]'``::

    .venv/bin/pytest tests/simulate/test_gpu_device.py -q

Expected values: the fused CPU kernel on the same draws (copied to the device), and a
CPU run of the same scenario (different random stream: within Monte Carlo error).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from trialkit.protocol import Protocol
from trialkit.simulate.arrays import array_batch, array_statistics, to_host
from trialkit.simulate.engine import LOGICAL_BATCH, simulate
from trialkit.simulate.fused import fused_statistics
from trialkit.simulate.generate import RawDraws, draw
from trialkit.simulate.gpu import simulate_on_device
from trialkit.simulate.scenario import scenario_from_protocol


def _cupy() -> Any:
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy is not installed (pip install 'trialkit[gpu]')")
    import cupy

    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as exc:  # no driver: CuPy raises its own error types
        pytest.skip(f"no usable CUDA device: {exc}")
    return cupy


@pytest.mark.parametrize(
    "overrides",
    [{}, {"dropout_rate": 0.3, "information_rates": [0.5, 0.75, 1]},
     {"allocation": "simple", "entry": "fixed"},
     {"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1}],
)  # fmt: skip
def test_device_kernel_equals_the_fused_kernel_on_the_same_draws(
    sor: Protocol, overrides: dict
) -> None:
    cp = _cupy()
    scenario = scenario_from_protocol(sor, **overrides)
    raw = draw(scenario, np.random.default_rng(3), 2000)
    on_device = RawDraws(
        spacings=None if raw.spacings is None else cp.asarray(raw.spacings),
        allocation=cp.asarray(raw.allocation),
        pfs=cp.asarray(raw.pfs),
        dropout=None if raw.dropout is None else cp.asarray(raw.dropout),
    )
    got = [to_host(a) for a in array_statistics(scenario, array_batch(scenario, on_device, cp), cp)]
    want = fused_statistics(scenario, raw)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=0)  # scan order differs
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[2:], want[2:], strict=True):
        np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)


def test_device_run_agrees_with_the_cpu_and_ignores_the_chunk_size(sor: Protocol) -> None:
    cp = _cupy()
    scenario = scenario_from_protocol(sor, dropout_rate=0.1)
    trials = 20 * LOGICAL_BATCH + 11
    small = simulate_on_device(scenario, trials, 5, xp=cp, chunk_batches=3)
    large = simulate_on_device(scenario, trials, 5, xp=cp)
    assert small.to_dict() | {"elapsed_seconds": 0} == large.to_dict() | {"elapsed_seconds": 0}
    cpu = simulate(scenario, trials, 5)
    for key in ("reject_rate", "logrank_reject_rate", "mean_analysis_time"):
        se = np.hypot(small.mc_standard_error[key], cpu.mc_standard_error[key])
        assert abs(getattr(small, key) - getattr(cpu, key)) < 3 * se, key


def test_host_draws_on_the_device_give_the_cpu_result(sor: Protocol) -> None:
    cp = _cupy()
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1], dropout_rate=0.1)
    trials = 2 * LOGICAL_BATCH + 5
    got = simulate_on_device(scenario, trials, 3, xp=cp, on_host=True)
    want = simulate(scenario, trials, 3)
    # the same trials: decisions differ only for a statistic within rounding of its bound
    assert abs(got.reject_rate - want.reject_rate) <= 1 / trials
    assert abs(got.logrank_reject_rate - want.logrank_reject_rate) <= 1 / trials
    assert got.mean_analysis_time == pytest.approx(want.mean_analysis_time, rel=1e-12)


def test_device_tally_equals_the_host_tally_of_the_same_statistics(sor: Protocol) -> None:
    cp = _cupy()
    from trialkit.simulate.engine import tally_batch
    from trialkit.simulate.gpu import array_tally
    from trialkit.simulate.results import Tally

    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1], dropout_rate=0.1)
    indices, sizes = [4, 1, 6], [LOGICAL_BATCH, LOGICAL_BATCH, 777]
    raws = [
        draw(scenario, np.random.default_rng(i), s) for i, s in zip(indices, sizes, strict=True)
    ]
    on_device = RawDraws(
        spacings=cp.asarray(np.concatenate([r.spacings for r in raws])),
        allocation=cp.asarray(np.concatenate([r.allocation for r in raws])),
        pfs=cp.asarray(np.concatenate([r.pfs for r in raws])),
        dropout=cp.asarray(np.concatenate([r.dropout for r in raws])),
    )
    stats = array_statistics(scenario, array_batch(scenario, on_device, cp), cp)
    got = array_tally(scenario, indices, sizes, stats, cp)
    host = [to_host(a) for a in stats]
    want, start = Tally(looks=2), 0
    for index, size in zip(indices, sizes, strict=True):
        tally_batch(scenario, index, tuple(a[start : start + size] for a in host), want)
        start += size
    for key in ("trials", "decision", "logrank", "hr_missing"):
        assert getattr(got, key) == getattr(want, key), key
    for key in ("stopped", "reached", "time_hist", "hr_hist"):
        np.testing.assert_array_equal(getattr(got, key), getattr(want, key))
    for index, sums in want.sums.items():
        np.testing.assert_allclose(got.sums[index], sums, rtol=1e-12, atol=0)
