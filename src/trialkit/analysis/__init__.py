"""Trial statistics: Kaplan-Meier, log-rank, Cox, proportions, subgroups, safety and CONSORT.

Pure functions over numpy arrays, checked against R ``survival``; no I/O.
"""

from __future__ import annotations

from trialkit.analysis.consort import ConsortArm, ConsortFlow, ConsortPatient, consort_flow
from trialkit.analysis.cox import CoxPH, CoxTest, Ties, coxph, coxph_two_groups
from trialkit.analysis.kaplan_meier import ConfType, KaplanMeier, SurvivalQuantile, kaplan_meier
from trialkit.analysis.logrank import (
    LogrankComponents,
    LogrankResult,
    logrank_kernel,
    logrank_test,
)
from trialkit.analysis.proportions import (
    Proportion,
    ProportionDifference,
    clopper_pearson,
    newcombe_difference,
)
from trialkit.analysis.safety import (
    AdverseEvent,
    SafetyColumn,
    SafetyPatient,
    SafetyTables,
    TermRow,
    safety_tables,
)
from trialkit.analysis.subgroups import SubgroupAnalysis, SubgroupEffect, subgroup_analysis
from trialkit.analysis.two_arm import TwoArmSurvival, two_arm_survival

__all__ = [
    "AdverseEvent",
    "ConfType",
    "ConsortArm",
    "ConsortFlow",
    "ConsortPatient",
    "CoxPH",
    "CoxTest",
    "KaplanMeier",
    "LogrankComponents",
    "LogrankResult",
    "Proportion",
    "ProportionDifference",
    "SafetyColumn",
    "SafetyPatient",
    "SafetyTables",
    "SubgroupAnalysis",
    "SubgroupEffect",
    "SurvivalQuantile",
    "TermRow",
    "Ties",
    "TwoArmSurvival",
    "clopper_pearson",
    "consort_flow",
    "coxph",
    "coxph_two_groups",
    "kaplan_meier",
    "logrank_kernel",
    "logrank_test",
    "newcombe_difference",
    "safety_tables",
    "subgroup_analysis",
    "two_arm_survival",
]
