"""The eligibility engine: every criterion of a protocol over a screening record.

Each criterion evaluates to ``met``, ``not_met`` or ``unknown`` with a reason that
names the data used. Missing or contradictory data give ``unknown``. The overall
verdict is *eligible* only when every inclusion criterion is met and every
exclusion criterion is not met; *not eligible* when any inclusion is not met or
any exclusion is met; otherwise *undetermined*, with the missing data listed.

Criteria with sub-items combine them in Kleene's three-valued logic: ``all`` for
conjunctions (I10: every lab limit), ``any`` for alternatives (I3.1-I3.4: ways
to be post-menopausal; E13.1-E13.3: cardiac conditions). Sub-items that do not
apply are left out; when none applies the combination does not constrain.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from trialkit.eligibility.context import RecordData, RuleContext, build_context, compiled
from trialkit.protocol.model import Criterion, Protocol
from trialkit.protocol.rules import Undecided

__all__ = ["CriterionResult", "EligibilityResult", "Status", "evaluate_eligibility"]

Status = Literal["met", "not_met", "unknown"]
_TRUTH: dict[Status, bool | None] = {"met": True, "not_met": False, "unknown": None}


@dataclass(frozen=True)
class CriterionResult:
    """The outcome of one criterion (or sub-item) for one record."""

    id: str
    kind: Literal["inclusion", "exclusion"]
    status: Status
    reason: str
    text: str
    parent: str | None = None
    applicable: bool = True
    missing: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        """Whether this result on its own makes the patient not eligible."""
        return (self.kind == "inclusion" and self.status == "not_met") or (
            self.kind == "exclusion" and self.status == "met"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "text": self.text,
            "parent": self.parent,
            "applicable": self.applicable,
            "missing": list(self.missing),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionResult:
        """The result again from :meth:`as_dict` (a stored evaluation)."""
        parent = data.get("parent")
        return cls(
            id=str(data["id"]),
            kind="exclusion" if data.get("kind") == "exclusion" else "inclusion",
            status=_status(data.get("status")),
            reason=str(data.get("reason") or ""),
            text=str(data.get("text") or ""),
            parent=None if parent is None else str(parent),
            applicable=bool(data.get("applicable", True)),
            missing=tuple(str(m) for m in data.get("missing") or ()),
        )


def _status(value: object) -> Status:
    return "met" if value == "met" else "not_met" if value == "not_met" else "unknown"


@dataclass(frozen=True)
class EligibilityResult:
    """Every criterion's result and the overall verdict."""

    protocol: str
    eligible: bool | None
    criteria: tuple[CriterionResult, ...]
    missing: tuple[str, ...]
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "eligible", False: "not eligible", None: "undetermined"}[self.eligible]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EligibilityResult:
        """The result again from its stored form (``ScreeningOutcome.as_dict``: the verdict,
        every criterion's :meth:`CriterionResult.as_dict` and the missing data)."""
        eligible = data.get("eligible")
        return cls(
            protocol=str(data.get("protocol") or ""),
            eligible=eligible if isinstance(eligible, bool) else None,
            criteria=tuple(
                CriterionResult.from_dict(c) for c in data.get("criteria") or () if "id" in c
            ),
            missing=tuple(str(m) for m in data.get("missing") or ()),
        )

    def result(self, criterion_id: str) -> CriterionResult:
        """The result of one criterion by id."""
        for item in self.criteria:
            if item.id == criterion_id:
                return item
        raise KeyError(criterion_id)

    @property
    def blocking(self) -> tuple[CriterionResult, ...]:
        """Numbered criteria that make the patient not eligible."""
        return tuple(c for c in self.criteria if c.parent is None and c.blocks)

    @property
    def undecided(self) -> tuple[CriterionResult, ...]:
        """Numbered criteria that could not be decided."""
        return tuple(c for c in self.criteria if c.parent is None and c.status == "unknown")

    def summary(self) -> str:
        lines = [f"{self.protocol}: {self.verdict}"]
        lines += [
            f"  {c.id} {c.kind} {c.status.replace('_', ' ')}: {c.reason}" for c in self.blocking
        ]
        lines += [f"  {c.id} unknown: {c.reason}" for c in self.undecided]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def evaluate_eligibility(
    protocol: Protocol, record: RecordData, *, context: RuleContext | None = None
) -> EligibilityResult:
    """Evaluate every criterion of ``protocol`` for ``record``."""
    context = context or build_context(protocol, record)
    results: dict[str, CriterionResult] = {}
    # sub-items first: their parents combine them
    ordered = [c for c in protocol.eligibility.criteria if c.parent is not None]
    ordered += [c for c in protocol.eligibility.criteria if c.parent is None]
    children_of: dict[str, list[str]] = {}
    for criterion in protocol.eligibility.criteria:
        if criterion.parent is not None:
            children_of.setdefault(criterion.parent, []).append(criterion.id)
    for criterion in ordered:
        children = [results[i] for i in children_of.get(criterion.id, [])]
        results[criterion.id] = _evaluate(criterion, children, context)
    in_file_order = tuple(results[c.id] for c in protocol.eligibility.criteria)
    top = [r for r in in_file_order if r.parent is None]
    if any(r.blocks for r in top):
        eligible: bool | None = False
    elif any(r.status == "unknown" for r in top):
        eligible = None
    else:
        eligible = True
    # only what keeps a numbered criterion undecided (an undecided alternative of a met
    # criterion, such as I3.3 when I3.2 holds, needs nothing more)
    missing = sorted({m for r in top if r.status == "unknown" for m in r.missing})
    return EligibilityResult(
        protocol=protocol.acronym,
        eligible=eligible,
        criteria=in_file_order,
        missing=tuple(missing),
        derived=dict(context.derived),
    )


def _evaluate(
    criterion: Criterion, children: list[CriterionResult], context: RuleContext
) -> CriterionResult:
    where = f"eligibility.criteria.{criterion.id}"

    def result(
        status: Status,
        reason: str,
        *,
        applicable: bool = True,
        needs: Iterable[str] | None = None,
    ) -> CriterionResult:
        paths = criterion.requires if needs is None else needs
        missing = (
            tuple(dict.fromkeys(m for p in paths for m in context.absent(p)))
            if status == "unknown"
            else ()
        )
        if status == "unknown" and _combined(criterion, children) is None:
            # only when the sub-items leave it open: I3 is not waiting for I3.3's FSH
            # when I3.2 already makes the patient post-menopausal
            missing += tuple(
                m for child in children if child.status == "unknown" for m in child.missing
            )
            missing = tuple(dict.fromkeys(missing))
        return CriterionResult(
            id=criterion.id,
            kind=criterion.kind,
            status=status,
            reason=reason,
            text=criterion.text,
            parent=criterion.parent,
            applicable=applicable,
            missing=missing,
        )

    harmless: Status = "met" if criterion.kind == "inclusion" else "not_met"
    applies_undecided: str | None = None
    if criterion.applies_when is not None:
        try:
            applies = compiled(criterion.applies_when, where + ".applies_when").evaluate_bool(
                context.activation
            )
        except Undecided as exc:
            # (not applies) or rule: still decided when the rule alone is harmless
            applies_undecided = exc.detail
        else:
            if not applies:
                return result(
                    harmless, f"not applicable: {criterion.not_applicable}", applicable=False
                )

    for check in criterion.unknown_when:
        try:
            contradictory = compiled(check.when, where + ".unknown_when").evaluate_bool(
                context.activation
            )
        except Undecided:
            continue
        if contradictory:
            # what the check itself reads: a contradiction names nothing, a datum the
            # check asks for (E2: the brain imaging) is named even if 'requires' is silent
            reason = check.reason
            if check.detail is not None:
                with contextlib.suppress(Undecided):
                    detail = compiled(check.detail, where + ".unknown_when.detail")
                    reason += f" ({detail.evaluate_str(context.activation)})"
            return result("unknown", reason, needs=_record_paths(check.when))

    parts: list[bool | None] = []
    reasons: list[str] = []
    if criterion.rule is not None:
        try:
            holds = compiled(criterion.rule, where + ".rule").evaluate_bool(context.activation)
        except Undecided as exc:
            parts.append(None)
            absent = [m for p in criterion.requires for m in context.absent(p)]
            reasons.append(
                "missing " + ", ".join(dict.fromkeys(absent))
                if absent
                else f"data that cannot be used ({exc.detail})"
            )
        else:
            assert criterion.reason is not None  # enforced by the model
            reasons.append(_reason(criterion.reason, where, context, holds))
            parts.append(holds)
    if criterion.combine is not None:
        applicable = [c for c in children if c.applicable]
        if applicable:
            parts.append(_combined(criterion, children))
            reasons.append(_combine_reason(criterion.combine, applicable))
    truth = _kleene_and(parts) if criterion.kind == "inclusion" else _kleene_or(parts)
    status: Status = "unknown" if truth is None else ("met" if truth else "not_met")
    reason = "; ".join(reasons)
    if applies_undecided is not None and status != harmless:
        status = "unknown"
        reason = f"cannot tell whether it applies ({applies_undecided}); {reason}"
    return result(status, reason)


_RECORD_PATH = re.compile(r"\br((?:\.[A-Za-z_]\w*)+)(\s*\()?")


def _record_paths(source: str) -> list[str]:
    """The record paths an expression reads (``r.disease.brain.imaging_date``), in order."""
    paths: list[str] = []
    for match in _RECORD_PATH.finditer(source):
        parts = match.group(1).lstrip(".").split(".")
        if match.group(2):  # r.items.exists(...): a method call, not a field
            parts = parts[:-1]
        path = ".".join(parts)
        if path and path not in paths:
            paths.append(path)
    return paths


def _reason(source: str, where: str, context: RuleContext, holds: bool) -> str:
    try:
        return compiled(source, where + ".reason").evaluate_str(context.with_variables(met=holds))
    except Undecided:
        return "condition holds" if holds else "condition does not hold"


def _combined(criterion: Criterion, children: list[CriterionResult]) -> bool | None:
    """The sub-items' combined truth; True (no constraint) when none applies."""
    applicable = [_TRUTH[c.status] for c in children if c.applicable]
    if criterion.combine is None or not applicable:
        return True
    return _kleene_and(applicable) if criterion.combine == "all" else _kleene_or(applicable)


def _kleene_and(values: Iterable[bool | None]) -> bool | None:
    out: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is None:
            out = None
    return out


def _kleene_or(values: Iterable[bool | None]) -> bool | None:
    out: bool | None = False
    for value in values:
        if value is True:
            return True
        if value is None:
            out = None
    return out


def _combine_reason(how: str, children: list[CriterionResult]) -> str:
    met = [c.id for c in children if c.status == "met"]
    not_met = [c.id for c in children if c.status == "not_met"]
    # an undecided sub-item says why (missing data, or contradictory data naming both)
    unknown = [f"{c.id} ({c.reason})" for c in children if c.status == "unknown"]
    if how == "all":
        if not_met:
            return "not met: " + ", ".join(not_met)
        if unknown:
            return "undecided: " + ", ".join(unknown)
        return "all of " + ", ".join(met) + " met"
    if met:
        return "met by " + ", ".join(met)
    if unknown:
        return "undecided: " + ", ".join(unknown)
    return "none of " + ", ".join(not_met) + " met"
