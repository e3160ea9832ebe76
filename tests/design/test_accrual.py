"""Expected events under uniform accrual, and the three ways of solving for the timing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.design import SurvivalModel, dropout_hazard
from trialkit.errors import DesignInputError

SOR = SurvivalModel.from_medians(7.9, 12.2)


def test_all_patients_at_once_is_the_event_probability() -> None:
    # a tiny accrual period: E(t) -> n F(t), F(t) = mean of 1 - exp(-lambda_i t) over the arms
    t = 10.0
    expected = 0.5 * (1 - math.exp(-math.log(2) / 7.9 * t)) + 0.5 * (
        1 - math.exp(-math.log(2) / 12.2 * t)
    )
    got = float(SOR.expected_events(t, n=100.0, accrual_time=1e-6))
    assert got == pytest.approx(100 * expected, rel=1e-5)


def test_expected_events_closed_form_one_arm() -> None:
    # one effective arm (equal hazards 0.1), a = 10, t = 15:
    # E = n/a [ (t - (1 - e^{-lt})/l) - (t - a - (1 - e^{-l(t-a)})/l) ]
    lam, a, t, n = 0.1, 10.0, 15.0, 200.0
    g = (t - (1 - math.exp(-lam * t)) / lam) - (t - a - (1 - math.exp(-lam * (t - a))) / lam)
    model = SurvivalModel(lam, lam)
    assert float(model.expected_events(t, n=n, accrual_time=a)) == pytest.approx(n / a * g)


def test_dropout_hazard() -> None:
    # P(dropout by 12) = 0.1  ->  phi = -log(0.9) / 12 = 0.0087800
    assert dropout_hazard(0.1, 12) == pytest.approx(-math.log(0.9) / 12)


@given(
    n=st.floats(50, 1000),
    accrual=st.floats(2, 40),
    follow=st.floats(0, 30),
    share=st.floats(0.1, 0.9),
    dropout=st.floats(0, 0.05),
    ratio=st.floats(0.5, 3),
)
def test_solvers_agree_with_each_other(
    n: float, accrual: float, follow: float, share: float, dropout: float, ratio: float
) -> None:
    model = SurvivalModel(0.08, 0.05, ratio, dropout)
    events = share * float(model.expected_events(accrual + follow, n=n, accrual_time=accrual))
    if follow == 0 or events < 1:
        return
    t = model.time_of_events(events, n=n, accrual_time=accrual)
    assert float(model.expected_events(t, n=n, accrual_time=accrual)) == pytest.approx(events)
    full = float(model.expected_events(accrual + follow, n=n, accrual_time=accrual))
    assert model.patients_for_events(full, accrual_time=accrual, follow_up_time=follow) == (
        pytest.approx(n, rel=1e-9)
    )
    assert model.accrual_time_for_events(full, n=n, follow_up_time=follow) == pytest.approx(
        accrual, rel=1e-6
    )


@given(accrual=st.floats(1, 50), n=st.floats(10, 500))
def test_expected_events_increase_and_stay_below_n(accrual: float, n: float) -> None:
    times = np.linspace(0, 200, 101)
    events = SOR.expected_events(times, n=n, accrual_time=accrual)
    assert np.all(np.diff(events) >= -1e-9)
    assert np.all(events <= n + 1e-9)
    assert events[0] == 0.0


def test_events_the_patients_cannot_give() -> None:
    with pytest.raises(DesignInputError, match="220 patients can give at most 220 events"):
        SOR.time_of_events(250, n=220, accrual_time=20)


def test_follow_up_too_long_for_the_events() -> None:
    with pytest.raises(DesignInputError, match="even if all enter at once"):
        SOR.accrual_time_for_events(50, n=220, follow_up_time=24)
