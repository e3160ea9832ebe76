"""Cox proportional hazards regression, Efron or Breslow ties, optionally stratified.

The partial likelihood, score and information are computed by a vectorised numpy
kernel (one sort, reverse cumulative sums over the risk sets, Efron's correction
expanded per tied event) and maximised by Newton-Raphson with step halving.
Written by hand rather than with ``statsmodels.duration.PHReg`` because PHReg
builds Python lists of index arrays per event time, which is too slow at 10^6
subjects (see ``benchmarks/bench_survival.py``), and because the simulation module
reuses the score-test kernel on many trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from trialkit.analysis._data import (
    FloatArray,
    IntArray,
    check_strata,
    check_time_event,
    two_groups,
)
from trialkit.errors import InputError

__all__ = ["CoxPH", "CoxTest", "Ties", "cox_kernel", "coxph", "coxph_two_groups"]

Ties = Literal["efron", "breslow"]
_MAX_ITER = 50
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class CoxTest:
    """A chi-square test of all coefficients being 0."""

    statistic: float
    df: int
    p: float


@dataclass(frozen=True, slots=True)
class _Fit:
    loglik: float
    score: FloatArray
    information: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Sorted:
    """Data sorted by (stratum, time) with the tie-group bookkeeping the kernel needs."""

    x: npt.NDArray[np.float64]  # (n, p), centred
    event: FloatArray
    group_start: IntArray  # first row of each (stratum, time) tie group that has events
    group_end: IntArray  # end (exclusive) of that group's stratum: the risk set is [start, end)
    event_rows: IntArray  # rows with an event
    event_group: IntArray  # index into group_* of each event row
    event_frac: FloatArray  # Efron: k / d for the k-th (0-based) of d tied events, else 0


def _prepare(
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    x: npt.NDArray[np.float64],
    strata: IntArray | None,
    ties: Ties,
) -> _Sorted:
    if strata is None:
        order = np.argsort(time, kind="stable")
        new_stratum = np.zeros(time.size, dtype=bool)
        new_stratum[0] = True
    else:
        order = np.lexsort((time, strata))
        ss = strata[order]
        new_stratum = np.concatenate(([True], ss[1:] != ss[:-1]))
    ts, es = time[order], event[order]
    # Centring does not change the estimates but keeps exp(x beta) in range (as R does).
    xs = x[order] - x.mean(axis=0)
    new_group = new_stratum | np.concatenate(([True], ts[1:] != ts[:-1]))
    starts = np.flatnonzero(new_group)
    stratum_starts = np.flatnonzero(new_stratum)
    stratum_ends = np.append(stratum_starts[1:], ts.size)
    ends = stratum_ends[np.searchsorted(stratum_starts, starts, side="right") - 1]
    group_of_row = np.cumsum(new_group) - 1
    event_rows = np.flatnonzero(es)
    groups_with_events, event_group, d = np.unique(
        group_of_row[event_rows], return_inverse=True, return_counts=True
    )
    first_event = np.concatenate(([0], np.cumsum(d)[:-1]))
    rank = np.arange(event_rows.size) - first_event[event_group]
    frac = rank / d[event_group] if ties == "efron" else np.zeros(event_rows.size)
    return _Sorted(
        x=xs,
        event=es.astype(np.float64),
        group_start=starts[groups_with_events],
        group_end=ends[groups_with_events],
        event_rows=event_rows,
        event_group=event_group.astype(np.int64),
        event_frac=frac.astype(np.float64),
    )


def _risk_sums(values: npt.NDArray[np.float64], start: IntArray, end: IntArray) -> FloatArray:
    """Sum of ``values`` rows over [start, end) for each group, via one reverse cumsum."""
    rev = np.concatenate((np.cumsum(values[::-1], axis=0)[::-1], np.zeros((1, *values.shape[1:]))))
    out: FloatArray = rev[start] - rev[end]
    return out


def cox_kernel(data: _Sorted, beta: FloatArray) -> _Fit:
    """Log partial likelihood, score and information at ``beta`` (no input checks).

    With :math:`w_i = e^{x_i\\beta}`, for a tie group with :math:`d` events, risk-set sums
    :math:`S_0, S_1, S_2` and event sums :math:`D_0, D_1, D_2`, the Efron approximation
    replaces the denominator of the :math:`k`-th tied event (:math:`k = 0..d-1`) by
    :math:`S_0 - \\tfrac{k}{d} D_0` (and likewise for :math:`S_1, S_2`); Breslow uses
    :math:`S_0` for all of them.

    References
    ----------
    Cox DR (1972). Regression models and life-tables. J R Stat Soc B 34:187-220.

    Efron B (1977). The efficiency of Cox's likelihood function for censored data.
    J Am Stat Assoc 72:557-565.
    """
    x = data.x
    p = x.shape[1]
    eta = x @ beta
    # A trial step may overflow on a monotone likelihood; the resulting non-finite
    # log-likelihood makes the caller halve the step, so the overflow is not an error.
    with np.errstate(over="ignore"):
        w = np.exp(eta)
    xw = x * w[:, None]
    xxw = (x[:, :, None] * x[:, None, :]) * w[:, None, None]
    s0 = _risk_sums(w, data.group_start, data.group_end)
    s1 = _risk_sums(xw, data.group_start, data.group_end)
    s2 = _risk_sums(xxw, data.group_start, data.group_end)
    ev = data.event_rows
    g = data.event_group
    n_groups = data.group_start.size
    d0 = np.bincount(g, weights=w[ev], minlength=n_groups)
    d1 = np.stack([np.bincount(g, weights=xw[ev, j], minlength=n_groups) for j in range(p)], 1)
    d2 = np.stack(
        [
            np.stack(
                [np.bincount(g, weights=xxw[ev, j, k], minlength=n_groups) for k in range(p)], 1
            )
            for j in range(p)
        ],
        1,
    )
    f = data.event_frac
    den = s0[g] - f * d0[g]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        a = (s1[g] - f[:, None] * d1[g]) / den[:, None]
        b = (s2[g] - f[:, None, None] * d2[g]) / den[:, None, None]
        loglik = float(eta[ev].sum() - np.log(den).sum())
        score = x[ev].sum(axis=0) - a.sum(axis=0)
        info = (b - a[:, :, None] * a[:, None, :]).sum(axis=0)
    return _Fit(loglik=loglik, score=score, information=info)


@dataclass(frozen=True, slots=True)
class CoxPH:
    """Fitted Cox model.

    Attributes
    ----------
    names
        Covariate names, in the order of ``coef``.
    coef, se, hr, hr_lower, hr_upper, z, p
        Coefficients, standard errors (inverse information), hazard ratios with Wald
        confidence limits, Wald z and two-sided p per coefficient.
    wald, lrt, score
        Global tests of all coefficients = 0 (as in R's ``summary.coxph``).
    converged, monotone
        Newton-Raphson converged; ``monotone`` flags a coefficient that may be infinite
        (e.g. no events in one arm), whose HR and Wald statistics are then meaningless.
    """

    names: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    hr: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    z: FloatArray
    p: FloatArray
    covariance: npt.NDArray[np.float64]
    loglik_null: float
    loglik: float
    wald: CoxTest
    lrt: CoxTest
    score: CoxTest
    ties: Ties
    stratified: bool
    n: int
    events: int
    iterations: int
    converged: bool
    monotone: bool
    conf_level: float

    def summary(self) -> str:
        """Coefficient table and global tests, like R's ``summary(coxph)``."""
        kind = "Stratified Cox" if self.stratified else "Cox"
        lines = [
            f"{kind} proportional hazards ({self.ties} ties): n={self.n}, events={self.events}",
            f"  {'':<16}{'coef':>10}{'se':>10}{'HR':>10}{'lower':>10}{'upper':>10}{'p':>10}",
        ]
        for i, name in enumerate(self.names):
            lines.append(
                f"  {name:<16}{self.coef[i]:>10.4f}{self.se[i]:>10.4f}{self.hr[i]:>10.4f}"
                f"{self.hr_lower[i]:>10.4f}{self.hr_upper[i]:>10.4f}{self.p[i]:>10.4g}"
            )
        for label, t in (
            ("Likelihood ratio", self.lrt),
            ("Wald", self.wald),
            ("Score", self.score),
        ):
            lines.append(f"  {label} test: {t.statistic:.4f} on {t.df} df, p = {t.p:.4g}")
        if not self.converged or self.monotone:
            lines.append("  warning: the fit did not converge or a coefficient may be infinite")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _safe_exp(v: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        out: FloatArray = np.exp(v)
    return out


def _test(stat: float, df: int) -> CoxTest:
    return CoxTest(statistic=stat, df=df, p=float(stats.chi2.sf(stat, df)))


def coxph(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    covariates: npt.ArrayLike,
    *,
    names: tuple[str, ...] | None = None,
    strata: npt.ArrayLike | None = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
) -> CoxPH:
    """Fit a Cox proportional hazards model by maximum partial likelihood.

    Parameters
    ----------
    time, event
        Follow-up times (>= 0) and event indicators (1 event, 0 censored).
    covariates
        Numeric design matrix, shape (n,) or (n, p); no intercept.
    names
        Covariate names (default ``x1 .. xp``).
    strata
        Optional stratum labels: a separate baseline hazard per stratum.
    ties
        ``"efron"`` (default, as R) or ``"breslow"``.
    conf_level
        Level of the Wald confidence intervals of the hazard ratios.

    Returns
    -------
    CoxPH
        Coefficients, hazard ratios with Wald CIs, Wald, likelihood-ratio and score tests.

    References
    ----------
    Cox DR (1972). Regression models and life-tables. J R Stat Soc B 34:187-220.

    Efron B (1977). The efficiency of Cox's likelihood function for censored data.
    J Am Stat Assoc 72:557-565.
    """
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}", location="ties")
    t, e = check_time_event(time, event)
    try:
        x = np.asarray(covariates, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError("covariates must be numeric; code factors as 0/1 columns") from exc
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != t.size:
        raise InputError(
            f"covariates must have one row per subject ({t.size}), got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0]) + 1
        raise InputError(f"covariates are missing or infinite at data row {row}; fix or drop it")
    p = x.shape[1]
    labels = names if names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(labels) != p:
        raise InputError(f"{len(labels)} names given for {p} covariates")
    if not e.any():
        raise InputError("there are no events: a Cox model needs at least one event")
    codes = check_strata(strata, n=t.size)
    data = _prepare(t, e, x, codes, ties)

    beta = np.zeros(p)
    null = cox_kernel(data, beta)
    fit = null
    converged = False
    iterations = 0
    for iteration in range(1, _MAX_ITER + 1):
        iterations = iteration
        try:
            step = np.linalg.solve(fit.information, fit.score)
        except np.linalg.LinAlgError as exc:
            raise InputError(
                "the information matrix is singular: a covariate is constant or collinear "
                "(within strata); drop it"
            ) from exc
        new_beta = beta + step
        new = cox_kernel(data, new_beta)
        halvings = 0
        while not np.isfinite(new.loglik) or new.loglik < fit.loglik - 1e-12 * abs(fit.loglik):
            halvings += 1
            if halvings > 30:
                break
            new_beta = beta + step / 2**halvings
            new = cox_kernel(data, new_beta)
        done = abs(new.loglik - fit.loglik) <= _EPS * abs(fit.loglik)
        beta, fit = new_beta, new
        if done:
            converged = True
            break
    cov: npt.NDArray[np.float64] = np.asarray(np.linalg.inv(fit.information), dtype=np.float64)
    # R's check for a coefficient drifting to infinity (monotone likelihood): the
    # remaining Newton step is not negligible relative to the coefficient.
    remaining = np.abs(cov @ fit.score)
    monotone = bool(np.any((remaining > 1e-9) & (remaining > np.sqrt(1e-9) * np.abs(beta))))
    monotone = monotone or bool(np.any(np.abs(beta) * x.std(axis=0) > 20))
    se = np.sqrt(np.diag(cov))
    zq = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    z = beta / se
    score_stat = float(null.score @ np.linalg.solve(null.information, null.score))
    return CoxPH(
        names=labels,
        coef=beta,
        se=se,
        hr=_safe_exp(beta),
        hr_lower=_safe_exp(beta - zq * se),
        hr_upper=_safe_exp(beta + zq * se),
        z=z,
        p=2 * stats.norm.sf(np.abs(z)),
        covariance=cov,
        loglik_null=null.loglik,
        loglik=fit.loglik,
        wald=_test(float(beta @ fit.information @ beta), p),
        lrt=_test(2 * (fit.loglik - null.loglik), p),
        score=_test(score_stat, p),
        ties=ties,
        stratified=codes is not None,
        n=int(t.size),
        events=int(e.sum()),
        iterations=iterations,
        converged=converged,
        monotone=monotone,
        conf_level=conf_level,
    )


def coxph_two_groups(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    reference: str,
    *,
    strata: npt.ArrayLike | None = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
) -> CoxPH:
    """Cox model with one binary arm covariate: HR of the other level vs ``reference``.

    See :func:`coxph`; the covariate is named after the non-reference level.
    """
    t, _ = check_time_event(time, event)
    groups = two_groups(group, reference, n=t.size)
    return coxph(
        time,
        event,
        groups.indicator,
        names=(groups.other,),
        strata=strata,
        ties=ties,
        conf_level=conf_level,
    )
