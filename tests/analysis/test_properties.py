"""Invariants that hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trialkit.analysis import coxph_two_groups, kaplan_meier, logrank_test


@st.composite
def survival_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=4, max_value=40))
    # Integer-valued times on a small grid so that ties are common.
    time = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), float)
    event = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), float)
    group = np.array(draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n)))
    return time, event, group


@settings(max_examples=60, deadline=None)
@given(survival_data(), st.sampled_from(["log-log", "log", "plain"]))
def test_km_curve_is_a_survival_function(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], conf_type: str
) -> None:
    time, event, _ = data
    km = kaplan_meier(time, event, conf_type=conf_type)  # type: ignore[arg-type]
    s = km.survival
    assert np.isfinite(s).all()
    assert ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s) <= 0).all()
    band = ~np.isnan(km.lower) & ~np.isnan(km.upper)
    assert (km.lower[band] <= s[band] + 1e-12).all()
    assert (km.upper[band] >= s[band] - 1e-12).all()
    assert km.n_risk[0] == time.size


@settings(max_examples=60, deadline=None)
@given(survival_data())
def test_logrank_chisq_is_non_negative_and_symmetric(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    time, event, group = data
    assume(len(set(group.tolist())) == 2)
    both = [(event[group == g] == 1).any() for g in ("a", "b")]
    assume(any(both))
    try:
        a = logrank_test(time, event, group, "a")
    except Exception:  # zero variance: no event time with both arms at risk
        assume(False)
        raise
    b = logrank_test(time, event, group, "b")
    assert a.chisq >= 0
    assert np.isclose(a.chisq, b.chisq)


@settings(max_examples=60, deadline=None)
@given(survival_data(), st.sampled_from(["efron", "breslow"]))
def test_swapping_reference_negates_cox_coefficient(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], ties: str
) -> None:
    time, event, group = data
    assume(len(set(group.tolist())) == 2)
    # Each arm needs an event, and some event must have both arms at risk, for a finite HR.
    assume(all((event[group == g] == 1).any() for g in ("a", "b")))
    a = coxph_two_groups(time, event, group, "a", ties=ties)  # type: ignore[arg-type]
    assume(a.converged and not a.monotone)
    b = coxph_two_groups(time, event, group, "b", ties=ties)  # type: ignore[arg-type]
    np.testing.assert_allclose(b.coef, -a.coef, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-6)
    np.testing.assert_allclose(b.score.statistic, a.score.statistic, rtol=1e-6, atol=1e-12)
