"""The case report forms of a trial, as its protocol defines them, and a record's validation.

A record is validated against its form's definition (:func:`trialkit.protocol.records.
validate_record`): a value of the wrong type, outside its hard range, or an end date before
its start is refused with the item's path; a missing required item is stored and opens a query.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.forms`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, RecordError
from trialkit.protocol import Protocol
from trialkit.protocol.forms import Form as FormDefinition
from trialkit.protocol.records import Validated, json_schema, validate_record
from trialkit.service.platform.boundary import plausible_date
from trialkit.service.platform.principal import Principal
from trialkit.service.screening.screening import get_protocol

__all__ = [
    "FormDefinition",
    "FormView",
    "case_report_form",
    "case_report_forms",
    "trial_forms",
    "validate_form",
]


class FormView(BaseModel):
    """A form of the trial's protocol: where it is used, its version and its record schema."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    version: str
    used: str
    repeats: bool
    key_prefix: str | None
    sdtm_domain: str | None
    record_schema: dict[str, Any]
    """JSON Schema (2020-12) of a record's ``data``, built from the form's definition."""


def trial_forms(*, session: Session, actor: Principal, trial_id: int) -> list[FormView]:
    """Every form of the trial's protocol (the screening form first, as the file orders them)."""
    protocol = get_protocol(session=session, actor=actor, trial_id=trial_id)
    forms = protocol.forms
    if forms is None:
        return []
    return [
        FormView(
            name=form.name,
            label=form.label,
            version=form.version,
            used=form.used,
            repeats=form.repeats,
            key_prefix=form.key_prefix,
            sdtm_domain=form.sdtm_domain,
            record_schema=json_schema(forms, form),
        )
        for form in forms.forms
    ]


def case_report_forms(protocol: Protocol) -> tuple[str, ...]:
    """The names of the protocol's case report forms (every form but the screening form), in
    the file's order: the forms a record, a query or a lock may name."""
    forms = protocol.forms
    return tuple(f.name for f in forms.forms if f.used != "screening") if forms else ()


def case_report_form(protocol: Protocol, form: str) -> FormDefinition:
    """The protocol's definition of a case report form; :class:`NotFoundError` at ``form``."""
    forms = protocol.forms
    names = case_report_forms(protocol)
    if forms is None or str(form) not in names:
        raise NotFoundError(
            f"protocol {protocol.id} has no case report form {str(form)!r}; its forms: "
            f"{', '.join(names) or 'none'}",
            location="form",
        )
    return forms.form(str(form))


def validate_form(
    protocol: Protocol, form: str, data: Any, *, born: dt.date | None = None
) -> Validated:
    """The record validated against its form's definition: the JSON data and soft findings.

    Every date must be plausible (:func:`~trialkit.service.platform.boundary.plausible_date`) and,
    when the patient's date of birth ``born`` is known, not before it.

    Raises
    ------
    RecordError
        With ``data.<item path>`` of the first problem as location.
    """
    definition = case_report_form(protocol, form)
    if not isinstance(data, dict):
        raise RecordError(f"a {definition.name} record must be a JSON object", location="data")
    assert protocol.forms is not None  # case_report_form found the form there
    validated = validate_record(protocol.forms, definition, data, source="data")
    _plausible_dates(validated.data, "data", born)
    return validated


def _plausible_dates(value: Any, where: str, born: dt.date | None) -> None:
    """Refuse an implausible date at entry (a new therapy on 0001-01-01, an adverse event
    before the patient was born), naming the field."""
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "date" or key.endswith("_date")) and isinstance(item, str):
                _clinical_date(dt.date.fromisoformat(item), f"{where}.{key}", born)
            else:
                _plausible_dates(item, f"{where}.{key}", born)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _plausible_dates(item, f"{where}[{index}]", born)


def _clinical_date(value: dt.date, location: str, born: dt.date | None) -> None:
    plausible_date(value, location=location)
    if born is not None and value < born:
        raise RecordError(
            f"{value.isoformat()} is before the patient's date of birth ({born.isoformat()}, "
            "from the screening record): check the date, or correct the date of birth in the "
            "screening record",
            location=location,
        )
