"""Source data verification: a monitor marks items, records or whole visits verified.

A mark binds to the record version (or the item's value) by hash; a change resets it
(:func:`.casebook.data_changed`, or found here when the hash no longer matches). The
protocol's SDV plan (``monitoring.sdv``) says which records need it: some in full, a
reproducible sample of the rest. The work list is what the plan requires and is not verified.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.errors import InputError, NotFoundError
from trialkit.protocol.model import SourceVerificationPlan
from trialkit.service.capture.casebook import (
    CasebookRecord,
    casebook_records,
    casebooks_of,
    item_hash,
    record_date,
)
from trialkit.service.capture.signoff_tables import MonitoringVisit, SourceVerification
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import (
    Action,
    authorize,
    patient_or_absent,
    site_scope,
)
from trialkit.service.platform.principal import Principal
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "PatientSdvView",
    "RecordSdvView",
    "WorkListView",
    "patient_sdv",
    "required_by_plan",
    "verify",
    "work_list",
]


class RecordSdvView(BaseModel):
    """One record's verification: whether the plan requires it, and what is verified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    form: str
    record_key: str
    version: int
    visit_date: str | None
    required: str | None
    """Why the plan requires it (its label, or ``sample``); ``None``: not required."""
    verified: bool
    verified_items: list[str]
    items: list[str]
    reset_reason: str | None
    """Why the last verification was reset, while the record awaits verification again."""


class PatientSdvView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    site_id: int
    records: list[RecordSdvView]


class WorkItemView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: int
    site_code: str
    patient_id: int
    screening_number: str
    form: str
    record_key: str
    version: int
    required: str
    reset_reason: str | None


class WorkListView(BaseModel):
    """The monitor's SDV work list: what the plan requires and is not verified, by site and
    patient, with the plan itself and counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trial_id: int
    plan: list[str]
    sample_fraction: float
    plan_text: str
    required: int
    verified: int
    items: list[WorkItemView]


def _sampled(patient: Patient, form: str, record_key: str, fraction: float) -> bool:
    digest = hashlib.sha256(f"{patient.trial_id}:{patient.id}:{form}:{record_key}".encode())
    return int(digest.hexdigest()[:8], 16) / 2**32 < fraction


def required_by_plan(
    plan: SourceVerificationPlan | None, patient: Patient, record: CasebookRecord
) -> str | None:
    """Why the plan requires this record verified (the rule's label or ``sample``), or ``None``.

    Without a plan in the protocol file every record is required.
    """
    if plan is None:
        return "every record (the protocol sets no SDV plan)"
    for rule in plan.full:
        if rule.form == record.form and (
            rule.when_item is None or record.data.get(rule.when_item) is True
        ):
            return rule.label
    if _sampled(patient, record.form, record.record_key, plan.sample_fraction):
        return "sample"
    return None


def _plan(session: Session, trial_id: int) -> SourceVerificationPlan | None:
    monitoring = trial_protocol(get_trial_or_raise(session, trial_id)).monitoring
    return None if monitoring is None else monitoring.sdv


def _marks(
    session: Session, patient_ids: list[int]
) -> dict[tuple[int, str, str], list[SourceVerification]]:
    found: dict[tuple[int, str, str], list[SourceVerification]] = {}
    rows = session.scalars(
        select(SourceVerification)
        .where(SourceVerification.patient_id.in_(patient_ids))
        .order_by(SourceVerification.id)
    )
    for row in rows:
        found.setdefault((row.patient_id, row.form, row.record_key), []).append(row)
    return found


def _record_view(
    record: CasebookRecord, marks: list[SourceVerification], required: str | None
) -> RecordSdvView:
    standing = [m for m in marks if m.reset_at is None]
    whole = any(m.item is None and m.sha256 == record.sha256 for m in standing)
    items = sorted(record.data)
    verified_items = sorted(
        {
            m.item
            for m in standing
            if m.item is not None and item_hash(record.data.get(m.item)) == m.sha256
        }
    )
    verified = whole or (bool(items) and set(items) <= set(verified_items))
    resets = [m.reset_reason for m in marks if m.reset_at is not None]
    return RecordSdvView(
        form=record.form,
        record_key=record.record_key,
        version=record.version,
        visit_date=record_date(record.data),
        required=required,
        verified=verified,
        verified_items=items if whole else verified_items,
        items=items,
        reset_reason=resets[-1] if resets and not verified else None,
    )


def patient_sdv(*, session: Session, actor: Principal, patient_id: int) -> PatientSdvView:
    """Every record of the patient with its verification and the plan's requirement."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    plan = _plan(session, patient.trial_id)
    marks = _marks(session, [patient.id])
    return PatientSdvView(
        patient_id=patient.id,
        site_id=patient.site_id,
        records=[
            _record_view(
                r,
                marks.get((patient.id, r.form, r.record_key), []),
                required_by_plan(plan, patient, r),
            )
            for r in casebook_records(session, patient)
        ],
    )


def verify(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    form: str | None = None,
    record_key: str | None = None,
    items: list[str] | None = None,
    visit_date: dt.date | None = None,
    monitoring_visit_id: int | None = None,
) -> PatientSdvView:
    """Mark verified against source: the given items of one record, the whole record (no
    items), or every record of one visit (``visit_date``, no form)."""
    patient, grant = patient_or_absent(session, actor, patient_id, Action.VERIFY_SOURCE)
    records = casebook_records(session, patient)
    if items is not None and not items:
        raise InputError(
            "name the items verified, or leave items out to verify the whole record",
            location="items",
        )
    if visit_date is not None and form is None:
        chosen = [r for r in records if record_date(r.data) == visit_date.isoformat()]
        if not chosen:
            raise NotFoundError(
                f"no record dated {visit_date.isoformat()} for this patient", location="visit_date"
            )
        items = None
    else:
        chosen = [r for r in records if r.form == form and r.record_key == record_key]
        if not chosen:
            raise NotFoundError(
                f"no record {form}/{record_key} for this patient: name a form and record key "
                "shown on the patient's SDV page, or a visit date",
                location="record_key",
            )
    if monitoring_visit_id is not None:
        visit = session.get(MonitoringVisit, monitoring_visit_id)
        if visit is None or visit.site_id != patient.site_id or visit.signed_at is not None:
            raise NotFoundError(
                f"no open monitoring visit {monitoring_visit_id} at this patient's site",
                location="monitoring_visit_id",
            )
    now = utcnow()
    for record in chosen:
        wanted: list[str | None] = list(items) if items else [None]
        unknown = [i for i in wanted if i is not None and i not in record.data]
        if unknown:
            raise InputError(
                f"{record.form} {record.record_key} has no item {unknown[0]!r}; its items: "
                + ", ".join(sorted(record.data)),
                location="items",
            )
        for item in wanted:
            digest = record.sha256 if item is None else item_hash(record.data.get(item))
            mark = SourceVerification(
                patient_id=patient.id,
                form=record.form,
                record_key=record.record_key,
                version=record.version,
                item=item,
                sha256=digest,
                verified_by=actor.user_id,
                verified_at=now,
                monitoring_visit_id=monitoring_visit_id,
            )
            session.add(mark)
            session.flush()
            values: dict[str, Any] = {
                "patient_id": patient.id,
                "form": record.form,
                "record_key": record.record_key,
                "version": record.version,
                "item": item,
                "sha256": digest,
            }
            audit.record_created(
                session,
                actor=actor,
                grant=grant,
                entity="source_verification",
                entity_id=mark.id,
                values=values,
            )
    return patient_sdv(session=session, actor=actor, patient_id=patient.id)


def work_list(
    *, session: Session, actor: Principal, trial_id: int, site_id: int | None = None
) -> WorkListView:
    """What the SDV plan requires and is not yet verified at the sites the monitor may see
    (one site with ``site_id``), by site and patient."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VERIFY_SOURCE, trial_id=trial.id, site_id=site_id)
    sites = site_scope(actor, Action.VERIFY_SOURCE, trial_id=trial.id)
    query = select(Patient).where(Patient.trial_id == trial.id)
    if sites is not None:
        query = query.where(Patient.site_id.in_(sites))
    if site_id is not None:
        query = query.where(Patient.site_id == site_id)
    patients = list(session.scalars(query.order_by(Patient.site_id, Patient.screening_number)))
    codes = {s.id: s.code for s in session.scalars(select(Site).where(Site.trial_id == trial.id))}
    plan = _plan(session, trial.id)
    marks = _marks(session, [p.id for p in patients])
    required = verified = 0
    work: list[WorkItemView] = []
    books = casebooks_of(session, [p.id for p in patients])
    for patient in patients:
        for record in books[patient.id]:
            why = required_by_plan(plan, patient, record)
            if why is None:
                continue
            required += 1
            view = _record_view(
                record, marks.get((patient.id, record.form, record.record_key), []), why
            )
            if view.verified:
                verified += 1
                continue
            work.append(
                WorkItemView(
                    site_id=patient.site_id,
                    site_code=codes.get(patient.site_id, "?"),
                    patient_id=patient.id,
                    screening_number=patient.screening_number,
                    form=record.form,
                    record_key=record.record_key,
                    version=record.version,
                    required=why,
                    reset_reason=view.reset_reason,
                )
            )
    return WorkListView(
        trial_id=trial.id,
        plan=[rule.label for rule in plan.full] if plan else [],
        sample_fraction=plan.sample_fraction if plan else 1.0,
        plan_text=plan.text.strip() if plan else "every record (the protocol sets no SDV plan)",
        required=required,
        verified=verified,
        items=work,
    )
