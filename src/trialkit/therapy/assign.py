"""Background-therapy assignment: which standard first-line therapy a patient receives.

The rules are the protocol's (for SOR, the record's Interventions 1-3), as CEL
expressions over the screening record. A patient gets the one rule that holds;
no assignment, with the reason, when a ``no_assignment`` check holds (HER2
positive or unknown, unknown receptor status), when the data cannot decide, or
when no rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.eligibility.context import RecordData, RuleContext, build_context, compiled
from trialkit.errors import RuleError
from trialkit.protocol.model import Protocol, Regimen
from trialkit.protocol.rules import Undecided

__all__ = ["TherapyAssignment", "assign_background_therapy", "group_assignment"]


@dataclass(frozen=True)
class TherapyAssignment:
    """The background therapy of one patient, or why there is none."""

    group: str | None
    label: str | None
    regimens: tuple[Regimen, ...]
    reason: str
    switch_window_days: tuple[int, int] | None = None

    @property
    def assigned(self) -> bool:
        return self.group is not None

    def __str__(self) -> str:
        return f"{self.label} ({self.reason})" if self.assigned else f"none: {self.reason}"


def group_assignment(protocol: Protocol, group: str) -> TherapyAssignment | None:
    """The background therapy of a group as the rules name it (no re-evaluation of a record);
    ``None`` if the protocol has no such group.

    A randomised patient's therapy is the group recorded at randomisation (her stratum), not
    a fresh assignment from a screening record that may have been corrected since.
    """
    spec = protocol.background_therapy
    rule = next((r for r in spec.rules if r.id == group), None) if spec else None
    if spec is None or rule is None:
        return None
    regimens = {r.id: r for r in spec.regimens}
    return TherapyAssignment(
        group=rule.id,
        label=rule.label,
        regimens=tuple(regimens[r] for r in rule.regimens),
        reason=" ".join(rule.text.split()),
        switch_window_days=rule.switch_window_days,
    )


def assign_background_therapy(
    protocol: Protocol, record: RecordData, *, context: RuleContext | None = None
) -> TherapyAssignment:
    """Assign the background therapy the protocol's rules give this record."""
    spec = protocol.background_therapy
    if spec is None:
        return TherapyAssignment(None, None, (), "the protocol defines no background therapy")
    context = context or build_context(protocol, record)
    for check in spec.no_assignment:
        try:
            blocked = compiled(check.when, "background_therapy.no_assignment").evaluate_bool(
                context.activation
            )
        except Undecided:
            continue
        if blocked:
            return TherapyAssignment(None, None, (), check.reason)
    holding, undecided = [], []
    for rule in spec.rules:
        try:
            if compiled(rule.when, f"background_therapy.rules.{rule.id}").evaluate_bool(
                context.activation
            ):
                holding.append(rule)
        except Undecided as exc:
            undecided.append(f"{rule.id} ({exc.detail})")
    if len(holding) > 1:
        raise RuleError(
            "more than one background-therapy rule holds ("
            + ", ".join(r.id for r in holding)
            + "): the protocol's rules must be mutually exclusive",
            location="background_therapy.rules",
        )
    if holding and not undecided:
        assigned = group_assignment(protocol, holding[0].id)
        assert assigned is not None  # the rule is one of the protocol's
        return assigned
    if holding or undecided:
        return TherapyAssignment(
            None, None, (), "undecided: the data cannot decide " + "; ".join(undecided)
        )
    return TherapyAssignment(None, None, (), "no background-therapy rule of the protocol applies")
