"""A patient's casebook as generic records with content hashes, and what a change undoes.

Signatures and source data verification bind to stored records, never to form classes: a
record is its form name, record key, version and data (the screening record, consent and
randomisation included, the latter without anything about the arm), hashed as canonical JSON.
:func:`data_changed` is the one call the write path makes after storing a new version: it
voids the signatures and resets the verifications the change invalidates, audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.service.capture.signoff_tables import Signature, SourceVerification
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit, notify
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.people import Role
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Consent, Patient, ScreeningRecordVersion
from trialkit.service.trials.tables import Site
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "CasebookRecord",
    "casebook_records",
    "casebooks_of",
    "content_hash",
    "data_changed",
    "item_hash",
    "record_date",
]

DATE_ITEMS = ("date", "start_date", "consent_date", "enrolment_date", "visit_date")
"""The items whose value dates a record (its visit), in order of preference."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_hash(form: str, record_key: str, version: int, data: dict[str, Any]) -> str:
    """SHA-256 of one record version's identity and content."""
    return hashlib.sha256(
        _canonical({"form": form, "record_key": record_key, "version": version, "data": data})
    ).hexdigest()


def item_hash(value: Any) -> str:
    """SHA-256 of one item's value (what an item-level verification binds to)."""
    return hashlib.sha256(_canonical(value)).hexdigest()


@dataclass(frozen=True)
class CasebookRecord:
    """The latest version of one record of a patient's casebook."""

    form: str
    record_key: str
    version: int
    data: dict[str, Any]
    recorded_at: dt.datetime
    sha256: str

    @property
    def ref(self) -> dict[str, Any]:
        """What a signature stores of the record: identity, version and hash."""
        return {
            "form": self.form,
            "record_key": self.record_key,
            "version": self.version,
            "sha256": self.sha256,
        }


def record_date(data: dict[str, Any]) -> str | None:
    """The date that places a record in a visit (ISO text), or ``None``."""
    for name in DATE_ITEMS:
        value = data.get(name)
        if isinstance(value, str) and len(value) >= 10:
            return value[:10]
    return None


def _make(
    form: str, key: str, version: int, data: dict[str, Any], at: dt.datetime
) -> CasebookRecord:
    return CasebookRecord(form, key, version, data, at, content_hash(form, key, version, data))


def casebook_records(session: Session, patient: Patient) -> list[CasebookRecord]:
    """The latest version of every record of the patient: screening, consent, randomisation
    (number, stratum, background therapy, date: never the arm), then the case report forms."""
    return casebooks_of(session, [patient.id])[patient.id]


def casebooks_of(session: Session, patient_ids: list[int]) -> dict[int, list[CasebookRecord]]:
    """:func:`casebook_records` of many patients, in four statements (the SDV work list)."""
    found: dict[int, list[CasebookRecord]] = {pid: [] for pid in patient_ids}
    newest = (
        select(
            ScreeningRecordVersion.patient_id, func.max(ScreeningRecordVersion.version).label("v")
        )
        .where(ScreeningRecordVersion.patient_id.in_(patient_ids))
        .group_by(ScreeningRecordVersion.patient_id)
        .subquery()
    )
    screening = {
        row.patient_id: row
        for row in session.scalars(
            select(ScreeningRecordVersion).join(
                newest,
                (newest.c.patient_id == ScreeningRecordVersion.patient_id)
                & (newest.c.v == ScreeningRecordVersion.version),
            )
        )
    }
    consents: dict[int, Consent] = {}
    for given in session.scalars(
        select(Consent).where(Consent.patient_id.in_(patient_ids)).order_by(Consent.version)
    ):
        consents[given.patient_id] = given
    randomisations = {
        r.patient_id: r
        for r in session.scalars(
            select(Randomisation).where(Randomisation.patient_id.in_(patient_ids))
        )
    }
    last = (
        select(
            CaptureRecord.patient_id,
            CaptureRecord.form,
            CaptureRecord.record_key,
            func.max(CaptureRecord.version).label("v"),
        )
        .where(CaptureRecord.patient_id.in_(patient_ids))
        .group_by(CaptureRecord.patient_id, CaptureRecord.form, CaptureRecord.record_key)
        .subquery()
    )
    latest = session.execute(  # columns, not entities: no RECIST result to decode
        select(
            CaptureRecord.patient_id,
            CaptureRecord.form,
            CaptureRecord.record_key,
            CaptureRecord.version,
            CaptureRecord.data,
            CaptureRecord.recorded_at,
        )
        .join(
            last,
            (last.c.patient_id == CaptureRecord.patient_id)
            & (last.c.form == CaptureRecord.form)
            & (last.c.record_key == CaptureRecord.record_key)
            & (last.c.v == CaptureRecord.version),
        )
        .order_by(CaptureRecord.form, CaptureRecord.record_key)
    )
    for pid, records in found.items():
        if (screened := screening.get(pid)) is not None:
            records.append(
                _make(
                    "screening",
                    "screening",
                    screened.version,
                    screened.data,
                    screened.recorded_at,
                )
            )
        if (consent := consents.get(pid)) is not None:
            data: dict[str, Any] = {
                "consent_date": consent.consent_date.isoformat(),
                "information_sheet_version": consent.information_sheet_version,
            }
            records.append(_make("consent", "consent", consent.version, data, consent.recorded_at))
        if (randomised := randomisations.get(pid)) is not None:
            data = {
                "randomisation_number": randomised.randomisation_number,
                "stratum": randomised.stratum,
                "background_therapy": randomised.background_therapy,
                "enrolment_date": randomised.enrolment_date.isoformat(),
            }
            records.append(
                _make("randomisation", "randomisation", 1, data, randomised.randomised_at)
            )
    for pid, form, key, version, values, at in latest:
        found[pid].append(_make(form, key, version, values, at))
    return found


def data_changed(
    session: Session,
    *,
    actor: Principal,
    grant: Grant | None,
    patient: Patient,
    form: str,
    record_key: str,
    version: int,
    data: dict[str, Any],
    reason: str | None,
) -> None:
    """After a new version of a record is stored: void every standing signature that covers
    the record, and reset every verification of it whose value changed (all of them for a
    whole-record mark), each with the reason and audited. A voided signature tells the site's
    investigators that the casebook needs signing again (a notification, no arm)."""
    if version == 1:
        return  # a new record: nothing signed or verified refers to it yet
    now = utcnow()
    forms = trial_protocol(get_trial_or_raise(session, patient.trial_id)).forms
    label = forms.label_of(form) if forms else form.replace("_", " ")
    # read on the casebook and SDV pages: the form by its label, never its internal name
    why = f"{label} {record_key} changed to version {version}" + (f": {reason}" if reason else "")
    signatures = session.scalars(
        select(Signature).where(Signature.patient_id == patient.id, Signature.voided_at.is_(None))
    ).all()
    voided = 0
    for signature in signatures:
        if not any(r["form"] == form and r["record_key"] == record_key for r in signature.records):
            continue
        signature.voided_at, signature.void_reason = now, why
        voided += 1
        audit.record(
            session,
            actor=actor,
            grant=grant,
            action="void",
            entity="signature",
            entity_id=signature.id,
            changes={"voided_at": (None, now)},
            reason=why,
        )
    if voided:
        _signature_needed(session, patient, f"{form} {record_key}, version {version}")
    marks = session.scalars(
        select(SourceVerification).where(
            SourceVerification.patient_id == patient.id,
            SourceVerification.form == form,
            SourceVerification.record_key == record_key,
            SourceVerification.reset_at.is_(None),
        )
    )
    for mark in marks:
        if mark.item is not None and item_hash(data.get(mark.item)) == mark.sha256:
            continue  # the item verified kept its value: its verification stands
        mark.reset_at, mark.reset_reason = now, why
        audit.record(
            session,
            actor=actor,
            grant=grant,
            action="reset",
            entity="source_verification",
            entity_id=mark.id,
            changes={"reset_at": (None, now)},
            reason=why,
        )
    session.flush()


def _signature_needed(session: Session, patient: Patient, what: str) -> None:
    trial = get_trial_or_raise(session, patient.trial_id)
    site = session.get(Site, patient.site_id)
    notify.notify(
        session,
        trial_id=trial.id,
        kind=notify.Kind.SIGNATURE_NEEDED,
        to=notify.To.role(Role.INVESTIGATOR, site_id=patient.site_id),
        message=notify.signature_needed_message(
            trial=trial.acronym,
            screening_number=patient.screening_number,
            what=f"Records changed since your signature ({what})",
            site_code=site.code if site else "?",
        ),
        site_id=patient.site_id,
        link=f"/patients/{patient.id}/casebook",
    )
