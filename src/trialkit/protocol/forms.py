"""Form definitions: the screening form and case report forms a protocol declares, as data.

A form holds items in sections; an item has a data type, label, help, ranges, code list,
units, show_when / derived CEL, and its SDTM/CDASH names. Details: docs/forms.md.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from trialkit.protocol._base import NAME, ReadOnlyMapping, _Frozen, _read_only

__all__ = [
    "ITEM_TYPES",
    "RECORD_REFERENCE",
    "Code",
    "CodeList",
    "EditCheck",
    "Form",
    "FormUse",
    "Forms",
    "Item",
    "ItemType",
    "Range",
    "Section",
    "Treatment",
    "declared",
    "record_items",
    "sdtm_value",
    "value_at",
]

ItemType = Literal[
    "text",
    "integer",
    "decimal",
    "date",
    "partial_date",
    "boolean",
    "choice",
    "lab",
    "measurement",
    "group",
]
ITEM_TYPES: tuple[str, ...] = typing.get_args(ItemType)
FormUse = Literal["screening", "baseline", "per_visit", "per_cycle", "once", "event"]
Name = Annotated[str, Field(pattern=NAME.pattern)]
Scalar = str | int | float | bool

RECORD_REFERENCE = re.compile(r"\b(?<![.\w])([rg])((?:\.[a-z_][a-z0-9_]*)+)")
"""A reference to an item in a form expression: ``r.path`` (the record) or ``g.path`` (the
instance of the repeating group the expression sits in)."""

LAB_PARTS: tuple[str, ...] = ("value", "unit", "uln", "lln", "date")
"""The parts of a ``lab`` item's value: the result, its unit, the limits of normal, the date."""


class Code(_Frozen):
    """One entry of a code list: the stored code, its label and its CDISC submission value."""

    code: str | int = Field(description="the value stored: a string, or an integer (grades)")
    label: str = Field(min_length=1)
    submission_value: str | None = Field(
        default=None, description="CDISC controlled-terminology submission value"
    )


class CodeList(_Frozen):
    """A named, reusable list of codes (CTCAE grades, relation to study drug, ...)."""

    name: Name
    label: str
    cdisc_codelist: str | None = Field(
        default=None, description="NCI code of the CDISC codelist (C66742), where one applies"
    )
    codes: tuple[Code, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> CodeList:
        codes = [c.code for c in self.codes]
        duplicate = _twice(codes)
        if duplicate is not None:
            raise ValueError(f"code list {self.name!r} holds code {duplicate!r} twice")
        return self

    def code_values(self) -> tuple[str | int, ...]:
        return self.values

    @cached_property
    def values(self) -> tuple[str | int, ...]:
        """The codes in their order (computed once: the model is frozen)."""
        return tuple(c.code for c in self.codes)


class Range(_Frozen):
    """Bounds on a number: inclusive unless ``*_exclusive``; either may be left out."""

    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"range max {self.max} is below min {self.min}")
        return self

    def holds(self, value: float) -> bool:
        if self.min is not None and (value <= self.min if self.min_exclusive else value < self.min):
            return False
        return self.max is None or not (
            value >= self.max if self.max_exclusive else value > self.max
        )

    def describe(self) -> str:
        low = (
            ""
            if self.min is None
            else (f"more than {self.min:g}" if self.min_exclusive else f"at least {self.min:g}")
        )
        high = (
            ""
            if self.max is None
            else (f"less than {self.max:g}" if self.max_exclusive else f"at most {self.max:g}")
        )
        return " and ".join(p for p in (low, high) if p)


class EditCheck(_Frozen):
    """A CEL condition a record must meet; ``refuse`` rejects the record, ``query`` opens a
    query on ``item`` (a path in the form) with ``message``."""

    name: Name
    expr: str = Field(min_length=1, description="true when the record is fine")
    message: str = Field(min_length=1)
    item: str = Field(min_length=1, description="the item the finding is attached to")
    severity: Literal["refuse", "query"] = "query"


class Item(_Frozen):
    """One datum of a form, or a group of them (``type: group``)."""

    name: Name
    type: ItemType
    label: str = Field(min_length=1)
    help: str | None = None
    required: bool = Field(default=False, description="missing: a query, not a refusal")
    mandatory: bool = Field(
        default=False, description="part of its group's value: a group without it is refused"
    )
    codelist: Name | None = Field(default=None, description="for choice (and special codes)")
    special_codes: Name | None = Field(
        default=None, description="a code list of non-numeric values a number item also takes"
    )
    unit: str | None = Field(default=None, description="the unit values are stored in")
    units: ReadOnlyMapping[float | None] = Field(
        default_factory=lambda: _read_only({}),
        description="units a site may enter, with the factor to `unit` (null: not converted)",
    )
    limits: tuple[Literal["uln", "lln"], ...] = Field(
        default=(), description="limits of normal a lab value records"
    )
    range: Range | None = Field(default=None, description="hard: a value outside is refused")
    soft_range: Range | None = Field(default=None, description="a value outside opens a query")
    max_length: int | None = Field(default=None, gt=0)
    min_length: int | None = Field(default=None, ge=0)
    multiple: bool = Field(default=False, description="a list of values")
    repeating: bool = Field(default=False, description="a group recorded any number of times")
    keyed: bool = Field(default=False, description="a mapping from an id (a lesion's) to the value")
    default: Scalar | None = None
    not_before: Name | None = Field(
        default=None, description="a date item beside this one that this date may not precede"
    )
    show_when: str | None = Field(default=None, description="CEL: shown only when true")
    derived: str | None = Field(default=None, description="CEL: computed, not entered")
    sdtm: str | None = Field(default=None, pattern=r"^[A-Z]{2,8}\.[A-Z][A-Z0-9]{0,7}$")
    sdtm_test: str | None = Field(
        default=None, pattern=r"^[A-Z][A-Z0-9]{0,7}$", description="--TESTCD in a findings domain"
    )
    cdash: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9]{0,19}$")
    items: tuple[Item, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        numeric = self.type in {"integer", "decimal", "measurement", "lab"}
        if self.type == "group":
            if not self.items:
                raise ValueError(f"group {self.name!r} needs items")
            _no_duplicates(self.items, f"group {self.name!r}")
            _ordered_dates(self.items, f"group {self.name!r}")
        elif self.items:
            raise ValueError(f"item {self.name!r} of type {self.type} cannot hold items")
        if self.repeating and self.type != "group":
            raise ValueError(f"item {self.name!r}: only a group repeats; use multiple: true")
        if self.type == "choice" and self.codelist is None:
            raise ValueError(f"choice item {self.name!r} needs a codelist")
        if self.type != "choice" and self.codelist is not None:
            raise ValueError(f"item {self.name!r} of type {self.type} cannot have a codelist")
        if self.special_codes is not None and not numeric:
            raise ValueError(f"special_codes need a number item, {self.name!r} is {self.type}")
        if (self.range or self.soft_range) and not numeric:
            raise ValueError(f"item {self.name!r} of type {self.type} cannot have a range")
        if self.limits and self.type != "lab":
            raise ValueError(f"item {self.name!r}: only a lab value records limits of normal")
        if self.units and self.type not in {"measurement", "lab"}:
            raise ValueError(f"item {self.name!r}: only a measurement or lab value has units")
        if self.type == "measurement" and self.unit is None:
            raise ValueError(f"measurement {self.name!r} needs its unit")
        if self.not_before is not None and self.type != "date":
            raise ValueError(f"item {self.name!r}: only a date has not_before")
        if (self.max_length or self.min_length is not None) and self.type != "text":
            raise ValueError(f"item {self.name!r}: only text has a length")
        return self

    @cached_property
    def by_name(self) -> Mapping[str, Item]:
        """A group's items by name (computed once: the model is frozen)."""
        return MappingProxyType({i.name: i for i in self.items})

    def walk(self, path: str) -> Iterator[tuple[str, Item]]:
        """This item and, for a group, every item inside it, each with its dotted path."""
        yield path, self
        for child in self.items:
            yield from child.walk(f"{path}.{child.name}")


class Section(_Frozen):
    """Items shown together; ``key`` nests them under one key of the record (``labs``)."""

    name: Name
    label: str
    help: str | None = None
    key: Name | None = Field(default=None, description="record key the items sit under")
    items: tuple[Item, ...] = Field(min_length=1)


CDISC_TERM = r"^[A-Z0-9][A-Z0-9 ,/()-]*$"
"""A CDISC Controlled Terminology submission value (``TABLET``, ``ORAL``, ``Q3W``)."""


class Treatment(_Frozen):
    """What the records of an exposure form (``sdtm_domain: EX``) give: SDTM's ``EXTRT`` and
    the dosing the protocol fixes (the dose and dates are the form's items ``EX.EXDOSE``,
    ``EX.EXSTDTC``, ``EX.EXENDTC``).

    ``regimen`` names a background-therapy regimen (its drug, route and frequency), ``name`` any
    other treatment; the form playing the ``study_drug`` role names neither: its treatment and
    dose are the arms' (named together in a blinded export). ``dose_form``, ``route`` and
    ``frequency`` are CDISC submission values and take precedence over the regimen's.
    """

    name: str | None = Field(default=None, min_length=1, description="EXTRT")
    regimen: Name | None = Field(default=None, description="a background_therapy regimen id")
    dose_form: str | None = Field(default=None, pattern=CDISC_TERM, description="EXDOSFRM")
    route: str | None = Field(default=None, pattern=CDISC_TERM, description="EXROUTE")
    frequency: str | None = Field(default=None, pattern=CDISC_TERM, description="EXDOSFRQ")

    @model_validator(mode="after")
    def _one_name(self) -> Treatment:
        if self.name is not None and self.regimen is not None:
            raise ValueError("a treatment has a name or a regimen, not both")
        return self


class Form(_Frozen):
    """A form: its items in sections, where it is used, its version and edit checks."""

    name: Name
    label: str
    version: str = Field(min_length=1, description="every stored record names it")
    used: FormUse
    repeats: bool = Field(default=False, description="recorded more than once per patient")
    key_prefix: str | None = Field(
        default=None, pattern=r"^[A-Z]{1,4}$", description="key of a repeating form's records"
    )
    sdtm_domain: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    treatment: Treatment | None = Field(
        default=None, description="an exposure (EX) form: the treatment its records give"
    )
    help: str | None = None
    sections: tuple[Section, ...] = Field(min_length=1)
    checks: tuple[EditCheck, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Form:
        if self.repeats != (self.key_prefix is not None):
            raise ValueError(f"form {self.name!r}: a repeating form needs a key_prefix, only it")
        if self.treatment is not None and self.sdtm_domain != "EX":
            raise ValueError(
                f"form {self.name!r}: only an exposure form (sdtm_domain: EX) has a treatment"
            )
        sections = [s.name for s in self.sections]
        duplicate = _twice(sections)
        if duplicate is not None:
            raise ValueError(f"form {self.name!r} has two sections named {duplicate!r}")
        top: dict[str, tuple[Item, ...]] = {}
        for section in self.sections:
            if section.key is None:
                top.setdefault("", ())
                top[""] += section.items
            else:
                top[section.key] = top.get(section.key, ()) + section.items
        nested = [key for key in top if key]
        names = [i.name for i in top.get("", ())] + nested
        duplicate = _twice(names)
        if duplicate is not None:
            raise ValueError(f"form {self.name!r} has two items named {duplicate!r}")
        for key, items in top.items():
            where = f"form {self.name!r}" + (f" section key {key!r}" if key else "")
            _no_duplicates(items, where)
            _ordered_dates(items, where)
        return self

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """The record's top-level items: a section's ``key`` is a group of its items
        (built once: the model is frozen)."""
        out: dict[str, Item] = {}
        for section in self.sections:
            if section.key is None:
                for item in section.items:
                    out[item.name] = item
            else:
                found = out.get(section.key)
                held = found.items if found is not None else ()
                out[section.key] = Item(
                    name=section.key,
                    type="group",
                    label=section.label if found is None else found.label,
                    items=held + section.items,
                )
        return tuple(out.values())

    @cached_property
    def conditional(self) -> bool:
        """Whether an item of the form has a ``show_when`` or a ``derived`` expression."""
        return any(i.show_when is not None or i.derived is not None for _, i in self.walk())

    def walk(self) -> Iterator[tuple[str, Item]]:
        """Every item of the form, groups and their contents, with its dotted path."""
        for item in self.items:
            yield from item.walk(item.name)

    def item(self, path: str) -> Item:
        """The item at a dotted path (``labs.alt``); :class:`KeyError` when there is none."""
        items = self.items
        found: Item | None = None
        for part in path.split("."):
            found = next((i for i in items if i.name == part), None)
            if found is None:
                raise KeyError(path)
            items = found.items
        if found is None:
            raise KeyError(path)
        return found

    def has_path(self, path: str) -> bool:
        """Whether a dotted path names an item, or a part of a lab value (``labs.alt.uln``)."""
        parts = path.split(".")
        items = self.items
        for index, part in enumerate(parts):
            found = next((i for i in items if i.name == part), None)
            if found is None:
                return False
            if found.type == "lab":
                rest = parts[index + 1 :]
                return not rest or (len(rest) == 1 and rest[0] in LAB_PARTS)
            if found.keyed or found.multiple or found.repeating:
                return True  # any id or index below (or a macro over the list)
            items = found.items
        return True


FormRole = Literal[
    "tumour_baseline",
    "tumour_assessment",
    "study_drug",
    "adverse_event",
    "death",
    "end_of_treatment",
    "end_of_study",
    "new_therapy",
    "last_known_alive",
]
"""What the service derives from a form (RECIST, survival, disposition): the protocol says
which of its forms plays each role, so that a new trial needs no code."""


class Forms(_Frozen):
    """Every form of a protocol and the code lists they share."""

    code_lists: tuple[CodeList, ...] = ()
    roles: ReadOnlyMapping[Name] = Field(
        default_factory=lambda: _read_only({}),
        description="role (tumour_assessment, death, ...) -> the form that plays it",
    )
    forms: tuple[Form, ...] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: Mapping[str, str]) -> Mapping[str, str]:
        known = get_args(FormRole)
        for role in roles:
            if role not in known:
                raise ValueError(f"unknown form role {role!r}; roles are {', '.join(known)}")
        return roles

    def role(self, role: FormRole) -> str | None:
        """The name of the form that plays ``role``, if the protocol declares one."""
        return self.roles.get(role)

    @model_validator(mode="after")
    def _references(self) -> Forms:
        names = [c.name for c in self.code_lists]
        duplicate = _twice(names)
        if duplicate is not None:
            raise ValueError(f"two code lists are named {duplicate!r}")
        forms = [f.name for f in self.forms]
        duplicate = _twice(forms)
        if duplicate is not None:
            raise ValueError(f"two forms are named {duplicate!r}")
        if sum(f.used == "screening" for f in self.forms) > 1:
            raise ValueError("at most one form is used at screening")
        for role, name in self.roles.items():
            if name not in forms:
                raise ValueError(
                    f"roles.{role} names {name!r}, which is not a form of the protocol "
                    f"({', '.join(forms)})"
                )
        return self

    def form(self, name: str) -> Form:
        """The form with this name; :class:`KeyError` when there is none."""
        for form in self.forms:
            if form.name == name:
                return form
        raise KeyError(name)

    def path_of(self, form: str, *variables: str) -> str | None:
        """Where form ``form`` keeps the first of ``variables`` it declares (``DD.DDORRES``):
        the item's path in a record, ``None`` if it declares none. Items in repeating groups
        are rows of their own, not the record's, and never count."""
        return self._paths[(form, variables, False)]

    def date_path_of(self, form: str, *variables: str) -> str | None:
        """:meth:`path_of`, else the form's first date item (the date of what it records)."""
        return self._paths[(form, variables, True)]

    @cached_property
    def _paths(self) -> Mapping[tuple[str, tuple[str, ...], bool], str | None]:
        return _PathCache(self)

    def label_of(self, name: str) -> str:
        """The label of form ``name`` (what people read), or the name in words if none has it."""
        for form in self.forms:
            if form.name == name:
                return form.label
        return name.replace("_", " ")

    def code_list(self, name: str) -> CodeList:
        """The code list of this name; :class:`KeyError` when there is none."""
        return self.code_map[name]

    @property
    def screening(self) -> Form | None:
        """The form recorded at screening, if the protocol defines one."""
        return next((f for f in self.forms if f.used == "screening"), None)

    @cached_property
    def code_map(self) -> Mapping[str, CodeList]:
        """The code lists by name (built once: the model is frozen)."""
        return MappingProxyType({c.name: c for c in self.code_lists})


def record_items(form: Form) -> Iterator[tuple[str, Item]]:
    """The form's items that are the record's own, with their paths: a repeating group
    (lesions, dose reductions) itself but none of its items, which are rows of their own."""
    repeating: tuple[str, ...] = ()
    for path, item in form.walk():
        if path.startswith(repeating):
            continue
        if item.repeating:
            repeating += (f"{path}.",)
        yield path, item


class _PathCache(dict[tuple[str, tuple[str, ...], bool], str | None]):
    """:meth:`Forms.path_of`'s and :meth:`Forms.date_path_of`'s answers, each found once (a
    form's items walked on a miss)."""

    def __init__(self, forms: Forms) -> None:
        super().__init__()
        self._forms = forms

    def __missing__(self, key: tuple[str, tuple[str, ...], bool]) -> str | None:
        name, variables, dated = key
        try:
            form = self._forms.form(name)
        except KeyError:
            self[key] = None
            return None
        single = list(record_items(form))
        first_date = next((p for p, i in single if i.type == "date"), None) if dated else None
        found = next((p for v in variables for p, i in single if i.sdtm == v), first_date)
        self[key] = found
        return found


SdtmValue = str | int | float | None


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path of a record (``labs.alt``); ``None`` where a part is missing,
    the record itself for the empty path."""
    for part in path.split(".") if path else ():
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def sdtm_value(forms: Forms, item: Item, value: Any) -> SdtmValue:
    """A value as SDTM has it: a code's submission value, Y/N for a boolean."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if item.codelist is not None:
        code = next((c for c in forms.code_list(item.codelist).codes if c.code == value), None)
        if code is not None and code.submission_value is not None:
            return code.submission_value
        return str(value)
    if isinstance(value, int | float):
        return value
    return None if value is None else str(value)


def declared(
    forms: Forms, form: Form, data: Mapping[str, Any], domain: str
) -> dict[str, SdtmValue]:
    """The record's items that declare a variable of ``domain`` (``sdtm: AE.AETERM``), by
    variable: the mapping comes from the form's definition, not from the item names. Items of
    a repeating group (lesions, dose reductions) are rows of their own, not the record's."""
    row: dict[str, SdtmValue] = {}
    for path, item in record_items(form):
        if item.sdtm is None or item.sdtm_test is not None or item.type == "group":
            continue
        name, _, variable = item.sdtm.partition(".")
        if name != domain or item.keyed or item.multiple:
            continue
        value = value_at(data, path)
        if value is not None:
            row[variable] = sdtm_value(forms, item, value)
    return row


def _twice(values: list[str] | list[str | int]) -> str | int | None:
    """The first value that occurs more than once, if any."""
    seen: set[str | int] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _no_duplicates(items: tuple[Item, ...], where: str) -> None:
    names = [i.name for i in items]
    duplicate = _twice(names)
    if duplicate is not None:
        raise ValueError(f"{where} has two items named {duplicate!r}")


def _ordered_dates(items: tuple[Item, ...], where: str) -> None:
    dates = {i.name for i in items if i.type == "date" and not i.multiple}
    for item in items:
        if item.not_before is not None and item.not_before not in dates:
            raise ValueError(
                f"{where}: {item.name}.not_before names {item.not_before!r}, which is not a "
                "date item beside it"
            )


def expressions(form: Form) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """Every CEL expression of a form: (location inside the form, expression, group path)."""
    for s, section in enumerate(form.sections):
        base = section.key or ""
        for i, item in enumerate(section.items):
            yield from _item_expressions(item, ("sections", s, "items", i), base, "")
    for c, check in enumerate(form.checks):
        yield ("checks", c, "expr"), check.expr, ""


def _item_expressions(
    item: Item, loc: tuple[str | int, ...], parent: str, group: str
) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    path = f"{parent}.{item.name}" if parent else item.name
    for key in ("show_when", "derived"):
        value = getattr(item, key)
        if value is not None:
            yield (*loc, key), value, group
    inner = path if item.repeating or item.keyed else group
    for j, child in enumerate(item.items):
        yield from _item_expressions(child, (*loc, "items", j), path, inner)


def referenced_paths(expression: str) -> Iterator[tuple[str, str]]:
    """Every ``r.path`` / ``g.path`` an expression names, as (variable, dotted path)."""
    for match in RECORD_REFERENCE.finditer(expression):
        path = match.group(2).removeprefix(".")
        if expression[match.end() : match.end() + 1] == "(":  # a method: r.kits.size()
            path = path.rpartition(".")[0]
        if path:
            yield match.group(1), path
