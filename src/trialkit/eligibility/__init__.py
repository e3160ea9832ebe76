"""Executable eligibility: criteria evaluated over a screening record, with reasons."""

from trialkit.eligibility.engine import (
    CriterionResult,
    EligibilityResult,
    evaluate_eligibility,
)
from trialkit.eligibility.record import ScreeningRecord, parse_record

__all__ = [
    "CriterionResult",
    "EligibilityResult",
    "ScreeningRecord",
    "evaluate_eligibility",
    "parse_record",
]
