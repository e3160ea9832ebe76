"""Number of events needed to detect a hazard ratio with the log-rank test.

Details and reasoning: docs/statistics.md, section `trialkit.design.events`.

References
----------
Schoenfeld D. (1983). Sample-size formula for the proportional-hazards
regression model. *Biometrics* 39, 499-503.

Freedman L.S. (1982). Tables of the number of patients required in clinical
trials using the logrank test. *Statistics in Medicine* 1, 121-129.
"""

from __future__ import annotations

import math
from typing import Literal

from trialkit.design import normal
from trialkit.errors import DesignInputError

__all__ = [
    "EventsMethod",
    "check_probability",
    "critical_hr",
    "events_for_power",
    "hr_standard_error",
    "power_at_events",
    "probability_hr_below",
]

EventsMethod = Literal["schoenfeld", "freedman"]


def check_probability(value: float, name: str) -> float:
    """Return ``value`` if it lies strictly inside (0, 1), else raise :class:`DesignInputError`."""
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise DesignInputError(
            f"{name} must lie strictly between 0 and 1; you gave {value:g}", location=name
        )
    return value


def _check_hr(hr: float, name: str = "hazard ratio", parameter: str = "hr") -> float:
    if not (math.isfinite(hr) and hr > 0.0):
        raise DesignInputError(
            f"{name} must be a positive number; you gave {hr:g}", location=parameter
        )
    return hr


def _check_ratio(allocation_ratio: float) -> float:
    if not (math.isfinite(allocation_ratio) and allocation_ratio > 0.0):
        raise DesignInputError(
            f"allocation ratio (treatment:control) must be positive; you gave {allocation_ratio:g}",
            location="allocation_ratio",
        )
    return allocation_ratio


def _check_events(events: float) -> float:
    if not (math.isfinite(events) and events > 0.0):
        raise DesignInputError(
            f"number of events must be positive; you gave {events:g}", location="events"
        )
    return events


def hr_standard_error(events: float, allocation_ratio: float = 1.0) -> float:
    """Standard error of the estimated log hazard ratio after ``events`` events (Schoenfeld).

    .. math:: \\mathrm{SE}(\\log \\widehat{\\mathrm{HR}}) = \\frac{1 + r}{\\sqrt{r D}}

    which is :math:`2/\\sqrt{D}` for 1:1 allocation (variance :math:`4/D`).
    """
    _check_events(events)
    r = _check_ratio(allocation_ratio)
    return (1.0 + r) / math.sqrt(r * events)


def events_for_power(
    *,
    alpha: float,
    power: float,
    hr: float,
    allocation_ratio: float = 1.0,
    method: EventsMethod = "schoenfeld",
) -> float:
    """Events needed for a one-sided level-``alpha`` log-rank test to have ``power`` at ``hr``.

    Parameters
    ----------
    alpha
        One-sided significance level.
    power
        Power :math:`1-\\beta` at the hazard ratio ``hr``.
    hr
        Hazard ratio treatment / control under the alternative (not 1).
    allocation_ratio
        Patients on treatment per patient on control (rpact's ``allocationRatioPlanned``).
    method
        ``"schoenfeld"`` (Schoenfeld 1983) or ``"freedman"`` (Freedman 1982).

    Returns
    -------
    float
        The unrounded number of events.
    """
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    _check_hr(hr)
    r = _check_ratio(allocation_ratio)
    if hr == 1.0:
        raise DesignInputError(
            "hazard ratio must differ from 1 to be detectable; change the hazard ratio",
            location="hr",
        )
    z = float(normal.ppf(1.0 - alpha) + normal.ppf(power))
    if method == "schoenfeld":
        return (1.0 + r) ** 2 / r * z**2 / math.log(hr) ** 2
    if method == "freedman":
        return (1.0 + r * hr) ** 2 / (r * (1.0 - hr) ** 2) * z**2
    raise DesignInputError(
        f"method must be 'schoenfeld' or 'freedman'; you gave {method!r}", location="method"
    )


def critical_hr(*, alpha: float, events: float, allocation_ratio: float = 1.0) -> float:
    """Largest observed hazard ratio that is significant at one-sided level ``alpha``.

    .. math:: \\mathrm{HR}_{crit} = \\exp\\left(-z_{1-\\alpha} \\frac{1+r}{\\sqrt{r D}}\\right)
    """
    check_probability(alpha, "alpha")
    se = hr_standard_error(events, allocation_ratio)
    return math.exp(-float(normal.ppf(1.0 - alpha)) * se)


def probability_hr_below(
    threshold: float, *, hr: float, events: float, allocation_ratio: float = 1.0
) -> float:
    """Probability that the estimated hazard ratio is at most ``threshold`` if the truth is ``hr``.

    Under Schoenfeld's approximation
    :math:`\\log\\widehat{\\mathrm{HR}} \\sim N(\\log \\mathrm{HR}, (1+r)^2/(rD))`.
    With ``hr = 1`` this is the one-sided p-value of an observed ``threshold``.
    """
    _check_hr(threshold, "threshold hazard ratio", "threshold")
    _check_hr(hr)
    se = hr_standard_error(events, allocation_ratio)
    return float(normal.cdf((math.log(threshold) - math.log(hr)) / se))


def power_at_events(
    *, alpha: float, hr: float, events: float, allocation_ratio: float = 1.0
) -> float:
    """Power of the one-sided level-``alpha`` test after ``events`` events at true ``hr``."""
    return probability_hr_below(
        critical_hr(alpha=alpha, events=events, allocation_ratio=allocation_ratio),
        hr=hr,
        events=events,
        allocation_ratio=allocation_ratio,
    )
