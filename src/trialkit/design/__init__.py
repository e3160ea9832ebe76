"""Statistical design of an event-driven two-arm survival trial.

Pure functions and frozen results, no I/O:

* :mod:`~trialkit.design.events` - Schoenfeld / Freedman events, critical hazard ratio
* :mod:`~trialkit.design.accrual` - expected events against calendar time
* :mod:`~trialkit.design.sample_size` - events, patients, accrual and follow-up
* :mod:`~trialkit.design.boundaries` - Lan-DeMets spending group-sequential bounds
* :mod:`~trialkit.design.decision` - operating characteristics of a decision threshold
* :mod:`~trialkit.design.claims` - recompute the design claims of a protocol
"""

from trialkit.design.accrual import SurvivalModel, dropout_hazard, hazard_from_median
from trialkit.design.boundaries import (
    CrossingProbabilities,
    GroupSequentialDesign,
    SpendingFunction,
    crossing_probabilities,
    group_sequential_design,
    spending,
)
from trialkit.design.events import (
    EventsMethod,
    critical_hr,
    events_for_power,
    hr_standard_error,
    power_at_events,
    probability_hr_below,
)
from trialkit.design.sample_size import StageAnalysis, SurvivalSampleSize, survival_sample_size

__all__ = [
    "CrossingProbabilities",
    "EventsMethod",
    "GroupSequentialDesign",
    "SpendingFunction",
    "StageAnalysis",
    "SurvivalModel",
    "SurvivalSampleSize",
    "critical_hr",
    "crossing_probabilities",
    "dropout_hazard",
    "events_for_power",
    "group_sequential_design",
    "hazard_from_median",
    "hr_standard_error",
    "power_at_events",
    "probability_hr_below",
    "spending",
    "survival_sample_size",
]
