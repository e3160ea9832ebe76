"""Event-model likelihoods (MLEs against closed forms and scipy) and conditional samplers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trialkit.errors import InputError
from trialkit.predict import (
    Exponential,
    ExponentialMixture,
    PiecewiseExponential,
    Weibull,
    default_knots,
    fit_event_model,
)


def _censored(
    rng: np.random.Generator, n: int, draw: np.ndarray, follow: float
) -> tuple[np.ndarray, np.ndarray]:
    censor = rng.uniform(1.0, follow, n)
    return np.minimum(draw, censor), draw <= censor


def test_exponential_mle_is_events_over_exposure() -> None:
    time = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    event = np.array([True, False, True, True, False])
    fit = fit_event_model("exponential", time, event)
    assert math.exp(fit.theta[0]) == pytest.approx(3 / 150, rel=1e-14)
    assert fit.cov[0, 0] == pytest.approx(1 / 3)
    assert fit.loglik == pytest.approx(3 * math.log(3 / 150) - 3, rel=1e-14)
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2)
    assert fit.bic == pytest.approx(-2 * fit.loglik + math.log(5))


def test_weibull_uncensored_matches_scipy_fit() -> None:
    rng = np.random.default_rng(11)
    time = stats.weibull_min.rvs(1.6, scale=300.0, size=400, random_state=rng)
    fit = fit_event_model("weibull", time, np.ones(time.size, dtype=bool))
    shape, _, scale = stats.weibull_min.fit(time, floc=0)
    assert math.exp(fit.theta[0]) == pytest.approx(shape, rel=1e-5)
    assert math.exp(fit.theta[1]) == pytest.approx(scale, rel=1e-5)


def test_weibull_censored_matches_scipy_censored_fit_and_own_likelihood() -> None:
    rng = np.random.default_rng(12)
    draw = stats.weibull_min.rvs(0.8, scale=250.0, size=300, random_state=rng)
    time, event = _censored(rng, 300, draw, 500.0)
    fit = fit_event_model("weibull", time, event)
    data = stats.CensoredData(uncensored=time[event], right=time[~event])
    shape, _, scale = stats.weibull_min.fit(data, floc=0)
    assert math.exp(fit.theta[0]) == pytest.approx(shape, rel=1e-4)
    assert math.exp(fit.theta[1]) == pytest.approx(scale, rel=1e-4)
    # the likelihood is the textbook one: log f for events, log S for censored
    theta = np.array([math.log(1.3), math.log(200.0)])
    by_hand = (
        stats.weibull_min.logpdf(time[event], 1.3, scale=200.0).sum()
        + stats.weibull_min.logsf(time[~event], 1.3, scale=200.0).sum()
    )
    assert Weibull.loglik(theta, time, event) == pytest.approx(by_hand, rel=1e-12)
    # and the covariance is the inverse observed information (positive definite)
    assert np.all(np.linalg.eigvalsh(fit.cov) > 0)


def test_piecewise_rates_are_events_over_exposure_per_interval() -> None:
    time = np.array([5.0, 15.0, 25.0, 8.0, 30.0])
    event = np.array([True, True, False, False, True])
    fit = fit_event_model("piecewise", time, event, knots=(0.0, 10.0))
    # exposure in [0, 10]: 5 + 10 + 10 + 8 + 10 = 43 with 1 event; beyond: 5 + 15 + 20 = 40, 2
    assert np.exp(fit.theta) == pytest.approx([1 / 43, 2 / 40], rel=1e-14)
    assert np.diag(fit.cov) == pytest.approx([1.0, 0.5])
    with pytest.raises(InputError, match="no events in the piecewise interval starting at day 40"):
        fit_event_model("piecewise", time, event, knots=(0.0, 10.0, 40.0))


def test_default_knots_split_the_events() -> None:
    rng = np.random.default_rng(3)
    time = rng.exponential(100.0, 60)
    event = np.ones(60, dtype=bool)
    knots = default_knots(time, event)
    assert len(knots) == 3
    assert knots[0] == 0.0
    fit = fit_event_model("piecewise", time, event)
    assert fit.family.knots == knots  # type: ignore[attr-defined]


def test_mixture_likelihood_and_recovery_of_separated_arms() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    rate = np.where(rng.random(n) < 0.5, 1 / 80.0, 1 / 200.0)
    time, event = _censored(rng, n, rng.exponential(1 / rate), 1500.0)
    fam = ExponentialMixture(0.5)
    theta = np.log([1 / 80.0, 1 / 200.0])
    by_hand = np.where(
        event,
        np.log(
            0.5 * np.exp(theta[0]) * np.exp(-np.exp(theta[0]) * time)
            + 0.5 * np.exp(theta[1]) * np.exp(-np.exp(theta[1]) * time)
        ),
        np.log(0.5 * np.exp(-np.exp(theta[0]) * time) + 0.5 * np.exp(-np.exp(theta[1]) * time)),
    ).sum()
    assert fam.loglik(theta, time, event) == pytest.approx(by_hand, rel=1e-12)
    fit = fam.fit(time, event)
    # labels ordered (faster first) and the true rates recovered within sampling error
    assert np.exp(fit.theta) == pytest.approx([1 / 80.0, 1 / 200.0], rel=0.15)
    draws = fit.draw(2000, rng)
    assert np.all(np.abs(draws[:, 0] - draws[:, 1]) <= math.log(3.0) + 1e-12)


def test_mixture_draws_stay_within_the_hazard_ratio_bound_when_unidentified() -> None:
    rng = np.random.default_rng(6)
    time = rng.exponential(200.0, 80)
    event = time < 300.0
    time = np.minimum(time, 300.0)
    fit = ExponentialMixture(0.5).fit(time, event)
    draws = fit.draw(5000, rng)
    assert np.all(np.isfinite(draws))
    assert np.abs(draws[:, 0] - draws[:, 1]).max() <= math.log(3.0) + 1e-12


def test_too_few_events_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="Weibull model needs at least 2 events"):
        fit_event_model("weibull", np.array([1.0, 2.0]), np.array([True, False]))
    with pytest.raises(InputError, match="unknown event model"):
        fit_event_model("gamma", np.array([1.0]), np.array([True]))  # type: ignore[arg-type]


# --- conditional residual sampler: KS test against the analytical conditional law -------

FAMILIES = [
    (Exponential(), np.array([math.log(1 / 250.0)])),
    (Weibull(), np.array([math.log(1.7), math.log(300.0)])),
    (Weibull(), np.array([math.log(0.7), math.log(300.0)])),
    (PiecewiseExponential((0.0, 100.0, 250.0)), np.log([1 / 400.0, 1 / 150.0, 1 / 300.0])),
    (ExponentialMixture(0.5), np.log([1 / 120.0, 1 / 400.0])),
]


@pytest.mark.parametrize(("family", "theta"), FAMILIES, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("u", [0.0, 180.0])
def test_conditional_residual_times_follow_the_conditional_distribution(
    family: object, theta: np.ndarray, u: float
) -> None:
    rng = np.random.default_rng(2024)
    n = 4000
    draws = family.sample_residual(theta[None, :], np.full(n, u), rng)[0]  # type: ignore[attr-defined]
    s_u = family.survival(theta, np.array([u]))[0]  # type: ignore[attr-defined]

    def cdf(r: np.ndarray) -> np.ndarray:
        s = family.survival(theta, np.asarray(r, dtype=float) + u)  # type: ignore[attr-defined]
        return 1.0 - s / s_u

    assert np.all(draws >= 0)
    assert stats.kstest(draws, cdf).pvalue > 0.01


def test_mixture_sampler_favours_the_slow_arm_after_long_survival() -> None:
    fam = ExponentialMixture(0.5)
    theta = np.log([1 / 100.0, 1 / 400.0])
    rng = np.random.default_rng(1)
    early = fam.sample_residual(theta[None, :], np.zeros(20000), rng).mean()
    late = fam.sample_residual(theta[None, :], np.full(20000, 600.0), rng).mean()
    # memoryless within an arm, so the mean residual grows only through the arm's posterior
    assert early == pytest.approx(250.0, rel=0.05)
    assert late > 350.0
