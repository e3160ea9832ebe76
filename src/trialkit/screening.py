"""Screening: the eligibility verdict and the background therapy of one record, together.

This is what a site investigator asks at screening, and what the CLI, the API and
the service all call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialkit.eligibility.context import build_context
from trialkit.eligibility.engine import EligibilityResult, evaluate_eligibility
from trialkit.eligibility.record import ScreeningRecord
from trialkit.protocol.model import Protocol
from trialkit.therapy.assign import TherapyAssignment, assign_background_therapy

__all__ = ["ScreeningOutcome", "screen"]


@dataclass(frozen=True)
class ScreeningOutcome:
    eligibility: EligibilityResult
    therapy: TherapyAssignment

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``trialkit eligibility check --json``."""
        return {
            "protocol": self.eligibility.protocol,
            "eligible": self.eligibility.eligible,
            "verdict": self.eligibility.verdict,
            "background_therapy": self.therapy.group,
            "background_therapy_reason": self.therapy.reason,
            "criteria": [c.as_dict() for c in self.eligibility.criteria],
            "missing": list(self.eligibility.missing),
        }


def screen(protocol: Protocol, record: ScreeningRecord) -> ScreeningOutcome:
    """Evaluate eligibility and assign the background therapy for one screening record."""
    context = build_context(protocol, record)
    return ScreeningOutcome(
        eligibility=evaluate_eligibility(protocol, record),
        therapy=assign_background_therapy(protocol, record, context=context),
    )
