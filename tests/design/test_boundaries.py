"""Group-sequential boundaries: invariants (rpact agreement is in test_rpact_agreement.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from trialkit.design import crossing_probabilities, group_sequential_design, spending
from trialkit.errors import DesignInputError


def test_single_analysis_is_the_fixed_design() -> None:
    d = group_sequential_design(alpha=0.025, information_rates=[1.0], power=0.8)
    assert d.z[0] == pytest.approx(float(norm.isf(0.025)), abs=1e-9)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(
    alpha=st.floats(0.005, 0.1),
    bump=st.floats(1.05, 2.0),
    first=st.floats(0.2, 0.6),
    kind=st.sampled_from(["obrien-fleming", "pocock"]),
)
def test_bounds_fall_as_alpha_rises(alpha: float, bump: float, first: float, kind: str) -> None:
    rates = [first, (first + 1) / 2, 1.0]
    low = group_sequential_design(alpha=alpha, information_rates=rates, spending_function=kind)  # type: ignore[arg-type]
    high = group_sequential_design(
        alpha=min(alpha * bump, 0.2),
        information_rates=rates,
        spending_function=kind,  # type: ignore[arg-type]
    )
    assert all(h < lo for h, lo in zip(high.z, low.z, strict=True))


@settings(max_examples=20, deadline=None)
@given(alpha=st.floats(0.005, 0.1), first=st.floats(0.2, 0.6))
def test_bounds_spend_exactly_alpha(alpha: float, first: float) -> None:
    rates = [first, (first + 1) / 2, 1.0]
    d = group_sequential_design(alpha=alpha, information_rates=rates)
    spent = crossing_probabilities(rates, d.z).upper
    assert sum(spent) == pytest.approx(alpha, rel=1e-7)
    assert list(d.z) == sorted(d.z, reverse=True)  # O'Brien-Fleming bounds fall over time


def test_spending_functions_end_at_alpha() -> None:
    import numpy as np

    t = np.array([0.25, 0.5, 1.0])
    for kind in ("obrien-fleming", "pocock"):
        s = spending(kind, 0.025, t)  # type: ignore[arg-type]
        assert s[-1] == pytest.approx(0.025)
        assert np.all(np.diff(s) > 0)


def test_futility_meets_efficacy_at_the_end() -> None:
    d = group_sequential_design(
        alpha=0.025, information_rates=[0.5, 1.0], power=0.9, beta_spending="pocock"
    )
    assert d.futility_z[-1] == d.z[-1]
    assert d.cumulative_beta_spent[-1] == pytest.approx(0.1)


@pytest.mark.parametrize("rates", [[0.5, 0.4, 1.0], [0.0, 1.0], [0.5, 0.9], [], [0.5, 1.0, 1.0]])
def test_bad_information_rates(rates: list[float]) -> None:
    with pytest.raises(DesignInputError):
        group_sequential_design(information_rates=rates)
