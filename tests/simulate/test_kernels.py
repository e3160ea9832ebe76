"""Batched kernels against the single-trial analysis module (itself checked against R survival).

Expected values come from :func:`trialkit.analysis.logrank_kernel` and
:func:`trialkit.analysis.coxph` run trial by trial on the same data; the batched kernels
must reproduce them to rounding, with continuous times and with times rounded to days
(many ties, handled exactly: risk sets per tie group, Efron's correction).
"""

from __future__ import annotations

import numpy as np
import pytest

from trialkit.analysis import coxph, logrank_kernel
from trialkit.protocol import Protocol
from trialkit.simulate.backends.numba import kernel_statistics
from trialkit.simulate.generate import (
    RawDraws,
    draw,
    generate_batch,
    invert_piecewise_linear,
    to_batch,
)
from trialkit.simulate.kernels import analysis_cut, observed_at, two_arm_statistics
from trialkit.simulate.scenario import scenario_from_protocol

DAY = 1 / 30.4375  # months


def _reference(time: np.ndarray, event: np.ndarray, treated: np.ndarray, ties: str) -> list:
    out = []
    for i in range(time.shape[0]):
        keep = time[i] >= 0
        lr = logrank_kernel(time[i][keep], event[i][keep], treated[i][keep])
        fit = coxph(time[i][keep], event[i][keep], treated[i][keep].astype(float), ties=ties)  # type: ignore[arg-type]
        out.append((lr.observed, lr.expected, lr.variance, float(fit.coef[0])))
    return out


@pytest.mark.parametrize("rounding", [None, DAY, 7 * DAY])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_kernel_matches_analysis_module(sor: Protocol, rounding: float | None, ties: str) -> None:
    scenario = scenario_from_protocol(sor, dropout_rate=0.2, n=80, events=50)
    batch = generate_batch(scenario, np.random.default_rng(11), 40)
    cut = analysis_cut(batch, scenario.look_events)
    time, event = observed_at(batch, cut.time[:, -1])
    if rounding is not None:  # data as dates: follow-up in whole days (or weeks)
        time = np.where(time < 0, time, np.maximum(np.round(time / rounding), 1) * rounding)
    got = two_arm_statistics(time, event, batch.treated, ties=ties)  # type: ignore[arg-type]
    want = np.array(_reference(time, event, batch.treated, ties))
    np.testing.assert_allclose(got.observed, want[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.expected, want[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.variance, want[:, 2], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.log_hr, want[:, 3], rtol=0, atol=1e-8)


def test_analysis_cut_is_the_dth_event(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1])
    batch = generate_batch(scenario, np.random.default_rng(2), 30)
    cut = analysis_cut(batch, scenario.look_events)
    calendar = np.sort(batch.entry + batch.pfs, axis=1)  # no dropout: every PFS is an event
    np.testing.assert_array_equal(cut.time[:, 0], calendar[:, 59])
    np.testing.assert_array_equal(cut.time[:, 1], calendar[:, 119])
    for k, d in enumerate(scenario.look_events):
        _, event = observed_at(batch, cut.time[:, k])
        np.testing.assert_array_equal(event.sum(axis=1), d)


def test_too_few_events_analyses_at_the_last_event(sor: Protocol) -> None:
    # 90% dropout within a month: 20 patients rarely give 20 events
    scenario = scenario_from_protocol(sor, n=20, events=20, dropout_rate=0.9, dropout_time=1)
    batch = generate_batch(scenario, np.random.default_rng(5), 50)
    cut = analysis_cut(batch, scenario.look_events)
    events = batch.pfs <= batch.dropout
    assert (events.sum(axis=1) < 20).all()
    np.testing.assert_array_equal(cut.events[:, 0], events.sum(axis=1))
    last = np.where(events, batch.entry + batch.pfs, -np.inf).max(axis=1)
    # no event at all: the analysis waits for the last follow-up to end
    ends = (batch.entry + np.minimum(batch.pfs, batch.dropout)).max(axis=1)
    last = np.where(np.isfinite(last), last, ends)
    np.testing.assert_array_equal(cut.time[:, 0], last)


@pytest.mark.parametrize(
    "overrides",
    [
        {"dropout_rate": 0.3, "information_rates": [0.5, 0.75, 1]},
        {"allocation": "simple", "entry": "fixed"},
        # few events, heavy dropout: monotone likelihoods (HR 0 or infinity) and no-HR trials
        {"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1},
        {"hazards_control": [0.1, 0.05], "pfs_breaks": [6], "hr": 0.7,
         "accrual_rates": [5, 20], "accrual_breaks": [4]},
        # coarse draws (below): tied times within and across arms, both tie methods
        {"ties": "efron", "dropout_rate": 0.2},
        {"ties": "breslow", "dropout_rate": 0.2},
        {"ties": "breslow", "information_rates": [0.5, 1]},
    ],
)  # fmt: skip
def test_compiled_kernel_equals_the_numpy_reference(sor: Protocol, overrides: dict) -> None:
    scenario = scenario_from_protocol(sor, **overrides)
    raw = draw(scenario, np.random.default_rng(3), 200)
    if "ties" in overrides:  # PFS in whole weeks of the unit exponential: many ties
        raw = RawDraws(raw.spacings, raw.allocation, np.ceil(raw.pfs * 52) / 52, raw.dropout)
    got = kernel_statistics(scenario, raw)
    time, events, o, e, v, log_hr = got.arrays()
    batch = to_batch(scenario, raw)
    cut = analysis_cut(batch, scenario.look_events)
    np.testing.assert_array_equal(time, cut.time)  # same arithmetic: bit-identical
    np.testing.assert_array_equal(events, cut.events)
    for k in range(time.shape[1]):
        follow, event = observed_at(batch, cut.time[:, k])
        st = two_arm_statistics(follow, event, batch.treated, ties=scenario.ties)
        np.testing.assert_allclose(o[:, k], st.observed, rtol=0, atol=1e-12)
        np.testing.assert_allclose(e[:, k], st.expected, rtol=0, atol=1e-10)
        np.testing.assert_allclose(v[:, k], st.variance, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(np.isinf(log_hr[:, k]), np.isinf(st.log_hr))
        np.testing.assert_allclose(log_hr[:, k], st.log_hr, rtol=0, atol=1e-10)


def test_piecewise_inversion() -> None:
    # F(t) = 0.1 t on [0, 6), 0.6 + 0.05 (t - 6) after: F(6) = 0.6, F(10) = 0.8
    starts = np.array([0.0, 6.0])
    slopes = np.array([0.1, 0.05])
    got = invert_piecewise_linear(np.array([0.0, 0.3, 0.6, 0.8]), starts, slopes)
    np.testing.assert_allclose(got, [0.0, 3.0, 6.0, 10.0], rtol=1e-15)


def test_blocks_balance_arms_and_simple_does_not(sor: Protocol) -> None:
    blocks = generate_batch(scenario_from_protocol(sor), np.random.default_rng(1), 100)
    assert (blocks.treated.sum(axis=1) == 110).all()  # 55 blocks of 4, two on each arm
    # within each block of 4 patients, exactly 2 on treatment
    assert (blocks.treated.reshape(100, 55, 4).sum(axis=2) == 2).all()
    simple = generate_batch(
        scenario_from_protocol(sor, allocation="simple"), np.random.default_rng(1), 100
    )
    assert len(set(simple.treated.sum(axis=1).tolist())) > 5


def test_each_arm_has_its_own_piecewise_hazards(sor: Protocol) -> None:
    scenario = scenario_from_protocol(
        sor, hazards_control=[0.1, 0.05], hazards_treatment=[0.2, 0.02], pfs_breaks=[6]
    )
    batch = generate_batch(scenario, np.random.default_rng(8), 100)
    for treated, h in ((True, 0.2), (False, 0.1)):
        pfs = batch.pfs[batch.treated == treated]  # 11,000 patients per arm
        early = float((pfs < 6).mean())
        want = 1 - np.exp(-6 * h)  # P(PFS < 6) on the first piece
        assert abs(early - want) < 4 * np.sqrt(want * (1 - want) / pfs.size)
        late = pfs[pfs >= 6] - 6  # memoryless after the break: exponential, second piece
        h2 = 0.02 if treated else 0.05
        assert abs(late.mean() - 1 / h2) < 4 / h2 / np.sqrt(late.size)


def test_random_entry_is_sorted_within_accrual(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor, accrual_time=12.0)
    batch = generate_batch(scenario, np.random.default_rng(4), 100)
    assert (np.diff(batch.entry, axis=1) > 0).all()
    assert (batch.entry > 0).all()
    assert (batch.entry < 12.0).all()
    fixed = generate_batch(
        scenario_from_protocol(sor, accrual_time=11.0, entry="fixed"), np.random.default_rng(4), 1
    )
    # rpact's grid: patient i enters at i * 11 / 220 months
    np.testing.assert_allclose(fixed.entry[0], np.arange(1, 221) * 11.0 / 220, rtol=1e-15)


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).exponential(size=220),
        np.r_[np.full(100, 3.0), np.full(120, 7.5)],  # ties across the looks
        np.r_[np.random.default_rng(2).random(200) * 1e-9, 1e9 * np.ones(20)],  # one bucket
        np.r_[np.random.default_rng(3).random(150), np.full(70, np.inf)],  # dropouts
        np.full(220, np.inf),  # no event at all
        np.zeros(220),
    ],
)
def test_bucket_selection_is_exact(values: np.ndarray) -> None:
    from numba import njit

    from trialkit.simulate.trial import _bucket_select

    n = values.size
    looks = np.array([1, 60, 120, 151, 220], dtype=np.int64)
    out = np.empty(looks.size)
    finite = values[np.isfinite(values)]  # the kernel counts them as it makes the times
    hi = float(finite.max()) if finite.size else 0.0
    njit(_bucket_select)(
        values.copy(),
        finite.size,
        hi,
        looks,
        np.zeros(n + 1, np.int64),
        np.zeros(n, np.int64),
        np.empty(n),
        out,
    )
    np.testing.assert_array_equal(out, np.sort(values)[looks - 1])
