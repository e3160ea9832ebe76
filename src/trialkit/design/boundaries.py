"""Group-sequential boundaries from error-spending functions.

Details and reasoning: docs/statistics.md, section `trialkit.design.boundaries`.

References
----------
Lan K.K.G. and DeMets D.L. (1983). Discrete sequential boundaries for clinical
trials. *Biometrika* 70, 659-663.

Kim K. and DeMets D.L. (1987). Design and analysis of group sequential tests
based on the type I error spending rate function. *Biometrika* 74, 149-154.

Jennison C. and Turnbull B.W. (2000). *Group Sequential Methods with
Applications to Clinical Trials*. Chapman & Hall/CRC, ch. 7 and 19.

Armitage P., McPherson C.K. and Rowe B.C. (1969). Repeated significance tests on
accumulating data. *J. R. Statist. Soc. A* 132, 235-244.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trialkit.design import normal
from trialkit.design.events import check_probability
from trialkit.design.roots import brentq
from trialkit.errors import DesignInputError

__all__ = [
    "CrossingProbabilities",
    "GroupSequentialDesign",
    "SpendingFunction",
    "crossing_probabilities",
    "group_sequential_design",
    "spending",
]

SpendingFunction = Literal["obrien-fleming", "pocock"]

_GRID_R = 32  # Jennison & Turnbull's grid size parameter; r = 16 is already accurate to ~1e-6
_Z_MAX = 40.0  # stands in for +infinity as a bound


def spending(kind: SpendingFunction, error: float, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative error spent at information rates ``t`` by a Lan-DeMets spending function.

    Parameters
    ----------
    kind
        ``"obrien-fleming"``: :math:`2 - 2\\Phi(z_{1-e/2}/\\sqrt{t})`;
        ``"pocock"``: :math:`e \\log(1 + (e^1 - 1)t)`.
    error
        Total error :math:`e` (one-sided :math:`\\alpha`, or :math:`\\beta`).
    t
        Information rates in (0, 1].
    """
    t = np.asarray(t, dtype=float)
    if kind == "obrien-fleming":
        return np.asarray(2.0 * normal.sf(normal.isf(error / 2.0) / np.sqrt(t)), dtype=float)
    if kind == "pocock":
        return error * np.log1p((math.e - 1.0) * t)
    raise DesignInputError(
        f"spending must be 'obrien-fleming' or 'pocock'; you gave {kind!r}",
        location="spending_function",
    )


@dataclass(frozen=True)
class _Continuation:
    """Sub-density of :math:`Z_k` on paths that have not stopped, times the Simpson weights."""

    z: NDArray[np.float64]
    mass: NDArray[np.float64]
    t: float


def _grid(
    mean: float, lower: float, upper: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Jennison-Turnbull grid on ``[lower, upper]`` around ``mean`` with Simpson weights."""
    r = _GRID_R
    i = np.arange(1, 6 * r)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / np.maximum(i, 1)),
        np.where(
            i <= 5 * r,
            -3.0 + 3.0 * (i - r) / (2.0 * r),
            3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1)),
        ),
    )
    x = mean + x
    inside = x[(x > lower) & (x < upper)]
    points = [inside]
    if lower > x[0]:
        points.insert(0, np.array([lower]))
    if upper < x[-1]:
        points.append(np.array([upper]))
    odd = np.concatenate(points)
    if odd.size < 2:
        # the continuation region is a sliver far in the tail: three points on it
        lo, hi = max(lower, x[0]), min(upper, x[-1])
        odd = np.array([lo, hi]) if hi > lo else np.array([lo, lo])
    z = np.empty(2 * odd.size - 1)
    z[0::2] = odd
    z[1::2] = 0.5 * (odd[:-1] + odd[1:])
    w = np.zeros_like(z)
    width = np.diff(odd) / 6.0
    w[0:-1:2] += width
    w[1::2] += 4.0 * width
    w[2::2] += width
    return z, w


def _first(t: float, drift: float, lower: float, upper: float) -> _Continuation:
    mean = drift * math.sqrt(t)
    z, w = _grid(mean, lower, upper)
    return _Continuation(z, w * normal.pdf(z - mean), t)


def _next(prev: _Continuation, t: float, drift: float, lower: float, upper: float) -> _Continuation:
    dt = t - prev.t
    mean = drift * math.sqrt(t)
    z, w = _grid(mean, lower, upper)
    sd = math.sqrt(dt)
    shift = prev.z * math.sqrt(prev.t) + drift * dt
    kernel = normal.pdf((z[:, None] * math.sqrt(t) - shift[None, :]) / sd) * (math.sqrt(t) / sd)
    return _Continuation(z, w * (kernel @ prev.mass), t)


def _upper_crossing(prev: _Continuation | None, t: float, drift: float, bound: float) -> float:
    """P(Z_k >= bound and no earlier stop)."""
    if prev is None:
        return float(normal.sf(bound - drift * math.sqrt(t)))
    dt = t - prev.t
    arg = (prev.z * math.sqrt(prev.t) + drift * dt - bound * math.sqrt(t)) / math.sqrt(dt)
    return float(prev.mass @ normal.cdf(arg))


def _lower_crossing(prev: _Continuation | None, t: float, drift: float, bound: float) -> float:
    """P(Z_k <= bound and no earlier stop)."""
    if prev is None:
        return float(normal.cdf(bound - drift * math.sqrt(t)))
    dt = t - prev.t
    arg = (bound * math.sqrt(t) - prev.z * math.sqrt(prev.t) - drift * dt) / math.sqrt(dt)
    return float(prev.mass @ normal.cdf(arg))


def _advance(
    prev: _Continuation | None, t: float, drift: float, lower: float, upper: float
) -> _Continuation:
    if prev is None:
        return _first(t, drift, lower, upper)
    return _next(prev, t, drift, lower, upper)


@dataclass(frozen=True)
class CrossingProbabilities:
    """Probabilities of stopping at each stage for efficacy (upper) and futility (lower)."""

    upper: tuple[float, ...]
    lower: tuple[float, ...]


def crossing_probabilities(
    information_rates: Sequence[float],
    upper: Sequence[float],
    lower: Sequence[float] | None = None,
    *,
    drift: float = 0.0,
) -> CrossingProbabilities:
    """Stage-wise probabilities of crossing ``upper`` and ``lower`` for a given drift.

    Parameters
    ----------
    information_rates
        Increasing information rates ending at 1.
    upper, lower
        Bounds on the z scale; ``lower`` defaults to no futility bound.
    drift
        Mean of :math:`Z_K`; 0 under the null hypothesis.
    """
    t = _check_rates(information_rates)
    k = t.size
    b = [float(v) for v in upper]
    a = [-_Z_MAX] * k if lower is None else [float(v) for v in lower]
    if len(b) != k or len(a) != k:
        raise DesignInputError("give one bound per information rate", location="information_rates")
    prev: _Continuation | None = None
    ups, lows = [], []
    for j in range(k):
        ups.append(_upper_crossing(prev, t[j], drift, b[j]))
        lows.append(_lower_crossing(prev, t[j], drift, a[j]) if a[j] > -_Z_MAX else 0.0)
        if j < k - 1:
            prev = _advance(prev, t[j], drift, a[j], b[j])
    return CrossingProbabilities(tuple(ups), tuple(lows))


def _check_rates(information_rates: Sequence[float]) -> NDArray[np.float64]:
    t = np.asarray(list(information_rates), dtype=float)
    if t.size == 0:
        raise DesignInputError(
            "give at least one information rate, e.g. 0.5,0.75,1", location="information_rates"
        )
    if not np.all(np.isfinite(t)) or t[0] <= 0.0 or np.any(np.diff(t) <= 0.0):
        raise DesignInputError(
            f"information rates must increase strictly from above 0 to 1; you gave {t.tolist()}",
            location="information_rates",
        )
    if abs(t[-1] - 1.0) > 1e-12:
        raise DesignInputError(
            f"the last information rate must be 1; you gave {t[-1]:g}",
            location="information_rates",
        )
    t[-1] = 1.0
    return t


def _solve_bound(crossing: Callable[[float], float], target: float) -> float:
    """The bound at which the monotone ``crossing`` probability equals ``target``."""
    return float(
        brentq(lambda x: crossing(x) - target, -_Z_MAX / 4, _Z_MAX / 4, xtol=1e-12, rtol=1e-14)
    )


def _efficacy_bounds(t: NDArray[np.float64], alpha_spent: NDArray[np.float64]) -> list[float]:
    bounds: list[float] = []
    prev: _Continuation | None = None
    spent_before = 0.0
    for j in range(t.size):
        increment = float(alpha_spent[j] - spent_before)
        spent_before = float(alpha_spent[j])
        p, tj = prev, float(t[j])
        if increment <= 0.0:
            bound = _Z_MAX
        else:
            bound = _solve_bound(partial(_upper_crossing, p, tj, 0.0), increment)
        bounds.append(bound)
        if j < t.size - 1:
            prev = _advance(prev, tj, 0.0, -_Z_MAX, bound)
    return bounds


def _futility_bounds(
    t: NDArray[np.float64], upper: list[float], beta_spent: NDArray[np.float64], drift: float
) -> tuple[list[float], float]:
    """Futility bounds for stages 1..K-1 and the beta left over for stage K.

    The left-over is :math:`P(Z_K < b_K, \\text{no earlier stop}) - (\\beta - \\beta(t_{K-1}))`;
    it is zero exactly when the final futility bound meets the final efficacy bound.
    """
    bounds: list[float] = []
    prev: _Continuation | None = None
    for j in range(t.size - 1):
        increment = float(beta_spent[j] - (beta_spent[j - 1] if j else 0.0))
        p, tj = prev, float(t[j])
        if increment <= 0.0:
            bound = -_Z_MAX
        elif _lower_crossing(p, tj, drift, upper[j]) <= increment:
            bound = upper[j]  # the futility region would overlap the efficacy region
        else:
            bound = _solve_bound(partial(_lower_crossing, p, tj, drift), increment)
        bounds.append(bound)
        prev = _advance(prev, tj, drift, bound, upper[j])
    last = float(beta_spent[-1] - (beta_spent[-2] if t.size > 1 else 0.0))
    return bounds, _lower_crossing(prev, 1.0, drift, upper[-1]) - last


def _drift_for_power(t: NDArray[np.float64], upper: list[float], power: float) -> float:
    rates = [float(v) for v in t]

    def excess(drift: float) -> float:
        return math.fsum(crossing_probabilities(rates, upper, drift=drift).upper) - power

    return float(brentq(excess, 0.0, 20.0, xtol=1e-12, rtol=1e-14))


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Efficacy (and optional non-binding futility) bounds of a group-sequential design.

    Attributes
    ----------
    information_rates
        :math:`t_k`, ending at 1.
    z
        Efficacy bounds: reject at stage :math:`k` when :math:`Z_k \\ge z_k`.
    nominal_p
        One-sided nominal p-value of each efficacy bound, :math:`1 - \\Phi(z_k)`.
    cumulative_alpha_spent
        :math:`\\alpha(t_k)`.
    futility_z
        Non-binding futility bounds (stop when :math:`Z_k \\le` bound), the last equal to
        ``z[-1]``; empty without beta spending.
    cumulative_beta_spent
        :math:`\\beta(t_k)`; empty without beta spending.
    drift
        Mean of :math:`Z_K` that gives ``power`` with these bounds.
    inflation_factor
        Maximum information relative to the fixed design with the same alpha and power.
    """

    alpha: float
    power: float
    spending: SpendingFunction
    beta_spending: SpendingFunction | None
    information_rates: tuple[float, ...]
    z: tuple[float, ...]
    nominal_p: tuple[float, ...]
    cumulative_alpha_spent: tuple[float, ...]
    futility_z: tuple[float, ...]
    cumulative_beta_spent: tuple[float, ...]
    drift: float
    inflation_factor: float

    def summary(self) -> str:
        """A short text table of the bounds."""
        lines = [
            f"Group-sequential design, one-sided alpha {self.alpha:g}, power {self.power:g}, "
            f"{self.spending} alpha spending"
            + (f", {self.beta_spending} beta spending (non-binding)" if self.beta_spending else ""),
            "stage  info rate  efficacy z  nominal p  alpha spent"
            + ("  futility z" if self.futility_z else ""),
        ]
        for k, (t, z, p, s) in enumerate(
            zip(
                self.information_rates,
                self.z,
                self.nominal_p,
                self.cumulative_alpha_spent,
                strict=True,
            )
        ):
            row = f"{k + 1:>5}  {t:>9.4f}  {z:>10.4f}  {p:>9.6f}  {s:>11.6f}"
            if self.futility_z:
                row += f"  {self.futility_z[k]:>10.4f}"
            lines.append(row)
        lines.append(f"inflation factor {self.inflation_factor:.4f}")
        return "\n".join(lines)


def group_sequential_design(
    *,
    alpha: float = 0.025,
    information_rates: Sequence[float] = (1.0,),
    spending_function: SpendingFunction = "obrien-fleming",
    power: float = 0.8,
    beta_spending: SpendingFunction | None = None,
) -> GroupSequentialDesign:
    """Efficacy bounds by alpha spending, with optional non-binding beta-spending futility.

    Parameters
    ----------
    alpha
        One-sided significance level.
    information_rates
        Increasing information rates ending at 1 (``(1,)`` is the fixed design).
    spending_function
        Lan-DeMets ``"obrien-fleming"`` or ``"pocock"`` type alpha spending.
    power
        Power :math:`1-\\beta` used for the drift (and for beta spending).
    beta_spending
        Spend :math:`\\beta` with this function for non-binding futility bounds.

    Returns
    -------
    GroupSequentialDesign
        The bounds, the alpha (and beta) spent and the drift giving ``power``.
    """
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    if alpha >= 0.5:
        raise DesignInputError(
            f"one-sided alpha must be below 0.5; you gave {alpha:g}", location="alpha"
        )
    t = _check_rates(information_rates)
    alpha_spent = spending(spending_function, alpha, t)
    alpha_spent[-1] = alpha
    upper = _efficacy_bounds(t, alpha_spent)
    beta = 1.0 - power
    futility: list[float] = []
    beta_spent: NDArray[np.float64] = np.zeros(0)
    if beta_spending is None:
        drift = _drift_for_power(t, upper, power)
    else:
        beta_spent = spending(beta_spending, beta, t)
        beta_spent[-1] = beta

        def gap(d: float) -> float:
            return _futility_bounds(t, upper, beta_spent, d)[1]

        drift = float(brentq(gap, 0.0, 20.0, xtol=1e-12, rtol=1e-14))
        futility = [*_futility_bounds(t, upper, beta_spent, drift)[0], upper[-1]]
    fixed = float(normal.isf(alpha) + normal.isf(beta))
    return GroupSequentialDesign(
        alpha=alpha,
        power=power,
        spending=spending_function,
        beta_spending=beta_spending,
        information_rates=tuple(float(v) for v in t),
        z=tuple(upper),
        nominal_p=tuple(float(normal.sf(v)) for v in upper),
        cumulative_alpha_spent=tuple(float(v) for v in alpha_spent),
        futility_z=tuple(futility),
        cumulative_beta_spent=tuple(float(v) for v in beta_spent),
        drift=drift,
        inflation_factor=(drift / fixed) ** 2,
    )
