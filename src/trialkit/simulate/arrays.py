"""The simulation kernel over an array namespace: the same code on numpy and on a GPU (CuPy).

Written for the GPU: a whole batch of trials is a set of 2-D ``(trials, patients)``
arrays and every step is a whole-array operation of the namespace ``xp`` (``numpy`` or
``cupy``), with fixed shapes and no Python loop over trials or patients:

* times from the draws of :func:`trialkit.simulate.generate.draw`, with the arithmetic
  of :func:`~trialkit.simulate.generate.to_batch` (bit-identical on numpy);
* the analysis cut from one row-wise sort of the calendar event times;
* per look, one row-wise ``argsort`` of the follow-up times; tie groups from a
  comparison with the left neighbour, a cumulative sum (the group number) and one
  scatter of each group's first column; risk sets and events by arm from cumulative
  sums read at the group's first and one-past-last column;
* the log-rank ``O``, ``E``, ``V`` and the Cox score and information as masked row sums
  (events weight 1, everything else 0), so a trial's number of events never changes
  an array's shape; Newton-Raphson on all trials at once, started like the fused CPU
  kernel (:mod:`trialkit.simulate.fused`) at the clipped first step
  ``(O - E) / V``, with the same step cap, tolerance and monotone-likelihood rule.

Ties are exact (risk sets per tie group, Efron's correction), as in the CPU kernels;
on numpy the statistics equal theirs to rounding (about 1e-12) and the analysis times
and event counts are bit-identical. Only the summation order differs (whole-row sums
here, a walk over tie groups there).

References
----------
Efron B. (1977). The efficiency of Cox's likelihood function for censored data.
*J. Am. Stat. Assoc.* 72, 557-565.

Okuta R., Unno Y., Nishino D., Hido S. and Loomis C. (2017). CuPy: a NumPy-compatible
library for NVIDIA GPU calculations. *Proc. Workshop on Machine Learning Systems (NIPS)*.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from trialkit.simulate.generate import RawDraws, block_patterns
from trialkit.simulate.scenario import Scenario

__all__ = ["ArrayBatch", "array_batch", "array_statistics", "row_statistics", "to_host"]

_NEWTON_TOL = 1e-11
_NEWTON_MAX = 40
_MAX_STEP = 2.0
_MONOTONE = 20.0
_NOT_ENROLLED = -1.0

#: a batch of patient-level arrays in the namespace: entry, pfs, dropout, treated
ArrayBatch = tuple[Any, Any, Any, Any]


def to_host(a: Any) -> np.ndarray[Any, Any]:
    """A namespace array as a numpy array (a device-to-host copy for CuPy)."""
    get = getattr(a, "get", None)
    return np.asarray(get() if get is not None else a)


def _invert(
    xp: ModuleType, level: Any, starts: tuple[float, ...], slopes: tuple[float, ...]
) -> Any:
    """:func:`trialkit.simulate.generate.invert_piecewise_linear` in namespace ``xp``."""
    if len(slopes) == 1:
        return level / slopes[0]
    s = np.asarray(starts, dtype=np.float64)
    r = np.asarray(slopes, dtype=np.float64)
    knots = xp.asarray(np.concatenate(([0.0], np.cumsum(r[:-1] * np.diff(s)))))
    piece = xp.searchsorted(knots, level, side="right") - 1
    return xp.asarray(s)[piece] + (level - knots[piece]) / xp.asarray(r)[piece]


def array_batch(scenario: Scenario, raw: RawDraws, xp: ModuleType) -> ArrayBatch:
    """Entry, PFS and dropout times and arms from the draws, in namespace ``xp``.

    The arithmetic of :func:`trialkit.simulate.generate.to_batch`, step for step.
    """
    n = scenario.n
    trials = raw.pfs.shape[0]
    if raw.spacings is None:
        counts = xp.broadcast_to(xp.arange(1, n + 1, dtype=xp.float64), (trials, n))
    else:
        cum = xp.cumsum(raw.spacings, axis=1)
        counts = cum[:, :n] * (n / cum[:, n:])
    entry = _invert(xp, counts, scenario.accrual_starts, scenario.accrual_rates)
    a, b = scenario.allocation_ratio
    if scenario.allocation == "simple":
        treated = raw.allocation < a / (a + b)
    else:
        patterns = xp.asarray(block_patterns(a, b))
        blocks = raw.allocation.shape[1]
        picked = patterns[raw.allocation]
        treated = picked.reshape(trials, blocks * patterns.shape[1])[:, :n]
    h_c, h_t = scenario.hazards_control, scenario.hazards_treatment
    if len(h_c) == 1:
        pfs = raw.pfs / xp.where(treated, h_t[0], h_c[0])
    else:
        breaks = (0.0, *scenario.pfs_breaks)
        pfs = xp.where(
            treated, _invert(xp, raw.pfs, breaks, h_t), _invert(xp, raw.pfs, breaks, h_c)
        )
    if raw.dropout is None:
        dropout = xp.full((trials, n), xp.inf)
    else:
        dropout = raw.dropout / scenario.dropout_hazard
    return entry, pfs, dropout, treated


def _take(xp: ModuleType, a: Any, index: Any) -> Any:
    return xp.take_along_axis(a, index, axis=1)


def _prefix(xp: ModuleType, a: Any) -> Any:
    """Row-wise cumulative sums with a leading 0 column: ``out[:, j] = a[:, :j].sum(1)``."""
    out = xp.zeros((a.shape[0], a.shape[1] + 1), dtype=xp.float64)
    out[:, 1:] = xp.cumsum(a, axis=1)
    return out


def row_statistics(
    xp: ModuleType, follow: Any, event: Any, treated: Any, *, efron: bool = True
) -> tuple[Any, Any, Any, Any]:
    """Log-rank O, E, V and Cox log HR of every row (trial) at once.

    Parameters
    ----------
    xp
        ``numpy`` or ``cupy``.
    follow
        ``(trials, patients)`` follow-up times; negative: not in the analysis.
    event, treated
        Event flags and arms (True: treatment), same shape.
    efron
        Efron's tie correction (True) or Breslow's.

    Returns
    -------
    tuple
        ``observed``, ``expected``, ``variance``, ``log_hr`` per row, as
        :class:`trialkit.simulate.kernels.BatchStatistics` defines them.
    """
    trials, n = follow.shape
    order = xp.argsort(follow, axis=1)
    t = _take(xp, follow, order)
    e = _take(xp, event, order).astype(xp.float64)
    x = _take(xp, treated, order).astype(xp.float64)
    # tie groups: number g (1-based) by a cumulative sum, first column by one scatter
    new = xp.ones((trials, n), dtype=bool)
    new[:, 1:] = t[:, 1:] != t[:, :-1]
    group = xp.cumsum(new, axis=1)
    cols = xp.arange(n)
    starts = xp.full((trials, n + 2), n, dtype=group.dtype)
    rows = xp.arange(trials)[:, None]
    # every non-first column writes the same 0 into column 0, which no group uses
    starts[rows, xp.where(new, group, 0)] = xp.where(new, cols[None, :], 0)
    first = _take(xp, starts, group)
    end = _take(xp, starts, group + 1)
    cum_x = _prefix(xp, x)
    cum_e = _prefix(xp, e)
    cum_e1 = _prefix(xp, e * x)
    at_risk = (n - first).astype(xp.float64)
    at_risk1 = cum_x[:, n:] - _take(xp, cum_x, first)
    d_all = _take(xp, cum_e, end) - _take(xp, cum_e, first)
    d_1 = _take(xp, cum_e1, end) - _take(xp, cum_e1, first)
    # Efron: the event's rank among the group's events (its position in the sort is
    # arbitrary within a tie group; the sum over the group's events is not)
    before = cum_e[:, :n] - _take(xp, cum_e, first)
    d_safe = xp.where(d_all > 0, d_all, 1.0)
    p = at_risk1 / at_risk
    ratio = xp.where(
        at_risk > 1, (at_risk - d_all) / xp.where(at_risk > 1, at_risk - 1.0, 1.0), 0.0
    )
    observed = (e * x).sum(axis=1)
    expected = (e * p).sum(axis=1)
    variance = (e * p * (1.0 - p) * ratio).sum(axis=1)

    n1 = at_risk1
    n0 = at_risk - at_risk1
    frac = before / d_safe if efron else xp.zeros_like(before)
    fd1 = frac * d_1
    fd0 = frac * (d_all - d_1)
    ok = variance > 0
    v_safe = xp.where(ok, variance, 1.0)
    beta = xp.where(ok, xp.clip((observed - expected) / v_safe, -_MAX_STEP, _MAX_STEP), 0.0)
    active = ok.copy()
    for _ in range(_NEWTON_MAX):
        theta = xp.exp(beta)[:, None]
        s1 = theta * (n1 - fd1)
        s0 = n0 + theta * n1 - (fd0 + theta * fd1)
        q = xp.where(s0 > 0, s1 / xp.where(s0 > 0, s0, 1.0), 0.0)
        score = observed - (e * q).sum(axis=1)
        info = (e * q * (1.0 - q)).sum(axis=1)
        good = info > 0
        step = xp.clip(score / xp.where(good, info, 1.0), -_MAX_STEP, _MAX_STEP)
        beta = xp.where(active & ~good, xp.nan, xp.where(active, beta + step, beta))
        active = active & good & (xp.abs(step) > _NEWTON_TOL)
        if not bool(active.any()):
            break
    # not converged, NaN or drifting: a monotone likelihood, log HR -inf or +inf
    monotone = active | ~(xp.abs(beta) <= _MONOTONE)
    infinite = xp.where(observed < expected, -xp.inf, xp.inf)
    log_hr = xp.where(ok, xp.where(monotone, infinite, beta), xp.nan)
    return observed, expected, variance, log_hr


def array_statistics(
    scenario: Scenario, batch: ArrayBatch, xp: ModuleType, *, efron: bool = True
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Analysis time, events, log-rank O, E, V and Cox log HR at every look, per trial.

    The namespace twin of :func:`trialkit.simulate.fused.fused_statistics`: six
    ``(trials, looks)`` arrays in namespace ``xp``.

    Parameters
    ----------
    scenario
        The simulated trial (its looks).
    batch
        Entry, PFS, dropout times and arms (:func:`array_batch`).
    xp
        ``numpy`` or ``cupy``.
    efron
        Efron's tie correction in the Cox model (True, as the CPU kernels); else Breslow.
    """
    entry, pfs, dropout, treated = batch
    trials = pfs.shape[0]
    is_event = pfs <= dropout
    calendar = xp.where(is_event, entry + pfs, xp.inf)
    ordered = xp.sort(calendar, axis=1)
    finite = is_event.sum(axis=1)
    last = _take(xp, ordered, xp.maximum(finite - 1, 0)[:, None])[:, 0]
    # no event at all: analyse when the last patient's follow-up ends
    ends = (entry + xp.minimum(pfs, dropout)).max(axis=1)
    last = xp.where(finite > 0, last, ends)
    looks = len(scenario.look_events)
    out = [xp.empty((trials, looks), dtype=xp.float64) for _ in range(6)]
    out[1] = xp.empty((trials, looks), dtype=xp.int64)
    for k, d in enumerate(scenario.look_events):
        short = finite < d
        tau = xp.where(short, last, ordered[:, d - 1])
        out[0][:, k] = tau
        out[1][:, k] = xp.where(short, finite, d)
        cut = tau[:, None]
        follow = xp.minimum(xp.minimum(pfs, dropout), cut - entry)
        follow = xp.where(entry < cut, follow, _NOT_ENROLLED)
        event = is_event & (entry + pfs <= cut)
        for j, column in enumerate(row_statistics(xp, follow, event, treated, efron=efron)):
            out[2 + j][:, k] = column
    return out[0], out[1], out[2], out[3], out[4], out[5]
