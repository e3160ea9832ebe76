"""The design's scipy-free root finder and normal distribution give SciPy's values to the bit.

``trialkit.design.roots.brentq`` and ``trialkit.design.normal`` exist so that a start-up
(``trialkit simulate``) need not import ``scipy.optimize`` and ``scipy.stats``; the rule is
that no result changes: the same floats as SciPy, not merely close ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from trialkit.design import accrual, boundaries, events, normal
from trialkit.design.accrual import SurvivalModel
from trialkit.design.boundaries import group_sequential_design
from trialkit.design.roots import brentq
from trialkit.protocol import load_protocol
from trialkit.simulate.scenario import scenario_from_protocol

FUNCTIONS: list[tuple[Callable[[float], float], float, float]] = [
    (lambda x: x**2 - 2.0, 0.0, 2.0),
    (lambda x: math.cos(x) - x, 0.0, 1.0),
    (lambda x: math.exp(x) - 10.0, -3.0, 7.0),
    (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),
    (lambda x: math.atan(x - 0.3) * 1e-8, -40.0, 40.0),
    (lambda x: x**3 - 0.343, -1.0, 3.0),
    (lambda x: math.tanh(50 * (x - 0.123456789)), -10.0, 10.0),
    (lambda x: math.log(x) + 3.2, 1e-9, 1.0),
    (lambda x: x, -1.0, 0.0),
]


@pytest.mark.parametrize("k", range(len(FUNCTIONS)))
@pytest.mark.parametrize(
    ("xtol", "rtol"), [(2e-12, 4 * np.finfo(float).eps), (1e-12, 1e-14), (1e-6, 1e-10)]
)
def test_brentq_returns_scipys_root_to_the_bit(k: int, xtol: float, rtol: float) -> None:
    f, a, b = FUNCTIONS[k]
    ours = brentq(f, a, b, xtol=xtol, rtol=rtol)
    theirs = scipy.optimize.brentq(f, a, b, xtol=xtol, rtol=rtol)
    assert ours == theirs
    assert brentq(f, b, a, xtol=xtol, rtol=rtol) == scipy.optimize.brentq(
        f, b, a, xtol=xtol, rtol=rtol
    )


def test_brentq_refuses_what_scipy_refuses() -> None:
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        brentq(lambda x: math.nan, -1.0, 1.0)
    with pytest.raises(ValueError, match="xtol"):
        brentq(lambda x: x, -1.0, 1.0, xtol=0.0)
    with pytest.raises(ValueError, match="rtol"):
        brentq(lambda x: x, -1.0, 1.0, rtol=1e-17)
    with pytest.raises(RuntimeError, match="converge"):
        brentq(lambda x: x - 0.3, -1.0, 1.0, maxiter=2)


def test_normal_is_scipy_stats_norm_to_the_bit() -> None:
    rng = np.random.default_rng(19)
    x = np.concatenate(
        [
            rng.normal(0.0, 3.0, 20_000),
            rng.uniform(-40.0, 40.0, 5_000),
            np.array([0.0, -0.0, 1e-300, 38.5, -38.5, 8.3, -8.3, np.inf, -np.inf, np.nan]),
        ]
    )
    q = np.concatenate([rng.uniform(0.0, 1.0, 20_000), 10.0 ** -rng.uniform(0, 300, 5_000)])
    q = np.concatenate([q, [0.0, 1.0, 0.5, 0.025, 0.975, np.nan]])
    norm = scipy.stats.norm
    np.testing.assert_array_equal(normal.cdf(x), norm.cdf(x))
    np.testing.assert_array_equal(normal.sf(x), norm.sf(x))
    np.testing.assert_array_equal(normal.pdf(x), norm.pdf(x))
    np.testing.assert_array_equal(normal.ppf(q), norm.ppf(q))
    np.testing.assert_array_equal(normal.isf(q), norm.isf(q))
    for v in (-2.5, 0.3, 7.0):
        assert normal.cdf(v) == norm.cdf(v)
        assert normal.sf(v) == norm.sf(v)
    for p in (0.025, 0.2, 0.8, 1e-10):
        assert normal.ppf(p) == norm.ppf(p)
        assert normal.isf(p) == norm.isf(p)


@pytest.fixture
def with_scipy(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Swap SciPy's brentq and norm back into the design modules (the code before)."""

    def swap() -> None:
        for module in (accrual, boundaries, events):
            if hasattr(module, "brentq"):
                monkeypatch.setattr(module, "brentq", scipy.optimize.brentq)
            if hasattr(module, "normal"):
                monkeypatch.setattr(module, "normal", scipy.stats.norm)

    return swap


@pytest.mark.parametrize(
    ("alpha", "rates", "spending", "beta_spending"),
    [
        (0.025, (1.0,), "obrien-fleming", None),
        (0.05, (1.0,), "pocock", None),
        (0.025, (0.5, 0.75, 1.0), "obrien-fleming", None),
        (0.025, (0.3, 0.6, 1.0), "pocock", "obrien-fleming"),
        (0.01, (0.5, 1.0), "obrien-fleming", "pocock"),
    ],
)
def test_design_values_are_those_computed_with_scipy(
    with_scipy: Callable[[], None],
    alpha: float,
    rates: tuple[float, ...],
    spending: boundaries.SpendingFunction,
    beta_spending: boundaries.SpendingFunction | None,
) -> None:
    def compute() -> tuple[object, ...]:
        gsd = group_sequential_design(
            alpha=alpha,
            information_rates=rates,
            spending_function=spending,
            beta_spending=beta_spending,
        )
        model = SurvivalModel.from_medians(7.9, 12.2, dropout=0.01)
        return (
            gsd,
            model.accrual_time_for_events(120, n=220, follow_up_time=6.0),
            model.time_of_events(100, n=220, accrual_time=15.0),
            events.events_for_power(hr=0.65, alpha=alpha, power=0.8),
            events.critical_hr(alpha=alpha, events=120),
            events.probability_hr_below(0.82, hr=0.65, events=120),
        )

    ours = compute()
    with_scipy()
    assert compute() == ours


def test_the_simulated_scenario_is_the_one_computed_with_scipy(
    with_scipy: Callable[[], None],
) -> None:
    protocol = load_protocol("sor")
    looks = (None, [0.5, 1.0])
    ours = [scenario_from_protocol(protocol, information_rates=r) for r in looks]
    with_scipy()
    assert [scenario_from_protocol(protocol, information_rates=r) for r in looks] == ours
