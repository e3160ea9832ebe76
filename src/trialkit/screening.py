"""Screening: the eligibility verdict and the background therapy of one record, together.

This is what a site investigator asks at screening, and what the CLI, the API and
the service all call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trialkit.eligibility.context import RecordData, build_context
from trialkit.eligibility.engine import EligibilityResult, evaluate_eligibility
from trialkit.errors import RecordError
from trialkit.protocol.model import Protocol
from trialkit.protocol.records import validate_record
from trialkit.therapy.assign import TherapyAssignment, assign_background_therapy

__all__ = ["ScreeningOutcome", "ScreeningResult", "parse_screening_record", "screen"]


@dataclass(frozen=True)
class ScreeningResult:
    """A screening outcome as an evaluation keeps it: the eligibility result and the
    background-therapy group assigned (or why none), in the stable JSON shape of
    ``trialkit eligibility check --json``."""

    eligibility: EligibilityResult
    background_therapy: str | None
    background_therapy_reason: str

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``trialkit eligibility check --json``."""
        return {
            "protocol": self.eligibility.protocol,
            "eligible": self.eligibility.eligible,
            "verdict": self.eligibility.verdict,
            "background_therapy": self.background_therapy,
            "background_therapy_reason": self.background_therapy_reason,
            "criteria": [c.as_dict() for c in self.eligibility.criteria],
            "missing": list(self.eligibility.missing),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScreeningResult:
        """The result again from :meth:`as_dict` (a stored evaluation)."""
        group = data.get("background_therapy")
        return cls(
            eligibility=EligibilityResult.from_dict(data),
            background_therapy=group if isinstance(group, str) else None,
            background_therapy_reason=str(data.get("background_therapy_reason") or ""),
        )


@dataclass(frozen=True)
class ScreeningOutcome:
    eligibility: EligibilityResult
    therapy: TherapyAssignment

    @property
    def result(self) -> ScreeningResult:
        """What an evaluation keeps of this outcome (the therapy by its group)."""
        return ScreeningResult(self.eligibility, self.therapy.group, self.therapy.reason)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``trialkit eligibility check --json``."""
        return self.result.as_dict()


def screen(protocol: Protocol, record: RecordData) -> ScreeningOutcome:
    """Evaluate eligibility and assign the background therapy for one screening record."""
    context = build_context(protocol, record)
    return ScreeningOutcome(
        eligibility=evaluate_eligibility(protocol, record, context=context),
        therapy=assign_background_therapy(protocol, record, context=context),
    )


def parse_screening_record(protocol: Protocol, data: Any, *, source: str = "$") -> dict[str, Any]:
    """``data`` validated against the protocol's screening form, as the JSON data to keep.

    Raises
    ------
    RecordError
        At the item's path under ``source`` (``$.labs.alt.value`` for a file,
        ``data.labs.alt.value`` for a request), or when the protocol defines no screening form.
    """
    forms = protocol.forms
    form = forms.screening if forms is not None else None
    if forms is None or form is None:
        raise RecordError(
            f"protocol {protocol.id} defines no screening form: add a form with "
            "`used: screening` under `forms:` in the protocol file",
            location=source,
        )
    return validate_record(forms, form, data, source=source).data
