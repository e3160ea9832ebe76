"""Operating characteristics of a decision-threshold design.

Details and reasoning: docs/statistics.md, section `trialkit.design.decision`.

References
----------
Schoenfeld D. (1983). Sample-size formula for the proportional-hazards
regression model. *Biometrics* 39, 499-503.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trialkit.design.events import hr_standard_error, probability_hr_below
from trialkit.errors import DesignInputError

__all__ = ["DecisionCharacteristics", "decision_characteristics", "default_hr_grid"]


def default_hr_grid(alternative_hr: float) -> tuple[float, ...]:
    """Hazard ratios from well below the alternative to 1.2, in steps of 0.01."""
    low = max(0.3, round(min(alternative_hr, 1.0) - 0.25, 2))
    return tuple(round(float(v), 2) for v in np.arange(low, 1.2 + 1e-9, 0.01))


@dataclass(frozen=True)
class DecisionCharacteristics:
    """Error rates and power of the rule "effective if observed HR <= decision_hr".

    Attributes
    ----------
    false_positive_rate
        :math:`P(\\widehat{\\mathrm{HR}} \\le c \\mid \\mathrm{HR} = 1)`.
    false_negative_rate
        :math:`P(\\widehat{\\mathrm{HR}} > c \\mid \\mathrm{HR} = \\mathrm{HR}_1)`.
    power_curve
        ``(true HR, probability of declaring effective)`` pairs.
    """

    events: float
    decision_hr: float
    alternative_hr: float
    allocation_ratio: float
    standard_error: float
    false_positive_rate: float
    false_negative_rate: float
    power_curve: tuple[tuple[float, float], ...]

    @property
    def power(self) -> float:
        """Probability of declaring the treatment effective under the alternative."""
        return 1.0 - self.false_negative_rate

    def summary(self) -> str:
        """The operating characteristics in two lines."""
        return (
            f"Decision 'observed HR <= {self.decision_hr:g}' after {self.events:g} events "
            f"(SE of log HR {self.standard_error:.4f}):\n"
            f"false-positive rate {self.false_positive_rate:.4f} (HR 1), "
            f"false-negative rate {self.false_negative_rate:.4f} (HR {self.alternative_hr:g}), "
            f"power {self.power:.4f}"
        )


def decision_characteristics(
    *,
    events: float,
    decision_hr: float,
    alternative_hr: float,
    allocation_ratio: float = 1.0,
    hrs: Sequence[float] | None = None,
) -> DecisionCharacteristics:
    """Operating characteristics of declaring efficacy when the observed HR is <= ``decision_hr``.

    Parameters
    ----------
    events
        Number of events at the analysis.
    decision_hr
        Threshold :math:`c` on the observed hazard ratio.
    alternative_hr
        True hazard ratio under the alternative hypothesis.
    allocation_ratio
        Patients on treatment per patient on control.
    hrs
        True hazard ratios for the power curve; :func:`default_hr_grid` when omitted.
    """
    for name, parameter, value in (
        ("decision HR", "decision_hr", decision_hr),
        ("alternative HR", "alternative_hr", alternative_hr),
    ):
        if not value > 0.0:
            raise DesignInputError(
                f"{name} must be positive; you gave {value:g}", location=parameter
            )
    se = hr_standard_error(events, allocation_ratio)
    grid = default_hr_grid(alternative_hr) if hrs is None else tuple(hrs)

    def declared(hr: float) -> float:
        return probability_hr_below(
            decision_hr, hr=hr, events=events, allocation_ratio=allocation_ratio
        )

    return DecisionCharacteristics(
        events=events,
        decision_hr=decision_hr,
        alternative_hr=alternative_hr,
        allocation_ratio=allocation_ratio,
        standard_error=se,
        false_positive_rate=declared(1.0),
        false_negative_rate=1.0 - declared(alternative_hr),
        power_curve=tuple((float(hr), declared(float(hr))) for hr in grid),
    )
