"""The variables a protocol rule sees: ``r`` (record), ``lab`` (converted labs), ``d`` (derived).

Derived values are computed in file order, each seeing those before it; one that
the data cannot decide is left out of ``d``, so every rule that uses it is
undecided too (never silently true or false).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from trialkit.eligibility.record import ScreeningRecord
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
    activation: Activation = field(repr=False)

    def with_variables(self, **extra: Any) -> Activation:
        """The activation plus extra variables (for example ``met`` in reason texts)."""
        return self.activation.with_variables(**extra)

    def has(self, path: str) -> bool:
        """Whether the record holds a value at a dotted path (``labs.alt.uln``)."""
        node: Any = self.record
        for part in path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return False
            node = node[part]
        return True


def build_context(protocol: Protocol, record: ScreeningRecord) -> RuleContext:
    """Evaluate the protocol's derived values for a record.

    Derived values are evaluated in dependency levels (each level sees every value
    of the levels before it), so the record is handed to the interpreter once per
    level rather than once per value; the result is the same as evaluating them in
    file order, since a derived value may only use those defined before it.
    """
    raw = record.model_dump(mode="json", exclude_none=True)
    lab = canonical_labs(record.labs)
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
