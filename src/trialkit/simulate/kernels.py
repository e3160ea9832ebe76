"""Batched analysis kernels: the event-driven cut, the log-rank test and the Cox HR.

Each function works on (trials x patients) arrays and has no Python loop over
trials or patients: one row-wise sort per analysis, then cumulative sums give the
numbers at risk by arm at every event, and from them the log-rank components and
the Newton-Raphson iterations of the Cox model with one binary covariate. Ties are
handled exactly (risk sets and Efron's correction per tie group), so the kernels
agree with :func:`trialkit.analysis.logrank_test` and :func:`trialkit.analysis.coxph`
on any data, including times rounded to days.

With :math:`n_{0j}, n_{1j}` at risk and :math:`d_{0j}, d_{1j}` events by arm at the
:math:`j`-th distinct event time, :math:`n_j = n_{0j} + n_{1j}`, :math:`d_j = d_{0j} +
d_{1j}`, :math:`p_j = n_{1j}/n_j`:

.. math::

    O - E = \\sum_j (d_{1j} - d_j p_j), \\qquad
    V = \\sum_j d_j p_j (1 - p_j) \\frac{n_j - d_j}{n_j - 1}, \\qquad
    Z = (O - E) / \\sqrt{V}.

For the Cox model, with :math:`\\theta = e^{\\beta}` and, for the :math:`k`-th of the
:math:`d_j` tied events (Efron; Breslow takes :math:`k = 0`),

.. math::

    S_{0} = n_{0j} + \\theta n_{1j} - \\tfrac{k}{d_j}(d_{0j} + \\theta d_{1j}), \\quad
    S_{1} = \\theta\\,(n_{1j} - \\tfrac{k}{d_j} d_{1j}), \\quad
    U(\\beta) = \\sum_j d_{1j} - \\sum_{j,k} \\frac{S_1}{S_0}, \\quad
    I(\\beta) = \\sum_{j,k} \\frac{S_1}{S_0}\\Bigl(1 - \\frac{S_1}{S_0}\\Bigr),

and Newton-Raphson :math:`\\beta \\leftarrow \\beta + U/I` runs on all trials at once
(the log partial likelihood is concave in :math:`\\beta`).

References
----------
Mantel N. (1966). Evaluation of survival data and two new rank order statistics
arising in its consideration. *Cancer Chemother. Rep.* 50, 163-170.

Schoenfeld D. (1981). The asymptotic properties of nonparametric tests for comparing
survival distributions. *Biometrika* 68, 316-319.

Efron B. (1977). The efficiency of Cox's likelihood function for censored data.
*J. Am. Stat. Assoc.* 72, 557-565.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.generate import TrialBatch

__all__ = ["AnalysisCut", "BatchStatistics", "analysis_cut", "observed_at", "two_arm_statistics"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_NOT_ENROLLED = -1.0  # sorts before every follow-up time and is never an event
_NEWTON_TOL = 1e-11
_NEWTON_MAX = 40
_MONOTONE = 20.0  # |log HR| beyond this is taken as a monotone likelihood
_MAX_STEP = 2.0  # caps a Newton step on log HR; only trials near a monotone likelihood hit it


@dataclass(frozen=True)
class AnalysisCut:
    """Calendar time of each look and the events it includes, one row per trial.

    ``time[:, k]`` is the calendar time of the ``look_events[k]``-th PFS event, or of the
    last event when a trial (with dropout) never reaches that many; ``events[:, k]``
    counts the events by then.
    """

    time: FloatArray
    events: NDArray[np.int64]


def analysis_cut(batch: TrialBatch, look_events: tuple[int, ...]) -> AnalysisCut:
    """Calendar times of the looks: the ``D``-th smallest calendar event time per trial.

    Uses one :func:`numpy.partition` per batch for all looks (no full sort).
    """
    calendar = np.where(batch.pfs <= batch.dropout, batch.entry + batch.pfs, np.inf)
    kth = [d - 1 for d in look_events]
    part = np.partition(calendar, kth, axis=1)
    time = part[:, kth]
    counts = np.broadcast_to(np.asarray(look_events, dtype=np.int64), time.shape).copy()
    short = ~np.isfinite(time)
    if short.any():
        finite = np.isfinite(calendar)
        last = np.where(finite, calendar, -np.inf).max(axis=1)
        # no event at all: analyse when the last patient's follow-up ends
        ends = (batch.entry + np.minimum(batch.pfs, batch.dropout)).max(axis=1)
        last = np.where(np.isfinite(last), last, ends)
        rows, cols = np.nonzero(short)
        time[rows, cols] = last[rows]
        counts[rows, cols] = finite.sum(axis=1)[rows]
    return AnalysisCut(time=time, events=counts)


def observed_at(batch: TrialBatch, time: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Follow-up time and event flag of every patient at calendar ``time`` (one per trial).

    Patients randomised at or after ``time`` are not in the analysis: their follow-up
    is set to -1 (never an event), which keeps them out of every risk set.
    """
    tau = time[:, None]
    event = (batch.pfs <= batch.dropout) & (batch.entry + batch.pfs <= tau)
    follow = np.minimum(np.minimum(batch.pfs, batch.dropout), tau - batch.entry)
    follow = np.where(batch.entry < tau, follow, _NOT_ENROLLED)
    return follow, event


@dataclass(frozen=True)
class BatchStatistics:
    """Log-rank components and Cox estimate per trial (treatment vs control).

    Attributes
    ----------
    observed, expected, variance
        Events in the treatment arm, their expectation under H0 and the log-rank
        variance; ``z = (observed - expected) / sqrt(variance)``, negative when the
        treatment arm has fewer events than expected (HR < 1).
    log_hr
        Cox maximum partial likelihood estimate of log HR; -inf or +inf for a monotone
        likelihood (all events of the comparison in one arm), NaN when the log-rank
        variance is 0 (no event with both arms at risk).
    events
        Events in the analysis.
    """

    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    log_hr: FloatArray
    events: NDArray[np.int64]

    @property
    def z(self) -> FloatArray:
        """Signed log-rank statistic (NaN when the variance is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z: FloatArray = (self.observed - self.expected) / np.sqrt(self.variance)
        return np.where(self.variance > 0, z, np.nan)


def _tie_groups(sorted_time: FloatArray) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """First and one-past-last column of the tie group of every position, row-wise."""
    _, n = sorted_time.shape
    cols = np.arange(n)
    same = sorted_time[:, 1:] == sorted_time[:, :-1]
    first = np.maximum.accumulate(
        np.where(np.concatenate((np.zeros_like(same[:, :1]), same), axis=1), 0, cols), axis=1
    )
    is_last = np.concatenate((~same, np.ones_like(same[:, :1])), axis=1)
    end = np.minimum.accumulate(np.where(is_last, cols + 1, n)[:, ::-1], axis=1)[:, ::-1]
    return first, end


def two_arm_statistics(
    time: FloatArray,
    event: BoolArray,
    treated: BoolArray,
    *,
    ties: Literal["efron", "breslow"] = "efron",
) -> BatchStatistics:
    """Log-rank components and Cox log HR of every trial (row) at once.

    Parameters
    ----------
    time
        Follow-up times; negative values mark patients not in the analysis.
    event, treated
        Event flags and arm (True: treatment), same shape as ``time``.
    ties
        Cox tie handling, ``"efron"`` (R's default) or ``"breslow"``.
    """
    trials, n = time.shape
    order = np.argsort(time, axis=1, kind="stable")
    t = np.take_along_axis(time, order, axis=1)
    e = np.take_along_axis(event, order, axis=1)
    x = np.take_along_axis(treated, order, axis=1)
    # numbers at risk (all later positions) overall and in the treatment arm
    at_risk1 = np.cumsum(x[:, ::-1], axis=1, dtype=np.float64)[:, ::-1]
    at_risk = np.broadcast_to((n - np.arange(n)).astype(np.float64), (trials, n))
    same = t[:, 1:] == t[:, :-1]
    tied = bool(np.any(same & (e[:, 1:] | e[:, :-1])))
    rows, cols = np.nonzero(e)
    if tied:
        first, end = _tie_groups(t)
        cum_e: FloatArray = np.concatenate((np.zeros((trials, 1)), np.cumsum(e, axis=1)), axis=1)
        cum_e1: FloatArray = np.concatenate(
            (np.zeros((trials, 1)), np.cumsum(e & x, axis=1)), axis=1
        )
        g0, g1 = first[rows, cols], end[rows, cols]
        n_all: FloatArray = np.asarray(at_risk[rows, g0], dtype=np.float64)
        n_1: FloatArray = np.asarray(at_risk1[rows, g0], dtype=np.float64)
        d_all: FloatArray = np.asarray(cum_e[rows, g1] - cum_e[rows, g0], dtype=np.float64)
        d_1: FloatArray = np.asarray(cum_e1[rows, g1] - cum_e1[rows, g0], dtype=np.float64)
        k: FloatArray = np.asarray(cum_e[rows, cols] - cum_e[rows, g0], dtype=np.float64)
        frac = k / d_all if ties == "efron" else np.zeros_like(k)
    else:
        n_all = np.asarray(at_risk[rows, cols], dtype=np.float64)
        n_1 = np.asarray(at_risk1[rows, cols], dtype=np.float64)
        d_all = np.ones(rows.size)
        d_1 = x[rows, cols].astype(np.float64)
        frac = np.zeros(rows.size)
    # one column per event: (trials, most events) arrays, padded with weight 0
    counts = e.sum(axis=1)
    width = int(counts.max()) if trials else 0
    slot = (np.cumsum(e, axis=1) - 1)[rows, cols]

    def packed(values: FloatArray, fill: float = 0.0) -> FloatArray:
        out = np.full((trials, max(width, 1)), fill)
        out[rows, slot] = values
        return out

    w = packed(np.ones(rows.size))
    xe = packed(x[rows, cols].astype(np.float64))
    nn = packed(n_all, 1.0)
    n1 = packed(n_1)
    dd = packed(d_all, 1.0)
    d1 = packed(d_1)
    ff = packed(frac)

    p = n1 / nn
    ratio = np.divide(nn - dd, nn - 1.0, out=np.zeros_like(nn), where=nn > 1.0)
    observed = xe.sum(axis=1)
    expected = (w * p).sum(axis=1)
    variance = (w * p * (1.0 - p) * ratio).sum(axis=1)

    n0 = nn - n1
    d0 = dd - d1
    fd0 = ff * d0
    fd1 = ff * d1
    beta = np.zeros(trials)
    active = np.ones(trials, dtype=bool)
    for _ in range(_NEWTON_MAX):
        theta = np.exp(beta)[:, None]
        s1 = theta * (n1 - fd1)
        s0 = n0 + theta * n1 - (fd0 + theta * fd1)
        q = np.divide(s1, s0, out=np.zeros_like(s1), where=s0 > 0)
        score = observed - (w * q).sum(axis=1)
        info = (w * q * (1.0 - q)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(info > 0, score / info, np.nan)
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        beta = np.where(active, beta + np.nan_to_num(step), beta)
        active &= np.abs(step) > _NEWTON_TOL
        if not active.any():
            break
    # monotone likelihood (every event of the comparison in one arm): the estimate is
    # +-infinity; R's coxph stops at a large finite value with a warning
    monotone = active | (np.abs(beta) > _MONOTONE) | ~np.isfinite(beta)
    infinite = np.where(observed < expected, -np.inf, np.inf)
    log_hr = np.where(variance > 0, np.where(monotone, infinite, beta), np.nan)
    return BatchStatistics(
        observed=observed,
        expected=expected,
        variance=variance,
        log_hr=log_hr,
        events=counts.astype(np.int64),
    )
