"""Validate a record against its form's definition: typed values, units, ranges, edit checks.

Hard problems raise :class:`~trialkit.errors.RecordError` at the item's path; soft ranges,
missing required items and query edit checks come back as findings. Details: docs/forms.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trialkit.errors import RecordError
from trialkit.protocol.forms import LAB_PARTS, EditCheck, Form, Forms, Item, Range
from trialkit.protocol.rules import Activation, CompiledRule, Undecided, compile_rule
from trialkit.protocol.units import normalise_unit

__all__ = [
    "Finding",
    "Validated",
    "check_value",
    "corrected_paths",
    "date_order_problems",
    "has_soft_checks",
    "json_schema",
    "required_missing",
    "validate_record",
]

_PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_SCALARS: dict[str, TypeAdapter[Any]] = {
    "integer": TypeAdapter(int),
    "decimal": TypeAdapter(float),
    "boolean": TypeAdapter(bool),
    "date": TypeAdapter(dt.date),
    "text": TypeAdapter(str),
}


@dataclass(frozen=True)
class Finding:
    """A soft problem with one item of a record: a query is opened on ``path``."""

    path: str
    code: str  # "required", "soft_range" or the edit check's name
    message: str


@dataclass(frozen=True)
class Validated:
    """A record checked against its form: the JSON data to store and its soft findings."""

    data: dict[str, Any]
    findings: tuple[Finding, ...]


class _Refused(Exception):  # noqa: N818 - carries a problem up to validate_record
    def __init__(
        self,
        path: tuple[str | int, ...],
        message: str,
        value: Any = None,
        plain: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.value = value
        self.plain = plain or message
        """The problem in a person's words (a range as ``must be at most 5``)."""


def validate_record(forms: Forms, form: Form, data: Any, *, source: str = "data") -> Validated:
    """``data`` checked against ``form``; the cleaned JSON data and the soft findings.

    Raises
    ------
    RecordError
        Located at ``<source>.<item path>``: a value of the wrong type, a code not in the
        item's code list, a unit the item does not take, a value outside its hard range, an
        unknown key, a group without a mandatory item, or a failed ``refuse`` edit check.
    """
    if isinstance(data, dict) and "$schema" in data:
        data = {k: v for k, v in data.items() if k != "$schema"}
    findings: list[Finding] = []
    refused: list[_Refused] = []
    try:
        if not isinstance(data, dict):
            raise _Refused((), "Input should be a valid dictionary", data)
        top = _TopLevel(form)
        cleaned = _group(forms, top, data, (), findings, refused)
        if refused:
            raise refused[0]
        if form.conditional:
            _conditions(forms, form, form.items, cleaned, (), cleaned, None, findings)
    except _Refused as exc:
        every = tuple(_problem(source, e) for e in (refused or [exc]))
        raise RecordError(every[0][1], location=every[0][0], problems=every) from None
    for problem in date_order_problems(form, cleaned):
        raise RecordError(problem.message, location=f"{source}.{problem.path}")
    findings.extend(_checks(form, cleaned, source))
    return Validated(cleaned, tuple(findings))


def _problem(source: str, refused: _Refused) -> tuple[str, str]:
    """A refused value as (location, message), the message showing the value given."""
    value = refused.value
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
    return _where(source, refused.path), f"{refused.message}{shown}"


def check_value(forms: Forms, item: Item, value: Any) -> str | None:
    """The hard problem of one item's value in plain words (``must be at most 5``), or
    ``None``: the checks :func:`validate_record` makes of that item (type, code list, unit,
    hard range), for a page that checks a field as it is filled."""
    try:
        _one(forms, item, value, (item.name,), [])
    except _Refused as exc:
        return exc.plain
    return None


def corrected_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The paths of the values ``old`` held that ``new`` changes or removes.

    A version that only fills in what the one before left empty (a section saved after
    another) corrects nothing; one that changes or clears a value does, and needs a reason.
    """
    if _empty(old):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [p for k in old for p in corrected_paths(old[k], new.get(k), f"{prefix}{k}.")]
    if isinstance(old, list) and isinstance(new, list) and len(new) >= len(old):
        # rows added after the ones kept: the kept rows are compared one by one
        return [
            p for i, row in enumerate(old) for p in corrected_paths(row, new[i], f"{prefix}{i}.")
        ]
    return [] if _same(old, new) else [prefix.removesuffix(".") or "data"]


def has_soft_checks(form: Form) -> bool:
    """Whether a form has soft ranges or query edit checks (findings beyond required items)."""
    return any(c.severity == "query" for c in form.checks) or any(
        item.soft_range is not None for _, item in form.walk()
    )


def date_order_problems(form: Form, data: dict[str, Any]) -> Iterator[Finding]:
    """Every date of a record before the date it may not precede (``not_before``), nested
    groups included: ``interruptions[0].end_date 2008-04-09 is before ... start_date``."""
    yield from _order(form.items, data, "")


def _order(items: tuple[Item, ...], data: Any, prefix: str) -> Iterator[Finding]:
    if not isinstance(data, dict):
        return
    for item in items:
        value = data.get(item.name)
        if item.not_before is not None:
            earlier = data.get(item.not_before)
            if isinstance(value, str) and isinstance(earlier, str) and value < earlier:
                yield Finding(
                    f"{prefix}{item.name}",
                    "end_before_start",
                    f"{prefix}{item.name} {value} is before {prefix}{item.not_before} "
                    f"{earlier}: an end cannot come before its start; correct the date that "
                    "is wrong",
                )
        if item.type != "group" or value is None:
            continue
        if item.repeating and isinstance(value, list):
            for index, entry in enumerate(value):
                yield from _order(item.items, entry, f"{prefix}{item.name}[{index}].")
        elif not item.repeating:
            yield from _order(item.items, value, f"{prefix}{item.name}.")


def required_missing(form: Form, data: dict[str, Any]) -> list[str]:
    """The dotted paths of the form's top-level required items the record leaves empty.

    An item hidden by its ``show_when`` (the condition is false) and a derived item are not
    asked of the site, so neither is missing.
    """
    missing = [
        path
        for path, item in form.walk()
        if item.required
        and "." not in path
        and item.derived is None
        and data.get(path) in (None, "", [])
    ]
    if not missing or not form.conditional:
        return missing
    activation = Activation({"r": data})
    return [
        path
        for path in missing
        if (condition := form.item(path).show_when) is None
        or _shown(condition, f"{form.name}.{path}.show_when", activation)
    ]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _shown(condition: str, where: str, activation: Activation) -> bool:
    """Whether an item is asked: its condition holds. A condition the data cannot decide yet
    hides it, as the pages and the ODM export do (not asked until the answers it depends on
    are given)."""
    try:
        return _compiled(condition, where).evaluate(activation) is not False
    except Undecided:
        return False


def _conditions(
    forms: Forms,
    form: Form,
    items: tuple[Item, ...],
    data: dict[str, Any],
    path: tuple[str | int, ...],
    root: dict[str, Any],
    group: dict[str, Any] | None,
    findings: list[Finding],
) -> None:
    """Apply ``show_when`` and ``derived`` to cleaned data, in place, in file order.

    An empty value of a hidden item is dropped and a value given for one is refused (the
    site corrects the answer the condition reads, or clears the item); a derived item is
    computed from the record and stored with it; a value given for one must equal it.
    """
    for item in items:
        here = (*path, item.name)
        where = f"{form.name}.{_dotted(here)}"
        variables = {"r": root} if group is None else {"r": root, "g": group}
        if item.show_when is not None and not _shown(
            item.show_when, f"{where}.show_when", Activation(variables)
        ):
            value = data.pop(item.name, None)
            if not _empty(value):
                raise _Refused(
                    here,
                    f"{item.label} is not asked here ({item.show_when} is false): leave it "
                    "empty or correct the answer it depends on",
                    value,
                )
            continue
        if item.derived is not None:
            _derive(forms, item, data, here, where, Activation(variables), findings)
            continue
        value = data.get(item.name)
        if item.type != "group" or item.keyed or value is None:
            continue
        if item.repeating and isinstance(value, list):
            for index, entry in enumerate(value):
                if isinstance(entry, dict):
                    _conditions(
                        forms, form, item.items, entry, (*here, index), root, entry, findings
                    )
        elif isinstance(value, dict):
            _conditions(forms, form, item.items, value, here, root, group, findings)


def _derive(
    forms: Forms,
    item: Item,
    data: dict[str, Any],
    here: tuple[str | int, ...],
    where: str,
    activation: Activation,
    findings: list[Finding],
) -> None:
    assert item.derived is not None
    try:
        result = _compiled(item.derived, f"{where}.derived").evaluate(activation)
    except Undecided:
        result = None
    computed = None if result is None else _one(forms, item, result, here, findings)
    given = data.pop(item.name, None)
    if given is not None and not _same(given, computed):
        raise _Refused(
            here,
            f"{item.label} is computed from the record ({item.derived}"
            f"{'' if computed is None else f' gives {computed!r}'}): leave it empty",
            given,
        )
    if computed is not None:
        data[item.name] = computed


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _where(source: str, path: tuple[str | int, ...]) -> str:
    out = source
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _dotted(path: tuple[str | int, ...]) -> str:
    return _where("", path).removeprefix(".")


class _TopLevel:
    """A form's top-level items as a group (what :func:`_group` reads of a group item)."""

    __slots__ = ("by_name", "items")

    def __init__(self, form: Form) -> None:
        self.items = form.items
        self.by_name = {i.name: i for i in self.items}


def _group(
    forms: Forms,
    group: Item | _TopLevel,
    data: dict[str, Any],
    path: tuple[str | int, ...],
    findings: list[Finding],
    refused: list[_Refused] | None = None,
) -> dict[str, Any]:
    """A group's values checked; with ``refused``, every refused value is added to it (in
    the record's order) and checking goes on, otherwise the first one is raised."""
    by_name, items = group.by_name, group.items
    out: dict[str, Any] = {}
    for key, value in data.items():
        item = by_name.get(key) if isinstance(key, str) else None
        try:
            if item is None:
                raise _Refused((*path, key), "Extra inputs are not permitted", value)
            out[key] = _item(forms, item, value, (*path, key), findings, refused)
        except _Refused as exc:
            if refused is None:
                raise
            refused.append(exc)
    for item in items:
        if item.mandatory and item.name not in data:
            problem = _Refused((*path, item.name), "Field required")
            if refused is None:
                raise problem
            refused.append(problem)
    return out


def _item(
    forms: Forms,
    item: Item,
    value: Any,
    path: tuple[str | int, ...],
    findings: list[Finding],
    refused: list[_Refused] | None = None,
) -> Any:
    if value is None:
        if item.mandatory:
            raise _Refused(path, "a value is required here", value)
        return None
    if item.keyed:
        if not isinstance(value, dict):
            raise _Refused(path, "Input should be a valid dictionary", value)
        return {
            str(k): None if v is None else _one(forms, item, v, (*path, str(k)), findings, refused)
            for k, v in value.items()
        }
    if item.repeating or item.multiple:
        if not isinstance(value, list | tuple):
            raise _Refused(path, "Input should be a valid list", value)
        return [_one(forms, item, v, (*path, i), findings, refused) for i, v in enumerate(value)]
    return _one(forms, item, value, path, findings, refused)


def _one(
    forms: Forms,
    item: Item,
    value: Any,
    path: tuple[str | int, ...],
    findings: list[Finding],
    refused: list[_Refused] | None = None,
) -> Any:
    kind = item.type
    if kind == "group":
        if not isinstance(value, dict):
            raise _Refused(path, "Input should be a valid dictionary", value)
        return _group(forms, item, value, path, findings, refused)
    if kind == "lab":
        return _lab(item, value, path, findings)
    if kind == "choice":
        return _choice(forms, item, value, path)
    if kind == "measurement":
        return _measurement(forms, item, value, path, findings)
    if kind == "partial_date":
        if not isinstance(value, str) or not _PARTIAL_DATE.match(value):
            raise _Refused(path, "a partial date is YYYY, YYYY-MM or YYYY-MM-DD", value)
        return value
    converted = _scalar(kind, value, path)
    if kind == "text":
        if item.min_length is not None and len(converted) < item.min_length:
            raise _Refused(
                path, f"String should have at least {item.min_length} character(s)", value
            )
        if item.max_length is not None and len(converted) > item.max_length:
            raise _Refused(path, f"String should have at most {item.max_length} characters", value)
        return converted
    if kind in {"integer", "decimal"}:
        _ranges(item, float(converted), path, findings)
    return converted.isoformat() if isinstance(converted, dt.date) else converted


def _scalar(kind: str, value: Any, path: tuple[str | int, ...]) -> Any:
    # the common, exact cases without pydantic; anything else is coerced (or refused) by it
    exact = type(value)
    if (
        (kind == "text" and exact is str)
        or (kind == "boolean" and exact is bool)
        or (kind == "integer" and exact is int)
    ):
        return value
    if kind == "decimal" and exact in (int, float) and math.isfinite(value):
        return float(value)
    if kind == "date" and exact is str and len(value) == 10 and value[4] == value[7] == "-":
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value)
    try:
        return _SCALARS[kind].validate_python(value)
    except ValidationError as exc:
        raise _Refused(path, str(exc.errors()[0]["msg"]), value) from None


def _ranges(item: Item, value: float, path: tuple[str | int, ...], findings: list[Finding]) -> None:
    if item.range is not None and not item.range.holds(value):
        raise _Refused(
            path, _pydantic_range(item.range, value), value, _plain_range(item.range, value)
        )
    if item.soft_range is not None and not item.soft_range.holds(value):
        findings.append(
            Finding(
                _dotted(path),
                "soft_range",
                f"{item.label} {value:g} is outside the expected range "
                f"({item.soft_range.describe()}): correct it or confirm it",
            )
        )


def _pydantic_range(bounds: Range, value: float) -> str:
    """The message pydantic gives for the bound ``value`` breaks (callers match on it)."""
    if bounds.min is not None and not Range(
        min=bounds.min, min_exclusive=bounds.min_exclusive
    ).holds(value):
        relation = "greater than" if bounds.min_exclusive else "greater than or equal to"
        return f"Input should be {relation} {bounds.min:g}"
    relation = "less than" if bounds.max_exclusive else "less than or equal to"
    return f"Input should be {relation} {bounds.max:g}"


def _plain_range(bounds: Range, value: float) -> str:
    """The bound a value breaks, in plain words: ``must be at most 5``."""
    low = Range(min=bounds.min, min_exclusive=bounds.min_exclusive)
    if bounds.min is not None and not low.holds(value):
        return f"must be {'more than' if bounds.min_exclusive else 'at least'} {bounds.min:g}"
    return f"must be {'less than' if bounds.max_exclusive else 'at most'} {bounds.max:g}"


def _choice(forms: Forms, item: Item, value: Any, path: tuple[str | int, ...]) -> Any:
    codes = forms.code_map[item.codelist or ""].values
    if value in codes and type(value) is not bool:
        return value
    if any(isinstance(c, int) for c in codes) and isinstance(value, str | float):
        with contextlib.suppress(ValidationError):
            number = _SCALARS["integer"].validate_python(value)
            if number in codes:
                return number
    shown = ", ".join(repr(c) for c in codes)
    raise _Refused(path, f"Input should be one of {shown}", value)


def _measurement(
    forms: Forms, item: Item, value: Any, path: tuple[str | int, ...], findings: list[Finding]
) -> Any:
    if item.special_codes is not None and isinstance(value, str):
        codes = forms.code_list(item.special_codes).code_values()
        if value in codes:
            return value
    if isinstance(value, dict):
        number = _scalar("decimal", value.get("value"), (*path, "value"))
        unit = value.get("unit")
        factor = _unit_factor(item, unit, (*path, "unit"))
        extra = set(value) - {"value", "unit"}
        if extra:
            raise _Refused((*path, sorted(extra)[0]), "Extra inputs are not permitted")
        number = number * factor
    else:
        number = _scalar("decimal", value, path)
    _ranges(item, number, path, findings)
    return number


def _unit_factor(item: Item, unit: Any, path: tuple[str | int, ...]) -> float:
    if isinstance(unit, str):
        wanted = unit.strip().lower()
        if item.unit is not None and wanted == item.unit.lower():
            return 1.0
        for name, factor in item.units.items():
            if name.lower() == wanted and factor is not None:
                return factor
    accepted = sorted(
        {*(u for u, f in item.units.items() if f is not None), item.unit or ""} - {""}
    )
    raise _Refused(path, f"unknown unit; use one of {', '.join(accepted)}", unit)


def _lab(
    item: Item, value: Any, path: tuple[str | int, ...], findings: list[Finding]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Refused(path, "Input should be a valid dictionary", value)
    allowed = {"value", "unit", "date", *item.limits}
    out: dict[str, Any] = {}
    for key, part in value.items():
        here = (*path, key)
        if key not in allowed:
            raise _Refused(here, "Extra inputs are not permitted", part)
        if part is None:
            if key in {"value", "unit"}:
                raise _Refused(here, "a value is required here", part)
            out[key] = None
        elif key == "unit":
            out[key] = _scalar("text", part, here)
            _check_lab_unit(item, out[key], here)
        elif key == "date":
            out[key] = _scalar("date", part, here).isoformat()
        else:
            number = _scalar("decimal", part, here)
            if key == "value":
                _ranges(item, number, here, findings)
            elif key == "uln" and number <= 0:
                raise _Refused(here, "Input should be greater than 0", part)
            elif key == "lln" and number < 0:
                raise _Refused(here, "Input should be greater than or equal to 0", part)
            out[key] = number
    for key in ("value", "unit"):
        if key not in value:
            raise _Refused((*path, key), "Field required")
    return out


def _check_lab_unit(item: Item, unit: str, path: tuple[str | int, ...]) -> None:
    """A lab value's unit is one its item takes (any usual spelling of it), when it names some."""
    declared = (*item.units, *((item.unit,) if item.unit else ()))
    if declared and normalise_unit(unit) not in (accepted := _normalised(declared)):
        shown = ", ".join(sorted(accepted))  # as eligibility's unit conversion lists them
        raise _Refused(path, f"unknown unit {unit!r} for {item.name}; use one of {shown}")


@lru_cache(maxsize=256)
def _normalised(units: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalise_unit(u) for u in units)


@lru_cache(maxsize=512)
def _compiled(expression: str, where: str) -> CompiledRule:
    return compile_rule(expression, where=where)


def _checks(form: Form, data: dict[str, Any], source: str) -> Iterator[Finding]:
    """The form's edit checks: a failed ``refuse`` check raises, a ``query`` one is a finding.

    A check the data cannot decide (a date missing) passes: the required-item queries ask
    for the data.
    """
    if not form.checks:
        return
    activation = Activation({"r": data})
    for check in form.checks:
        if not _holds(check, form, activation):
            if check.severity == "refuse":
                raise RecordError(check.message, location=f"{source}.{check.item}")
            yield Finding(check.item, check.name, check.message)


def _holds(check: EditCheck, form: Form, activation: Activation) -> bool:
    try:
        result = _compiled(check.expr, f"{form.name}.checks.{check.name}").evaluate(activation)
    except Undecided:
        return True
    return result is not False


def json_schema(forms: Forms, form: Form) -> dict[str, Any]:
    """A JSON Schema (2020-12) of a form's records, built from its definition."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": form.label,
        "description": f"{form.name}, version {form.version}",
        **_object_schema(forms, form.items),
    }


def _object_schema(forms: Forms, items: tuple[Item, ...]) -> dict[str, Any]:
    properties = {item.name: _item_schema(forms, item) for item in items}
    required = [item.name for item in items if item.mandatory]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        **({"required": required} if required else {}),
    }


def _item_schema(forms: Forms, item: Item) -> dict[str, Any]:
    one = _value_schema(forms, item)
    if item.keyed:
        one = {"type": "object", "additionalProperties": {"anyOf": [one, {"type": "null"}]}}
    elif item.repeating or item.multiple:
        one = {"type": "array", "items": one}
    schema: dict[str, Any] = {"title": item.label}
    if item.help:
        schema["description"] = item.help
    if item.derived is not None:
        schema["readOnly"] = True
    schema["anyOf"] = [one, {"type": "null"}]
    return schema


def _bounds(bounds: Range | None) -> dict[str, Any]:
    if bounds is None:
        return {}
    out: dict[str, Any] = {}
    if bounds.min is not None:
        out["exclusiveMinimum" if bounds.min_exclusive else "minimum"] = bounds.min
    if bounds.max is not None:
        out["exclusiveMaximum" if bounds.max_exclusive else "maximum"] = bounds.max
    return out


def _value_schema(forms: Forms, item: Item) -> dict[str, Any]:
    kind = item.type
    if kind == "group":
        return _object_schema(forms, item.items)
    if kind == "choice":
        return {"enum": list(forms.code_list(item.codelist or "").code_values())}
    if kind == "lab":
        parts: dict[str, Any] = {
            "value": {"type": "number", **_bounds(item.range)},
            "unit": {"type": "string", **({"enum": list(item.units)} if item.units else {})},
            "date": {"type": "string", "format": "date"},
        }
        for limit in item.limits:
            parts[limit] = {
                "type": "number",
                "exclusiveMinimum" if limit == "uln" else "minimum": 0,
            }
        assert set(parts) <= set(LAB_PARTS)
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": parts,
            "required": ["value", "unit"],
        }
    if kind == "measurement":
        number = {"type": "number", **_bounds(item.range)}
        if item.special_codes is None:
            return number
        return {
            "anyOf": [number, {"enum": list(forms.code_list(item.special_codes).code_values())}]
        }
    simple: dict[str, dict[str, Any]] = {
        "text": {"type": "string"},
        "integer": {"type": "integer", **_bounds(item.range)},
        "decimal": {"type": "number", **_bounds(item.range)},
        "date": {"type": "string", "format": "date"},
        "partial_date": {"type": "string", "pattern": _PARTIAL_DATE.pattern},
        "boolean": {"type": "boolean"},
    }
    schema = dict(simple[kind])
    if kind == "text":
        if item.min_length is not None:
            schema["minLength"] = item.min_length
        if item.max_length is not None:
            schema["maxLength"] = item.max_length
    return schema
