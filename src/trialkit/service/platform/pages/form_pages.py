"""Pages generated from a form definition: inputs, and values both ways (screening and CRFs).

Each input is named by its item's path in the record (``end_date``, ``labs.alt.value``; a row
of a repeating group ``target.0.organ``; a keyed item by the index of its key ``target.1``),
so an error the service reports at ``data.<path>`` lands next to its input. A blank input is
left out of the record: the service stores the record and opens a query on a missing
required item instead of refusing it. Details: docs/forms.md, "Pages".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import HTMLResponse

from trialkit.protocol.forms import Form, Forms, Item, Section, value_at
from trialkit.protocol.records import check_value
from trialkit.protocol.rules import Activation, Undecided, compile_rule
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages

__all__ = [
    "MAX_ROWS",
    "CheckedField",
    "Converted",
    "Field",
    "Group",
    "Progress",
    "Rows",
    "SectionState",
    "SectionView",
    "add_row",
    "field_check",
    "field_of_location",
    "form_fields",
    "keyed_ids",
    "page_field",
    "page_sections",
    "page_to_record",
    "progress",
    "record_to_page",
    "remove_row",
    "rows_changed",
    "section_values",
]

MAX_ROWS = 50
"""The most rows of one repeating group a page offers."""

_ROW = "_row"  # the hidden input that keeps an empty row of a repeating group on the page
_ANY = (("none", N_("none")), ("listed", N_("yes, listed below")))


@dataclass(frozen=True)
class Field:
    """One input: ``kind`` is text, int, float, date, partial_date, yesno, choice or list."""

    name: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    unit: str | None = None
    shown: bool = True
    """Whether its ``show_when`` holds for the values entered (always true without one)."""

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass(frozen=True)
class Group:
    """Inputs shown together (a group of the record, a lab value), in a fieldset."""

    name: str
    label: str
    hint: str | None
    entries: tuple[Entry, ...]
    shown: bool = True


@dataclass(frozen=True)
class Rows:
    """A repeating group: a row of inputs per instance, each with its remove button."""

    name: str
    label: str
    hint: str | None
    rows: tuple[tuple[int, tuple[Entry, ...]], ...]
    shown: bool = True
    any: Field | None = None
    """``none`` records an empty list (known: none), ``listed`` the rows below."""


Entry = Field | Group | Rows


@dataclass(frozen=True)
class SectionView:
    name: str
    label: str
    hint: str | None
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Converted:
    """The record to store, and the inputs that could not be read (name -> words to translate)."""

    data: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


# --- the page's inputs ------------------------------------------------------------------------


def _holds(form: Form, item: Item, record: dict[str, Any], group: dict[str, Any] | None) -> bool:
    if item.show_when is None:
        return True
    rule = compile_rule(item.show_when, where=f"{form.name}.{item.name}.show_when")
    try:
        return rule.evaluate(Activation({"r": record, "g": group or {}})) is not False
    except Undecided:
        return False  # not asked until the answers it depends on are given


def _choices(forms: Forms, item: Item) -> tuple[tuple[str, str], ...]:
    if item.type == "boolean":
        return (("yes", N_("yes")), ("no", N_("no")))
    if item.codelist is None:
        return ()
    return tuple((str(c.code), c.label) for c in forms.code_list(item.codelist).codes)


def _kind(item: Item) -> str:
    if item.multiple:
        return "list"
    return {
        "integer": "int",
        "decimal": "float",
        "measurement": "float",
        "boolean": "yesno",
        "choice": "choice",
        "date": "date",
        "partial_date": "partial_date",
    }.get(item.type, "text")


def _hint(forms: Forms, item: Item) -> str | None:
    words = [item.help] if item.help else []
    if item.special_codes is not None:
        codes = forms.code_list(item.special_codes).codes
        words.append("or: " + ", ".join(c.label for c in codes))
    if item.multiple:
        words.append("several, separated by commas")
    return "; ".join(words) or None


def _rows_of(values: Mapping[str, str], name: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.")
    found = {int(m.group(1)) for key in values if (m := pattern.match(key))}
    return sorted(i for i in found if i < MAX_ROWS)


def _entries(
    forms: Forms,
    form: Form,
    items: tuple[Item, ...],
    prefix: str,
    values: Mapping[str, str],
    keys: Mapping[str, list[str]],
    record: dict[str, Any],
    group: dict[str, Any] | None,
) -> tuple[Entry, ...]:
    out: list[Entry] = []
    for item in items:
        if item.derived is not None:
            continue  # computed, not entered
        name = f"{prefix}{item.name}"
        shown = _holds(form, item, record, group)
        if item.type == "group" and item.repeating:
            indices = _rows_of(values, name)
            if len(indices) < MAX_ROWS:
                indices.append(max(indices, default=-1) + 1)  # room for one more
            held = value_at(record, name)
            instances = held if isinstance(held, list) else []
            rows = []
            for n, i in enumerate(indices):
                instance = instances[n] if n < len(instances) else None
                rows.append(
                    (
                        i,
                        _entries(
                            forms, form, item.items, f"{name}.{i}.", values, keys, record, instance
                        ),
                    )
                )
            anything = Field(name, N_("Any to record?"), "choice", _ANY, shown=shown)
            out.append(Rows(name, item.label, item.help, tuple(rows), shown, anything))
        elif item.type == "group":
            inner = _entries(forms, form, item.items, f"{name}.", values, keys, record, group)
            out.append(Group(name, item.label, item.help, inner, shown))
        elif item.type == "lab":
            parts: list[Entry] = [Field(f"{name}.value", N_("value"), "float", shown=shown)]
            offered = dict.fromkeys([*([item.unit] if item.unit else []), *item.units])
            units = tuple((u, u) for u in offered)
            parts.append(Field(f"{name}.unit", N_("unit"), "choice" if units else "text", units))
            for limit in item.limits:
                words = N_("upper limit of normal") if limit == "uln" else N_("lower limit")
                parts.append(Field(f"{name}.{limit}", words, "float"))
            parts.append(Field(f"{name}.date", N_("date"), "date"))
            out.append(Group(name, item.label, item.help, tuple(parts), shown))
        elif item.keyed:
            fields = tuple(
                Field(
                    f"{name}.{i}",
                    f"{item.label}: {key}",
                    _kind(item),
                    _choices(forms, item),
                    None,
                    item.unit,
                    shown,
                )
                for i, key in enumerate(keys.get(name, []))
            )
            if fields:
                out.append(Group(name, item.label, _hint(forms, item), fields, shown))
        else:
            out.append(
                Field(
                    name,
                    item.label,
                    _kind(item),
                    _choices(forms, item),
                    _hint(forms, item),
                    item.unit,
                    shown,
                )
            )
    return tuple(out)


def page_sections(
    forms: Forms, form: Form, values: Mapping[str, str], keys: Mapping[str, list[str]]
) -> tuple[SectionView, ...]:
    """The form's sections with their inputs, for the values on the page.

    ``keys``: the ids of each keyed item (``target`` -> ``["T1", "T2"]``).
    """
    record = page_to_record(forms, form, values, keys).data
    sections = []
    for section in form.sections:
        prefix = f"{section.key}." if section.key else ""
        entries = _entries(forms, form, section.items, prefix, values, keys, record, None)
        sections.append(SectionView(section.name, section.label, section.help, entries))
    return tuple(sections)


def _walk(entries: tuple[Entry, ...]) -> Iterator[Field]:
    for entry in entries:
        if isinstance(entry, Field):
            yield entry
        elif isinstance(entry, Group):
            yield from _walk(entry.entries)
        else:
            if entry.any is not None:
                yield entry.any
            for _, row in entry.rows:
                yield from _walk(row)


def form_fields(sections: tuple[SectionView, ...]) -> dict[str, Field]:
    """Every input of the page by name."""
    return {f.name: f for s in sections for f in _walk(s.entries)}


def add_row(values: dict[str, str], name: str) -> dict[str, str]:
    """The values with one more (empty) row of the repeating group ``name``."""
    indices = _rows_of(values, name)
    nxt = max(indices, default=-1) + 1
    return {**values, f"{name}.{nxt}.{_ROW}": "1", f"{name}.{nxt + 1}.{_ROW}": "1"}


def rows_changed(form: Form, posted: Mapping[str, str]) -> dict[str, str] | None:
    """The values after an *add a row* or *remove* button was pressed, or ``None`` (a save)."""
    kind, _, target = posted.get("action", "").partition(":")
    groups = {path for path, item in form.walk() if item.repeating}
    values = {k: v for k, v in posted.items() if k not in ("action", "csrf_token")}
    if kind == "add" and target in groups:
        return add_row(values, target)
    if kind == "remove" and target.rpartition(".")[0] in groups:
        return remove_row(values, target)
    return None


def remove_row(values: dict[str, str], row: str) -> dict[str, str]:
    """The values without the row ``target.1`` (nothing is saved until the form is)."""
    return {k: v for k, v in values.items() if not k.startswith(row + ".")}


# --- posted values -> record ------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NEEDED = N_("needed in every row: fill it in, or remove the row")


def _date(raw: str) -> str:
    if not _DATE.match(raw):
        raise ValueError(N_("enter a date as YYYY-MM-DD"))
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ValueError(N_("this date does not exist")) from None


def _number(raw: str, whole: bool) -> int | float:
    if whole:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(N_("enter a whole number")) from None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(N_("enter a number")) from None
    if not math.isfinite(value):
        raise ValueError(N_("enter a number"))
    return value


def _read(forms: Forms, item: Item, raw: str) -> Any:
    """The typed value of one input; :class:`ValueError` with words to translate."""
    if item.type == "boolean":
        if raw not in ("yes", "no"):
            raise ValueError(N_("choose one of the listed options"))
        return raw == "yes"
    if item.type == "choice":
        codes = {str(c.code): c.code for c in forms.code_list(item.codelist or "").codes}
        if raw not in codes:
            raise ValueError(N_("choose one of the listed options"))
        return codes[raw]
    if item.type == "date":
        return _date(raw)
    if item.type in {"integer", "decimal", "measurement"}:
        if item.special_codes is not None:
            for code in forms.code_list(item.special_codes).codes:
                spoken = {str(code.code), str(code.code).replace("_", " "), code.label}
                if raw.lower() in {s.lower() for s in spoken}:
                    return code.code
        number = _number(raw, item.type == "integer")
        problem = check_value(forms, item, number)  # the service's own check of the item
        if problem is not None:
            raise ValueError(problem)
        return number
    return raw


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def _convert(
    forms: Forms,
    items: tuple[Item, ...],
    prefix: str,
    posted: Mapping[str, str],
    keys: Mapping[str, list[str]],
    out: dict[str, Any],
    problems: dict[str, str],
) -> None:
    for item in items:
        if item.derived is not None:
            continue
        name = f"{prefix}{item.name}"
        if item.type == "group" and item.repeating:
            rows: list[dict[str, Any]] = []
            for i in _rows_of(posted, name):
                row: dict[str, Any] = {}
                _convert(forms, item.items, f"{name}.{i}.", posted, keys, row, problems)
                entered = _strip(row, f"{name}.{i}.")
                if entered:
                    rows.append(entered)
                    for child in item.items:
                        blank = not posted.get(f"{name}.{i}.{child.name}", "").strip()
                        if child.mandatory and blank and child.type != "group":
                            problems.setdefault(f"{name}.{i}.{child.name}", _NEEDED)
            said = posted.get(name, "").strip()
            if said == "none" and rows:
                problems[name] = N_("'none' was chosen but rows are filled in: choose one")
            elif said == "none":
                _set(out, name, [])
            elif said == "listed" and not rows:
                problems[name] = N_("fill in at least one row below, or choose 'none'")
            elif said not in ("", "none", "listed"):
                problems[name] = N_("choose one of the listed options")
            elif rows:
                _set(out, name, rows)
        elif item.type == "group":
            _convert(forms, item.items, f"{name}.", posted, keys, out, problems)
        elif item.type == "lab":
            lab: dict[str, Any] = {}
            for piece in ("value", "unit", *item.limits, "date"):
                raw = posted.get(f"{name}.{piece}", "").strip()
                if not raw:
                    continue
                try:
                    if piece == "date":
                        lab[piece] = _date(raw)
                    elif piece == "unit":
                        lab[piece] = raw
                    else:
                        lab[piece] = _number(raw, False)
                except ValueError as exc:
                    problems[f"{name}.{piece}"] = str(exc)
            if lab:
                _set(out, name, lab)
        elif item.keyed:
            measured: dict[str, Any] = {}
            for i, key in enumerate(keys.get(name, [])):
                raw = posted.get(f"{name}.{i}", "").strip()
                if not raw:
                    continue
                try:
                    measured[key] = _read(forms, item, raw)
                except ValueError as exc:
                    problems[f"{name}.{i}"] = str(exc)
            if measured:
                _set(out, name, measured)
        else:
            raw = posted.get(name, "").strip()
            if not raw:
                continue
            try:
                if item.multiple:
                    parts = [p for p in re.split(r"[,;]\s*|\s+(?=\d{4}-)", raw) if p.strip()]
                    value: Any = [_read(forms, item, p.strip()) for p in parts]
                else:
                    value = _read(forms, item, raw)
            except ValueError as exc:
                problems[name] = str(exc)
            else:
                _set(out, name, value)


def _strip(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A row's values, keyed below the row (``target.0.organ`` was set as nested keys)."""
    node: Any = row
    for part in prefix.strip(".").split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def page_to_record(
    forms: Forms, form: Form, posted: Mapping[str, str], keys: Mapping[str, list[str]]
) -> Converted:
    """The record the posted inputs describe (blank inputs left out), and unreadable inputs."""
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for section in form.sections:
        prefix = f"{section.key}." if section.key else ""
        _convert(forms, section.items, prefix, posted, keys, data, problems)
    return Converted(data, problems)


# --- record -> page values --------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return "" if value is None else str(value)


def record_to_page(
    form: Form, data: Mapping[str, Any], keys: Mapping[str, list[str]]
) -> dict[str, str]:
    """The inputs' values for a stored record (the inverse of :func:`page_to_record`)."""
    out: dict[str, str] = {}

    def flatten(items: tuple[Item, ...], value: Any, prefix: str) -> None:
        if not isinstance(value, Mapping):
            return
        for item in items:
            name = f"{prefix}{item.name}"
            got = value.get(item.name)
            if got is None:
                continue
            if item.type == "group" and item.repeating and isinstance(got, list):
                out[name] = "listed" if got else "none"
                for i, element in enumerate(got[:MAX_ROWS]):
                    out[f"{name}.{i}.{_ROW}"] = "1"
                    flatten(item.items, element, f"{name}.{i}.")
            elif item.type == "group":
                flatten(item.items, got, f"{name}.")
            elif item.type == "lab" and isinstance(got, Mapping):
                for part, part_value in got.items():
                    out[f"{name}.{part}"] = _show(part_value)
            elif item.keyed and isinstance(got, Mapping):
                for i, key in enumerate(keys.get(name, [])):
                    if got.get(key) is not None:
                        out[f"{name}.{i}"] = _show(got[key])
            elif isinstance(got, list):
                out[name] = ", ".join(_show(v) for v in got)
            elif isinstance(got, Mapping):  # a measurement entered with its unit
                out[name] = _show(got.get("value"))
            else:
                out[name] = _show(got)

    flatten(form.items, data, "")
    return out


def keyed_ids(
    form: Form, baseline: Mapping[str, Any] | None, data: Mapping[str, Any] | None
) -> dict[str, list[str]]:
    """The ids of each keyed item: the ``id`` of each instance of the repeating group of the
    same name in the baseline record (lesions), then any other id the record holds."""
    keys: dict[str, list[str]] = {}
    for path, item in form.walk():
        if not item.keyed:
            continue
        ids = [
            str(row["id"])
            for row in (baseline or {}).get(path.rsplit(".", 1)[-1]) or []
            if isinstance(row, Mapping) and row.get("id") is not None
        ]
        held = value_at(dict(data or {}), path)
        if isinstance(held, Mapping):
            ids += [str(k) for k in held if str(k) not in ids]
        keys[path] = ids
    return keys


# --- one input checked as it is filled -----------------------------------------------------

CheckedField = Annotated[str, Query(alias="field", max_length=300)]
"""The input a field check is for (``?field=labs.alt.value``)."""


def field_check(pages: Pages, converted: Converted, name: str) -> HTMLResponse:
    """The fragment htmx puts under an input: its problem in words (the service's check of
    the item, :func:`~trialkit.protocol.records.check_value`), or nothing when it is good."""
    problem = converted.problems.get(name)
    return pages.response(
        "patients/_field_check.html", message=pages._(problem) if problem else None
    )


# --- saving one section at a time -------------------------------------------------------------

_CONTROLS = frozenset({"action", "csrf_token", "section", "reason", "record_key"})


def _section(form: Form, name: str) -> Section:
    section = next((s for s in form.sections if s.name == name), None)
    if section is None:
        raise KeyError(name)
    return section


def _in_section(section: Section, name: str) -> bool:
    """Whether the input ``name`` is one of the section's (its key, or one of its items)."""
    heads = [section.key] if section.key else [item.name for item in section.items]
    return any(name == h or name.startswith(h + ".") for h in heads)


def section_values(
    form: Form, section: str, stored: Mapping[str, str], posted: Mapping[str, str]
) -> dict[str, str]:
    """The inputs of a section save: the stored record's, the section's as posted.

    The other sections keep what the latest version holds, so the record saved is whole:
    a new version that only fills in what was empty (docs/capture.md, "Saving a section").
    ``KeyError`` when the form has no such section.
    """
    part = _section(form, section)
    kept = {k: v for k, v in stored.items() if not _in_section(part, k)}
    entered = {k: v for k, v in posted.items() if k not in _CONTROLS and _in_section(part, k)}
    return {**kept, **entered}


@dataclass(frozen=True)
class SectionState:
    """A section of a form on its page: saved (the latest version fills it in) and changed
    (the page holds values the latest version does not)."""

    name: str
    label: str
    saved: bool
    changed: bool


@dataclass(frozen=True)
class Progress:
    """How far a form is saved, section by section (the page's progress marker)."""

    sections: tuple[SectionState, ...]

    @property
    def done(self) -> int:
        return sum(s.saved for s in self.sections)

    @property
    def total(self) -> int:
        return len(self.sections)


def progress(form: Form, stored: Mapping[str, str], values: Mapping[str, str]) -> Progress:
    """The sections the stored record's inputs (:func:`record_to_page`) fill in, and those
    whose inputs on the page (``values``) differ from them."""

    def part(section: Section, inputs: Mapping[str, str]) -> dict[str, str]:
        return {
            k: v
            for k, v in inputs.items()
            if v and k not in _CONTROLS and not k.endswith(f".{_ROW}") and _in_section(section, k)
        }

    return Progress(
        tuple(
            SectionState(
                s.name,
                s.label,
                saved=bool(part(s, stored)),
                changed=part(s, stored) != part(s, values),
            )
            for s in form.sections
        )
    )


# --- service errors -> inputs -----------------------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def field_of_location(location: str, keys: Mapping[str, list[str]] | None = None) -> str:
    """The input of a service error location (``data.target[0].organ`` -> ``target.0.organ``;
    ``data.target.T2`` -> ``target.1`` where T2 is the second id of ``target``)."""
    path = location.removeprefix("data.").removeprefix("data")
    path = _INDEX.sub(lambda m: f".{m.group(1)}", path).strip(".")
    for name, ids in (keys or {}).items():
        for i, key in enumerate(ids):
            if path == f"{name}.{key}" or path.startswith(f"{name}.{key}."):
                return f"{name}.{i}"
    return path or "form"


def page_field(
    sections: tuple[SectionView, ...], location: str, keys: Mapping[str, list[str]]
) -> str | None:
    """The input a query's or an error's item is on, or ``None`` when the page has none."""
    name = field_of_location(location, keys)
    fields = form_fields(sections)
    if name in fields:
        return name
    return next((f for f in fields if f.startswith(name + ".")), None)
