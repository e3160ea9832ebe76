"""Electronic signatures (21 CFR 11.50-11.300, Annex 11 §14): casebook, visit or form.

Signing is a separate act: the password is re-entered (a wrong one counts towards the
lock-out) and the meaning stated. A signature stores the exact record versions it covers with
their hashes; it is valid while each of them is still the record's latest version, and a
change voids it (:func:`.casebook.data_changed`). What still needs signing is derived here,
for the pages, the API and the PDF casebook alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.errors import InputError, NotFoundError
from trialkit.service.capture.casebook import (
    CasebookRecord,
    casebook_records,
    casebooks_of,
    record_date,
)
from trialkit.service.capture.signoff_tables import Signature
from trialkit.service.platform import audit, auth
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, patient_or_absent, site_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import User
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "CasebookSignoffView",
    "CasebookToSignView",
    "RecordSignoffView",
    "Scope",
    "SignatureView",
    "casebook_signoff",
    "casebooks_to_sign",
    "records_to_sign",
    "sign",
]

Scope = Literal["casebook", "visit", "form"]
DEFAULT_MEANING = "I approve the data signed as accurate and complete."


class SignatureView(BaseModel):
    """A signature as shown beside the data it signs: who (full name), when (UTC), meaning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    patient_id: int
    scope: str
    scope_key: str
    meaning: str
    signer_name: str
    signer_role: str
    signed_at: dt.datetime
    records: list[dict[str, Any]]
    manifest_sha256: str
    valid: bool
    void_reason: str | None


class RecordSignoffView(BaseModel):
    """One record of the casebook: the version shown and whether a valid signature covers it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    form: str
    record_key: str
    version: int
    sha256: str
    visit_date: str | None
    recorded_at: dt.datetime
    data: dict[str, Any]
    signed_by: list[int]
    """Ids of the valid signatures covering this very version."""
    needs_signature: bool
    why: str | None


class CasebookSignoffView(BaseModel):
    """A patient's casebook sign-off: records, signatures (valid and void), what needs signing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    meaning: str
    """The meaning the protocol suggests for a signature."""
    signature_per_form: list[str]
    records: list[RecordSignoffView]
    signatures: list[SignatureView]
    complete: bool


def _manifest(
    patient_id: int,
    scope: str,
    key: str,
    refs: list[dict[str, Any]],
    user: User,
    at: str,
    meaning: str,
) -> str:
    body = {
        "patient_id": patient_id,
        "scope": scope,
        "scope_key": key,
        "records": refs,
        "signer": user.id,
        "signer_name": user.full_name,
        "signed_at": at,
        "meaning": meaning,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _valid(
    row: Signature, current: dict[tuple[str, str], CasebookRecord]
) -> tuple[bool, str | None]:
    """Whether the signature still stands; its void reason otherwise (a change to a record
    outside the capture write path, e.g. a consent correction, is found here)."""
    if row.voided_at is not None:
        return False, row.void_reason
    for ref in row.records:
        now = current.get((ref["form"], ref["record_key"]))
        if now is None or now.sha256 != ref["sha256"]:
            version = "removed" if now is None else f"version {now.version}"
            return False, f"{ref['form']} {ref['record_key']} changed ({version})"
    return True, None


def _view(row: Signature, current: dict[tuple[str, str], CasebookRecord]) -> SignatureView:
    valid, why = _valid(row, current)
    return SignatureView(
        id=row.id,
        patient_id=row.patient_id,
        scope=row.scope,
        scope_key=row.scope_key,
        meaning=row.meaning,
        signer_name=row.signer_name,
        signer_role=row.signer_role,
        signed_at=row.signed_at,
        records=list(row.records),
        manifest_sha256=row.manifest_sha256,
        valid=valid,
        void_reason=why,
    )


def _protocol_settings(session: Session, patient: Patient) -> tuple[str, tuple[str, ...]]:
    monitoring = trial_protocol(get_trial_or_raise(session, patient.trial_id)).monitoring
    if monitoring is None:
        return DEFAULT_MEANING, ()
    return monitoring.signature_meaning.strip(), monitoring.signature_per_form


def _scoped(records: list[CasebookRecord], scope: Scope, key: str) -> list[CasebookRecord]:
    if scope == "casebook":
        chosen = records
    elif scope == "visit":
        try:
            dt.date.fromisoformat(key)
        except ValueError:
            raise InputError(
                f"visit {key!r} is not a date: give the visit's date as YYYY-MM-DD",
                location="scope_key",
            ) from None
        chosen = [r for r in records if record_date(r.data) == key]
    else:
        form, _, record_key = key.partition("/")
        chosen = [r for r in records if r.form == form and r.record_key == record_key]
        if not chosen:
            raise NotFoundError(
                f"no record {key!r} in this casebook: give a form as FORM/RECORD_KEY, "
                "e.g. adverse_event/AE-1",
                location="scope_key",
            )
    if not chosen:
        raise InputError(f"nothing recorded to sign in {scope} {key!r}", location="scope_key")
    return chosen


def sign(
    *,
    session: Session,
    security: Security,
    actor: Principal,
    patient_id: int,
    scope: Scope,
    scope_key: str = "",
    password: str,
    meaning: str,
) -> SignatureView:
    """Sign the latest versions of a patient's casebook, one visit (the records dated that
    day) or one form record, with the password re-entered and the meaning stated.

    A wrong password is audited (``signature_refused``) and raised as
    :class:`~trialkit.errors.PasswordRefusedError`, which the caller's transaction commits.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.SIGN_CASEBOOK)
    meaning = meaning.strip()
    if not meaning:
        raise InputError("state the meaning of the signature", location="meaning")
    key = "" if scope == "casebook" else scope_key.strip()
    chosen = _scoped(casebook_records(session, patient), scope, key)
    user = auth.require_reentered_password(
        session,
        security=security,
        actor=actor,
        grant=grant,
        password=password,
        act="electronic signature",
        refused="signature_refused",
        entity="patient",
        entity_id=patient.id,
    )
    now = utcnow()
    refs = [r.ref for r in chosen]
    row = Signature(
        patient_id=patient.id,
        scope=scope,
        scope_key=key,
        meaning=meaning,
        records=refs,
        manifest_sha256=_manifest(patient.id, scope, key, refs, user, now.isoformat(), meaning),
        signed_by=user.id,
        signer_name=user.full_name,
        signer_role=grant.role.value,
        signed_at=now,
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="signature",
        entity_id=row.id,
        values={
            "patient_id": patient.id,
            "scope": scope,
            "scope_key": key,
            "meaning": meaning,
            "records": refs,
            "manifest_sha256": row.manifest_sha256,
        },
    )
    return _view(row, {(r.form, r.record_key): r for r in chosen})


def _record_status(
    records: list[CasebookRecord], views: list[SignatureView], per_form: tuple[str, ...]
) -> list[RecordSignoffView]:
    shown: list[RecordSignoffView] = []
    for record in records:
        covering = [
            v
            for v in views
            if v.valid
            and any(
                ref["form"] == record.form
                and ref["record_key"] == record.record_key
                and ref["sha256"] == record.sha256
                for ref in v.records
            )
        ]
        why = None
        if not covering:
            why = "not signed"
        elif record.form in per_form and not any(v.scope == "form" for v in covering):
            why = "the protocol requires this form's own signature"
        shown.append(
            RecordSignoffView(
                form=record.form,
                record_key=record.record_key,
                version=record.version,
                sha256=record.sha256,
                visit_date=record_date(record.data),
                recorded_at=record.recorded_at,
                data=record.data,
                signed_by=[v.id for v in covering],
                needs_signature=why is not None,
                why=why,
            )
        )
    return shown


def casebook_signoff(*, session: Session, actor: Principal, patient_id: int) -> CasebookSignoffView:
    """The patient's records with the signatures covering them, and what needs signing: any
    record no valid signature covers, and each record of a form the protocol requires a
    signature of its own for without one."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    meaning, per_form = _protocol_settings(session, patient)
    records = casebook_records(session, patient)
    current = {(r.form, r.record_key): r for r in records}
    rows = session.scalars(
        select(Signature).where(Signature.patient_id == patient.id).order_by(Signature.id)
    ).all()
    views = [_view(row, current) for row in rows]
    shown = _record_status(records, views, per_form)
    return CasebookSignoffView(
        patient_id=patient.id,
        meaning=meaning,
        signature_per_form=list(per_form),
        records=shown,
        signatures=views,
        complete=bool(shown) and not any(r.needs_signature for r in shown),
    )


class CasebookToSignView(BaseModel):
    """A patient of the site whose casebook has records to sign (again)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    screening_number: str
    to_sign: int
    """Records that need signing."""
    signed_before: bool
    """Whether anything of the casebook was signed before (then: sign again)."""


def records_to_sign(
    session: Session, patients: list[Patient]
) -> dict[int, tuple[list[RecordSignoffView], bool]]:
    """What needs signing in each casebook (with whether anything of it was signed before),
    in a fixed number of statements: the investigator's work list and the lock check."""
    books = casebooks_of(session, [p.id for p in patients])
    rows: dict[int, list[Signature]] = {p.id: [] for p in patients}
    for row in session.scalars(
        select(Signature).where(Signature.patient_id.in_(list(rows))).order_by(Signature.id)
    ):
        rows[row.patient_id].append(row)
    per_form = _protocol_settings(session, patients[0])[1] if patients else ()
    found: dict[int, tuple[list[RecordSignoffView], bool]] = {}
    for patient in patients:
        current = {(r.form, r.record_key): r for r in books[patient.id]}
        views = [_view(row, current) for row in rows[patient.id]]
        status = _record_status(books[patient.id], views, per_form)
        found[patient.id] = ([r for r in status if r.needs_signature], bool(views))
    return found


def casebooks_to_sign(
    *, session: Session, actor: Principal, site_id: int
) -> list[CasebookToSignView]:
    """The site's randomised patients with records to sign (the investigator's work list)."""
    site, _ = site_or_absent(session, actor, site_id, Action.SIGN_CASEBOOK)
    patients = list(
        session.scalars(
            select(Patient)
            .where(
                Patient.site_id == site.id,
                Patient.id.in_(select(Randomisation.patient_id)),
            )
            .order_by(Patient.screening_number)
        )
    )
    to_sign = records_to_sign(session, patients)
    return [
        CasebookToSignView(
            patient_id=patient.id,
            screening_number=patient.screening_number,
            to_sign=len(to_sign[patient.id][0]),
            signed_before=to_sign[patient.id][1],
        )
        for patient in patients
        if to_sign[patient.id][0]
    ]
