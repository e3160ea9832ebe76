"""The variables a protocol rule sees: ``r`` (record), ``lab`` (converted labs), ``d`` (derived).

Derived values are computed in file order, each seeing those before it; one that
the data cannot decide is left out of ``d``, so every rule that uses it is
undecided too (never silently true or false).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trialkit.eligibility.units import canonical_labs
from trialkit.errors import RuleError
from trialkit.protocol.model import Protocol
from trialkit.protocol.rules import (
    DERIVED_REFERENCE,
    Activation,
    CompiledRule,
    Undecided,
    compile_rule,
)

__all__ = ["RecordData", "RuleContext", "build_context", "compiled", "without_none"]

RecordData = Mapping[str, Any]
"""A screening record validated against the protocol's screening form (JSON data)."""

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
    activation: Activation = field(repr=False)

    def with_variables(self, **extra: Any) -> Activation:
        """The activation plus extra variables (for example ``met`` in reason texts)."""
        return self.activation.with_variables(**extra)

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


def build_context(protocol: Protocol, record: RecordData) -> RuleContext:
    """Evaluate the protocol's derived values for a record.

    Derived values are evaluated in dependency levels (each level sees every value
    of the levels before it), so the record is handed to the interpreter once per
    level rather than once per value; the result is the same as evaluating them in
    file order, since a derived value may only use those defined before it.
    """
    raw = without_none(record)
    lab = canonical_labs(protocol.forms.screening if protocol.forms else None, raw)
    derived: dict[str, Any] = {}
    pending = list(protocol.eligibility.derived)
    settled: set[str] = set()
    while pending:
        ready = [item for item in pending if set(DERIVED_REFERENCE.findall(item.expr)) <= settled]
        if not ready:  # pragma: no cover - the loader refuses forward references
            raise RuleError(
                "derived values refer to each other in a cycle", location="eligibility.derived"
            )
        activation = Activation({"r": raw, "lab": lab, "d": dict(derived)}, clean=True)
        for item in ready:
            with contextlib.suppress(Undecided):
                derived[item.name] = compiled(
                    item.expr, f"eligibility.derived.{item.name}"
                ).evaluate(activation)
            settled.add(item.name)
        pending = [item for item in pending if item.name not in settled]
    activation = Activation({"r": raw, "lab": lab, "d": derived}, clean=True)
    return RuleContext(record=raw, lab=lab, derived=derived, activation=activation)


def without_none(record: RecordData) -> dict[str, Any]:
    """The record without its unrecorded (``None``) values, at every depth of its mappings."""
    return {k: _drop(v) for k, v in record.items() if v is not None}


def _drop(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop(v) for v in value]
    return value


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
