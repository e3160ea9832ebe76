"""Kaplan-Meier estimate of a survival curve, with Greenwood variance and quantiles.

Written as a vectorised numpy kernel rather than on top of
``statsmodels.duration.SurvfuncRight`` for two reasons: statsmodels' median
confidence interval inverts a pointwise test (a different rule from R's
``quantile.survfit``, which reads the interval off the confidence band, with the
midpoint rule on flat steps), and the kernel below is one sort plus cumulative
sums, which keeps 10^6 subjects well inside a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from trialkit.analysis._data import FloatArray, check_time_event
from trialkit.errors import InputError

__all__ = ["ConfType", "KaplanMeier", "SurvivalQuantile", "kaplan_meier"]

ConfType = Literal["log-log", "log", "plain"]
_CONF_TYPES: tuple[str, ...] = ("log-log", "log", "plain")
# R's quantile.survfit tolerance for "the curve is flat at exactly p": sqrt(.Machine$double.eps).
_TOL = float(np.sqrt(np.finfo(np.float64).eps))


@dataclass(frozen=True, slots=True)
class SurvivalQuantile:
    """A quantile of the survival time with its confidence interval.

    ``None`` means "not reached": the curve (or the confidence band) never falls to
    the level within the follow-up.
    """

    probability: float
    estimate: float | None
    lower: float | None
    upper: float | None

    def __str__(self) -> str:
        def fmt(v: float | None) -> str:
            return "NR" if v is None else f"{v:.4g}"

        return (
            f"{self.probability:.0%} quantile {fmt(self.estimate)} "
            f"({fmt(self.lower)}, {fmt(self.upper)})"
        )


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """Kaplan-Meier curve evaluated at every distinct observed time (events and censorings).

    Attributes
    ----------
    time, n_risk, n_event, n_censor
        Distinct times, numbers at risk just before, events and censorings at each.
    survival
        :math:`\\hat S(t)`.
    std_err_cumhaz
        Greenwood standard error of :math:`-\\log \\hat S(t)` (R's ``survfit$std.err``);
        ``inf`` once the curve reaches 0.
    std_err
        Greenwood standard error of :math:`\\hat S(t)` itself (``survival * std_err_cumhaz``,
        R's ``summary.survfit``); NaN where the curve is 0.
    lower, upper
        Pointwise confidence band (NaN where undefined, as R's NA).
    """

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    survival: FloatArray
    std_err_cumhaz: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_type: ConfType
    conf_level: float
    n: int
    events: int

    def quantile(self, probability: float) -> SurvivalQuantile:
        """Time at which the curve falls to ``1 - probability``, with its CI (R's rules).

        Follows ``quantile.survfit`` of R ``survival``: the estimate is the first time
        the curve reaches ``1 - probability``; when the curve is flat at exactly that
        level, the midpoint of the flat stretch (to the last follow-up time if the
        curve ends there). The confidence limits are the same quantities read off the
        lower and upper confidence bands (Brookmeyer & Crowley 1982), so the upper
        limit exists only when the upper band falls to the level.

        References
        ----------
        Brookmeyer R, Crowley J (1982). A confidence interval for the median survival
        time. Biometrics 38:29-41.
        """
        if not 0.0 < probability < 1.0:
            raise InputError(f"quantile probability must be in (0, 1), got {probability}")
        x = np.concatenate(([0.0], self.time))
        est = _findq(x, 1.0 - np.concatenate(([1.0], self.survival)), probability)
        lo = _findq(x, 1.0 - np.concatenate(([1.0], self.lower)), probability)
        hi = _findq(x, 1.0 - np.concatenate(([1.0], self.upper)), probability)
        return SurvivalQuantile(probability, _opt(est), _opt(lo), _opt(hi))

    @property
    def median(self) -> SurvivalQuantile:
        """Median survival time with its confidence interval."""
        return self.quantile(0.5)

    def n_at_risk(self, times: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Numbers at risk (time >= t) at each of ``times``; 0 beyond the last follow-up."""
        t = np.asarray(times, dtype=np.float64)
        # n_risk at distinct time i = subjects with time >= time[i]; beyond the end nobody.
        idx = np.searchsorted(self.time, t, side="left")
        padded = np.concatenate((self.n_risk, [0.0]))
        return padded[idx].astype(np.int64)

    def survival_at(self, times: npt.ArrayLike) -> FloatArray:
        """Right-continuous step function :math:`\\hat S(t)` at ``times``."""
        t = np.asarray(times, dtype=np.float64)
        idx = np.searchsorted(self.time, t, side="right")
        return np.concatenate(([1.0], self.survival))[idx]

    def summary(self) -> str:
        """A short text summary: n, events, median and quartiles with CIs."""
        lines = [
            f"Kaplan-Meier: n={self.n}, events={self.events}, "
            f"{self.conf_level:.0%} CI ({self.conf_type})",
        ]
        lines.extend(f"  {self.quantile(p)}" for p in (0.25, 0.5, 0.75))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _opt(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _first_at_or_above(level: FloatArray, p: float) -> float:
    """R's ``approx(level, seq_along(level), p, method="constant", f=1)$y`` (0-based, NaN)."""
    ok = np.flatnonzero(~np.isnan(level))
    if ok.size == 0:
        return np.nan
    values = level[ok]
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    if p < sorted_values[0] or p > sorted_values[-1]:
        return np.nan
    return float(ok[order[np.searchsorted(sorted_values, p, side="left")]])


def _findq(x: FloatArray, y: FloatArray, p: float) -> float:
    """Where the distribution curve ``y`` (steps at ``x``) reaches ``p``; R's ``findq``."""
    finite = y[~np.isnan(y)]
    if finite.size == 0 or finite.max() < p:
        return np.nan
    xmax = x[-1]
    # Drop repeated y values (censoring times, flat band stretches), NaN counted as one value,
    # keeping the first: the remaining x are the times where the curve jumps.
    _, first = np.unique(y, return_index=True)  # np.unique collapses NaNs together
    first.sort()
    xs, ys = x[first], y[first]
    i1 = _first_at_or_above(ys + _TOL, p)
    i2 = _first_at_or_above(ys - _TOL, p)
    if not np.isnan(ys[-1]) and abs(p - ys[-1]) < _TOL:
        # The curve ends flat at p: midpoint of the flat stretch up to the last follow-up.
        return np.nan if np.isnan(i1) else float((xs[int(i1)] + xmax) / 2)
    if np.isnan(i1) or np.isnan(i2):
        return np.nan
    return float((xs[int(i1)] + xs[int(i2)]) / 2)


def _confidence_band(
    surv: FloatArray, se_cumhaz: FloatArray, conf_type: ConfType, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise band as in R's ``survfit_confint`` (with ``logse=TRUE``)."""
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            # 0 * inf is NaN where the curve reached 0; np.maximum keeps NaN as R's pmax does.
            half = se_cumhaz * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            half = z * se_cumhaz
            return np.exp(np.log(xx) - half), np.minimum(np.exp(np.log(xx) + half), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        half = z * se_cumhaz / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


def kaplan_meier(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    *,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
) -> KaplanMeier:
    """Kaplan-Meier estimate with Greenwood variance and a pointwise confidence band.

    .. math::

        \\hat S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right), \\qquad
        \\widehat{\\operatorname{Var}}\\left[-\\log \\hat S(t)\\right]
            = \\sum_{t_i \\le t} \\frac{d_i}{n_i (n_i - d_i)}

    Parameters
    ----------
    time
        Follow-up times (>= 0).
    event
        1 for an event, 0 for a censored observation.
    conf_type
        Transform for the confidence band: ``"log-log"`` (SAS's default, the default
        here), ``"log"`` (R's default) or ``"plain"``.
    conf_level
        Confidence level of the band and of the quantile intervals.

    Returns
    -------
    KaplanMeier
        Curve at every distinct time, with band, quantiles and numbers at risk.

    References
    ----------
    Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations.
    J Am Stat Assoc 53:457-481.

    Greenwood M (1926). The natural duration of cancer. Reports on Public Health and
    Medical Subjects 33. London: HMSO.
    """
    if conf_type not in _CONF_TYPES:
        raise InputError(
            f"conf_type must be one of {', '.join(_CONF_TYPES)}, got {conf_type!r}",
            location="conf_type",
        )
    if not 0.0 < conf_level < 1.0:
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}", location="conf_level")
    t, e = check_time_event(time, event)
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order].astype(np.float64)
    starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
    n_total = ts.size
    uniq = ts[starts]
    n_risk = (n_total - starts).astype(np.float64)
    n_event = np.add.reduceat(es, starts)
    n_censor = np.diff(np.append(starts, n_total)).astype(np.float64) - n_event
    surv: FloatArray = np.cumprod(1.0 - n_event / n_risk, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # d / (n (n - d)) is +inf when everyone at risk fails (the curve drops to 0), as in R.
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        se_cumhaz = np.sqrt(np.cumsum(terms))
        se_surv = np.where(surv > 0, surv * se_cumhaz, np.nan)
    lower, upper = _confidence_band(surv, se_cumhaz, conf_type, conf_level)
    return KaplanMeier(
        time=uniq,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=surv,
        std_err_cumhaz=se_cumhaz,
        std_err=se_surv,
        lower=lower,
        upper=upper,
        conf_type=conf_type,
        conf_level=conf_level,
        n=int(n_total),
        events=int(es.sum()),
    )
