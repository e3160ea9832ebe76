"""Protocol rules as CEL expressions: compile once, evaluate in three-valued logic.

Rules in protocol files are `CEL <https://cel.dev>`_ expressions evaluated by
``cel-python``: no ``eval``, no home-made parser. CEL's logical operators absorb
errors (``true || error`` is ``true``, ``false && error`` is ``false``), and a
reference to a field the record does not hold is an error. Evaluating a rule is
therefore Kleene's three-valued logic for free: missing data makes a rule
*undecided* unless the data present decide it anyway, and never a silent pass.

Dates are ISO 8601 strings (``"2008-03-14"``), which compare correctly as
strings. The functions below are added to CEL for the calendar arithmetic that
eligibility windows need; CEL's own timestamps have no calendar months.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from trialkit.errors import RuleError

__all__ = [
    "CompiledRule",
    "Undecided",
    "add_months",
    "compile_rule",
    "months_between",
    "to_activation",
]


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


def _cel_add_months(day: Any, months: Any) -> celtypes.StringType:
    return celtypes.StringType(add_months(_date(day), int(months)).isoformat())


def _cel_add_days(day: Any, days: Any) -> celtypes.StringType:
    return celtypes.StringType((_date(day) + timedelta(days=int(days))).isoformat())


def _cel_days_between(start: Any, end: Any) -> celtypes.IntType:
    return celtypes.IntType((_date(end) - _date(start)).days)


def _cel_months_between(start: Any, end: Any) -> celtypes.IntType:
    return celtypes.IntType(months_between(_date(start), _date(end)))


def _cel_years_between(start: Any, end: Any) -> celtypes.IntType:
    return celtypes.IntType(months_between(_date(start), _date(end)) // 12)


def _side(value: float, limit: float) -> int:
    return (value > limit) - (value < limit)


def _cel_fmt(value: Any, limit: Any = None) -> celtypes.StringType:
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
            return celtypes.StringType(text)
    for digits in range(3, 16):
        text = f"{number:.{digits}g}"
        if limit is None or _side(float(text), float(limit)) == _side(number, float(limit)):
            break
    return celtypes.StringType(text)


def _cel_max(a: Any, b: Any) -> Any:
    return a if a >= b else b


def _cel_join(items: Any, separator: Any) -> celtypes.StringType:
    return celtypes.StringType(str(separator).join(str(item) for item in items))


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

_ENV = celpy.Environment()


@dataclass(frozen=True)
class CompiledRule:
    """A compiled CEL expression and where it came from (for error messages)."""

    source: str
    where: str
    _program: Any

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate; raise :class:`Undecided` when the data cannot decide it."""
        try:
            result = self._program.evaluate(activation)
        except CELEvalError as exc:
            raise Undecided(_describe(exc)) from exc
        if isinstance(result, CELEvalError):
            raise Undecided(_describe(result))
        return result

    def evaluate_bool(self, activation: Mapping[str, Any]) -> bool:
        result = self.evaluate(activation)
        if not isinstance(result, celtypes.BoolType):
            raise RuleError(
                f"rule must give true or false, gave {type(result).__name__}: {self.source}",
                location=self.where,
            )
        return bool(result)

    def evaluate_str(self, activation: Mapping[str, Any]) -> str:
        result = self.evaluate(activation)
        if not isinstance(result, str):
            raise RuleError(
                f"expression must give a string, gave {type(result).__name__}: {self.source}",
                location=self.where,
            )
        return str(result)


def _describe(exc: Any) -> str:
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    if text.startswith("no such member in mapping: "):
        return "missing " + text.removeprefix("no such member in mapping: ").strip("'")
    return text


def compile_rule(source: str, *, where: str) -> CompiledRule:
    """Compile a CEL expression; a syntax error is a :class:`RuleError` at ``where``."""
    try:
        ast = _ENV.compile(source)
        program = _ENV.program(ast, functions=dict(FUNCTIONS))
    except CELParseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise RuleError(f"invalid CEL expression ({first_line}): {source}", location=where) from exc
    return CompiledRule(source=source, where=where, _program=program)


def to_activation(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Convert plain JSON-like data to CEL values, dropping ``None`` (None means *not recorded*)."""
    return {name: _to_cel(value) for name, value in variables.items()}


def _to_cel(value: Any) -> Any:
    # bool before int: Python's bool is an int, CEL's are distinct types
    if isinstance(
        value, celtypes.BoolType | celtypes.IntType | celtypes.DoubleType | celtypes.StringType
    ):
        return value
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, dict):
        return celtypes.MapType(
            {celtypes.StringType(k): _to_cel(v) for k, v in value.items() if v is not None}
        )
    if isinstance(value, list | tuple):
        return celtypes.ListType([_to_cel(v) for v in value if v is not None])
    raise TypeError(f"cannot pass {type(value).__name__} to a protocol rule")
