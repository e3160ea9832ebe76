"""Expected number of events against calendar time under uniform accrual.

Details and reasoning: docs/statistics.md, section `trialkit.design.accrual`.

References
----------
Lachin J.M. and Foulkes M.A. (1986). Evaluation of sample size and power for
analyses of survival with allowance for nonuniform patient entry, losses to
follow-up, noncompliance, and stratification. *Biometrics* 42, 507-519.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trialkit.design.roots import brentq
from trialkit.errors import DesignInputError

__all__ = [
    "SurvivalModel",
    "dropout_hazard",
    "hazard_from_median",
]

_XTOL = 1e-12


def hazard_from_median(median: float, name: str = "median") -> float:
    """Exponential hazard per month for a median in months: :math:`\\lambda = \\log 2 / m`."""
    if not (math.isfinite(median) and median > 0.0):
        raise DesignInputError(
            f"{name} must be a positive number of months; you gave {median:g}",
            location=name.replace(" ", "_"),
        )
    return math.log(2.0) / median


def dropout_hazard(rate: float, time: float) -> float:
    """Exponential dropout hazard giving probability ``rate`` of dropping out by ``time`` months."""
    if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
        raise DesignInputError(
            f"dropout rate must lie in [0, 1); you gave {rate:g}", location="dropout_rate"
        )
    if not (math.isfinite(time) and time > 0.0):
        raise DesignInputError(
            f"dropout time must be a positive number of months; you gave {time:g}",
            location="dropout_time",
        )
    return -math.log1p(-rate) / time


@dataclass(frozen=True)
class SurvivalModel:
    """Two exponential arms with a common exponential dropout hazard.

    Parameters
    ----------
    hazard_control, hazard_treatment
        Event hazards per month.
    allocation_ratio
        Patients on treatment per patient on control.
    dropout
        Dropout hazard per month, the same in both arms.
    """

    hazard_control: float
    hazard_treatment: float
    allocation_ratio: float = 1.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("hazard_control", "hazard_treatment", "allocation_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise DesignInputError(
                    f"{name.replace('_', ' ')} must be positive; got {value:g}", location=name
                )
        if not (math.isfinite(self.dropout) and self.dropout >= 0.0):
            raise DesignInputError(
                f"dropout hazard must be non-negative; got {self.dropout:g}", location="dropout"
            )

    @classmethod
    def from_medians(
        cls,
        median_control: float,
        median_treatment: float,
        *,
        allocation_ratio: float = 1.0,
        dropout: float = 0.0,
    ) -> SurvivalModel:
        """Build the model from the two medians in months."""
        return cls(
            hazard_from_median(median_control, "median control"),
            hazard_from_median(median_treatment, "median treatment"),
            allocation_ratio,
            dropout,
        )

    @property
    def hazard_ratio(self) -> float:
        """Treatment hazard over control hazard."""
        return self.hazard_treatment / self.hazard_control

    def _arms(self) -> tuple[tuple[float, float, float], ...]:
        """(share of patients, event hazard, total hazard) for treatment and control."""
        r = self.allocation_ratio
        return (
            (r / (1.0 + r), self.hazard_treatment, self.hazard_treatment + self.dropout),
            (1.0 / (1.0 + r), self.hazard_control, self.hazard_control + self.dropout),
        )

    def event_probability(self, follow_up: ArrayLike) -> NDArray[np.float64]:
        """Probability of an event within ``follow_up`` months of entry (averaged over arms)."""
        s = np.maximum(np.asarray(follow_up, dtype=float), 0.0)
        total: NDArray[np.float64] = np.zeros_like(s)
        for share, lam, h in self._arms():
            total += share * lam / h * -np.expm1(-h * s)
        return total

    def max_event_fraction(self) -> float:
        """Share of patients who eventually have an event (1 without dropout)."""
        return sum(share * lam / h for share, lam, h in self._arms())

    def expected_events(
        self, time: ArrayLike, *, n: float, accrual_time: float
    ) -> NDArray[np.float64]:
        """Expected events at calendar ``time`` (months from the first patient in).

        Parameters
        ----------
        time
            Calendar time or times in months.
        n
            Number of patients, entering uniformly over ``[0, accrual_time]``.
        accrual_time
            Length of the accrual period in months.
        """
        t = np.asarray(time, dtype=float)
        total = np.zeros_like(t)
        for share, lam, h in self._arms():
            total += share * (
                _integrated_cdf(t, lam, h) - _integrated_cdf(t - accrual_time, lam, h)
            )
        return n / accrual_time * total

    def _fraction_with_event(self, time: float, accrual_time: float) -> float:
        return float(self.expected_events(time, n=1.0, accrual_time=accrual_time))

    def _check_reachable(self, events: float, n: float) -> None:
        limit = n * self.max_event_fraction()
        if events >= limit * (1.0 - 1e-12):
            with_dropout = " after dropout" if self.dropout > 0.0 else ""
            raise DesignInputError(
                f"{n:g} patients can give at most {limit:.4g} events{with_dropout}; "
                f"you asked for {events:.4g}: enrol more patients or lower the events",
                location="n",
            )

    def patients_for_events(
        self, events: float, *, accrual_time: float, follow_up_time: float
    ) -> float:
        """Patients needed so that ``events`` are expected at ``accrual_time + follow_up_time``."""
        _check_positive(accrual_time, "accrual time", "accrual_time")
        if not (math.isfinite(follow_up_time) and follow_up_time >= 0.0):
            raise DesignInputError(
                f"follow-up time must be zero or more months; you gave {follow_up_time:g}",
                location="follow_up_time",
            )
        return events / self._fraction_with_event(accrual_time + follow_up_time, accrual_time)

    def time_of_events(self, events: float, *, n: float, accrual_time: float) -> float:
        """Calendar time (months) at which ``events`` are expected with ``n`` patients.

        Before the end of accrual when the events come early, as rpact reports it.
        """
        _check_positive(accrual_time, "accrual time", "accrual_time")
        _check_positive(n, "number of patients", "n")
        self._check_reachable(events, n)

        def excess(t: float) -> float:
            return float(self.expected_events(t, n=n, accrual_time=accrual_time)) - events

        upper = accrual_time + 1.0
        while excess(upper) < 0.0:
            upper *= 2.0
        return float(brentq(excess, 0.0, upper, xtol=_XTOL, rtol=4 * np.finfo(float).eps))

    def accrual_time_for_events(self, events: float, *, n: float, follow_up_time: float) -> float:
        """Accrual period (months) after which ``events`` arrive ``follow_up_time`` months later.

        The expected events at :math:`a + f` grow with :math:`a` for fixed :math:`n` and
        :math:`f` (earlier patients are followed longer), from :math:`n F(f)` at
        :math:`a \\to 0` towards the maximum the patients can give.
        """
        _check_positive(n, "number of patients", "n")
        if not (math.isfinite(follow_up_time) and follow_up_time >= 0.0):
            raise DesignInputError(
                f"follow-up time must be zero or more months; you gave {follow_up_time:g}",
                location="follow_up_time",
            )
        self._check_reachable(events, n)
        at_once = n * float(self.event_probability(follow_up_time))
        if events <= at_once:
            raise DesignInputError(
                f"{n:g} patients followed for {follow_up_time:g} months give {at_once:.4g} events "
                f"even if all enter at once, more than the {events:.4g} asked for: "
                "shorten the follow-up or lower the number of patients",
                location="follow_up_time",
            )

        def excess(a: float) -> float:
            return float(self.expected_events(a + follow_up_time, n=n, accrual_time=a)) - events

        lower, upper = 1e-9, 1.0
        while excess(upper) < 0.0:
            upper *= 2.0
        return float(brentq(excess, lower, upper, xtol=_XTOL, rtol=4 * np.finfo(float).eps))


def _check_positive(value: float, name: str, parameter: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise DesignInputError(f"{name} must be positive; you gave {value:g}", location=parameter)


def _integrated_cdf(t: NDArray[np.float64], lam: float, h: float) -> NDArray[np.float64]:
    """:math:`\\int_0^t F(s)\\,ds` for event hazard ``lam`` and total hazard ``h``."""
    s = np.maximum(t, 0.0)
    return lam / h * (s - -np.expm1(-h * s) / h)
