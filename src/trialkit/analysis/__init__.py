"""Survival statistics: Kaplan-Meier, log-rank and Cox proportional hazards.

Pure functions over numpy arrays, checked against R ``survival``; no I/O.
"""

from __future__ import annotations

from trialkit.analysis.cox import CoxPH, CoxTest, Ties, coxph, coxph_two_groups
from trialkit.analysis.kaplan_meier import ConfType, KaplanMeier, SurvivalQuantile, kaplan_meier
from trialkit.analysis.logrank import (
    LogrankComponents,
    LogrankResult,
    logrank_kernel,
    logrank_test,
)
from trialkit.analysis.two_arm import TwoArmSurvival, two_arm_survival

__all__ = [
    "ConfType",
    "CoxPH",
    "CoxTest",
    "KaplanMeier",
    "LogrankComponents",
    "LogrankResult",
    "SurvivalQuantile",
    "Ties",
    "TwoArmSurvival",
    "coxph",
    "coxph_two_groups",
    "kaplan_meier",
    "logrank_kernel",
    "logrank_test",
    "two_arm_survival",
]
