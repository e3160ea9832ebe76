"""CDISC ODM 1.3.2 study metadata generated from a protocol's form definitions, and its OIDs.

One study event per place a form is used, a FormDef per form, an ItemGroupDef per group of the
record (the form's top level, each group, lab value, repeating group, list and keyed item), an
ItemDef per item (question, unit, hard and soft ranges, edit checks, code list, SDTM and CDASH
names), code lists with their submission values, show_when as ConditionDef and derived values
as MethodDef (CEL). :func:`record_groups` puts a record's data into the same OIDs for the
clinical-data export. Details: docs/capture.md, "Exports".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trialkit.protocol import Protocol
from trialkit.protocol.forms import Form, Forms, Item, Range, value_at

__all__ = [
    "EVENTS",
    "ODM_NS",
    "GroupDef",
    "event_oid",
    "form_groups",
    "form_oid",
    "metadata_version",
    "oid",
    "record_groups",
    "study",
]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"

EVENTS: dict[str, tuple[str, str]] = {
    "screening": ("Screening", "Scheduled"),
    "baseline": ("Baseline", "Scheduled"),
    "per_visit": ("Per visit", "Scheduled"),
    "per_cycle": ("Per cycle", "Scheduled"),
    "once": ("Once", "Common"),
    "event": ("As they happen", "Unscheduled"),
}
"""Study event per form use: (name, ODM Type)."""

_DATA_TYPES = {
    "text": "text",
    "integer": "integer",
    "decimal": "float",
    "measurement": "float",
    "date": "date",
    "partial_date": "partialDate",
    "boolean": "boolean",
}


def oid(text: str) -> str:
    """``adverse_event`` -> ``ADVERSE_EVENT``: the characters ODM allows, upper case."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", text).upper()


def form_oid(form: str) -> str:
    return f"F.{oid(form)}"


def event_oid(use: str) -> str:
    return f"SE.{oid(use)}"


@dataclass(frozen=True)
class GroupDef:
    """An item group of a form: its OID, record path (``""``: the top level), items, kind.

    ``kind``: ``"top"`` / ``"group"`` (one per record), ``"repeating"`` (a list of groups),
    ``"list"`` (a list of values), ``"keyed"`` (id -> value) or ``"lab"`` (value, unit, limits).
    """

    oid: str
    path: str
    label: str
    kind: str
    items: tuple[tuple[str, Item], ...]  # (record path below the group, item)

    @property
    def repeating(self) -> bool:
        return self.kind in {"repeating", "list", "keyed"}


def _item_oid(form: Form, path: str) -> str:
    return f"IT.{oid(form.name)}.{oid(path)}"


def form_groups(form: Form) -> tuple[GroupDef, ...]:
    """The form's item groups, in the order of the form (the top level first)."""
    groups: list[GroupDef] = []
    top: list[tuple[str, Item]] = []

    def visit(items: tuple[Item, ...], prefix: str, into: list[tuple[str, Item]]) -> None:
        for item in items:
            path = f"{prefix}{item.name}"
            group_oid = f"IG.{oid(form.name)}.{oid(path)}"
            if item.type == "group":
                inner: list[tuple[str, Item]] = []
                kind = "repeating" if item.repeating else "group"
                position = len(groups)  # a repeating group before the groups inside it
                visit(item.items, "" if item.repeating else f"{path}.", inner)
                if item.repeating:
                    groups.insert(
                        position, GroupDef(group_oid, path, item.label, kind, tuple(inner))
                    )
                else:
                    into.extend(inner)
            elif item.type == "lab":
                parts = ("value", "unit", *item.limits, "date")
                groups.append(
                    GroupDef(group_oid, path, item.label, "lab", tuple((p, item) for p in parts))
                )
            elif item.multiple or item.keyed:
                kind = "keyed" if item.keyed else "list"
                groups.append(GroupDef(group_oid, path, item.label, kind, (("", item),)))
            else:
                into.append((path, item))

    visit(form.items, "", top)
    return (GroupDef(f"IG.{oid(form.name)}", "", form.label, "top", tuple(top)), *groups)


def _item_def_oid(form: Form, group: GroupDef, sub: str) -> str:
    if group.kind == "lab":
        return _item_oid(form, f"{group.path}.{sub}")
    if group.kind == "repeating":
        return _item_oid(form, f"{group.path}.{sub}")
    if group.kind in {"list", "keyed"}:
        return _item_oid(form, group.path)
    return _item_oid(form, sub)


def record_groups(
    form: Form, data: dict[str, Any]
) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(item group OID, repeat key, {item OID: value}) of one record, by the form's groups."""
    for group in form_groups(form):
        value = value_at(data, group.path)
        if group.kind == "top":
            yield group.oid, None, _values(form, group, data)
        elif group.kind == "lab" and isinstance(value, dict):
            yield group.oid, None, _values(form, group, value)
        elif group.kind == "repeating" and isinstance(value, list):
            for k, element in enumerate(value, 1):
                if isinstance(element, dict):
                    yield group.oid, str(k), _values(form, group, element)
        elif group.kind == "list" and isinstance(value, list):
            for k, element in enumerate(value, 1):
                yield group.oid, str(k), {_item_def_oid(form, group, ""): element}
        elif group.kind == "keyed" and isinstance(value, dict):
            for key, element in value.items():
                yield group.oid, str(key), {_item_def_oid(form, group, ""): element}


def _values(form: Form, group: GroupDef, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub, _ in group.items:
        value = data.get(sub) if group.kind == "lab" else value_at(data, sub)
        if value is not None and not isinstance(value, dict | list):
            out[_item_def_oid(form, group, sub)] = value
    return out


def _text(parent: ET.Element, q: Any, tag: str, words: str) -> None:
    ET.SubElement(
        ET.SubElement(parent, q(tag)), q("TranslatedText"), {"xml:lang": "en"}
    ).text = words


def _unit_oid(unit: str) -> str:
    return "MU." + oid(unit.replace("/", "_PER_").replace("%", "PCT").replace("²", "2"))


def _range_checks(item: ET.Element, q: Any, bounds: Range, soft_hard: str) -> None:
    for value, exclusive, (inclusive_op, exclusive_op) in (
        (bounds.min, bounds.min_exclusive, ("GE", "GT")),
        (bounds.max, bounds.max_exclusive, ("LE", "LT")),
    ):
        if value is None:
            continue
        check = ET.SubElement(
            item,
            q("RangeCheck"),
            {"Comparator": exclusive_op if exclusive else inclusive_op, "SoftHard": soft_hard},
        )
        ET.SubElement(check, q("CheckValue")).text = f"{value:g}"
        _text(
            check,
            q,
            "ErrorMessage",
            f"{'must be' if soft_hard == 'Hard' else 'expected'} {bounds.describe()}",
        )


def _data_type(forms: Forms, item: Item, part: str | None) -> str:
    if part is not None:  # a part of a lab value
        return {"value": "float", "uln": "float", "lln": "float", "date": "date"}.get(part, "text")
    if item.type == "choice" and item.codelist is not None:
        codes = forms.code_list(item.codelist).code_values()
        return "integer" if all(isinstance(c, int) for c in codes) else "text"
    if item.special_codes is not None:
        return "text"  # a number, or one of the special codes (too small to measure)
    return _DATA_TYPES.get(item.type, "text")


def study(protocol: Protocol, q: Any) -> ET.Element:
    """The ODM ``Study``: global variables, measurement units and the forms' metadata."""
    element = ET.Element(q("Study"), {"OID": f"ST.{oid(protocol.acronym)}"})
    variables = ET.SubElement(element, q("GlobalVariables"))
    ET.SubElement(variables, q("StudyName")).text = protocol.acronym
    ET.SubElement(variables, q("StudyDescription")).text = protocol.title
    ET.SubElement(variables, q("ProtocolName")).text = protocol.version
    mdv, units = metadata_version(protocol, q)
    if units:
        basic = ET.SubElement(element, q("BasicDefinitions"))
        for unit in sorted(units):
            mu = ET.SubElement(basic, q("MeasurementUnit"), {"OID": _unit_oid(unit), "Name": unit})
            _text(mu, q, "Symbol", unit)
    element.append(mdv)
    return element


def metadata_version(protocol: Protocol, q: Any) -> tuple[ET.Element, set[str]]:
    """The MetaDataVersion of the protocol's forms, and the measurement units it names."""
    forms = protocol.forms
    if forms is None:
        raise ValueError(f"protocol {protocol.acronym} defines no forms")
    mdv_oid = f"MDV.{oid(protocol.version)}"
    mdv = ET.Element(
        q("MetaDataVersion"),
        {
            "OID": mdv_oid,
            "Name": f"{protocol.acronym} version {protocol.version}",
            "Description": protocol.title,
        },
    )
    uses = [use for use in EVENTS if any(f.used == use for f in forms.forms)]
    proto = ET.SubElement(mdv, q("Protocol"))
    for n, use in enumerate(uses, 1):
        ET.SubElement(
            proto,
            q("StudyEventRef"),
            {"StudyEventOID": event_oid(use), "OrderNumber": str(n), "Mandatory": "No"},
        )
    for use in uses:
        name, kind = EVENTS[use]
        event = ET.SubElement(
            mdv,
            q("StudyEventDef"),
            {"OID": event_oid(use), "Name": name, "Repeating": "No", "Type": kind},
        )
        for n, form in enumerate((f for f in forms.forms if f.used == use), 1):
            ET.SubElement(
                event,
                q("FormRef"),
                {"FormOID": form_oid(form.name), "OrderNumber": str(n), "Mandatory": "No"},
            )
    all_groups = {form.name: form_groups(form) for form in forms.forms}
    for form in forms.forms:
        element = ET.SubElement(
            mdv,
            q("FormDef"),
            {
                "OID": form_oid(form.name),
                "Name": form.label,
                "Repeating": "Yes" if form.repeats else "No",
            },
        )
        _text(element, q, "Description", f"{form.label} (version {form.version})")
        for n, group in enumerate(all_groups[form.name], 1):
            ET.SubElement(
                element,
                q("ItemGroupRef"),
                {"ItemGroupOID": group.oid, "OrderNumber": str(n), "Mandatory": "No"},
            )
        ET.SubElement(element, q("Alias"), {"Context": "trialkit:version", "Name": form.version})
    conditions: dict[str, str] = {}
    methods: dict[str, str] = {}
    item_defs: list[tuple[Form, GroupDef, str, Item]] = []
    for form in forms.forms:
        for group in all_groups[form.name]:
            attrs = {
                "OID": group.oid,
                "Name": group.path or form.name,
                "Repeating": "Yes" if group.repeating else "No",
            }
            if form.sdtm_domain:
                attrs["Domain"] = form.sdtm_domain
            element = ET.SubElement(mdv, q("ItemGroupDef"), attrs)
            _text(element, q, "Description", group.label)
            for n, (sub, item) in enumerate(group.items, 1):
                item_oid = _item_def_oid(form, group, sub)
                ref = {
                    "ItemOID": item_oid,
                    "OrderNumber": str(n),
                    "Mandatory": "Yes" if (item.required or item.mandatory) else "No",
                }
                if group.kind != "lab" and item.derived:
                    methods[f"MT.{item_oid[3:]}"] = item.derived
                    ref["MethodOID"] = f"MT.{item_oid[3:]}"
                if group.kind != "lab" and item.show_when:
                    conditions[f"CD.{item_oid[3:]}"] = f"!({item.show_when})"
                    ref["CollectionExceptionConditionOID"] = f"CD.{item_oid[3:]}"
                ET.SubElement(element, q("ItemRef"), ref)
                item_defs.append((form, group, sub, item))
    units: set[str] = set()
    for form, group, sub, item in item_defs:
        units |= _item_def(mdv, q, forms, form, group, sub, item)
    for code_list in forms.code_lists:
        integer = all(isinstance(c.code, int) for c in code_list.codes)
        element = ET.SubElement(
            mdv,
            q("CodeList"),
            {
                "OID": f"CL.{oid(code_list.name)}",
                "Name": code_list.label,
                "DataType": "integer" if integer else "text",
            },
        )
        for code in code_list.codes:
            entry = ET.SubElement(element, q("CodeListItem"), {"CodedValue": str(code.code)})
            _text(entry, q, "Decode", code.label)
            if code.submission_value is not None:
                ET.SubElement(
                    entry,
                    q("Alias"),
                    {"Context": "CDISC submission value", "Name": code.submission_value},
                )
        if code_list.cdisc_codelist:
            ET.SubElement(
                element, q("Alias"), {"Context": "nci:ExtCodeID", "Name": code_list.cdisc_codelist}
            )
    for condition_oid, expression in conditions.items():
        element = ET.SubElement(
            mdv, q("ConditionDef"), {"OID": condition_oid, "Name": condition_oid[3:].lower()}
        )
        _text(element, q, "Description", "Not collected unless its show_when holds")
        ET.SubElement(element, q("FormalExpression"), {"Context": "CEL"}).text = expression
    for method_oid, expression in methods.items():
        element = ET.SubElement(
            mdv,
            q("MethodDef"),
            {"OID": method_oid, "Name": method_oid[3:].lower(), "Type": "Computation"},
        )
        _text(element, q, "Description", "Derived from the record")
        ET.SubElement(element, q("FormalExpression"), {"Context": "CEL"}).text = expression
    return mdv, units


def _item_def(
    mdv: ET.Element, q: Any, forms: Forms, form: Form, group: GroupDef, sub: str, item: Item
) -> set[str]:
    part = sub if group.kind == "lab" else None
    item_oid = _item_def_oid(form, group, sub)
    attrs = {
        "OID": item_oid,
        "Name": item_oid[3:].lower(),
        "DataType": _data_type(forms, item, part),
    }
    if item.type == "text" and item.max_length:
        attrs["Length"] = str(item.max_length)
    if part is None and item.sdtm:
        attrs["SDSVarName"] = item.sdtm.split(".")[1]
    element = ET.SubElement(mdv, q("ItemDef"), attrs)
    if part is None and item.help:
        _text(element, q, "Description", item.help)
    _text(element, q, "Question", item.label if part is None else f"{item.label}: {part}")
    units: set[str] = set()
    unit = item.unit if part in (None, "value", "uln", "lln") else None
    if unit:
        ET.SubElement(element, q("MeasurementUnitRef"), {"MeasurementUnitOID": _unit_oid(unit)})
        units.add(unit)
    if part in (None, "value"):
        if item.range is not None:
            _range_checks(element, q, item.range, "Hard")
        if item.soft_range is not None:
            _range_checks(element, q, item.soft_range, "Soft")
        if part is None and item.not_before is not None:
            rule = ET.SubElement(element, q("RangeCheck"), {"SoftHard": "Hard"})
            expression = f"!has(r.{item.name}) || !has(r.{item.not_before}) || "
            expression += f"days_between(r.{item.not_before}, r.{item.name}) >= 0"
            if group.path:
                expression = expression.replace("r.", "g.")
            ET.SubElement(rule, q("FormalExpression"), {"Context": "CEL"}).text = expression
            _text(rule, q, "ErrorMessage", f"{item.name} cannot be before {item.not_before}")
        for check in form.checks:
            if f"{group.path}.{sub}".strip(".") == check.item and part is None:
                rule = ET.SubElement(
                    element,
                    q("RangeCheck"),
                    {"SoftHard": "Hard" if check.severity == "refuse" else "Soft"},
                )
                ET.SubElement(rule, q("FormalExpression"), {"Context": "CEL"}).text = check.expr
                _text(rule, q, "ErrorMessage", check.message)
    if part is None and item.type == "choice" and item.codelist is not None:
        ET.SubElement(element, q("CodeListRef"), {"CodeListOID": f"CL.{oid(item.codelist)}"})
    if part is None:
        for context, name in (
            ("SDTM", item.sdtm),
            ("SDTM --TESTCD", item.sdtm_test),
            ("CDASH", item.cdash),
            ("trialkit:special_codes", item.special_codes),
        ):
            if name:
                ET.SubElement(element, q("Alias"), {"Context": context, "Name": name})
    return units
