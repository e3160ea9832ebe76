"""Calibration of event prediction against trials with a known truth.

Each simulated trial is SOR-like: two arms 1:1, exponential PFS with medians per arm,
uniform accrual, optional exponential dropout. The full course is generated, the
trial is cut at the dates of its 30th, 60th and 90th events (say), the blinded data
at each cut are forecast, and the true date of the target event is compared with the
forecast: is it inside the prediction interval, and how far is it from the median?
The arm is used to generate the truth only; the forecast never sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from trialkit.predict.data import BlindedData
from trialkit.predict.forecast import DAYS_PER_MONTH, DEFAULT_MODEL, ModelChoice, predict_events

__all__ = ["CalibrationResult", "CutCalibration", "TrialTruth", "calibrate", "simulate_truth"]


@dataclass(frozen=True, eq=False)
class TrialTruth:
    """The full course of one simulated trial (days from the first enrolment; NaN = none)."""

    enrolment_day: NDArray[np.int64]
    event_day: NDArray[np.float64]
    dropout_day: NDArray[np.float64]

    def event_days(self) -> NDArray[np.float64]:
        """Sorted days of all events that happen."""
        return np.sort(self.event_day[np.isfinite(self.event_day)])

    def cut(self, cutoff_day: int, origin: date) -> BlindedData:
        """The blinded data at ``cutoff_day``."""
        return BlindedData.from_days(
            origin=origin,
            cutoff_day=cutoff_day,
            enrolment_day=self.enrolment_day,
            event_day=self.event_day,
            dropout_day=self.dropout_day,
        )


def simulate_truth(
    rng: np.random.Generator,
    *,
    patients: int = 220,
    accrual_days: float = 951.0,
    median_control: float = 7.9,
    median_treatment: float = 12.2,
    dropout_per_year: float = 0.0,
) -> TrialTruth:
    """One SOR-like trial: 1:1 arms, exponential PFS (medians in months), uniform accrual."""
    entry = np.sort(rng.uniform(0.0, accrual_days, patients))
    entry -= entry[0]
    arm = rng.permutation(np.arange(patients) % 2)  # 1:1, used for the truth only
    medians = np.where(arm == 1, median_treatment, median_control) * DAYS_PER_MONTH
    pfs = rng.standard_exponential(patients) * medians / math.log(2.0)
    if dropout_per_year > 0.0:
        rate = -math.log1p(-dropout_per_year) / 365.25
        leave = rng.standard_exponential(patients) / rate
    else:
        leave = np.full(patients, np.inf)
    event = np.where(pfs < leave, np.floor(entry + pfs), np.nan)
    dropout = np.where(pfs < leave, np.nan, np.floor(entry + leave))
    return TrialTruth(np.floor(entry).astype(np.int64), event, dropout)


@dataclass(frozen=True)
class CutCalibration:
    """Calibration at one cut (the trial cut when this many events were observed)."""

    events_at_cut: int
    trials: int
    coverage: float
    median_abs_error_days: float
    median_error_days: float
    median_interval_days: float


@dataclass(frozen=True)
class CalibrationResult:
    """Coverage of the prediction interval and error of the median, per cut."""

    target: int
    level: float
    model: str
    n_sims: int
    cuts: tuple[CutCalibration, ...]

    def summary(self) -> str:
        """A Markdown table."""
        pct = round(100 * self.level)
        rows = [
            f"| events at cut | trials | {pct}% PI coverage | median abs. error (days) "
            "| median error (days) | median PI width (days) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for c in self.cuts:
            rows.append(
                f"| {c.events_at_cut} | {c.trials} | {100 * c.coverage:.1f}% | "
                f"{c.median_abs_error_days:.0f} | {c.median_error_days:+.0f} | "
                f"{c.median_interval_days:.0f} |"
            )
        return "\n".join(rows)


def calibrate(
    rng: np.random.Generator,
    *,
    trials: int,
    cuts: tuple[int, ...] = (30, 60, 90),
    target: int = 120,
    patients: int = 220,
    n_sims: int = 2000,
    model: ModelChoice = DEFAULT_MODEL,
    level: float = 0.9,
    dropout_per_year: float = 0.0,
) -> CalibrationResult:
    """Simulate ``trials`` SOR-like trials, forecast at each cut, and score the forecasts.

    Error = predicted median date minus true date (positive: predicted too late).
    """
    origin = date(2007, 11, 22)
    covered: dict[int, list[bool]] = {c: [] for c in cuts}
    errors: dict[int, list[float]] = {c: [] for c in cuts}
    widths: dict[int, list[float]] = {c: [] for c in cuts}
    done = 0
    while done < trials:
        truth = simulate_truth(rng, patients=patients, dropout_per_year=dropout_per_year)
        days = truth.event_days()
        if days.size < target:
            continue  # dropouts left too few events; the target is never reached
        done += 1
        true_date = origin + timedelta(days=int(days[target - 1]))
        for c in cuts:
            data = truth.cut(int(days[c - 1]), origin)
            if data.events >= target:
                continue
            forecast = predict_events(
                data,
                target=target,
                target_enrolment=patients,
                rng=rng,
                model=model,
                n_sims=n_sims,
                level=level,
            )
            lo, hi = forecast.predicted_date_interval()
            median = forecast.predicted_date_median
            covered[c].append(
                lo is not None and lo <= true_date and (hi is None or true_date <= hi)
            )
            errors[c].append(float("inf") if median is None else (median - true_date).days)
            widths[c].append(float("inf") if lo is None or hi is None else (hi - lo).days)
    return CalibrationResult(
        target=target,
        level=level,
        model=model,
        n_sims=n_sims,
        cuts=tuple(
            CutCalibration(
                events_at_cut=c,
                trials=len(covered[c]),
                coverage=float(np.mean(covered[c])),
                median_abs_error_days=float(np.median(np.abs(errors[c]))),
                median_error_days=float(np.median(errors[c])),
                median_interval_days=float(np.median(widths[c])),
            )
            for c in cuts
        ),
    )
