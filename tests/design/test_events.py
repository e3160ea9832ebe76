"""Schoenfeld and Freedman events, critical HR and power (hand derivations in comments)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.design import critical_hr, events_for_power, power_at_events, probability_hr_below
from trialkit.errors import DesignInputError

# z_0.975 = 1.959964, z_0.80 = 0.841621, so (z_a + z_b)^2 = 2.801585^2 = 7.848880.
Z_SQUARED = 7.848879734349088


def test_schoenfeld_1to1_by_hand() -> None:
    # D = 4 (z_a + z_b)^2 / log(0.5)^2 = 4 x 7.848880 / 0.480453 = 65.3457
    got = events_for_power(alpha=0.025, power=0.8, hr=0.5)
    assert got == pytest.approx(4 * Z_SQUARED / math.log(0.5) ** 2, rel=1e-12)
    assert got == pytest.approx(65.3457, abs=1e-4)


def test_freedman_1to1_by_hand() -> None:
    # D = (1 + HR)^2 / (1 - HR)^2 (z_a + z_b)^2 = (1.5 / 0.5)^2 x 7.848880 = 70.6399
    got = events_for_power(alpha=0.025, power=0.8, hr=0.5, method="freedman")
    assert got == pytest.approx(9 * Z_SQUARED, rel=1e-12)


def test_sor_decision_numbers_by_hand() -> None:
    # SE of log HR with 120 events, 1:1: 2 / sqrt(120) = 0.182574
    # P(HR_hat <= 0.82 | HR 1) = Phi(log 0.82 / 0.182574) = Phi(-1.086961) = 0.138527
    assert probability_hr_below(0.82, hr=1.0, events=120) == pytest.approx(0.138527, abs=1e-6)
    # exp(-1.959964 x 0.182574) = exp(-0.357834) = 0.699186
    assert critical_hr(alpha=0.025, events=120) == pytest.approx(0.699186, abs=1e-6)
    # Phi(|log 0.65| / 0.182574 - 1.959964) = Phi(2.359501 - 1.959964) = Phi(0.399537) = 0.655249
    assert power_at_events(alpha=0.025, hr=0.65, events=120) == pytest.approx(0.655249, abs=1e-6)


@given(
    hr=st.floats(0.3, 0.95),
    step=st.floats(0.01, 0.2),
    ratio=st.floats(0.25, 4.0),
    method=st.sampled_from(["schoenfeld", "freedman"]),
)
def test_events_decrease_as_effect_grows(hr: float, step: float, ratio: float, method: str) -> None:
    bigger_effect = hr * (1.0 - step)
    kwargs = {"alpha": 0.025, "power": 0.8, "allocation_ratio": ratio, "method": method}
    assert events_for_power(hr=bigger_effect, **kwargs) < events_for_power(hr=hr, **kwargs)  # type: ignore[arg-type]


@given(events=st.floats(10, 2000), alpha=st.floats(0.001, 0.2), ratio=st.floats(0.25, 4.0))
def test_observed_critical_hr_has_p_value_alpha(events: float, alpha: float, ratio: float) -> None:
    c = critical_hr(alpha=alpha, events=events, allocation_ratio=ratio)
    assert probability_hr_below(c, hr=1.0, events=events, allocation_ratio=ratio) == pytest.approx(
        alpha, rel=1e-9
    )


@given(alpha=st.floats(0.001, 0.2), power=st.floats(0.5, 0.99), hr=st.floats(0.3, 0.95))
def test_schoenfeld_events_give_the_power(alpha: float, power: float, hr: float) -> None:
    d = events_for_power(alpha=alpha, power=power, hr=hr)
    assert power_at_events(alpha=alpha, hr=hr, events=d) == pytest.approx(power, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0, "power": 0.8, "hr": 0.7}, "alpha must lie strictly between 0 and 1"),
        ({"alpha": 0.025, "power": 1.0, "hr": 0.7}, "power must lie strictly between 0 and 1"),
        ({"alpha": 0.025, "power": 0.8, "hr": 1.0}, "must differ from 1"),
        ({"alpha": 0.025, "power": 0.8, "hr": -0.5}, "must be a positive number"),
    ],
)
def test_bad_input(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        events_for_power(**kwargs)  # type: ignore[arg-type]
