"""Event-driven sample size for comparing two exponential survival curves.

Details and reasoning: docs/statistics.md, section `trialkit.design.sample_size`.

References
----------
Schoenfeld D. (1983). Sample-size formula for the proportional-hazards
regression model. *Biometrics* 39, 499-503.

Freedman L.S. (1982). Tables of the number of patients required in clinical
trials using the logrank test. *Statistics in Medicine* 1, 121-129.

Lan K.K.G. and DeMets D.L. (1983). Discrete sequential boundaries for clinical
trials. *Biometrika* 70, 659-663.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trialkit.design.accrual import SurvivalModel, dropout_hazard, hazard_from_median
from trialkit.design.boundaries import (
    GroupSequentialDesign,
    SpendingFunction,
    crossing_probabilities,
    group_sequential_design,
)
from trialkit.design.events import (
    EventsMethod,
    check_probability,
    critical_hr,
    events_for_power,
    hr_standard_error,
)
from trialkit.errors import DesignInputError

__all__ = [
    "StageAnalysis",
    "SurvivalSampleSize",
    "resolve_hazard_ratio",
    "round_up",
    "survival_sample_size",
]

_HR_AGREEMENT = 1e-6


def round_up(value: float) -> int:
    """Round up, ignoring floating-point noise just above an integer (120.0000000001 -> 120)."""
    return math.ceil(value - 1e-9)


@dataclass(frozen=True)
class StageAnalysis:
    """One analysis of a (group-sequential) design."""

    information_rate: float
    events: float
    time: float
    z: float
    critical_hr: float
    futility_z: float | None
    futility_hr: float | None


@dataclass(frozen=True)
class SurvivalSampleSize:
    """Events, patients and timing of an event-driven survival trial.

    ``events``, ``n`` and the times are unrounded (as rpact reports them);
    ``events_planned`` and ``n_planned`` are rounded up. ``analysis_time`` is
    months from the first patient in to the (final) analysis; ``follow_up_time``
    is ``analysis_time - accrual_time`` and is negative when the events come
    before the end of accrual.
    """

    method: EventsMethod
    alpha: float
    power: float
    hazard_ratio: float
    median_control: float
    median_treatment: float
    allocation_ratio: float
    dropout_rate: float
    dropout_time: float
    events_fixed: float
    events: float
    n: float
    accrual_time: float
    follow_up_time: float
    analysis_time: float
    critical_hr: float
    stages: tuple[StageAnalysis, ...]
    boundaries: GroupSequentialDesign | None
    model: SurvivalModel

    @property
    def events_planned(self) -> int:
        """Events rounded up to a whole number."""
        return round_up(self.events)

    @property
    def n_planned(self) -> int:
        """Patients rounded up to a whole number."""
        return round_up(self.n)

    @property
    def accrual_per_month(self) -> float:
        """Patients entering per month."""
        return self.n / self.accrual_time

    def power_at(self, hr: float) -> float:
        """Probability of rejecting (at any analysis, futility bounds followed) at true ``hr``."""
        if not (math.isfinite(hr) and hr > 0.0):
            raise DesignInputError(f"hazard ratio must be positive; you gave {hr:g}", location="hr")
        drift = -math.log(hr) / hr_standard_error(self.events, self.allocation_ratio)
        rates = [s.information_rate for s in self.stages]
        upper = [s.z for s in self.stages]
        lower = None
        if any(s.futility_z is not None for s in self.stages):
            # the futility bounds are non-binding, but the power reported is that of a trial
            # that follows them (rpact's convention): 1 - beta at the design HR
            lower = [s.z if s.futility_z is None else s.futility_z for s in self.stages]
        return math.fsum(crossing_probabilities(rates, upper, lower, drift=drift).upper)

    def summary(self) -> str:
        """A readable account of the design."""
        text = [
            f"{self.method.capitalize()} events for HR {self.hazard_ratio:.4g} "
            f"(medians {self.median_control:g} vs {self.median_treatment:.4g} months), "
            f"one-sided alpha {self.alpha:g}, power {self.power:g}, "
            f"allocation {self.allocation_ratio:g}:1",
            f"events {self.events:.2f} (plan {self.events_planned}), "
            f"patients {self.n:.2f} (plan {self.n_planned})",
            f"accrual {self.accrual_time:.2f} months ({self.accrual_per_month:.2f}/month), "
            f"follow-up {self.follow_up_time:.2f} months, analysis at month "
            f"{self.analysis_time:.2f}, critical HR {self.critical_hr:.4f}",
        ]
        return "\n".join(text)


def resolve_hazard_ratio(
    *, median_control: float, median_treatment: float | None, hr: float | None
) -> tuple[float, float]:
    """Return (hazard ratio, treatment median) from the control median and one of the others.

    Under exponential survival the hazard ratio is
    :math:`\\mathrm{median}_{control} / \\mathrm{median}_{treatment}`.
    """
    hazard_from_median(median_control, "median control")
    if median_treatment is None and hr is None:
        raise DesignInputError(
            "give the treatment median or the hazard ratio (treatment / control)",
            location="median_treatment",
        )
    if median_treatment is not None:
        hazard_from_median(median_treatment, "median treatment")
        implied = median_control / median_treatment
        if hr is not None and abs(hr - implied) > _HR_AGREEMENT * implied:
            raise DesignInputError(
                f"the hazard ratio {hr:g} contradicts the medians, which imply HR {implied:.6g} "
                f"({median_control:g}/{median_treatment:g}): give the hazard ratio or the "
                "treatment median, not both",
                location="hr",
            )
        return implied, median_treatment
    assert hr is not None
    if not (math.isfinite(hr) and hr > 0.0):
        raise DesignInputError(f"hazard ratio must be positive; you gave {hr:g}", location="hr")
    return hr, median_control / hr


def survival_sample_size(
    *,
    median_control: float,
    median_treatment: float | None = None,
    hr: float | None = None,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
    accrual_time: float | None = None,
    n: float | None = None,
    follow_up_time: float | None = None,
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    method: EventsMethod = "schoenfeld",
    information_rates: Sequence[float] = (1.0,),
    spending_function: SpendingFunction = "obrien-fleming",
    beta_spending: SpendingFunction | None = None,
) -> SurvivalSampleSize:
    """Events, patients and calendar time for a two-arm exponential survival trial.

    Parameters
    ----------
    median_control, median_treatment, hr
        Control median (months) and either the treatment median or the hazard ratio
        (treatment / control).
    alpha, power
        One-sided significance level and power.
    allocation_ratio
        Patients on treatment per patient on control.
    accrual_time, n, follow_up_time
        Give exactly two; the third is solved for. ``follow_up_time`` is counted from
        the last patient in to the (final) analysis.
    dropout_rate, dropout_time
        Probability of dropping out by ``dropout_time`` months (exponential, both arms).
    method
        ``"schoenfeld"`` or ``"freedman"`` events formula.
    information_rates, spending_function, beta_spending
        Group-sequential design (see :func:`trialkit.design.boundaries.group_sequential_design`);
        the default is a single analysis.

    Returns
    -------
    SurvivalSampleSize
    """
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    ratio, median_t = resolve_hazard_ratio(
        median_control=median_control, median_treatment=median_treatment, hr=hr
    )
    model = SurvivalModel.from_medians(
        median_control,
        median_t,
        allocation_ratio=allocation_ratio,
        dropout=dropout_hazard(dropout_rate, dropout_time) if dropout_rate != 0.0 else 0.0,
    )
    fixed = events_for_power(
        alpha=alpha, power=power, hr=ratio, allocation_ratio=allocation_ratio, method=method
    )
    rates = tuple(float(v) for v in information_rates)
    sequential = len(rates) > 1 or beta_spending is not None
    design = (
        group_sequential_design(
            alpha=alpha,
            information_rates=rates,
            spending_function=spending_function,
            power=power,
            beta_spending=beta_spending,
        )
        if sequential
        else None
    )
    events = fixed * design.inflation_factor if design is not None else fixed

    given = {
        "accrual_time": ("the accrual time", accrual_time),
        "n": ("the number of patients", n),
        "follow_up_time": ("the follow-up time", follow_up_time),
    }
    missing = [key for key, (_, value) in given.items() if value is None]
    if len(missing) != 1:
        named = [label for label, value in given.values() if value is not None]
        what = "all three" if not missing else ("only " + ", ".join(named) if named else "none")
        raise DesignInputError(
            "give exactly two of the accrual time, the number of patients and the follow-up "
            f"time (the third is solved for); you gave {what}",
            # the parameter to leave out, or the first one to add
            location="follow_up_time" if not missing else missing[0],
        )
    if n is None:
        assert accrual_time is not None
        assert follow_up_time is not None
        n = model.patients_for_events(
            events, accrual_time=accrual_time, follow_up_time=follow_up_time
        )
        analysis_time = accrual_time + follow_up_time
    elif follow_up_time is None:
        assert accrual_time is not None
        analysis_time = model.time_of_events(events, n=n, accrual_time=accrual_time)
    else:
        accrual_time = model.accrual_time_for_events(events, n=n, follow_up_time=follow_up_time)
        analysis_time = accrual_time + follow_up_time

    stages = _stages(
        model,
        design,
        events,
        n=n,
        accrual_time=accrual_time,
        final_time=analysis_time,
        alpha=alpha,
        allocation_ratio=allocation_ratio,
    )
    return SurvivalSampleSize(
        method=method,
        alpha=alpha,
        power=power,
        hazard_ratio=ratio,
        median_control=median_control,
        median_treatment=median_t,
        allocation_ratio=allocation_ratio,
        dropout_rate=dropout_rate,
        dropout_time=dropout_time,
        events_fixed=fixed,
        events=events,
        n=n,
        accrual_time=accrual_time,
        follow_up_time=analysis_time - accrual_time,
        analysis_time=analysis_time,
        critical_hr=stages[-1].critical_hr,
        stages=stages,
        boundaries=design,
        model=model,
    )


def _stages(
    model: SurvivalModel,
    design: GroupSequentialDesign | None,
    events: float,
    *,
    n: float,
    accrual_time: float,
    final_time: float,
    alpha: float,
    allocation_ratio: float,
) -> tuple[StageAnalysis, ...]:
    if design is None:
        hr_crit = critical_hr(alpha=alpha, events=events, allocation_ratio=allocation_ratio)
        z = -math.log(hr_crit) / hr_standard_error(events, allocation_ratio)
        return (StageAnalysis(1.0, events, final_time, z, hr_crit, None, None),)
    stages = []
    for k, rate in enumerate(design.information_rates):
        d_k = events * rate
        se = hr_standard_error(d_k, allocation_ratio)
        last = k == len(design.information_rates) - 1
        time = final_time if last else model.time_of_events(d_k, n=n, accrual_time=accrual_time)
        fut = design.futility_z[k] if design.futility_z and not last else None
        stages.append(
            StageAnalysis(
                information_rate=rate,
                events=d_k,
                time=time,
                z=design.z[k],
                critical_hr=math.exp(-design.z[k] * se),
                futility_z=fut,
                futility_hr=math.exp(-fut * se) if fut is not None else None,
            )
        )
    return tuple(stages)
