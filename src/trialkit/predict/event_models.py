"""Pooled (blinded) time-to-event models: likelihoods, fits and conditional samplers.

Details and reasoning: docs/prediction.md, section `trialkit.predict.event_models`.

References
----------
Ying G.-S. and Heitjan D.F. (2008). Weibull prediction of event times in clinical
trials. *Pharmaceutical Statistics* 7, 107-120.

Lu K. eventPred: Event prediction in clinical trials (R package; ``fitEvent``).

Fang L. and Su Z. (2011). A hybrid approach to predicting events in clinical trials
with time-to-event outcomes. *Contemporary Clinical Trials* 32, 755-759.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import truncnorm

from trialkit.errors import InputError
from trialkit.predict.fitting import (
    covariance,
    draw_normal,
    information_criteria,
    maximise,
    numerical_hessian,
)

__all__ = [
    "EventFamily",
    "EventFit",
    "Exponential",
    "ExponentialMixture",
    "ModelName",
    "PiecewiseExponential",
    "Weibull",
    "default_knots",
    "fit_event_model",
]

ModelName = Literal["exponential", "weibull", "piecewise", "mixture"]
_DAYS_PER_MONTH = 30.4375

Array = NDArray[np.float64]


class EventFamily(Protocol):
    """A parametric family: log-likelihood, survival and conditional residual sampler."""

    @property
    def name(self) -> ModelName:
        """The family's name."""
        ...

    def fit(self, time: Array, event: NDArray[np.bool_]) -> EventFit:
        """Maximum likelihood fit to right-censored ``time`` (days) and ``event``."""
        ...

    def survival(self, theta: Array, t: Array) -> Array:
        """:math:`S(t)` for one parameter vector."""
        ...

    def sample_residual(self, theta: Array, u: Array, rng: np.random.Generator) -> Array:
        """Draw :math:`T - u \\mid T > u`: ``theta`` ``(S, p)``, ``u`` ``(n,)``, out ``(S, n)``."""
        ...

    def describe(self, theta: Array) -> dict[str, float]:
        """Readable parameters (medians and rates in months)."""
        ...

    def draw(self, theta: Array, cov: Array, size: int, rng: np.random.Generator) -> Array:
        """Parameter vectors for ``size`` simulations, shape ``(size, p)``."""
        ...


class _NormalDraws:
    """Draws from the asymptotic normal of the MLE (all families but the mixture)."""

    def draw(self, theta: Array, cov: Array, size: int, rng: np.random.Generator) -> Array:
        return draw_normal(theta, cov, size, rng)


@dataclass(frozen=True, eq=False)
class EventFit:
    """A fitted model: MLE on the log scale, its covariance, and information criteria."""

    family: EventFamily
    theta: Array
    cov: Array
    loglik: float
    n_obs: int
    events: int
    aic: float = field(init=False)
    bic: float = field(init=False)

    def __post_init__(self) -> None:
        aic, bic = information_criteria(self.loglik, self.theta.size, self.n_obs)
        object.__setattr__(self, "aic", aic)
        object.__setattr__(self, "bic", bic)

    @property
    def name(self) -> ModelName:
        """The family's name."""
        return self.family.name

    @property
    def params(self) -> dict[str, float]:
        """Readable parameters at the MLE."""
        return self.family.describe(self.theta)

    def draw(self, size: int, rng: np.random.Generator) -> Array:
        """Parameter vectors from the asymptotic normal of the MLE, shape ``(size, p)``."""
        return self.family.draw(self.theta, self.cov, size, rng)


def _check(time: Array, event: NDArray[np.bool_], minimum: int, name: str) -> None:
    d = int(event.sum())
    if d < minimum:
        raise InputError(
            f"the {name} model needs at least {minimum} events and the data have {d}; "
            "choose a simpler model or wait for more events (or forecast from the design)"
        )
    if np.any(time <= 0) or not np.all(np.isfinite(time)):
        raise InputError("times on study must be positive and finite")


def _median_months(rate: float) -> float:
    return math.log(2.0) / rate / _DAYS_PER_MONTH


@dataclass(frozen=True)
class Exponential(_NormalDraws):
    """Exponential model; :math:`\\mathrm{Var}(\\log\\hat\\lambda) = 1/d`."""

    name: ModelName = "exponential"

    def fit(self, time: Array, event: NDArray[np.bool_]) -> EventFit:
        _check(time, event, 1, "exponential")
        d = int(event.sum())
        rate = d / float(time.sum())
        loglik = d * math.log(rate) - rate * float(time.sum())
        return EventFit(
            self, np.array([math.log(rate)]), np.array([[1.0 / d]]), loglik, time.size, d
        )

    def survival(self, theta: Array, t: Array) -> Array:
        return np.exp(-math.exp(theta[0]) * t)

    def sample_residual(self, theta: Array, u: Array, rng: np.random.Generator) -> Array:
        rate = np.exp(theta[:, :1])
        return rng.standard_exponential((theta.shape[0], u.size)) / rate

    def describe(self, theta: Array) -> dict[str, float]:
        rate = math.exp(theta[0])
        return {"median_months": _median_months(rate), "hazard_per_month": rate * _DAYS_PER_MONTH}


@dataclass(frozen=True)
class Weibull(_NormalDraws):
    """Weibull model.

    :math:`S(t) = \\exp\\{-(t/\\sigma)^k\\}`, :math:`\\theta = (\\log k, \\log\\sigma)`.
    """

    name: ModelName = "weibull"

    @staticmethod
    def loglik(theta: Array, time: Array, event: NDArray[np.bool_]) -> float:
        """Log-likelihood.

        .. math::

            \\sum_i d_i \\{\\log k - \\log\\sigma + (k - 1)\\log(t_i/\\sigma)\\}
            - (t_i/\\sigma)^k
        """
        k, sigma = math.exp(theta[0]), math.exp(theta[1])
        w = np.log(time) - math.log(sigma)
        return float(np.sum(event * (math.log(k / sigma) + (k - 1.0) * w)) - np.sum(np.exp(k * w)))

    def fit(self, time: Array, event: NDArray[np.bool_]) -> EventFit:
        _check(time, event, 2, "Weibull")
        d = int(event.sum())
        start = np.array([0.0, math.log(float(time.sum()) / d)])
        theta, ll, cov = maximise(lambda th: -self.loglik(th, time, event), start)
        return EventFit(self, theta, cov, ll, time.size, d)

    def survival(self, theta: Array, t: Array) -> Array:
        return np.exp(-((t / math.exp(theta[1])) ** math.exp(theta[0])))

    def sample_residual(self, theta: Array, u: Array, rng: np.random.Generator) -> Array:
        k = np.exp(theta[:, :1])
        sigma = np.exp(theta[:, 1:2])
        h_u = (u[None, :] / sigma) ** k
        e = rng.standard_exponential((theta.shape[0], u.size))
        out: Array = np.maximum(sigma * (h_u + e) ** (1.0 / k) - u[None, :], 0.0)
        return out

    def describe(self, theta: Array) -> dict[str, float]:
        k, sigma = math.exp(theta[0]), math.exp(theta[1])
        return {
            "shape": k,
            "scale_months": sigma / _DAYS_PER_MONTH,
            "median_months": sigma * math.log(2.0) ** (1.0 / k) / _DAYS_PER_MONTH,
        }


def default_knots(time: Array, event: NDArray[np.bool_]) -> tuple[float, ...]:
    """Knots at the tertiles of the observed event times (a median split under 15 events).

    Each interval then holds about a third of the events, so every rate is estimable.
    """
    times = np.sort(time[event])
    if times.size < 6:
        return (0.0,)
    probs = (1 / 3, 2 / 3) if times.size >= 15 else (1 / 2,)
    inner = sorted({float(np.floor(np.quantile(times, q))) for q in probs})
    return (0.0, *[k for k in inner if k > 0.0])


@dataclass(frozen=True)
class PiecewiseExponential(_NormalDraws):
    """Piecewise-constant hazard with knots :math:`0 = \\tau_0 < \\tau_1 < \\dots` (days).

    The MLE of each rate is the events over the exposure in its interval,
    :math:`\\hat\\lambda_j = d_j / E_j`, with :math:`\\mathrm{Var}(\\log\\hat\\lambda_j) = 1/d_j`.
    """

    knots: tuple[float, ...] = (0.0,)
    name: ModelName = "piecewise"

    def __post_init__(self) -> None:
        k = np.asarray(self.knots, dtype=float)
        if k.size == 0 or k[0] != 0.0 or np.any(np.diff(k) <= 0.0) or not np.all(np.isfinite(k)):
            raise InputError(
                f"piecewise knots must start at 0 and increase; got {list(self.knots)}"
            )

    def _exposure(self, time: Array) -> Array:
        lo = np.asarray(self.knots)
        hi = np.append(lo[1:], np.inf)
        out: Array = np.clip(time[:, None], lo, hi) - lo
        return out

    def _interval(self, t: Array) -> NDArray[np.intp]:
        """Index of the interval :math:`(\\tau_j, \\tau_{j+1}]` holding each ``t``."""
        return np.maximum(np.searchsorted(np.asarray(self.knots), t, side="left") - 1, 0)

    def fit(self, time: Array, event: NDArray[np.bool_]) -> EventFit:
        _check(time, event, 1, "piecewise exponential")
        exposure = self._exposure(time).sum(axis=0)
        d = np.bincount(self._interval(time[event]), minlength=len(self.knots)).astype(float)
        empty = np.flatnonzero(d == 0)
        if empty.size:
            j = int(empty[0])
            raise InputError(
                f"no events in the piecewise interval starting at day {self.knots[j]:g}; "
                "remove that knot or move it so that every interval holds events"
            )
        rates = d / exposure
        loglik = float(np.sum(d * np.log(rates)) - np.sum(rates * exposure))
        return EventFit(self, np.log(rates), np.diag(1.0 / d), loglik, time.size, int(event.sum()))

    def _cumhaz(self, rates: Array, t: Array) -> Array:
        out: Array = self._exposure(t) @ rates
        return out

    def survival(self, theta: Array, t: Array) -> Array:
        return np.exp(-self._cumhaz(np.exp(theta), np.asarray(t, dtype=float)))

    def sample_residual(self, theta: Array, u: Array, rng: np.random.Generator) -> Array:
        knots = np.asarray(self.knots)
        rates = np.exp(theta)  # (S, J)
        # cumulative hazard at each knot, per draw: (S, J)
        at_knots = np.concatenate(
            [np.zeros((theta.shape[0], 1)), np.cumsum(rates[:, :-1] * np.diff(knots), axis=1)],
            axis=1,
        )
        j = self._interval(u)  # (n,)
        h_u = at_knots[:, j] + rates[:, j] * (u - knots[j])  # (S, n)
        target = h_u + rng.standard_exponential(h_u.shape)
        idx = (at_knots[:, None, :] <= target[:, :, None]).sum(axis=2) - 1  # (S, n)
        rows = np.arange(theta.shape[0])[:, None]
        t = knots[idx] + (target - at_knots[rows, idx]) / rates[rows, idx]
        out: Array = np.maximum(t - u[None, :], 0.0)
        return out

    def describe(self, theta: Array) -> dict[str, float]:
        out: dict[str, float] = {}
        for knot, value in zip(self.knots, np.exp(theta), strict=True):
            out[f"hazard_per_month_from_day_{knot:g}"] = float(value) * _DAYS_PER_MONTH
        return out


@dataclass(frozen=True)
class ExponentialMixture(_NormalDraws):
    """Two exponential arms mixed with known allocation probability ``p`` (blinded design).

    :math:`\\theta = (\\log\\lambda_1, \\log\\lambda_2)`, :math:`\\lambda_1` the hazard of the
    component with probability ``p``. The hazard ratio between the components is
    bounded by ``max_hazard_ratio`` (3 by default, far beyond any effect a trial is
    designed for) in the fit and in the parameter draws: without a bound, the flat
    direction of the blinded likelihood lets draws put one arm's rate near zero
    (a "cured" arm), which gives absurd prediction intervals.
    """

    p: float = 0.5
    max_hazard_ratio: float = 3.0
    name: ModelName = "mixture"

    def __post_init__(self) -> None:
        if not 0.0 < self.p < 1.0:
            raise InputError(f"the mixing probability must lie in (0, 1); got {self.p:g}")
        if not self.max_hazard_ratio > 1.0:
            raise InputError(
                f"the largest hazard ratio must exceed 1; got {self.max_hazard_ratio:g}"
            )

    def _log_terms(self, theta: Array, t: Array) -> tuple[Array, Array]:
        """log of each component's survival weighted by its probability, ``(n, 2)``; and rates."""
        rates = np.exp(theta)
        logw = np.log(np.array([self.p, 1.0 - self.p]))
        return logw - t[:, None] * rates, rates

    def loglik(self, theta: Array, time: Array, event: NDArray[np.bool_]) -> float:
        """:math:`\\sum_i \\log\\{\\sum_c p_c \\lambda_c^{d_i} e^{-\\lambda_c t_i}\\}`."""
        terms, rates = self._log_terms(theta, time)
        terms = terms + event[:, None] * np.log(rates)
        return float(np.sum(np.logaddexp(terms[:, 0], terms[:, 1])))

    def fit(self, time: Array, event: NDArray[np.bool_]) -> EventFit:
        _check(time, event, 2, "exponential mixture")
        d = int(event.sum())
        base = math.log(d / float(time.sum()))
        bound = math.log(self.max_hazard_ratio)

        # (mean log rate, log hazard ratio): the second is the weakly identified direction
        def negloglik(x: Array) -> float:
            return -self.loglik(np.array([x[0] + x[1] / 2.0, x[0] - x[1] / 2.0]), time, event)

        best = None
        # one start per labelling, because of the near-symmetry of the likelihood
        for delta in (0.3, -0.3):
            got = minimize(
                negloglik,
                np.array([base, delta]),
                method="Nelder-Mead",
                bounds=[(None, None), (-bound, bound)],
                options={"xatol": 1e-7, "fatol": 1e-9},
            )
            if best is None or got.fun < best.fun:
                best = got
        assert best is not None
        x = np.asarray(best.x, dtype=float)
        if self.p == 0.5 and x[1] < 0.0:
            x[1] = -x[1]
        jac = np.array([[1.0, 0.5], [1.0, -0.5]])
        cov = jac @ covariance(numerical_hessian(negloglik, x)) @ jac.T
        return EventFit(self, jac @ x, cov, -negloglik(x), time.size, d)

    def draw(self, theta: Array, cov: Array, size: int, rng: np.random.Generator) -> Array:
        """Normal draws truncated to a log hazard ratio within the bound.

        In :math:`x = (m, \\delta)`, the mean log rate and the log hazard ratio, the
        truncation touches :math:`\\delta` only: draw it from its truncated normal
        marginal, then :math:`m \\mid \\delta` from the conditional normal (exact).
        """
        bound = math.log(self.max_hazard_ratio)
        inv = np.array([[0.5, 0.5], [1.0, -1.0]])
        mean = inv @ theta
        c = inv @ cov @ inv.T
        sd = math.sqrt(c[1, 1])
        if sd == 0.0:
            return np.tile(theta, (size, 1))
        lo, hi = (-bound - mean[1]) / sd, (bound - mean[1]) / sd
        delta = mean[1] + sd * truncnorm.rvs(lo, hi, size=size, random_state=rng)
        slope = c[0, 1] / c[1, 1]
        cond_sd = math.sqrt(max(c[0, 0] - slope * c[0, 1], 0.0))
        m = mean[0] + slope * (delta - mean[1]) + cond_sd * rng.standard_normal(size)
        return np.column_stack([m + delta / 2.0, m - delta / 2.0])

    def survival(self, theta: Array, t: Array) -> Array:
        terms, _ = self._log_terms(theta, np.asarray(t, dtype=float))
        out: Array = np.exp(np.logaddexp(terms[:, 0], terms[:, 1]))
        return out

    def sample_residual(self, theta: Array, u: Array, rng: np.random.Generator) -> Array:
        rates = np.exp(theta)  # (S, 2)
        # posterior probability of component 1 given survival to u, (S, n)
        a = math.log(self.p) - rates[:, :1] * u[None, :]
        b = math.log(1.0 - self.p) - rates[:, 1:2] * u[None, :]
        post1 = expit(a - b)
        first = rng.random(post1.shape) < post1
        rate = np.where(first, rates[:, :1], rates[:, 1:2])
        out: Array = rng.standard_exponential(post1.shape) / rate
        return out

    def describe(self, theta: Array) -> dict[str, float]:
        r1, r2 = np.exp(theta)
        return {
            "share_1": self.p,
            "median_1_months": _median_months(float(r1)),
            "median_2_months": _median_months(float(r2)),
            "hazard_ratio_1_over_2": float(r1 / r2),
        }


def fit_event_model(
    name: ModelName,
    time: Array,
    event: NDArray[np.bool_],
    *,
    knots: tuple[float, ...] | None = None,
    mixing: float = 0.5,
) -> EventFit:
    """Fit the named family (``knots`` in days for ``piecewise``; ``mixing`` for ``mixture``)."""
    family: EventFamily
    if name == "exponential":
        family = Exponential()
    elif name == "weibull":
        family = Weibull()
    elif name == "piecewise":
        family = PiecewiseExponential(knots if knots is not None else default_knots(time, event))
    elif name == "mixture":
        family = ExponentialMixture(mixing)
    else:
        raise InputError(
            f"unknown event model {name!r}: use exponential, weibull, piecewise or mixture"
        )
    return family.fit(np.asarray(time, dtype=float), np.asarray(event, dtype=bool))
