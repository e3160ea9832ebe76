"""Sample size: input handling (numbers are checked against rpact in test_rpact_agreement.py)."""

from __future__ import annotations

import pytest

from trialkit.design import survival_sample_size
from trialkit.errors import DesignInputError

BASE = {"median_control": 7.9, "median_treatment": 12.2}


def test_solving_for_accrual_time_round_trips() -> None:
    a = survival_sample_size(**BASE, n=300, follow_up_time=5)
    b = survival_sample_size(**BASE, accrual_time=a.accrual_time, n=300)
    assert b.follow_up_time == pytest.approx(5, abs=1e-8)
    assert a.events == pytest.approx(b.events)


def test_hr_instead_of_treatment_median() -> None:
    a = survival_sample_size(median_control=8, hr=0.5, accrual_time=12, follow_up_time=6)
    assert a.median_treatment == pytest.approx(16)
    assert a.events_planned == 66  # 65.3457 rounded up (test_events: Schoenfeld by hand)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accrual_time": 12, "n": 200, "follow_up_time": 6}, "you gave all three"),
        ({"accrual_time": 12}, "give exactly two of"),
        ({"accrual_time": 12, "n": 100}, "100 patients can give at most 100 events"),
        ({"accrual_time": 12, "follow_up_time": 6, "hr": 0.5}, "contradicts the medians"),
        ({"accrual_time": 12, "follow_up_time": 6, "alpha": 1.5}, "alpha must lie"),
    ],
)
def test_bad_input(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        survival_sample_size(**BASE, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("beta_spending", [None, "obrien-fleming"])
def test_power_at_the_design_hr_is_the_design_power(beta_spending: str | None) -> None:
    r = survival_sample_size(
        **BASE,
        accrual_time=18,
        follow_up_time=6,
        power=0.85,
        information_rates=[0.4, 0.7, 1.0],
        beta_spending=beta_spending,  # type: ignore[arg-type]
    )
    assert r.power_at(r.hazard_ratio) == pytest.approx(0.85, abs=1e-6)
    assert r.power_at(1.0) <= 0.025 + 1e-6
