"""The variables a protocol rule sees: ``r`` (record), ``lab`` (converted labs), ``d`` (derived).

Derived values are computed in file order, each seeing those before it; one that
the data cannot decide is left out of ``d``, so every rule that uses it is
undecided too (never silently true or false).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celpy import celtypes

from trialkit.eligibility.record import ScreeningRecord
from trialkit.eligibility.units import canonical_labs
from trialkit.protocol.model import Protocol
from trialkit.protocol.rules import CompiledRule, Undecided, compile_rule, to_activation

__all__ = ["RuleContext", "build_context", "compiled"]

_COMPILED: dict[tuple[str, str], CompiledRule] = {}


def compiled(source: str, where: str) -> CompiledRule:
    """Compile a rule once per process (protocol files are immutable once loaded)."""
    key = (source, where)
    rule = _COMPILED.get(key)
    if rule is None:
        rule = _COMPILED[key] = compile_rule(source, where=where)
    return rule


@dataclass(frozen=True)
class RuleContext:
    """The evaluated inputs of every rule of a protocol for one record."""

    record: dict[str, Any]
    lab: dict[str, Any]
    derived: dict[str, Any]
    activation: Mapping[str, Any] = field(repr=False)

    def with_variables(self, **extra: Any) -> dict[str, Any]:
        """The activation plus extra variables (for example ``met`` in reason texts)."""
        return {**self.activation, **to_activation(extra)}

    def has(self, path: str) -> bool:
        """Whether the record holds a value at a dotted path (``labs.alt.uln``)."""
        return not self.absent(path)

    def absent(self, path: str) -> tuple[str, ...]:
        """The paths, as written in the record, at which a dotted path has no value.

        A plain path is returned whole when any part of it is absent
        (``labs.alt.uln`` for a record without labs), so the list names the datum to record.
        ``history.other_cancers[].treatment_end_date`` looks into every item of the list:
        ``("history.other_cancers[1].treatment_end_date",)`` when only the second item
        lacks it, ``("history.other_cancers",)`` when there is no list at all;
        ``history.other_cancers[kind=other].treatment_end_date`` only into the items whose
        ``kind`` is ``other``.
        """
        return tuple(_absent(self.record, path.split("."), ""))


def build_context(protocol: Protocol, record: ScreeningRecord) -> RuleContext:
    """Evaluate the protocol's derived values for a record."""
    raw = record.model_dump(mode="json", exclude_none=True)
    lab = canonical_labs(record.labs)
    derived: dict[str, Any] = {}
    for item in protocol.eligibility.derived:
        rule = compiled(item.expr, f"eligibility.derived.{item.name}")
        try:
            value = rule.evaluate(to_activation({"r": raw, "lab": lab, "d": derived}))
        except Undecided:
            continue
        derived[item.name] = _plain(value)
    activation = to_activation({"r": raw, "lab": lab, "d": derived})
    return RuleContext(record=raw, lab=lab, derived=derived, activation=activation)


def _absent(node: Any, parts: list[str], prefix: str) -> list[str]:
    for index, part in enumerate(parts):
        key, each, selector = part.partition("[")
        here = f"{prefix}.{key}" if prefix else key
        if not isinstance(node, dict) or node.get(key) is None:
            # name the datum to record: the whole path, or up to a list that is missing
            rest = [p.partition("[")[0] for p in parts[index:]]
            lists = [i for i, p in enumerate(parts[index:]) if "[" in p]
            named = rest[: lists[0] + 1] if lists else rest
            return [".".join([prefix, *named]) if prefix else ".".join(named)]
        node = node[key]
        if each:
            if not isinstance(node, list):
                return [here]
            field, _, value = selector.removesuffix("]").partition("=")
            rest = parts[index + 1 :]
            return [
                m
                for i, item in enumerate(node)
                if not field or (isinstance(item, dict) and str(item.get(field)) == value)
                for m in _absent(item, rest, f"{here}[{i}]")
            ]
        prefix = here
    return []


def _plain(value: Any) -> Any:
    """A CEL value as a plain Python value (bool before int: CEL's BoolType is an int)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value
