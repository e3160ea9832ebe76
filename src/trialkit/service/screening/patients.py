"""Patients at screening: registration, versioned screening records, eligibility, consent.

Every function authorises first. Another site's patient reads as absent
(:class:`NotFoundError`), and writing needs a recruiting site. Nothing is
updated in place: a corrected screening record or consent is a new version,
and every version after the first says why.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import trialkit
from trialkit.errors import ConflictError, InputError, RecordError
from trialkit.protocol import Protocol
from trialkit.protocol.records import corrected_paths
from trialkit.screening import ScreeningOutcome, parse_screening_record, screen
from trialkit.service.capture.patient_status import derive_status, status_facts_of
from trialkit.service.platform import audit
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.db.base import insert_unique, utcnow
from trialkit.service.platform.policy import (
    Action,
    can_see_arm,
    patient_or_absent,
    patient_with_site_or_absent,
    site_or_absent,
)
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.views import (
    ConsentView,
    EligibilityView,
    PatientView,
    ScreeningRecordView,
    UnblindedPatientView,
)
from trialkit.service.randomisation import randomised
from trialkit.service.screening.tables import (
    Consent,
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)
from trialkit.service.trials.locks import CONSENT_FORM, SCREENING_FORM, require_unlocked
from trialkit.service.trials.trials import (
    get_site_or_raise,
    get_trial_or_raise,
    require_recruiting,
    trial_protocol,
)

__all__ = [
    "evaluate_eligibility",
    "get_patient",
    "list_consents",
    "list_evaluations",
    "list_patients",
    "list_screening_records",
    "record_consent",
    "register_patient",
    "submit_screening_record",
]


def _patient_view(session: Session, patient: Patient, grant: Grant) -> PatientView:
    return _patient_views(session, [patient], grant)[0]


def _patient_views(
    session: Session, patients: Sequence[Patient], grant: Grant
) -> list[PatientView]:
    """The patients' views, read in a fixed number of queries however many they are."""
    ids = [p.id for p in patients]
    if not ids:
        return []
    versions: dict[int, int] = dict(
        session.execute(
            select(ScreeningRecordVersion.patient_id, func.count())
            .where(ScreeningRecordVersion.patient_id.in_(ids))
            .group_by(ScreeningRecordVersion.patient_id)
        ).all()
    )
    consented = set(
        session.scalars(select(Consent.patient_id).where(Consent.patient_id.in_(ids)).distinct())
    )
    facts = status_facts_of(session, ids)
    views: list[PatientView] = []
    for patient in patients:
        state = derive_status(facts[patient.id])
        fields: dict[str, Any] = {
            "id": patient.id,
            "trial_id": patient.trial_id,
            "site_id": patient.site_id,
            "screening_number": patient.screening_number,
            "created_at": patient.created_at,
            "screening_record_versions": versions.get(patient.id, 0),
            "latest_verdict": facts[patient.id].latest_verdict,
            "consented": patient.id in consented,
            "status": state.status.value,
            "status_since": state.since,
            "status_reason": state.reason,
        }
        if can_see_arm(grant.role):
            arm = randomised.randomised_arm(session=session, patient=patient)
            views.append(UnblindedPatientView(**fields, arm=arm))  # none before randomisation
        else:
            views.append(PatientView(**fields))
    return views


def register_patient(
    *, session: Session, actor: Principal, site_id: int, screening_number: str
) -> PatientView:
    """Register a patient for screening at a recruiting site (number unique per trial and site)."""
    site, grant = site_or_absent(session, actor, site_id, Action.EDIT_PATIENTS)
    require_unlocked(session, trial_id=site.trial_id, site_id=site.id)
    require_recruiting(session, site)
    exists = session.scalars(
        select(Patient.id).where(
            Patient.trial_id == site.trial_id,
            Patient.site_id == site.id,
            Patient.screening_number == screening_number,
        )
    ).first()
    if exists is not None:
        raise ConflictError(
            f"screening number {screening_number!r} is taken at site {site.code}",
            location="screening_number",
        )
    patient = Patient(
        trial_id=site.trial_id,
        site_id=site.id,
        screening_number=screening_number,
        created_at=utcnow(),
        created_by=actor.user_id,
    )
    session.add(patient)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # registered concurrently
        raise ConflictError(
            f"screening number {screening_number!r} is taken at site {site.code}"
        ) from exc
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="patient",
        entity_id=patient.id,
        values={"site_id": site.id, "screening_number": screening_number},
    )
    return _patient_view(session, patient, grant)


def list_patients(*, session: Session, actor: Principal, site_id: int) -> list[PatientView]:
    site, grant = site_or_absent(session, actor, site_id, Action.VIEW_PATIENTS)
    patients = session.scalars(
        select(Patient).where(Patient.site_id == site.id).order_by(Patient.id)
    ).all()
    return _patient_views(session, patients, grant)


def get_patient(*, session: Session, actor: Principal, patient_id: int) -> PatientView:
    patient, grant = patient_or_absent(session, actor, patient_id, Action.VIEW_PATIENTS)
    return _patient_view(session, patient, grant)


def _record_view(row: ScreeningRecordVersion) -> ScreeningRecordView:
    return ScreeningRecordView(
        id=row.id,
        patient_id=row.patient_id,
        version=row.version,
        form_version=row.form_version,
        data=row.data,
        reason=row.reason,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )


def _finite(value: Any, path: str) -> None:
    """Refuse NaN and infinities (``1e999`` in JSON): they are no measurement."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"numbers must be finite (got {value})", location=path)
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _finite(item, f"{path}[{index}]")


def _screening_form_version(protocol: Protocol) -> str:
    forms = protocol.forms
    form = forms.screening if forms is not None else None
    assert form is not None  # parse_screening_record refused a protocol without one
    return form.version


def _require_reason(version: int, reason: str | None, what: str) -> str | None:
    if version > 1 and not (reason and reason.strip()):
        raise InputError(
            f"{what} version {version} corrects version {version - 1}: say why in 'reason'",
            location="reason",
        )
    return reason.strip() if reason else None


_LAST_RECORD_VERSION = select(func.max(ScreeningRecordVersion.version)).where(
    ScreeningRecordVersion.patient_id == bindparam("patient")
)


def submit_screening_record(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    data: dict[str, Any],
    reason: str | None = None,
) -> ScreeningRecordView:
    """Store a new version of the screening record (validated against the record schema)."""
    patient, site, _, grant, approved = patient_with_site_or_absent(
        session, actor, patient_id, Action.EDIT_PATIENTS
    )
    require_unlocked(session, patient=patient, form=SCREENING_FORM, record_key=SCREENING_FORM)
    require_recruiting(session, site, approved=approved)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    normalised = parse_screening_record(protocol, data, source="data")
    _finite(normalised, "data")
    last = session.scalar(_LAST_RECORD_VERSION, {"patient": patient.id})
    version = int(last or 0) + 1
    previous = session.scalar(
        select(ScreeningRecordVersion.data).where(
            ScreeningRecordVersion.patient_id == patient.id,
            ScreeningRecordVersion.version == last,
        )
    )
    if previous is not None and previous == normalised:  # it would change nothing
        raise InputError(
            f"screening record version {last} holds these values already: nothing to save",
            location="data",
        )
    # a version that only fills in what the one before left empty corrects nothing
    corrected = corrected_paths(previous or {}, normalised)
    if corrected:
        reason = _require_reason(version, reason, "screening record")
    else:
        reason = reason.strip() if reason and reason.strip() else None
    values: dict[str, Any] = {
        "patient_id": patient.id,
        "version": version,
        "form_version": _screening_form_version(protocol),
        "data": normalised,
        "reason": reason,
        "recorded_at": utcnow(),
        "recorded_by": actor.user_id,
    }
    row_id = insert_unique(session, ScreeningRecordVersion, values)
    if row_id is None:  # another version was stored concurrently
        raise ConflictError(
            f"version {version} of this screening record was stored meanwhile: reload and resubmit"
        )
    row = ScreeningRecordVersion(id=row_id, **values)  # not added: the row is stored
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="create" if version == 1 else "correct" if corrected else "complete",
        entity="screening_record",
        entity_id=row.id,
        changes={
            "patient_id": (None, patient.id),
            "version": (version - 1 or None, version),
            "data": (None, normalised),
        },
        reason=reason,
    )
    return _record_view(row)


def list_screening_records(
    *, session: Session, actor: Principal, patient_id: int
) -> list[ScreeningRecordView]:
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_SCREENING)
    rows = session.scalars(
        select(ScreeningRecordVersion)
        .where(ScreeningRecordVersion.patient_id == patient.id)
        .order_by(ScreeningRecordVersion.version)
    )
    return [_record_view(r) for r in rows]


def _evaluation_view(row: EligibilityEvaluation, version: int) -> EligibilityView:
    return EligibilityView(
        id=row.id,
        patient_id=row.patient_id,
        screening_record_id=row.screening_record_id,
        screening_record_version=version,
        protocol_version=row.protocol_version,
        trialkit_version=row.trialkit_version,
        eligible=row.eligible,
        verdict=row.verdict,
        result=row.result.as_dict(),
        evaluated_at=row.evaluated_at,
    )


_SCREENED: OrderedDict[tuple[str, str, str], ScreeningOutcome] = OrderedDict()
_SCREENED_SIZE = 256
_screened_lock = threading.Lock()


def _screen(protocol: Protocol, data: dict[str, Any]) -> ScreeningOutcome:
    """Screen a record; identical records under one protocol version share the (pure) outcome.

    Evaluating the criteria costs about 0.2 s of CPU; sites often re-evaluate an
    unchanged record, and bulk loads repeat records.
    """
    key = (protocol.id, protocol.version, json.dumps(data, sort_keys=True, separators=(",", ":")))
    with _screened_lock:
        outcome = _SCREENED.get(key)
    if outcome is None:
        outcome = screen(protocol, parse_screening_record(protocol, data, source="data"))
        with _screened_lock:
            _SCREENED[key] = outcome
            while len(_SCREENED) > _SCREENED_SIZE:
                _SCREENED.popitem(last=False)
    return outcome


def evaluate_eligibility(*, session: Session, actor: Principal, patient_id: int) -> EligibilityView:
    """Evaluate the latest screening record against the trial's protocol and keep the verdict."""
    patient, grant = patient_or_absent(session, actor, patient_id, Action.EDIT_PATIENTS)
    require_unlocked(session, patient=patient)
    require_recruiting(session, get_site_or_raise(session, patient.site_id))
    latest = session.scalars(
        select(ScreeningRecordVersion)
        .where(ScreeningRecordVersion.patient_id == patient.id)
        .order_by(ScreeningRecordVersion.version.desc())
        .limit(1)
    ).first()
    if latest is None:
        raise ConflictError("no screening record to evaluate: submit one first")
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    outcome = _screen(protocol, latest.data)
    row = EligibilityEvaluation(
        patient_id=patient.id,
        screening_record_id=latest.id,
        protocol_version=protocol.version,
        trialkit_version=trialkit.__version__,
        eligible=outcome.eligibility.eligible,
        verdict=outcome.eligibility.verdict,
        result=outcome.result,
        evaluated_at=utcnow(),
        evaluated_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="eligibility_evaluation",
        entity_id=row.id,
        values={
            "patient_id": patient.id,
            "screening_record_version": latest.version,
            "protocol_version": protocol.version,
            "trialkit_version": trialkit.__version__,
            "verdict": row.verdict,
        },
    )
    return _evaluation_view(row, latest.version)


def list_evaluations(
    *, session: Session, actor: Principal, patient_id: int
) -> list[EligibilityView]:
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_SCREENING)
    rows = session.execute(
        select(EligibilityEvaluation, ScreeningRecordVersion.version)
        .join(
            ScreeningRecordVersion,
            ScreeningRecordVersion.id == EligibilityEvaluation.screening_record_id,
        )
        .where(EligibilityEvaluation.patient_id == patient.id)
        .order_by(EligibilityEvaluation.id)
    ).all()
    return [_evaluation_view(row, version) for row, version in rows]


def _consent_view(row: Consent) -> ConsentView:
    return ConsentView(
        id=row.id,
        patient_id=row.patient_id,
        version=row.version,
        consent_date=row.consent_date,
        information_sheet_version=row.information_sheet_version,
        reason=row.reason,
        recorded_at=row.recorded_at,
    )


def record_consent(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    consent_date: dt.date,
    information_sheet_version: str,
    reason: str | None = None,
    today: dt.date | None = None,
) -> ConsentView:
    """Record informed consent (date, version of the information sheet); corrections version it.

    ``today``: the trial's calendar date (``Clock.today()``; default: UTC today); a consent
    date after it is refused.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.EDIT_PATIENTS)
    require_unlocked(session, patient=patient, form=CONSENT_FORM, record_key=CONSENT_FORM)
    require_recruiting(session, get_site_or_raise(session, patient.site_id))
    if consent_date > calendar_date(today):
        raise InputError("a consent date cannot lie in the future", location="consent_date")
    last = session.scalar(select(func.max(Consent.version)).where(Consent.patient_id == patient.id))
    version = int(last or 0) + 1
    reason = _require_reason(version, reason, "consent")
    row = Consent(
        patient_id=patient.id,
        version=version,
        consent_date=consent_date,
        information_sheet_version=information_sheet_version,
        reason=reason,
        recorded_at=utcnow(),
        recorded_by=actor.user_id,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError("the consent was recorded meanwhile: reload and resubmit") from exc
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="create" if version == 1 else "correct",
        entity="consent",
        entity_id=row.id,
        changes={
            "patient_id": (None, patient.id),
            "version": (version - 1 or None, version),
            "consent_date": (None, consent_date),
            "information_sheet_version": (None, information_sheet_version),
        },
        reason=reason,
    )
    return _consent_view(row)


def list_consents(*, session: Session, actor: Principal, patient_id: int) -> list[ConsentView]:
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_SCREENING)
    rows = session.scalars(
        select(Consent).where(Consent.patient_id == patient.id).order_by(Consent.version)
    )
    return [_consent_view(r) for r in rows]
