"""The clinical case report forms as page fields: labels, kinds, and the conversion both ways.

The schemas live in :mod:`trialkit.service.capture.forms`; here is only what a page needs to show
them (a label and an input per field) and to turn the posted strings back into the record
the service validates. A field left blank is left out of the record: the service stores
the record and opens a query on a missing required field instead of refusing it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from trialkit.protocol import load_protocol
from trialkit.service.capture.forms import Form
from trialkit.service.platform.pages.labels import N_

__all__ = [
    "CODE_LABELS",
    "NON_TARGET_ROWS",
    "SIMPLE_FORMS",
    "TARGET_ROWS",
    "Converted",
    "FieldSpec",
    "assessment_from_form",
    "assessment_to_form",
    "baseline_from_form",
    "baseline_to_form",
    "field_labels",
    "field_of_location",
    "form_label",
    "lesion_ids",
    "page_field",
    "schema_values",
    "simple_from_form",
    "simple_to_form",
]

Kind = Literal["date", "text", "int", "float", "yesno", "choice", "list"]
TARGET_ROWS = 5
"""RECIST 1.1: at most five target lesions (two per organ)."""
NON_TARGET_ROWS = 5


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Kind = "text"
    choices: tuple[tuple[str, str], ...] = ()
    hint: str | None = None


@dataclass(frozen=True)
class Converted:
    """The record to store, and the fields that could not be read (name -> words to translate)."""

    data: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


CODE_LABELS: dict[tuple[Form, str], dict[str, str]] = {
    (Form.ADVERSE_EVENT, "grade"): {
        "1": N_("1 - mild"),
        "2": N_("2 - moderate"),
        "3": N_("3 - severe"),
        "4": N_("4 - life-threatening"),
        "5": N_("5 - death related to the adverse event"),
    },
    (Form.ADVERSE_EVENT, "relationship"): {
        "not_related": N_("not related"),
        "unlikely": N_("unlikely"),
        "possible": N_("possible"),
        "probable": N_("probable"),
        "related": N_("related"),
    },
    (Form.ADVERSE_EVENT, "action_taken"): {
        "none": N_("none"),
        "dose_interrupted": N_("study drug interrupted"),
        "dose_reduced": N_("study drug dose reduced"),
        "drug_withdrawn": N_("study drug withdrawn"),
        "not_applicable": N_("not applicable"),
    },
    (Form.DEATH, "cause"): {
        "progression": N_("disease progression"),
        "adverse_event": N_("adverse event"),
        "other": N_("other"),
        "unknown": N_("unknown"),
    },
    (Form.END_OF_TREATMENT, "reason"): {
        "progression": N_("disease progression"),
        "adverse_event": N_("adverse event"),
        "death": N_("death"),
        "withdrawal_of_consent": N_("withdrawal of consent"),
        "investigator_decision": N_("investigator's decision"),
        "lost_to_follow_up": N_("lost to follow-up"),
        "other": N_("other"),
    },
    (Form.END_OF_STUDY, "reason"): {
        "completed": N_("completed"),
        "death": N_("death"),
        "withdrawal_of_consent": N_("withdrawal of consent"),
        "lost_to_follow_up": N_("lost to follow-up"),
        "other": N_("other"),
    },
}
"""The label of each value of a form's code list, keyed by the schema's own values: the values
themselves come from the schema (:func:`schema_values`), never from this table."""


def _bounds(metadata: Iterable[object]) -> tuple[int, int] | None:
    # pydantic's Field(ge=..., le=...) as annotated-types constraints (Ge, Le)
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    return (int(low), int(high)) if isinstance(low, int) and isinstance(high, int) else None


def schema_values(form: Form, name: str) -> tuple[str, ...]:
    """The values a form's item may take, as its definition declares them (a code list, or a
    whole number between bounds), in the definition's order; as posted by a page (strings).

    Read from SOR's definitions until the pages are rendered from the trial's own forms.
    """
    forms = load_protocol("sor").forms
    assert forms is not None
    item = forms.form(form.value).item(name)
    if item.codelist is not None:
        return tuple(str(code) for code in forms.code_list(item.codelist).code_values())
    bounds = item.range
    if item.type == "integer" and bounds is not None and None not in (bounds.min, bounds.max):
        assert bounds.min is not None
        assert bounds.max is not None
        return tuple(str(v) for v in range(int(bounds.min), int(bounds.max) + 1))
    raise TypeError(f"{form}.{name} is no code list in the form's definition")


def _choices(form: Form, name: str) -> tuple[tuple[str, str], ...]:
    """The field's options: the schema's values, each with its label."""
    labels = CODE_LABELS[form, name]
    return tuple((value, labels[value]) for value in schema_values(form, name))


SIMPLE_FORMS: dict[Form, tuple[FieldSpec, ...]] = {
    Form.ADVERSE_EVENT: (
        FieldSpec("term", N_("CTCAE term"), hint=N_("The CTCAE v5.0 term, e.g. Neutropenia.")),
        FieldSpec("grade", N_("CTCAE grade"), "choice", _choices(Form.ADVERSE_EVENT, "grade")),
        FieldSpec("start_date", N_("Start date"), "date"),
        FieldSpec("end_date", N_("End date"), "date", hint=N_("Leave blank while it is ongoing.")),
        FieldSpec("ongoing", N_("Ongoing"), "yesno"),
        FieldSpec("serious", N_("Serious adverse event"), "yesno"),
        FieldSpec(
            "relationship",
            N_("Relation to the study drug"),
            "choice",
            _choices(Form.ADVERSE_EVENT, "relationship"),
        ),
        FieldSpec(
            "action_taken",
            N_("Action taken with the study drug"),
            "choice",
            _choices(Form.ADVERSE_EVENT, "action_taken"),
        ),
    ),
    Form.DEATH: (
        FieldSpec("date", N_("Date of death"), "date"),
        FieldSpec("cause", N_("Cause of death"), "choice", _choices(Form.DEATH, "cause")),
        FieldSpec("cause_text", N_("Cause, in words")),
    ),
    Form.END_OF_TREATMENT: (
        FieldSpec("date", N_("Date of the end of treatment"), "date"),
        FieldSpec("reason", N_("Reason"), "choice", _choices(Form.END_OF_TREATMENT, "reason")),
        FieldSpec("reason_text", N_("Reason, in words")),
    ),
    Form.NEW_THERAPY: (
        FieldSpec("start_date", N_("Start date"), "date"),
        FieldSpec("therapy", N_("New anticancer therapy"), hint=N_("e.g. capecitabine")),
    ),
    Form.STUDY_DRUG: (
        FieldSpec("start_date", N_("Start date"), "date"),
        FieldSpec("end_date", N_("End date"), "date"),
        FieldSpec(
            "kits_dispensed", N_("Kits dispensed"), "list", hint=N_("Kit numbers, comma-separated.")
        ),
        FieldSpec(
            "kits_returned", N_("Kits returned"), "list", hint=N_("Kit numbers, comma-separated.")
        ),
        FieldSpec("tablets_dispensed", N_("Tablets dispensed"), "int"),
        FieldSpec("tablets_returned", N_("Tablets returned"), "int"),
        FieldSpec("tablets_taken", N_("Tablets taken"), "int"),
    ),
    Form.DOCETAXEL_CYCLE: (
        FieldSpec("cycle", N_("Cycle"), "int", hint=N_("1 to 6")),
        FieldSpec("date", N_("Date given"), "date"),
        FieldSpec("dose_mg_m2", N_("Dose (mg/m2)"), "float", hint=N_("75 mg/m2 by protocol")),
        FieldSpec("dose_mg", N_("Dose given (mg)"), "float"),
        FieldSpec("delayed", N_("Cycle delayed"), "yesno"),
        FieldSpec("reduced", N_("Dose reduced"), "yesno"),
    ),
    Form.LETROZOLE: (
        FieldSpec("start_date", N_("Start date"), "date"),
        FieldSpec("dose_mg", N_("Daily dose (mg)"), "float", hint=N_("2.5 mg by protocol")),
    ),
    Form.END_OF_STUDY: (
        FieldSpec("date", N_("Date of the end of study"), "date"),
        FieldSpec("reason", N_("Reason"), "choice", _choices(Form.END_OF_STUDY, "reason")),
        FieldSpec("reason_text", N_("Reason, in words")),
    ),
    Form.LAST_KNOWN_ALIVE: (FieldSpec("date", N_("Date last known alive"), "date"),),
}

_FORM_LABELS = {
    Form.TUMOUR_BASELINE: N_("Baseline tumours"),
    Form.TUMOUR_ASSESSMENT: N_("Tumour assessment"),
    Form.STUDY_DRUG: N_("Study drug"),
    Form.DOCETAXEL_CYCLE: N_("Docetaxel cycle"),
    Form.LETROZOLE: N_("Letrozole"),
    Form.ADVERSE_EVENT: N_("Adverse event"),
    Form.DEATH: N_("Death"),
    Form.END_OF_TREATMENT: N_("End of treatment"),
    Form.END_OF_STUDY: N_("End of study"),
    Form.NEW_THERAPY: N_("New anticancer therapy"),
    Form.LAST_KNOWN_ALIVE: N_("Last known alive"),
}
assert set(_FORM_LABELS) == set(Form)


def form_label(form: Form) -> str:
    """The form's name, to translate."""
    return _FORM_LABELS[form]


_DATE_WORDS = N_("enter a date as YYYY-MM-DD")


def _read(kind: Kind, raw: str) -> tuple[Any, str | None]:
    """The value of one posted field, or the problem in words (to translate)."""
    if kind == "date":
        try:
            return dt.date.fromisoformat(raw).isoformat(), None
        except ValueError:
            return None, _DATE_WORDS
    if kind == "int":
        try:
            return int(raw), None
        except ValueError:
            return None, N_("enter a whole number")
    if kind == "float":
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            return None, N_("enter a number")
        if value != value or value in (float("inf"), float("-inf")):
            return None, N_("enter a number")
        return value, None
    if kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()], None
    if kind == "yesno":
        if raw not in ("yes", "no"):
            return None, N_("choose one of the listed options")
        return raw == "yes", None
    return raw, None


def simple_from_form(fields: tuple[FieldSpec, ...], form: dict[str, str]) -> Converted:
    data: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in fields:
        raw = form.get(spec.name, "").strip()
        if not raw:
            continue
        value, problem = _read(spec.kind, raw)
        if problem:
            problems[spec.name] = problem
        else:
            data[spec.name] = value
    return Converted(data, problems)


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value if not isinstance(v, dict))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def simple_to_form(data: dict[str, Any]) -> dict[str, str]:
    return {key: _show(value) for key, value in data.items() if not isinstance(value, dict)}


_LESION_PARTS = ("id", "organ", "lymph_node", "diameter_mm", "method")
METHODS = ("CT", "MRI", "caliper", "x-ray", "ultrasound", "PET", "bone scan", "other")


def baseline_from_form(form: dict[str, str]) -> Converted:
    """A baseline record from rows ``target.<i>.<part>`` and ``non_target.<i>.<part>``."""
    problems: dict[str, str] = {}
    data: dict[str, Any] = {}
    raw_date = form.get("date", "").strip()
    if raw_date:
        value, problem = _read("date", raw_date)
        if problem:
            problems["date"] = problem
        else:
            data["date"] = value
    for group, rows in (("target", TARGET_ROWS), ("non_target", NON_TARGET_ROWS)):
        lesions: list[dict[str, Any]] = []
        for i in range(rows):
            base = f"{group}.{i}"
            raw = {p: form.get(f"{base}.{p}", "").strip() for p in _LESION_PARTS}
            if not (raw["organ"] or raw["diameter_mm"]):
                continue  # an empty row (its identifier is filled in for the user)
            lesion: dict[str, Any] = {}
            if not raw["id"]:
                problems[f"{base}.id"] = N_("give the lesion an identifier, e.g. T1")
            else:
                lesion["id"] = raw["id"]
            if not raw["organ"]:
                problems[f"{base}.organ"] = N_("name the organ or site of the lesion")
            else:
                lesion["organ"] = raw["organ"]
            lesion["lymph_node"] = raw["lymph_node"] == "yes"
            if raw["method"]:
                lesion["method"] = raw["method"]
            if raw["diameter_mm"]:
                value, problem = _read("float", raw["diameter_mm"])
                if problem:
                    problems[f"{base}.diameter_mm"] = problem
                else:
                    lesion["diameter_mm"] = value
            elif group == "target":
                problems[f"{base}.diameter_mm"] = N_(
                    "a target lesion needs its diameter in mm (short axis for a lymph node)"
                )
            lesions.append(lesion)
        data[group] = lesions
    return Converted(data, problems)


def baseline_to_form(data: dict[str, Any]) -> dict[str, str]:
    values = {"date": _show(data.get("date"))}
    for group in ("target", "non_target"):
        for i, lesion in enumerate(data.get(group) or []):
            for part in _LESION_PARTS:
                values[f"{group}.{i}.{part}"] = _show(lesion.get(part))
    return values


def blank_baseline() -> dict[str, str]:
    """A new baseline form: lesion identifiers filled in, everything else blank."""
    values = {f"target.{i}.id": f"T{i + 1}" for i in range(TARGET_ROWS)}
    values.update({f"non_target.{i}.id": f"NT{i + 1}" for i in range(NON_TARGET_ROWS)})
    return values


TOO_SMALL_WORDS = ("too small", "too_small", "ts")


def assessment_from_form(
    form: dict[str, str], targets: list[str], non_targets: list[str]
) -> Converted:
    """An assessment of the baseline's lesions: ``target.<i>`` (mm) and ``non_target.<i>``."""
    problems: dict[str, str] = {}
    data: dict[str, Any] = {"target": {}, "non_target": {}}
    raw_date = form.get("date", "").strip()
    if raw_date:
        value, problem = _read("date", raw_date)
        if problem:
            problems["date"] = problem
        else:
            data["date"] = value
    for i, lesion in enumerate(targets):
        raw = form.get(f"target.{i}", "").strip()
        if not raw:
            data["target"][lesion] = None
        elif raw.lower() in TOO_SMALL_WORDS:
            data["target"][lesion] = "too_small"
        else:
            value, problem = _read("float", raw)
            if problem or value < 0:
                problems[f"target.{i}"] = N_(
                    "enter the diameter in mm (0 if it disappeared), or 'too small'"
                )
            else:
                data["target"][lesion] = value
    for i, lesion in enumerate(non_targets):
        raw = form.get(f"non_target.{i}", "").strip()
        data["non_target"][lesion] = raw or None
    new = form.get("new_lesions", "").strip()
    if new in ("yes", "no"):
        data["new_lesions"] = new == "yes"
    elif new == "equivocal":
        data["new_lesions"] = False
        data["new_lesions_equivocal"] = True
    elif new:
        problems["new_lesions"] = N_("choose one of the listed options")
    return Converted(data, problems)


def assessment_to_form(
    data: dict[str, Any], targets: list[str], non_targets: list[str]
) -> dict[str, str]:
    values = {"date": _show(data.get("date"))}
    measured = data.get("target") or {}
    statuses = data.get("non_target") or {}
    for i, lesion in enumerate(targets):
        value = measured.get(lesion)
        values[f"target.{i}"] = "too small" if value == "too_small" else _show(value)
    for i, lesion in enumerate(non_targets):
        values[f"non_target.{i}"] = _show(statuses.get(lesion))
    if data.get("new_lesions_equivocal") and not data.get("new_lesions"):
        values["new_lesions"] = "equivocal"
    elif "new_lesions" in data:
        values["new_lesions"] = _show(data["new_lesions"])
    return values


def field_labels(
    form: Form, targets: list[str], non_targets: list[str]
) -> dict[str, tuple[str, dict[str, str]]]:
    """Each field's label (a message to translate, and its values) for the error summary."""
    labels: dict[str, tuple[str, dict[str, str]]] = {
        "date": (N_("Date"), {}),
        "reason": (N_("Reason for the correction"), {}),
        "form": (N_("The form"), {}),
        "new_lesions": (N_("New lesions"), {}),
    }
    for spec in SIMPLE_FORMS.get(form, ()):
        labels[spec.name] = (spec.label, {})
    parts = {
        "id": N_("identifier"),
        "organ": N_("organ"),
        "lymph_node": N_("lymph node"),
        "diameter_mm": N_("diameter"),
        "method": N_("method"),
    }
    for group, rows, words in (
        ("target", TARGET_ROWS, N_("Target lesion %(n)s: %(part)s")),
        ("non_target", NON_TARGET_ROWS, N_("Non-target lesion %(n)s: %(part)s")),
    ):
        for i in range(rows):
            for part, name in parts.items():
                labels[f"{group}.{i}.{part}"] = (words, {"n": str(i + 1), "part": name})
    for i, lesion in enumerate(targets):
        labels[f"target.{i}"] = (N_("Target lesion %(id)s (mm)"), {"id": lesion})
    for i, lesion in enumerate(non_targets):
        labels[f"non_target.{i}"] = (N_("Non-target lesion %(id)s"), {"id": lesion})
    return labels


_INDEX = re.compile(r"\[(\d+)\]")


def field_of_location(location: str, keys: dict[str, str] | None = None) -> str:
    """The page field of a service error location (``data.target[0].organ`` -> ``target.0.organ``).

    ``keys`` maps a lesion identifier to its row (``target.T1`` -> ``target.0``) for assessments.
    """
    path = location.removeprefix("data.").removeprefix("data")
    path = _INDEX.sub(lambda m: f".{m.group(1)}", path).strip(".")
    if keys:
        for name, row in keys.items():
            if path == name or path.startswith(name + "."):
                return row
    return path or "form"


def lesion_ids(baseline: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """The target and non-target lesion identifiers of a baseline record's data."""
    if not baseline:
        return [], []
    return (
        [str(t.get("id")) for t in baseline.get("target") or []],
        [str(n.get("id")) for n in baseline.get("non_target") or []],
    )


def page_field(form: Form, item: str, targets: list[str], non_targets: list[str]) -> str | None:
    """The field of the form's page that a query's item is on, or ``None`` if not on the page.

    ``end_date`` -> ``end_date``; a baseline's ``target[0].organ`` -> ``target.0.organ``; an
    assessment's ``target.T2`` -> ``target.1``; a study drug's ``interruptions[0].end_date``
    (entered through the API) -> ``None``.
    """
    rows = {f"target.{t}": f"target.{i}" for i, t in enumerate(targets)}
    rows.update({f"non_target.{n}": f"non_target.{i}" for i, n in enumerate(non_targets)})
    name = field_of_location(item, rows if form == Form.TUMOUR_ASSESSMENT else None)
    if form == Form.TUMOUR_BASELINE:
        shown = {"date"} | {
            f"{group}.{i}.{part}"
            for group, count in (("target", TARGET_ROWS), ("non_target", NON_TARGET_ROWS))
            for i in range(count)
            for part in _LESION_PARTS
        }
    elif form == Form.TUMOUR_ASSESSMENT:
        shown = {"date", "new_lesions", *rows.values()}
    else:
        shown = {spec.name for spec in SIMPLE_FORMS.get(form, ())}
    return name if name in shown else None
