"""The array-namespace kernel and the GPU runner, run with ``xp = numpy`` (no GPU needed).

Expected values: the fused CPU kernel and the numpy reference kernels on the same
draws (both checked against :mod:`trialkit.analysis`, itself checked against R
survival), and :func:`trialkit.analysis.logrank_kernel` / :func:`trialkit.analysis.coxph`
directly on tied data.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.analysis import coxph, logrank_kernel
from trialkit.errors import DesignInputError
from trialkit.protocol import Protocol
from trialkit.simulate.arrays import array_batch, array_statistics, row_statistics
from trialkit.simulate.engine import (
    LOGICAL_BATCH,
    batch_statistics,
    simulate,
    tally_batch,
    trial_data,
)
from trialkit.simulate.fused import fused_statistics
from trialkit.simulate.generate import draw, generate_batch, to_batch
from trialkit.simulate.gpu import (
    array_tally,
    chunk_batches_for_memory,
    device_trial_batch,
    load_cupy,
    simulate_on_device,
)
from trialkit.simulate.kernels import analysis_cut, observed_at, two_arm_statistics
from trialkit.simulate.results import SimulationResult, Tally
from trialkit.simulate.scenario import scenario_from_protocol

DAY = 1 / 30.4375
TRIALS = 2 * LOGICAL_BATCH + 123  # three logical batches, the last one short

SCENARIOS = [
    {},
    {"dropout_rate": 0.3, "information_rates": [0.5, 0.75, 1]},
    {"allocation": "simple", "entry": "fixed"},
    # few events, heavy dropout: monotone likelihoods (HR 0 or infinity) and no-HR trials
    {"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1},
    {"hazards_control": [0.1, 0.05], "pfs_breaks": [6], "hr": 0.7,
     "accrual_rates": [5, 20], "accrual_breaks": [4]},
    {"hazards_control": [0.1, 0.05], "hazards_treatment": [0.1, 0.03], "pfs_breaks": [4]},
]  # fmt: skip


def _same(a: SimulationResult, b: SimulationResult) -> None:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("elapsed_seconds")
        d.pop("backend")
    assert da == db


def _own_stream(xp: ModuleType, seed: int, index: int) -> Any:
    """A stream other than the CPU's, keyed like the GPU's (numpy's Philox4x64)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(index,))
    return np.random.Generator(np.random.Philox(sequence))


@pytest.mark.parametrize("overrides", SCENARIOS)
def test_array_batch_is_to_batch_bit_for_bit(sor: Protocol, overrides: dict) -> None:
    scenario = scenario_from_protocol(sor, **overrides)
    raw = draw(scenario, np.random.default_rng(7), 50)
    want = to_batch(scenario, raw)
    entry, pfs, dropout, treated = array_batch(scenario, raw, np)
    np.testing.assert_array_equal(entry, want.entry)
    np.testing.assert_array_equal(pfs, want.pfs)
    np.testing.assert_array_equal(dropout, want.dropout)
    np.testing.assert_array_equal(treated, want.treated)


@pytest.mark.parametrize("overrides", SCENARIOS)
def test_array_kernel_equals_the_fused_kernel(sor: Protocol, overrides: dict) -> None:
    scenario = scenario_from_protocol(sor, **overrides)
    raw = draw(scenario, np.random.default_rng(3), 300)
    want = fused_statistics(scenario, raw)
    got = array_statistics(scenario, array_batch(scenario, raw, np), np)
    np.testing.assert_array_equal(got[0], want[0])  # analysis times: same arithmetic
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[2:], want[2:], strict=True):
        np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)
    if overrides.get("n") == 10:  # the edge cases this scenario is here for do occur
        assert np.isinf(got[5]).any()


@pytest.mark.parametrize("rounding", [DAY, 7 * DAY])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_ties_match_the_analysis_module(sor: Protocol, rounding: float, ties: str) -> None:
    scenario = scenario_from_protocol(sor, dropout_rate=0.2, n=80, events=50)
    batch = generate_batch(scenario, np.random.default_rng(11), 30)
    cut = analysis_cut(batch, scenario.look_events)
    time, event = observed_at(batch, cut.time[:, -1])
    time = np.where(time < 0, time, np.maximum(np.round(time / rounding), 1) * rounding)
    o, e, v, log_hr = row_statistics(np, time, event, batch.treated, efron=ties == "efron")
    for i in range(time.shape[0]):
        keep = time[i] >= 0
        lr = logrank_kernel(time[i][keep], event[i][keep], batch.treated[i][keep])
        fit = coxph(
            time[i][keep],
            event[i][keep],
            batch.treated[i][keep].astype(float),
            ties=ties,  # type: ignore[arg-type]
        )
        assert o[i] == pytest.approx(lr.observed, abs=1e-9)
        assert e[i] == pytest.approx(lr.expected, abs=1e-9)
        assert v[i] == pytest.approx(lr.variance, abs=1e-9)
        assert log_hr[i] == pytest.approx(float(fit.coef[0]), abs=1e-8)


def test_numpy_run_of_the_gpu_runner_is_the_cpu_run(sor: Protocol) -> None:
    # with numpy the batch generators are the CPU's: the same trials, the same result
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1], dropout_rate=0.1)
    got = simulate_on_device(scenario, TRIALS, 9, xp=np, chunk_batches=2)
    assert got.backend == "array"
    _same(got, simulate(scenario, TRIALS, 9))


def test_array_tally_is_the_host_tally_bit_for_bit(sor: Protocol) -> None:
    # crafted outputs: crossings at every look, no variance, NaN / infinite HRs, bins at
    # and beyond both ends of the histograms; batches of uneven sizes in one chunk
    scenario = scenario_from_protocol(sor, information_rates=[0.4, 0.7, 1])
    rng = np.random.default_rng(2)
    indices, sizes = [5, 2, 9, 0], [300, 128, 5, 1]
    rows = sum(sizes)
    times = rng.uniform(0, 60, (rows, 3))
    times[:7, 2] = [0.0, 999.9995, 1000.0, 2500.0, 1e-3, 0.0005, 59.9999]
    events = rng.integers(0, 200, (rows, 3))
    o, e, v = (
        rng.uniform(0, 60, (rows, 3)),
        rng.uniform(0, 60, (rows, 3)),
        rng.uniform(0, 30, (rows, 3)),
    )
    v[rng.random((rows, 3)) < 0.1] = 0.0
    v[:7] = 0.0  # no crossing: the rows below stop at the last look
    beta = rng.normal(-0.3, 0.6, (rows, 3))
    pick = rng.random((rows, 3))
    beta[pick < 0.05] = np.nan
    beta[(pick > 0.05) & (pick < 0.08)] = np.inf
    beta[(pick > 0.08) & (pick < 0.11)] = -np.inf
    beta[:4, 2] = [8.0, -8.0, 7.99995, np.log(scenario.decision_hr)]
    stats = (times, events, o, e, v, beta)
    got = array_tally(scenario, indices, sizes, stats, np)
    want, start = Tally(looks=3), 0
    for index, size in zip(indices, sizes, strict=True):
        tally_batch(scenario, index, tuple(s[start : start + size] for s in stats), want)  # type: ignore[arg-type]
        start += size
    for key in ("trials", "decision", "logrank", "hr_missing", "sums"):
        assert getattr(got, key) == getattr(want, key), key
    for key in ("stopped", "reached", "time_hist", "hr_hist"):
        np.testing.assert_array_equal(getattr(got, key), getattr(want, key))
    assert 0 < got.logrank < rows  # the branches were taken
    assert 0 < got.hr_missing < rows
    assert got.time_hist[-1] >= 3  # 999.9995, 1000 and 2500 months: the last bin
    assert got.hr_hist[0] >= 2  # log HR -8 and -inf
    assert got.hr_hist[-1] >= 3  # 8, 7.99995 and +inf


def test_own_stream_is_independent_of_the_chunk_size(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor)
    one = simulate_on_device(scenario, TRIALS, 4, xp=np, chunk_batches=1, generator=_own_stream)
    three = simulate_on_device(scenario, TRIALS, 4, xp=np, chunk_batches=3, generator=_own_stream)
    _same(one, three)
    cpu = simulate(scenario, TRIALS, 4)
    assert one.mean_analysis_time != cpu.mean_analysis_time  # really another stream


def test_host_draws_give_the_cpu_trials(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1])
    got = simulate_on_device(
        scenario, TRIALS, 2, xp=np, chunk_batches=2, generator=_own_stream, on_host=True
    )
    _same(got, simulate(scenario, TRIALS, 2))


def test_own_stream_agrees_with_the_cpu_within_mc_error(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, dropout_rate=0.1)
    own = simulate_on_device(scenario, 3 * LOGICAL_BATCH, 21, xp=np, generator=_own_stream)
    cpu = simulate(scenario, 3 * LOGICAL_BATCH, 21)
    for key in ("reject_rate", "logrank_reject_rate", "mean_analysis_time"):
        se = np.hypot(own.mc_standard_error[key], cpu.mc_standard_error[key])
        assert abs(getattr(own, key) - getattr(cpu, key)) < 3 * se, key


def test_device_trial_batch_is_the_simulated_batch(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, dropout_rate=0.2)
    batch, stats = device_trial_batch(scenario, 4, 1, 500, xp=np)
    one, tau, events = trial_data(scenario, LOGICAL_BATCH + 500, 4, LOGICAL_BATCH + 17)
    np.testing.assert_array_equal(batch.entry[17], one.entry[0])
    np.testing.assert_array_equal(batch.pfs[17], one.pfs[0])
    assert stats[0][17, -1] == tau
    assert stats[1][17, -1] == events
    want = batch_statistics(scenario, 4, 1, 500)
    np.testing.assert_allclose(stats[5], want[5], rtol=0, atol=1e-10)


def test_chunk_size_follows_free_memory() -> None:
    per_batch = LOGICAL_BATCH * 222 * 384  # bytes of one logical batch of SOR (n = 220)
    assert chunk_batches_for_memory(0, 220) == 1
    assert chunk_batches_for_memory(2 * 10 * per_batch, 220) == 10  # half of free memory
    assert chunk_batches_for_memory(2**40, 220) == 256  # capped: about a million trials


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_gpu_backend_without_cupy_says_how_to_install(sor: Protocol) -> None:
    with pytest.raises(DesignInputError, match=r"pip install 'trialkit\[gpu\]'"):
        load_cupy()
    with pytest.raises(DesignInputError, match="CUDA device"):
        simulate(scenario_from_protocol(sor), 100, 1, backend="gpu")
    assert "cupy" not in sys.modules


def test_batch_statistics_of_the_gpu_backend_use_its_runner(
    sor: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trialkit.simulate.gpu as gpu

    monkeypatch.setattr(gpu, "load_cupy", lambda: np)  # numpy standing in for CuPy
    scenario = scenario_from_protocol(sor, dropout_rate=0.1)
    got = batch_statistics(scenario, 6, 2, 300, "gpu")
    want = batch_statistics(scenario, 6, 2, 300, "numba")
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[5], want[5], rtol=0, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(-1, 6), st.booleans(), st.booleans()), min_size=2, max_size=25
    ),
    efron=st.booleans(),
)
def test_row_statistics_equal_the_reference_on_any_ties(
    data: list[tuple[int, bool, bool]], efron: bool
) -> None:
    # whole-number times from a handful of values: ties everywhere; -1: not analysed
    time = np.array([[float(t) if t < 0 else t + 1.0 for t, _, _ in data]])
    event = np.array([[e and t >= 0 for t, e, _ in data]])
    treated = np.array([[x for _, _, x in data]])
    want = two_arm_statistics(time, event, treated, ties="efron" if efron else "breslow")
    got = row_statistics(np, time, event, treated, efron=efron)
    for g, w in zip(got, (want.observed, want.expected, want.variance, want.log_hr), strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)
