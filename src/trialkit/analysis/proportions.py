r"""Binomial proportions (objective response rate) and the difference of two proportions.

Details and reasoning: docs/statistics.md, section `trialkit.analysis.proportions`.

References
----------
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case
of the binomial. Biometrika 26:404-413.
Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
J Am Stat Assoc 22:209-212.
Newcombe RG (1998). Interval estimation for the difference between independent proportions:
comparison of eleven methods. Stat Med 17:873-890.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from trialkit.errors import InputError

__all__ = ["Proportion", "ProportionDifference", "clopper_pearson", "newcombe_difference"]


@dataclass(frozen=True, slots=True)
class Proportion:
    """``x`` of ``n`` with its estimate and confidence interval."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    conf_level: float
    method: str

    def summary(self) -> str:
        """``x/n (pct%; 95% CI lo-hi%)``."""
        level = round(self.conf_level * 100)
        return (
            f"{self.x}/{self.n} ({100 * self.estimate:.1f}%; {level}% CI "
            f"{100 * self.lower:.1f}-{100 * self.upper:.1f}%)"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, slots=True)
class ProportionDifference:
    """``first - second`` with its confidence interval."""

    first: Proportion
    second: Proportion
    estimate: float
    lower: float
    upper: float
    conf_level: float
    method: str

    def summary(self) -> str:
        level = round(self.conf_level * 100)
        return (
            f"difference {100 * self.estimate:+.1f} percentage points ({level}% CI "
            f"{100 * self.lower:+.1f} to {100 * self.upper:+.1f}; {self.method})"
        )

    def __str__(self) -> str:
        return self.summary()


def _check(x: int, n: int, conf_level: float, where: str) -> None:
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be between 0 and 1, got {conf_level}", location=where)
    if n < 1:
        raise InputError(
            f"{where}: n is {n}; a proportion needs at least one patient", location=where
        )
    if not 0 <= x <= n:
        raise InputError(
            f"{where}: {x} responders of {n} patients; give 0 <= x <= n", location=where
        )


def clopper_pearson(x: int, n: int, *, conf_level: float = 0.95) -> Proportion:
    """Exact (Clopper-Pearson) confidence interval for a binomial proportion.

    Parameters
    ----------
    x, n
        Number of successes (responders) and of trials (patients).
    conf_level
        Two-sided confidence level.

    Returns
    -------
    Proportion
        ``lower = Beta(alpha/2; x, n - x + 1)`` quantile (0 when ``x = 0``) and
        ``upper = Beta(1 - alpha/2; x + 1, n - x)`` quantile (1 when ``x = n``), as R's
        ``binom.test(x, n)$conf.int``.
    """
    _check(x, n, conf_level, "proportion")
    alpha = 1 - conf_level
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return Proportion(x, n, x / n, lower, upper, conf_level, "Clopper-Pearson")


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score limits (R's ``prop.test(x, n, correct = FALSE)``; exactly 0 / 1 at the ends)."""
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    lower = 0.0 if x == 0 else (centre - half) / denom
    upper = 1.0 if x == n else (centre + half) / denom
    return lower, upper


def newcombe_difference(
    x1: int, n1: int, x2: int, n2: int, *, conf_level: float = 0.95
) -> ProportionDifference:
    """Difference ``x1/n1 - x2/n2`` with Newcombe's hybrid score interval (method 10).

    Parameters
    ----------
    x1, n1, x2, n2
        Responders and patients in the first and the second group.
    conf_level
        Two-sided confidence level.

    Returns
    -------
    ProportionDifference
        The two groups' Clopper-Pearson proportions and the difference with its interval.
    """
    first = clopper_pearson(x1, n1, conf_level=conf_level)
    second = clopper_pearson(x2, n2, conf_level=conf_level)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _wilson(x1, n1, z)
    l2, u2 = _wilson(x2, n2, z)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return ProportionDifference(first, second, d, lower, upper, conf_level, "Newcombe hybrid score")
