"""Edit checks over one patient's clinical records; each failure opens a query on the field.

They run when a record is saved and on demand. "Today" (for dates in the future) is the
trial's calendar date, ``Clock.today()`` (pinned in demos and tests), passed in by the
caller; a caller without one gets the record clock's date. Nothing is refused for failing a
check: the record is kept as entered and the query asks the site to correct it or explain.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.edit_checks`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from trialkit.errors import RecordError
from trialkit.protocol.forms import Form as FormDefinition
from trialkit.protocol.forms import Forms
from trialkit.protocol.records import (
    date_order_problems,
    has_soft_checks,
    required_missing,
    validate_record,
)
from trialkit.service.capture.clinical import (
    evaluate_patient,
    latest_records,
    lesion_record,
    require_randomised,
)
from trialkit.service.capture.forms import Form
from trialkit.service.capture.queries import QueryView, open_query
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "CheckFinding",
    "EditCheckReport",
    "all_dates",
    "check_records",
    "run_checks",
    "run_edit_checks",
]

_ASSESSMENT_PATH = re.compile(r"^assessments\[(\d+)\]\.?(.*)$")


@dataclass(frozen=True)
class CheckFinding:
    """A failed check on one field of one record."""

    form: str
    record_key: str
    field: str
    code: str
    message: str


class FindingView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    form: str
    record_key: str
    field: str
    code: str
    message: str


class EditCheckReport(BaseModel):
    """Every check failing now, and the queries this run opened (the others were open already)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    findings: list[FindingView]
    queries_opened: list[QueryView]


def all_dates(value: Any, path: str = "") -> Iterator[tuple[str, dt.date]]:
    """Every date in a record: keys named ``date`` or ``..._date``, nested ones included."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if (key == "date" or key.endswith("_date")) and isinstance(item, str):
                yield where, dt.date.fromisoformat(item)
            else:
                yield from all_dates(item, where)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from all_dates(item, f"{path}[{k}]")


def _missing(row: CaptureRecord, form: FormDefinition) -> Iterator[CheckFinding]:
    for name in required_missing(form, row.data):
        yield CheckFinding(
            row.form,
            row.record_key,
            name,
            "missing_required",
            f"{form.label} {row.record_key}: {name} is required; enter it or explain why "
            "it is unknown",
        )


def _definition_findings(
    row: CaptureRecord, forms: Forms, form: FormDefinition
) -> Iterator[CheckFinding]:
    """The form's own soft rules: dates out of order (refused on save, but a record stored
    before that still has one), soft ranges and query edit checks."""
    for problem in date_order_problems(form, row.data):
        yield CheckFinding(row.form, row.record_key, problem.path, problem.code, problem.message)
    if not has_soft_checks(form):
        return
    try:
        validated = validate_record(forms, form, row.data)
    except RecordError:  # stored before its definition refused it: the date checks say why
        return
    for finding in validated.findings:
        yield CheckFinding(row.form, row.record_key, finding.path, finding.code, finding.message)


def _date_checks(
    row: CaptureRecord, randomised_on: dt.date, today: dt.date
) -> Iterator[CheckFinding]:
    found = dict(all_dates(row.data))
    for field, when in found.items():
        if when > today:
            yield CheckFinding(
                row.form,
                row.record_key,
                field,
                "date_in_future",
                f"{field} {when} is in the future (today is {today})",
            )
        elif when < randomised_on and row.form != Form.TUMOUR_BASELINE:
            yield CheckFinding(
                row.form,
                row.record_key,
                field,
                "before_randomisation",
                f"{field} {when} is before randomisation ({randomised_on}); data on this form "
                "are recorded from randomisation on",
            )


def _death_checks(records: Sequence[CaptureRecord]) -> Iterator[CheckFinding]:
    death = next((r for r in records if r.form == Form.DEATH and r.data.get("date")), None)
    if death is None:
        return
    died = dt.date.fromisoformat(str(death.data["date"]))
    later = [
        (when, r, field)
        for r in records
        if r.form not in (Form.DEATH, Form.END_OF_STUDY)
        for field, when in all_dates(r.data)
        if when > died
    ]
    if later:
        when, row, field = max(later, key=lambda x: x[0])
        yield CheckFinding(
            death.form,
            death.record_key,
            "date",
            "death_before_later_record",
            f"date of death {died} is before {row.form} {row.record_key} {field} {when}; "
            "correct the date of death or that record",
        )


def _tumour_checks(records: Sequence[CaptureRecord]) -> Iterator[CheckFinding]:
    baseline = next((r for r in records if r.form == Form.TUMOUR_BASELINE), None)
    on: dict[str, str] = {}
    for row in sorted(
        (r for r in records if r.form == Form.TUMOUR_ASSESSMENT and r.data.get("date")),
        key=lambda r: r.record_key,
    ):
        when = str(row.data["date"])
        if when in on:
            yield CheckFinding(
                row.form,
                row.record_key,
                "date",
                "duplicate_assessment_date",
                f"{row.record_key} and {on[when]} are both on {when}; correct the date or "
                "record one assessment",
            )
        on.setdefault(when, row.record_key)
        if baseline is not None and baseline.data.get("date") and when <= baseline.data["date"]:
            yield CheckFinding(
                row.form,
                row.record_key,
                "date",
                "assessment_not_after_baseline",
                f"tumour assessment on {when} is not after the baseline ({baseline.data['date']})",
            )


def check_records(
    records: Sequence[CaptureRecord],
    *,
    forms: Forms | None,
    randomised_on: dt.date,
    today: dt.date,
    recist: Sequence[CheckFinding] = (),
) -> list[CheckFinding]:
    """Every failing check over the latest records, with the RECIST engine's findings.

    ``forms``: the protocol's form definitions (required items, date order, soft ranges and
    edit checks of each record's form).
    """
    out: list[CheckFinding] = []
    defined = {f.name: f for f in forms.forms} if forms is not None else {}
    for row in records:
        form = defined.get(row.form)
        if forms is not None and form is not None:
            out.extend(_missing(row, form))
        out.extend(_date_checks(row, randomised_on, today))
        if forms is not None and form is not None:
            out.extend(_definition_findings(row, forms, form))
    out.extend(_death_checks(records))
    out.extend(_tumour_checks(records))
    out.extend(recist)
    return out


def _recist_findings(
    session: Session, patient: Patient, records: list[CaptureRecord], randomised_on: dt.date
) -> list[CheckFinding]:
    """The engine's findings, moved from its JSON paths onto the records and fields."""
    evaluation = evaluate_patient(session, patient, records, randomised_on)
    if evaluation is None:
        return []
    _, keys = lesion_record(records, randomised_on)
    out = []
    for finding in evaluation.findings:
        matched = _ASSESSMENT_PATH.match(finding.path)
        if matched:
            form, key, field = Form.TUMOUR_ASSESSMENT.value, keys[int(matched[1])], matched[2]
        else:
            form, key = Form.TUMOUR_BASELINE.value, Form.TUMOUR_BASELINE.value
            field = finding.path.removeprefix("baseline").removeprefix(".") or "target"
        out.append(CheckFinding(form, key, field, finding.code, finding.message))
    return out


def current_findings(
    session: Session, patient: Patient, *, today: dt.date | None = None
) -> list[CheckFinding]:
    """Every check failing now; ``today``: the trial's calendar date (default: UTC today)."""
    randomised_on = require_randomised(session, patient)
    records = latest_records(session, patient.id)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    return check_records(
        records,
        forms=protocol.forms,
        randomised_on=randomised_on,
        today=calendar_date(today),
        recist=_recist_findings(session, patient, records, randomised_on),
    )


def run_checks(
    *,
    session: Session,
    actor: Principal,
    grant: Grant | None,
    patient: Patient,
    today: dt.date | None = None,
) -> list[QueryView]:
    """Run every check on the patient; open a query for each failure not already queried.

    ``today``: the trial's calendar date (``Clock.today()``); default: UTC today.
    """
    opened = []
    for f in current_findings(session, patient, today=today):
        view = open_query(
            session,
            actor=actor,
            grant=grant,
            patient=patient,
            form=f.form,
            record_key=f.record_key,
            field=f.field,
            code=f.code,
            message=f.message,
        )
        if view is not None:
            opened.append(view)
    return opened


def run_edit_checks(
    *, session: Session, actor: Principal, patient_id: int, today: dt.date | None = None
) -> EditCheckReport:
    """The edit checks on demand (site or monitor): what fails now, and the queries opened.

    ``today``: the trial's calendar date (``Clock.today()``); default: UTC today.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.RUN_EDIT_CHECKS)
    findings = current_findings(session, patient, today=today)
    opened = run_checks(session=session, actor=actor, grant=grant, patient=patient, today=today)
    return EditCheckReport(
        patient_id=patient.id,
        findings=[
            FindingView(
                form=f.form, record_key=f.record_key, field=f.field, code=f.code, message=f.message
            )
            for f in findings
        ],
        queries_opened=opened,
    )
