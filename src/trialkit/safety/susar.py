"""Is a serious adverse event a SUSAR, and when is it due at the regulators?

A SUSAR is serious, related to a drug (the investigator or the sponsor judges a reasonable
possibility: the sponsor cannot downgrade the investigator's causality) and unexpected for it
(its term is not among the drug's expected adverse reactions in the reference safety
information). A suspect blinded study drug needs the case unblinded: on placebo it is not
reported as a SUSAR; on the active drug the clock runs 7 days (fatal or life-threatening) or
15 days from the sponsor's awareness (ICH E2A; EU CT-3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from trialkit.safety.sae import RELATED, SaeReport

__all__ = [
    "Assessment",
    "Decision",
    "DrugAssessment",
    "assess",
    "decide",
    "is_expected",
    "reporting_days",
    "reporting_due",
]


def is_expected(term: str, drug: str, expected: Mapping[str, Collection[str]]) -> bool:
    """Whether ``term`` is one of ``drug``'s expected adverse reactions (any case)."""
    wanted = term.strip().casefold()
    return any(e.casefold() == wanted for e in expected.get(drug, ()))


@dataclass(frozen=True, slots=True)
class DrugAssessment:
    """One drug's assessment: related (by whom), expected, and so suspect of a SUSAR."""

    drug: str
    investigator: str | None
    sponsor: str | None
    related: bool
    expected: bool

    @property
    def suspect(self) -> bool:
        return self.related and not self.expected


@dataclass(frozen=True, slots=True)
class Assessment:
    """The sponsor's assessment of one SAE, drug by drug."""

    drugs: tuple[DrugAssessment, ...]
    blinded: frozenset[str]

    @property
    def suspects(self) -> tuple[str, ...]:
        return tuple(d.drug for d in self.drugs if d.suspect)

    @property
    def candidate(self) -> bool:
        """Serious (every SAE is), related and unexpected for at least one drug."""
        return bool(self.suspects)

    @property
    def needs_unblinding(self) -> bool:
        """A suspect blinded drug: only the arm says whether the patient had the active drug."""
        return any(d in self.blinded for d in self.suspects)


def assess(
    report: SaeReport,
    *,
    sponsor_causality: Mapping[str, str],
    expected: Mapping[str, Collection[str]],
    blinded: Collection[str],
) -> Assessment:
    """Assess each drug of the report's causality, or of the sponsor's, against the RSI."""
    drugs = list(dict.fromkeys([*report.causality, *sponsor_causality]))
    term = report.term or ""
    return Assessment(
        tuple(
            DrugAssessment(
                drug=d,
                investigator=report.causality.get(d),
                sponsor=sponsor_causality.get(d),
                related=report.causality.get(d) in RELATED or sponsor_causality.get(d) in RELATED,
                expected=is_expected(term, d, expected),
            )
            for d in drugs
        ),
        frozenset(blinded),
    )


class Decision(StrEnum):
    """What the sponsor's assessment (and, for a blinded suspect drug, the arm) decides."""

    NOT_SUSAR = "not_susar"
    """Not related, or expected, for every drug: an SAE, reported in the annual report."""
    SUSAR = "susar"
    """Reported to the regulators and ethics committees on the clock."""
    PLACEBO = "not_susar_placebo"
    """Suspected for the blinded study drug only, and the patient had placebo."""
    AWAITING_UNBLINDING = "awaiting_unblinding"
    """Suspected for the blinded study drug: the case must be unblinded to decide."""


def decide(assessment: Assessment, *, active: bool | None) -> Decision:
    """The decision, given whether the patient had the active drug (``None``: still blinded)."""
    if not assessment.candidate:
        return Decision.NOT_SUSAR
    open_suspects = [d for d in assessment.suspects if d not in assessment.blinded]
    if not assessment.needs_unblinding or open_suspects:
        return Decision.SUSAR
    if active is None:
        return Decision.AWAITING_UNBLINDING
    return Decision.SUSAR if active else Decision.PLACEBO


def reporting_days(report: SaeReport) -> int:
    """7 days for a fatal or life-threatening SUSAR, 15 for any other."""
    return 7 if report.fatal_or_life_threatening else 15


def reporting_due(report: SaeReport, sponsor_aware_at: dt.datetime) -> dt.datetime:
    """When the SUSAR is due at the regulators: day 0 is the sponsor's awareness."""
    return sponsor_aware_at + dt.timedelta(days=reporting_days(report))
