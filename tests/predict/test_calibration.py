"""Calibration: on SOR-like trials with known truth, the 90% prediction interval of the
date of event 120 covers the truth about 90% of the time, and the error shrinks with
more events (small and seeded; benchmarks/calibrate_predict.py runs the large study).

With 40 trials the test can only catch gross miscalibration: at a true coverage of 90%
the coverage seen at one cut has a standard error of about 4.7 points, so the
acceptance limits are 2.6 standard errors wide (a 99% band): at least 78% per cut,
and at least 78% pooled (the three cuts of a trial are correlated, so the pooled rate
is given no narrower band).
"""

from __future__ import annotations

import numpy as np

from trialkit.predict import calibrate


def test_prediction_intervals_are_calibrated() -> None:
    result = calibrate(np.random.default_rng(7), trials=40, n_sims=400)
    assert [c.events_at_cut for c in result.cuts] == [30, 60, 90]
    assert all(c.trials == 40 for c in result.cuts)
    coverage = np.mean([c.coverage for c in result.cuts])
    assert 0.78 <= coverage <= 0.99, result.summary()
    assert all(c.coverage >= 0.78 for c in result.cuts), result.summary()
    errors = [c.median_abs_error_days for c in result.cuts]
    assert errors[0] > errors[1] > errors[2], result.summary()
    widths = [c.median_interval_days for c in result.cuts]
    assert widths[0] > widths[1] > widths[2], result.summary()
    assert "| 30 | 40 |" in result.summary()
