"""Predictive simulation: design stage against the design formula, interim forecasts,
reproducibility, monotone outputs, dropouts and the unreachable-target flag."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from trialkit.design.accrual import SurvivalModel
from trialkit.errors import DesignInputError, InputError
from trialkit.predict import BlindedData, design_forecast, predict_events, simulate_truth
from trialkit.predict.forecast import DAYS_PER_MONTH, DEFAULT_MODEL

ORIGIN = date(2007, 11, 22)


@pytest.fixture(scope="module")
def interim() -> BlindedData:
    truth = simulate_truth(np.random.default_rng(21), dropout_per_year=0.1)
    return truth.cut(int(truth.event_days()[49]), ORIGIN)


def test_design_forecast_agrees_with_the_expected_event_curve() -> None:
    forecast = design_forecast(
        median_control=7.9,
        median_treatment=12.2,
        allocation_ratio=1.0,
        patients=220,
        target=120,
        start=ORIGIN,
        enrolment_end=date(2010, 6, 30),
        rng=np.random.default_rng(1),
        n_sims=4000,
    )
    accrual = ((date(2010, 6, 30) - ORIGIN).days + 1) / DAYS_PER_MONTH
    months = SurvivalModel.from_medians(7.9, 12.2).time_of_events(120, n=220, accrual_time=accrual)
    expected = ORIGIN + timedelta(days=round(months * DAYS_PER_MONTH))
    median = forecast.predicted_date_median
    assert median is not None
    assert abs((median - expected).days) <= 15
    lo, hi = forecast.predicted_date_interval()
    assert lo is not None
    assert hi is not None
    assert lo < median < hi
    assert forecast.stage == "design"
    assert forecast.events_by(ORIGIN).mean < 0.01
    # the expected number of events at the design's expected date is about the target
    assert forecast.events_by(expected).mean == pytest.approx(120, abs=2.5)
    done = forecast.enrolment_complete_date_median
    assert done is not None
    assert abs((done - date(2010, 6, 30)).days) <= 10


def test_interim_forecast_outputs_are_consistent(interim: BlindedData) -> None:
    forecast = predict_events(
        interim,
        target=120,
        target_enrolment=220,
        rng=np.random.default_rng(2),
        n_sims=2000,
        model="auto",
    )
    assert forecast.events_so_far == interim.events == 50
    assert forecast.at_risk == int(interim.at_risk.sum())
    assert forecast.dropout_rate > 0.0
    assert {f.name for f in forecast.fits} == {"exponential", "weibull", "piecewise", "mixture"}
    assert sum(forecast.weights) == 1.0
    chosen = min(forecast.fits, key=lambda f: f.aic)
    assert forecast.model == chosen.name
    median = forecast.predicted_date_median
    lo, hi = forecast.predicted_date_interval()
    assert median is not None
    assert lo is not None
    assert hi is not None
    assert interim.cutoff < lo <= median <= hi
    # events by date: observed before the cut-off, then non-decreasing; probability too
    assert forecast.events_by(interim.cutoff).mean == 50
    dates = [interim.cutoff + timedelta(days=30 * k) for k in range(30)]
    means = [c.mean for c in forecast.event_curve(dates)]
    probs = [forecast.probability_by(d) for d in dates]
    assert np.all(np.diff(means) >= 0)
    assert np.all(np.diff(probs) >= 0)
    assert probs[0] == 0.0
    assert forecast.probability_by(median) == pytest.approx(0.5, abs=0.02)
    band = forecast.events_by(median)
    assert band.lower <= 120 <= band.upper
    assert "Target event 120" in forecast.summary()


def test_same_seed_same_forecast(interim: BlindedData) -> None:
    def run(seed: int) -> tuple[object, ...]:
        f = predict_events(
            interim, target=120, target_enrolment=220, rng=np.random.default_rng(seed), n_sims=300
        )
        return (f.predicted_date_median, *f.predicted_date_interval())

    assert run(5) == run(5)


@pytest.mark.parametrize("model", ["exponential", "weibull", "piecewise", "mixture", "average"])
def test_every_model_gives_a_forecast(interim: BlindedData, model: str) -> None:
    f = predict_events(
        interim,
        target=120,
        target_enrolment=220,
        rng=np.random.default_rng(3),
        n_sims=300,
        model=model,  # type: ignore[arg-type]
    )
    assert f.predicted_date_median is not None
    assert f.model == model


def test_unreachable_target_is_flagged(interim: BlindedData) -> None:
    with pytest.raises(DesignInputError, match="cannot be reached") as info:
        predict_events(
            interim, target=200, target_enrolment=interim.enrolled, rng=np.random.default_rng(1)
        )
    assert "still to enrol" in str(info.value)


def test_target_already_reached_and_no_events(interim: BlindedData) -> None:
    with pytest.raises(DesignInputError, match="was reached on"):
        predict_events(interim, target=30, target_enrolment=220, rng=np.random.default_rng(1))
    empty = BlindedData.from_days(
        origin=ORIGIN,
        cutoff_day=30,
        enrolment_day=np.array([0, 10, 20], dtype=np.int64),
        event_day=np.full(3, np.nan),
        dropout_day=np.full(3, np.nan),
    )
    with pytest.raises(InputError, match="no events yet"):
        predict_events(empty, target=2, target_enrolment=10, rng=np.random.default_rng(1))


def test_enrolment_complete_uses_observed_date_when_full() -> None:
    truth = simulate_truth(np.random.default_rng(9))
    last = int(truth.enrolment_day.max())
    data = truth.cut(last, ORIGIN)
    assert data.enrolled == 220
    f = predict_events(
        data, target=150, target_enrolment=220, rng=np.random.default_rng(1), n_sims=200
    )
    assert f.enrolment_complete_date_median == ORIGIN + timedelta(days=last)


def test_the_default_event_model_is_the_akaike_weighted_average(interim: BlindedData) -> None:
    """Averaging is the default (better calibrated than "auto"; benchmarks/RESULTS.md)."""
    assert DEFAULT_MODEL == "average"
    default = predict_events(
        interim, target=120, target_enrolment=220, rng=np.random.default_rng(5), n_sims=300
    )
    average = predict_events(
        interim,
        target=120,
        target_enrolment=220,
        rng=np.random.default_rng(5),
        n_sims=300,
        model="average",
    )
    assert default.model == "average"
    assert default.predicted_date_median == average.predicted_date_median
    assert default.predicted_date_interval() == average.predicted_date_interval()
    chosen = predict_events(
        interim,
        target=120,
        target_enrolment=220,
        rng=np.random.default_rng(5),
        n_sims=300,
        model="auto",
    )
    assert chosen.model == min(chosen.fits, key=lambda f: f.aic).name  # still selectable
