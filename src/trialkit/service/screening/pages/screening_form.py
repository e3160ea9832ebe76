"""The screening form: fields derived from the screening record model, and form data to a record.

Each input is named by its field path in the record (``labs.alt.value``), so an
error the service reports for a path lands next to the input of that name. An
empty input means *not recorded* and is left out of the record: the service then
calls the criteria that need it ``unknown``, never met.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from trialkit.eligibility.record import Lab, OtherCancer, ScreeningRecord
from trialkit.eligibility.units import ACCEPTED_UNITS, normalise_unit
from trialkit.service.platform.pages.labels import LABELS, OPTION_LABELS, PARTS, SECTIONS, UNITS

__all__ = [
    "CANCER_ROWS",
    "FormField",
    "FormGroup",
    "Section",
    "field_for_path",
    "form_sections",
    "form_to_record",
    "label_for",
    "record_to_form",
]

Kind = Literal["yesno", "choice", "date", "int", "float", "text", "dates", "unit", "cancers"]
CANCER_ROWS = 2  # rows offered for other cancers; a record with more is shown as it is


@dataclass(frozen=True)
class FormField:
    path: str
    label: str
    kind: Kind
    choices: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-")


@dataclass(frozen=True)
class FormGroup:
    path: str
    label: str
    items: tuple[FormField | FormGroup, ...]
    lab: bool = False  # a lab result: value, unit, limits and date shown as one row


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[FormField | FormGroup, ...] = field(default_factory=tuple)


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _bounds(info: Any) -> tuple[float | None, float | None]:
    low = high = None
    for meta in info.metadata:
        for name in ("ge", "gt"):
            if getattr(meta, name, None) is not None:
                low = float(getattr(meta, name))
        for name in ("le", "lt"):
            if getattr(meta, name, None) is not None:
                high = float(getattr(meta, name))
    return low, high


def label_for(path: str) -> str:
    """The label of a record path: its own, or the common label of its last part."""
    return LABELS.get(path) or PARTS.get(path.rsplit(".", 1)[-1], path)


def _leaf(path: str, annotation: Any, info: Any) -> FormField:
    label = label_for(path)
    hint = info.description
    origin = typing.get_origin(annotation)
    low, high = _bounds(info)
    if annotation is bool:
        return FormField(path, label, "yesno", (("yes", "yes"), ("no", "no")), hint)
    if origin is Literal:
        values = [str(v) for v in typing.get_args(annotation)]
        return FormField(
            path, label, "choice", tuple((v, OPTION_LABELS.get(v, v)) for v in values), hint
        )
    if annotation is dt.date:
        return FormField(path, label, "date", hint=hint)
    if annotation is int:
        return FormField(path, label, "int", hint=hint, minimum=low, maximum=high)
    if annotation is float:
        return FormField(path, label, "float", hint=hint, minimum=low, maximum=high)
    if origin is list and typing.get_args(annotation) == (dt.date,):
        return FormField(path, label, "dates", hint=hint)
    if origin is list and typing.get_args(annotation) == (OtherCancer,):
        return FormField(path, label, "cancers", hint=hint)
    if path.endswith(".unit") and path.split(".")[-2] in UNITS:
        units = UNITS[path.split(".")[-2]]
        return FormField(path, label, "unit", tuple((u, u) for u in units), hint)
    return FormField(path, label, "text", hint=hint)


def _items(model: type[BaseModel], prefix: str) -> tuple[FormField | FormGroup, ...]:
    items: list[FormField | FormGroup] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = _unwrap(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            items.append(
                FormGroup(
                    path,
                    label_for(path),
                    _items(annotation, path + "."),
                    lab=annotation is Lab or annotation.__name__ == "Fsh",
                )
            )
        else:
            items.append(_leaf(path, annotation, info))
    return tuple(items)


@cache
def form_sections() -> tuple[Section, ...]:
    """The form's sections, in the order of the case report form."""
    top = {item.path: item for item in _items(ScreeningRecord, "")}
    sections = []
    for key, (title, paths) in SECTIONS.items():
        items: list[FormField | FormGroup] = []
        for path in paths:
            item = top.pop(path)
            items.extend(item.items if isinstance(item, FormGroup) else (item,))
        sections.append(Section(key, title, tuple(items)))
    if top:  # a new record field must be placed in a section
        raise RuntimeError(f"screening form: no section for {', '.join(sorted(top))}")
    return tuple(sections)


def _walk(items: tuple[FormField | FormGroup, ...]) -> Iterator[FormField]:
    for item in items:
        if isinstance(item, FormGroup):
            yield from _walk(item.items)
        else:
            yield item


def all_fields() -> Iterator[FormField]:
    for section in form_sections():
        yield from _walk(section.items)


def field_for_path(path: str) -> FormField | None:
    """The input that a record path is entered in: the field itself or the first of its group."""
    for candidate in all_fields():
        if candidate.path == path or candidate.path.startswith(path + "."):
            return candidate
    if path.startswith("history.other_cancers"):
        return field_for_path("history.other_cancers")
    return None


# --- form data -> record ---------------------------------------------------------------


@dataclass(frozen=True)
class Converted:
    """The record as far as the form gives it, and inputs that are not even the right type."""

    data: dict[str, Any]
    problems: dict[str, str]  # path -> plain message


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _convert(f: FormField, raw: str) -> Any:
    """The typed value of one input (``ValueError`` with a plain message when it is not one)."""
    if f.kind == "yesno":
        if raw not in {"yes", "no"}:
            raise ValueError("choose yes, no, or leave it not recorded")
        return raw == "yes"
    if f.kind == "unit":  # the listed spellings, or another one trialkit converts (µmol/L)
        lab = f.path.split(".")[-2]
        if raw not in {v for v, _ in f.choices} and normalise_unit(raw) not in ACCEPTED_UNITS.get(
            lab, ()
        ):
            raise ValueError("choose one of the listed units")
        return raw
    if f.kind == "choice":
        if raw not in {value for value, _ in f.choices}:
            raise ValueError("choose one of the listed options")
        return raw
    if f.kind == "date":
        return _date(raw)
    if f.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("enter a whole number") from None
    if f.kind == "float":
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            raise ValueError("enter a number") from None
    if f.kind == "dates":
        return [_date(part) for part in re.split(r"[\s,;]+", raw) if part]
    return raw


def _date(raw: str) -> str:
    if not _DATE.match(raw):
        raise ValueError("enter a date as YYYY-MM-DD")
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError("this date does not exist") from None
    return raw


def _cancers(form: Mapping[str, str], path: str, out: dict[str, Any]) -> dict[str, str]:
    """Other cancers: 'none' gives ``[]``; 'listed' gives one entry per row with a kind."""
    choice = form.get(path, "").strip()
    if not choice:
        return {}
    if choice == "none":
        _set(out, path, [])
        return {}
    entries: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for row in range(CANCER_ROWS):
        kind = form.get(f"{path}.{row}.kind", "").strip()
        if not kind:
            continue
        entry: dict[str, Any] = {"kind": kind}
        description = form.get(f"{path}.{row}.description", "").strip()
        if description:
            entry["description"] = description
        treated = form.get(f"{path}.{row}.curatively_treated", "").strip()
        if treated:
            entry["curatively_treated"] = treated == "yes"
        end = form.get(f"{path}.{row}.treatment_end_date", "").strip()
        if end:
            try:
                entry["treatment_end_date"] = _date(end)
            except ValueError as exc:
                problems[f"{path}.{row}.treatment_end_date"] = str(exc)
        entries.append(entry)
    if not entries:
        problems[path] = "describe at least one other cancer below, or choose 'none'"
    _set(out, path, entries)
    return problems


def form_to_record(form: Mapping[str, str]) -> Converted:
    """The screening record that form data describe (empty inputs left out)."""
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in all_fields():
        if f.kind == "cancers":
            problems.update(_cancers(form, f.path, data))
            continue
        raw = form.get(f.path, "").strip()
        if not raw:
            continue
        try:
            _set(data, f.path, _convert(f, raw))
        except ValueError as exc:
            problems[f.path] = str(exc)
    return Converted(data=data, problems=problems)


# --- record -> form data ---------------------------------------------------------------


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and path.endswith("other_cancers"):
        out[path] = "listed" if value else "none"
        for row, entry in enumerate(value):
            _flatten(entry, f"{path}.{row}", out)
    elif isinstance(value, list):
        out[path] = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        out[path] = "yes" if value else "no"
    elif value is not None:
        out[path] = f"{value:g}" if isinstance(value, float) else str(value)


def record_to_form(data: Mapping[str, Any]) -> dict[str, str]:
    """Form values for a stored record (the inverse of :func:`form_to_record`)."""
    out: dict[str, str] = {}
    _flatten(dict(data), "", out)
    return out
