"""Enrolment: Poisson rate MLE, change points chosen by BIC, planned rate."""

from __future__ import annotations

import numpy as np
import pytest

from trialkit.errors import InputError
from trialkit.predict import fit_enrolment, planned_enrolment


def test_constant_rate_is_arrivals_over_time() -> None:
    days = np.array([0, 3, 3, 10, 20, 41], dtype=np.int64)
    fit = fit_enrolment(days, 49, max_change_points=0)
    # the first patient defines the origin: 5 arrivals over 50 days
    assert fit.rates == pytest.approx((5 / 50,))
    assert fit.change_points == ()
    assert fit.model == "poisson"
    assert fit.loglik == pytest.approx(5 * np.log(5 / 50) - 5)


def test_a_change_in_rate_is_found_by_bic() -> None:
    rng = np.random.default_rng(4)
    slow = np.cumsum(rng.exponential(10.0, 40))  # 0.1/day for about 400 days
    slow = slow[slow < 400]
    fast = 400 + np.cumsum(rng.exponential(2.5, 200))  # then 0.4/day
    fast = fast[fast < 700]
    days = np.concatenate([[0], np.floor(slow), np.floor(fast)]).astype(np.int64)
    fit = fit_enrolment(days, 699)
    assert fit.model == "piecewise poisson"
    assert abs(fit.change_points[-1] - 400) <= 42
    assert fit.rates[-1] == pytest.approx(0.4, rel=0.2)
    homogeneous = fit_enrolment(days, 699, max_change_points=0)
    assert fit.bic < homogeneous.bic


def test_uniform_accrual_keeps_one_rate() -> None:
    rng = np.random.default_rng(8)
    days = np.sort(np.floor(rng.uniform(0, 600, 150))).astype(np.int64)
    days -= days[0]
    assert fit_enrolment(days, int(days[-1])).model == "poisson"


def test_given_change_points_and_errors() -> None:
    days = np.array([0, 5, 10, 50, 60, 70, 80, 90], dtype=np.int64)
    fit = fit_enrolment(days, 99, change_points=(40.0,))
    assert fit.rates == pytest.approx((2 / 40, 5 / 60))
    assert fit.counts == (2, 5)
    with pytest.raises(InputError, match="strictly between day 0 and the cut-off"):
        fit_enrolment(days, 99, change_points=(150.0,))
    with pytest.raises(InputError, match="segment has no arrivals"):
        fit_enrolment(days, 99, change_points=(20.0, 45.0))
    with pytest.raises(InputError, match="one enrolled patient"):
        fit_enrolment(np.array([0], dtype=np.int64), 10)


def test_planned_rate_has_no_parameter_uncertainty() -> None:
    plan = planned_enrolment(220, 951.0)
    rates = plan.draw_rates(100, np.random.default_rng(1))
    assert np.all(rates == 220 / 951.0)
    arrivals = plan.simulate(0.0, 220, 2000, np.random.default_rng(2))
    assert arrivals.shape == (2000, 220)
    assert np.all(np.diff(arrivals, axis=1) >= 0)
    assert arrivals[:, -1].mean() == pytest.approx(951.0, rel=0.01)
