"""Recording clinical data after randomisation: versioned form records, RECIST on save.

Every function authorises first; another site's patient reads as absent. A record is new
(version 1, key assigned: ``AE-1``, ``AE-2`` ...; the form name for forms recorded once) or a
correction of an existing key (the next version, with a reason). Saving runs the edit checks
on the patient (:mod:`.edit_checks`), which open queries rather than refuse; saving a tumour
form evaluates the patient's lesions by RECIST 1.1 and keeps the result with the version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, NotFoundError
from trialkit.protocol.records import corrected_paths
from trialkit.service.capture import casebook, edit_checks
from trialkit.service.capture.clinical import (
    date_of_birth,
    evaluate_patient,
    latest_records,
    require_randomised,
    tumour_forms,
)
from trialkit.service.capture.forms import FormDefinition, case_report_form, validate_form
from trialkit.service.capture.queries import QueryView
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.locks import require_unlocked
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["CaptureView", "TumourResponseView", "list_records", "record_form", "tumour_response"]


class CaptureView(BaseModel):
    """One version of one form record; ``result`` is the RECIST evaluation for tumour forms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    patient_id: int
    form: str
    form_version: str | None
    """The version of the form's definition the record was entered on."""
    record_key: str
    version: int
    data: dict[str, Any]
    reason: str | None
    recorded_at: dt.datetime
    recorded_by: int | None
    result: dict[str, Any] | None = None
    queries_opened: list[QueryView] = []


class TumourResponseView(BaseModel):
    """The patient's RECIST 1.1 evaluation (the ``trialkit recist evaluate --json`` object)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    randomisation_date: dt.date
    evaluation: dict[str, Any] | None
    """``None`` until a baseline with a date is recorded."""


def _view(row: CaptureRecord, queries: list[QueryView] | None = None) -> CaptureView:
    return CaptureView(
        id=row.id,
        patient_id=row.patient_id,
        form=row.form,
        form_version=row.form_version,
        record_key=row.record_key,
        version=row.version,
        data=row.data,
        reason=row.reason,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        result=row.result,
        queries_opened=queries or [],
    )


def _next_key(session: Session, patient: Patient, form: FormDefinition) -> str:
    prefix = form.key_prefix
    if prefix is None:
        return form.name
    keys = session.scalars(
        select(CaptureRecord.record_key)
        .where(CaptureRecord.patient_id == patient.id, CaptureRecord.form == form.name)
        .distinct()
    ).all()
    numbers = [int(k.split("-")[1]) for k in keys if k.startswith(f"{prefix}-")]
    return f"{prefix}-{max(numbers, default=0) + 1}"


def _corrected(
    session: Session,
    patient_id: int,
    form: str,
    record_key: str,
    last: int | None,
    values: dict[str, Any],
) -> list[str]:
    """What a new version changes or removes of the latest one (nothing for a first version,
    or one that only fills in what was left empty: a section saved after another).

    A version holding the latest one's values is refused: it would change nothing, yet void
    the record's signatures and reset its verifications.
    """
    if last is None:
        return []
    previous = session.scalar(
        select(CaptureRecord.data).where(
            CaptureRecord.patient_id == patient_id,
            CaptureRecord.form == form,
            CaptureRecord.record_key == record_key,
            CaptureRecord.version == last,
        )
    )
    if previous == values:
        raise InputError(
            f"{form} {record_key} version {last} holds these values already: nothing to save",
            location="data",
        )
    return corrected_paths(previous or {}, values)


def record_form(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    form: str,
    data: dict[str, Any],
    record_key: str | None = None,
    reason: str | None = None,
    today: dt.date | None = None,
) -> CaptureView:
    """Store a new record (no key) or the next version of ``record_key`` (with a reason).

    ``form`` names a case report form of the trial's protocol; the record is validated
    against its definition and keeps the definition's version. ``today``: the trial's
    calendar date for the edit checks (``Clock.today()``; default: UTC today).
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.EDIT_CLINICAL)
    randomised_on = require_randomised(session, patient)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    definition = case_report_form(protocol, form)
    name = definition.name
    values = validate_form(protocol, name, data, born=date_of_birth(session, patient.id)).data
    given = record_key
    if definition.key_prefix is None:
        record_key = name  # recorded once: a second save is a correction
    elif record_key is None:
        record_key = _next_key(session, patient, definition)
    require_unlocked(session, patient=patient, form=name, record_key=record_key)
    last = session.scalar(
        select(func.max(CaptureRecord.version)).where(
            CaptureRecord.patient_id == patient.id,
            CaptureRecord.form == name,
            CaptureRecord.record_key == record_key,
        )
    )
    if last is None and given is not None and given == record_key:
        raise NotFoundError(
            f"no {name} record {record_key!r} to correct; leave record_key out to add one",
            location="record_key",
        )
    version = int(last or 0) + 1
    corrected = _corrected(session, patient.id, name, record_key, last, values)
    if corrected and not (reason and reason.strip()):
        raise InputError(
            f"{name} {record_key} version {version} corrects version {version - 1} "
            f"({', '.join(corrected[:3])}): say why in 'reason'",
            location="reason",
        )
    row = CaptureRecord(
        patient_id=patient.id,
        form=name,
        form_version=definition.version,
        record_key=record_key,
        version=version,
        data=values,
        result=None,
        reason=reason.strip() if reason else None,
        recorded_at=utcnow(),
        recorded_by=actor.user_id,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"{name} {record_key} version {version} was stored meanwhile: reload and resubmit"
        ) from exc
    if name in tumour_forms(protocol.forms.roles if protocol.forms is not None else {}):
        evaluation = evaluate_patient(
            session, patient, latest_records(session, patient.id), randomised_on
        )
        row.result = None if evaluation is None else evaluation.as_dict()
        session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="create" if version == 1 else "correct" if corrected else "complete",
        entity=name,
        entity_id=row.id,
        changes={
            "patient_id": (None, patient.id),
            "record_key": (None, record_key),
            "version": (version - 1 or None, version),
            "data": (None, values),
        },
        reason=row.reason,
    )
    casebook.data_changed(  # a change voids signatures of the record and resets its SDV
        session,
        actor=actor,
        grant=grant,
        patient=patient,
        form=name,
        record_key=record_key,
        version=version,
        data=values,
        reason=row.reason,
    )
    opened = edit_checks.run_checks(
        session=session, actor=actor, grant=grant, patient=patient, today=today
    )
    return _view(row, opened)


def list_records(
    *, session: Session, actor: Principal, patient_id: int, form: str | None = None
) -> list[CaptureView]:
    """Every version of every record of the patient (of one form), oldest first."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    query = select(CaptureRecord).where(CaptureRecord.patient_id == patient.id)
    if form is not None:
        query = query.where(CaptureRecord.form == str(form))
    rows = session.scalars(
        query.order_by(CaptureRecord.form, CaptureRecord.record_key, CaptureRecord.version)
    )
    return [_view(r) for r in rows]


def tumour_response(*, session: Session, actor: Principal, patient_id: int) -> TumourResponseView:
    """The RECIST 1.1 evaluation of the latest tumour records."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    randomised_on = require_randomised(session, patient)
    evaluation = evaluate_patient(
        session, patient, latest_records(session, patient.id), randomised_on
    )
    return TumourResponseView(
        patient_id=patient.id,
        randomisation_date=randomised_on,
        evaluation=None if evaluation is None else evaluation.as_dict(),
    )
