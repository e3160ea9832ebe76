"""The cuda backend on a real CUDA device (skipped without one, as in CI).

Run on a machine with an NVIDIA GPU and numba's CUDA toolkit (e.g.
``pip install 'numba-cuda[cu12]'``)::

    .venv/bin/pytest tests/simulate/test_cuda_device.py -q

Expected values: the compiled CPU kernel (the same source) on the same draws (copied to
the device), and a CPU run of the same scenario and seed (the device draws the CPU's
streams: the same trials, the statistics equal to rounding).
"""

from __future__ import annotations

import numpy as np
import pytest

from trialkit.protocol import Protocol
from trialkit.simulate.backends.numba import kernel_statistics
from trialkit.simulate.engine import LOGICAL_BATCH, simulate
from trialkit.simulate.generate import draw
from trialkit.simulate.looks import tally_statistics
from trialkit.simulate.results import Tally
from trialkit.simulate.scenario import scenario_from_protocol


def _device() -> None:
    from numba import config

    if config.ENABLE_CUDASIM:
        pytest.skip("the CUDA simulator is on: these checks are for a real device")
    from trialkit.errors import DesignInputError
    from trialkit.simulate.backends.cuda import require_cuda

    try:
        require_cuda()
    except DesignInputError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"dropout_rate": 0.3, "information_rates": [0.5, 0.75, 1]},
     {"allocation": "simple", "entry": "fixed"},
     {"hazards_control": [0.088, 0.088], "hazards_treatment": [0.088, 0.05], "pfs_breaks": [3]},
     {"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1},
     {"dropout_rate": 0.2, "ties": "breslow"}],
)  # fmt: skip
def test_device_kernel_equals_the_cpu_kernel_on_the_same_draws(
    sor: Protocol, overrides: dict
) -> None:
    _device()
    from trialkit.simulate.backends.cuda import cuda_statistics

    scenario = scenario_from_protocol(sor, **overrides)
    raw = draw(scenario, np.random.default_rng(3), 2000)
    got = cuda_statistics(scenario, 2000, raw=raw).arrays()
    want = kernel_statistics(scenario, raw).arrays()
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[:1] + got[2:], want[:1] + want[2:], strict=True):
        np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)


def test_device_run_is_the_cpu_run(sor: Protocol) -> None:
    _device()
    scenario = scenario_from_protocol(sor, dropout_rate=0.1)
    trials = 20 * LOGICAL_BATCH + 11
    first = simulate(scenario, trials, 5, backend="cuda")
    again = simulate(scenario, trials, 5, backend="cuda", chunk_batches=3)
    assert first.to_dict() | {"elapsed_seconds": 0} == again.to_dict() | {"elapsed_seconds": 0}
    cpu = simulate(scenario, trials, 5)  # the same trials: a decision flips only at a bound
    assert abs(first.reject_rate - cpu.reject_rate) <= 1 / trials
    assert abs(first.logrank_reject_rate - cpu.logrank_reject_rate) <= 1 / trials
    assert first.mean_analysis_time == pytest.approx(cpu.mean_analysis_time, rel=1e-12)


def test_host_draws_on_the_device_give_the_cpu_result(sor: Protocol) -> None:
    _device()
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1], dropout_rate=0.1)
    trials = 2 * LOGICAL_BATCH + 5
    got = simulate(scenario, trials, 3, backend="cuda", host_draws=True)
    want = simulate(scenario, trials, 3)
    assert abs(got.reject_rate - want.reject_rate) <= 1 / trials
    assert abs(got.logrank_reject_rate - want.logrank_reject_rate) <= 1 / trials
    assert got.mean_analysis_time == pytest.approx(want.mean_analysis_time, rel=1e-12)


@pytest.mark.parametrize(
    "overrides",
    [{"information_rates": [0.5, 1], "dropout_rate": 0.1},
     {"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1}],  # no-HR trials
)  # fmt: skip
def test_device_tally_equals_the_host_tally_on_the_device(sor: Protocol, overrides: dict) -> None:
    # the real device's shared memory, barriers and atomics (the simulator runs threads in turn)
    _device()
    from trialkit.simulate.backends.cuda import cuda_batches, cuda_tally

    scenario = scenario_from_protocol(sor, **overrides)
    looks = len(scenario.look_events)
    batches = [(3, LOGICAL_BATCH), (0, LOGICAL_BATCH), (7, 1000)]
    want = Tally(looks=looks)
    for (index, _), stats in zip(batches, cuda_batches(scenario, 5, batches), strict=True):
        tally_statistics(scenario, index, stats, want)
    got = cuda_tally(scenario, 5, batches)
    apart = Tally(looks=looks)
    for batch in batches:
        apart.add(cuda_tally(scenario, 5, [batch]))
    for tally in (got, apart, cuda_tally(scenario, 5, batches)):
        for key in ("trials", "decision", "logrank", "hr_missing"):
            assert getattr(tally, key) == getattr(want, key), key
        for key in ("stopped", "reached", "time_hist", "hr_hist"):
            np.testing.assert_array_equal(getattr(tally, key), getattr(want, key))
        assert sorted(tally.sums) == sorted(want.sums)
        for index, sums in want.sums.items():
            np.testing.assert_allclose(tally.sums[index], sums, rtol=1e-12, atol=0)
        assert tally.sums == got.sums  # exactly: per batch, whatever shares the launch
