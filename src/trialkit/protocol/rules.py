"""Protocol rules as CEL expressions: compile once, evaluate in three-valued logic.

Details and reasoning: docs/architecture.md, section `trialkit.protocol.rules`.
"""

from __future__ import annotations

import calendar
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from trialkit.errors import RuleError

__all__ = [
    "DERIVED_REFERENCE",
    "Activation",
    "CompiledRule",
    "Undecided",
    "add_months",
    "compile_rule",
    "months_between",
    "to_activation",
]


DERIVED_REFERENCE = re.compile(r"\bd\.([a-z][a-z0-9_]*)")
"""A reference to a derived value (``d.name``) inside a rule."""


def _cel_engine() -> ModuleType:
    """``cel.cel``, the compiled CEL interpreter, without the ``cel`` package's ``__init__``.

    common-expression-language's ``__init__`` imports the package's own command line (typer,
    prompt_toolkit, pygments, rich), which trialkit never uses and which costs every process
    that loads a protocol (``trialkit simulate`` among them) about 0.1 s. The compiled module
    is registered under its own name, ``cel.cel``, so that a later ``import cel`` (whose
    ``__init__`` imports it by that name) finds it rather than loading it a second time.
    Where the compiled file is not where it is expected, the package is imported as usual.
    """
    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("cel")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if not path.is_file():
                continue
            loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
            found = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
            if found is None:  # pragma: no cover - a file with an extension suffix
                continue
            module = importlib.util.module_from_spec(found)
            sys.modules["cel.cel"] = module
            loader.exec_module(module)
            return module
    import cel  # pragma: no cover - another layout of the package

    return cel  # pragma: no cover


cel = _cel_engine()


class Undecided(Exception):  # noqa: N818 - a control-flow signal, not an error
    """A rule could not be decided from the data given (missing or ill-typed data)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, clamped to the month's end.

    31 January + 1 month is 28 (or 29) February, as in clinical date windows.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (``add_months(start, m) <= end``)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise Undecided(f"{value!r} is not an ISO date (YYYY-MM-DD)") from exc


def _cel_add_months(day: Any, months: Any) -> str:
    return add_months(_date(day), int(months)).isoformat()


def _cel_add_days(day: Any, days: Any) -> str:
    return (_date(day) + timedelta(days=int(days))).isoformat()


def _cel_days_between(start: Any, end: Any) -> int:
    return (_date(end) - _date(start)).days


def _cel_months_between(start: Any, end: Any) -> int:
    return months_between(_date(start), _date(end))


def _cel_years_between(start: Any, end: Any) -> int:
    return months_between(_date(start), _date(end)) // 12


def _side(value: float, limit: float) -> int:
    return (value > limit) - (value < limit)


def _cel_fmt(value: Any, limit: Any = None) -> str:
    """A number for a reason text: 3 significant digits, no float noise.

    With ``limit``, as many more digits as it takes for the text to sit on the same side
    of the limit as the value: ANC 1.499 x 10^9/L against 1.5 reads "1.499", not "1.5",
    so a reason never says "1.5 < 1.5".
    """
    number = float(value)
    if abs(number) >= 1000:
        text = f"{number:,.0f}"
        if limit is None or _side(float(text.replace(",", "")), float(limit)) == _side(
            number, float(limit)
        ):
            return text
    for digits in range(3, 16):
        text = f"{number:.{digits}g}"
        if limit is None or _side(float(text), float(limit)) == _side(number, float(limit)):
            break
    return text


def _cel_max(a: Any, b: Any) -> Any:
    return a if a >= b else b


def _cel_join(items: Any, separator: Any) -> str:
    return str(separator).join(str(item) for item in items)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "add_months": _cel_add_months,
    "add_days": _cel_add_days,
    "days_between": _cel_days_between,
    "months_between": _cel_months_between,
    "years_between": _cel_years_between,
    "fmt": _cel_fmt,
    "max": _cel_max,
    "join": _cel_join,
}


class Activation:
    """The variables of one evaluation, converted once for the CEL interpreter."""

    __slots__ = ("_context", "_derived", "variables")

    def __init__(self, variables: Mapping[str, Any], *, clean: bool = False) -> None:
        self.variables = (
            dict(variables) if clean else {k: _drop_none(v) for k, v in variables.items()}
        )
        self._context = cel.Context(self.variables, functions=dict(FUNCTIONS))
        self._derived: dict[tuple[tuple[str, Any], ...], Activation] = {}

    def with_variables(self, **extra: Any) -> Activation:
        """This activation plus extra scalar variables (``met`` in reason texts), cached."""
        key = tuple(sorted(extra.items()))
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = Activation({**self.variables, **extra}, clean=True)
        return found


@dataclass(frozen=True)
class CompiledRule:
    """A compiled CEL expression and where it came from (for error messages)."""

    source: str
    where: str
    _program: Any

    def evaluate(self, activation: Activation) -> Any:
        """Evaluate; raise :class:`Undecided` when the data cannot decide it."""
        try:
            return self._program.execute(activation._context)
        except KeyError as exc:
            raise Undecided(f"missing {exc.args[0] if exc.args else 'data'}") from exc
        except (TypeError, ValueError, RuntimeError) as exc:
            raise Undecided(" ".join(str(exc).split())) from exc

    def evaluate_bool(self, activation: Activation) -> bool:
        result = self.evaluate(activation)
        if not isinstance(result, bool):
            raise RuleError(
                f"rule must give true or false, gave {type(result).__name__}: {self.source}",
                location=self.where,
            )
        return result

    def evaluate_str(self, activation: Activation) -> str:
        result = self.evaluate(activation)
        if not isinstance(result, str):
            raise RuleError(
                f"expression must give a string, gave {type(result).__name__}: {self.source}",
                location=self.where,
            )
        return result


def compile_rule(source: str, *, where: str) -> CompiledRule:
    """Compile a CEL expression; a syntax error is a :class:`RuleError` at ``where``."""
    try:
        program = cel.compile(source)
    except ValueError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        detail = lines[1].strip() if len(lines) > 1 else (lines[0] if lines else "syntax error")
        raise RuleError(f"invalid CEL expression ({detail}): {source}", location=where) from exc
    return CompiledRule(source=source, where=where, _program=program)


def to_activation(variables: Mapping[str, Any]) -> Activation:
    """The variables of a rule, ``None`` dropped (None means *not recorded*)."""
    return Activation(variables)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value if v is not None]
    return value
