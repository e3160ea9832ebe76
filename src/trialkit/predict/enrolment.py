"""Enrolment model: a Poisson process, constant or piecewise constant in calendar time.

Details and reasoning: docs/prediction.md, section `trialkit.predict.enrolment`.

References
----------
Zhang X. and Long Q. (2010). Stochastic modeling and prediction for accrual in
clinical trials. *Statistics in Medicine* 29, 649-658.

Lu K. eventPred (R package; ``fitEnrollment``, "Piecewise Poisson").
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trialkit.errors import InputError
from trialkit.predict.fitting import information_criteria

__all__ = ["Criterion", "EnrolmentFit", "fit_enrolment", "planned_enrolment"]

Criterion = Literal["aic", "bic"]
_GRID = 14
_MIN_SEGMENT = 60


@dataclass(frozen=True)
class EnrolmentFit:
    """A fitted (or planned) enrolment rate, piecewise constant in calendar time.

    Attributes
    ----------
    change_points
        Days from the origin where the rate changes (empty for one constant rate).
    rates
        Patients per day in each segment.
    counts
        Arrivals in each segment (the last one sets the variance of the future rate).
    loglik, aic, bic
        Log-likelihood and information criteria (NaN for a planned rate).
    fixed
        True for a planned rate (design stage): no parameter uncertainty.
    """

    change_points: tuple[float, ...]
    rates: tuple[float, ...]
    counts: tuple[int, ...]
    loglik: float
    aic: float
    bic: float
    fixed: bool = False

    @property
    def model(self) -> str:
        """``"poisson"`` or ``"piecewise poisson"``."""
        return "piecewise poisson" if self.change_points else "poisson"

    @property
    def rate_per_month(self) -> float:
        """The future (last segment's) rate in patients per month."""
        return self.rates[-1] * 30.4375

    def draw_rates(self, size: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Future rate per simulation, from the asymptotic normal of :math:`\\log\\hat\\mu_k`."""
        if self.fixed:
            return np.full(size, self.rates[-1])
        sd = 1.0 / math.sqrt(self.counts[-1])
        out: NDArray[np.float64] = self.rates[-1] * np.exp(sd * rng.standard_normal(size))
        return out

    def simulate(
        self, start: float, remaining: int, size: int, rng: np.random.Generator
    ) -> NDArray[np.float64]:
        """Arrival times (days) after ``start`` of ``remaining`` patients, ``(size, remaining)``."""
        rates = self.draw_rates(size, rng)
        gaps = rng.standard_exponential((size, remaining)) / rates[:, None]
        out: NDArray[np.float64] = start + np.cumsum(gaps, axis=1)
        return out


def planned_enrolment(patients: int, days: float) -> EnrolmentFit:
    """A fixed rate of ``patients`` over ``days`` (the design's accrual plan)."""
    if patients <= 0 or not days > 0:
        raise InputError("the planned enrolment needs patients > 0 over a positive period")
    nan = float("nan")
    return EnrolmentFit((), (patients / days,), (patients,), nan, nan, nan, fixed=True)


def _loglik(edges: NDArray[np.float64], days: NDArray[np.int64]) -> NDArray[np.float64]:
    """Poisson log-likelihood of each row of segment ``edges`` (``(M, k + 2)``); -inf if a
    segment has no arrivals. The first patient (day 0) defines the origin and is not counted."""
    counts = np.diff(np.searchsorted(days, edges, side="left"), axis=1).astype(float)
    counts[:, 0] -= 1.0
    lengths = np.diff(edges, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, counts * np.log(counts / lengths), -np.inf)
    out: NDArray[np.float64] = terms.sum(axis=1) - counts.sum(axis=1)
    return out


def _fit(edges: NDArray[np.float64], days: NDArray[np.int64]) -> EnrolmentFit:
    counts = np.diff(np.searchsorted(days, edges, side="left")).astype(float)
    counts[0] -= 1.0
    lengths = np.diff(edges)
    ll = float(_loglik(edges[None, :], days)[0])
    k = edges.size - 2
    aic, bic = information_criteria(ll, 2 * k + 1, int(counts.sum()))
    return EnrolmentFit(
        tuple(float(c) for c in edges[1:-1]),
        tuple(float(v) for v in counts / lengths),
        tuple(int(v) for v in counts),
        ll,
        aic,
        bic,
    )


def fit_enrolment(
    enrolment_day: NDArray[np.int64],
    cutoff_day: int,
    *,
    criterion: Criterion = "bic",
    max_change_points: int = 2,
    change_points: tuple[float, ...] | None = None,
) -> EnrolmentFit:
    """Fit the enrolment rate to enrolment days (from the origin) observed up to the cut-off.

    Parameters
    ----------
    enrolment_day
        Days from the first enrolment to each enrolment (the first is 0).
    cutoff_day
        The cut-off, in days from the origin; arrivals are observed over ``[0, cutoff_day + 1)``.
    criterion
        Information criterion choosing the number and places of change points.
    max_change_points
        Largest number of change points tried (0 gives a homogeneous Poisson process).
    change_points
        Given change points (days) instead of a search.
    """
    days = np.sort(np.asarray(enrolment_day, dtype=np.int64))
    end = float(cutoff_day + 1)
    if days.size < 2:
        raise InputError(
            "one enrolled patient gives no enrolment rate; forecast from the design "
            "(--design) until more patients are enrolled"
        )
    if change_points is not None:
        given = sorted(float(c) for c in change_points)
        if any(not 0.0 < c < end for c in given):
            raise InputError(
                f"enrolment change points must lie strictly between day 0 and the cut-off "
                f"(day {cutoff_day}); got {given}"
            )
        edges = np.array([0.0, *given, end])
        if not np.isfinite(_loglik(edges[None, :], days)[0]):
            raise InputError("an enrolment segment has no arrivals; move or remove a change point")
        return _fit(edges, days)
    best = _fit(np.array([0.0, end]), days)
    grid = np.arange(_MIN_SEGMENT, end - _MIN_SEGMENT + 1, _GRID, dtype=float)
    for k in range(1, max_change_points + 1):
        if grid.size < k:
            break
        cuts = np.array(list(itertools.combinations(grid, k)), dtype=float)
        cuts = cuts[np.all(np.diff(cuts, axis=1) >= _MIN_SEGMENT, axis=1)]
        if cuts.size == 0:
            break
        edges = np.column_stack([np.zeros(len(cuts)), cuts, np.full(len(cuts), end)])
        ll = _loglik(edges, days)
        if not np.isfinite(ll.max()):
            continue
        fit = _fit(edges[int(np.argmax(ll))], days)
        if getattr(fit, criterion) < getattr(best, criterion):
            best = fit
    return best
