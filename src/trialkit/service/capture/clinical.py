"""What the clinical use cases share: the patient in scope, randomisation, records, RECIST."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from trialkit.endpoints import LesionRecord, RecistEvaluation, evaluate_recist
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.errors import ConflictError
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.randomisation import randomised
from trialkit.service.screening.tables import Patient, ScreeningRecordVersion
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "date_of_birth",
    "evaluate_patient",
    "latest_records",
    "latest_records_of",
    "lesion_record",
    "require_randomised",
]


def require_randomised(session: Session, patient: Patient) -> dt.date:
    """The randomisation date; clinical forms are recorded only for randomised patients."""
    when = randomised.randomisation_date(session=session, patient=patient)
    if when is None:
        raise ConflictError(
            f"patient {patient.screening_number} is not randomised: clinical data are recorded "
            "after randomisation"
        )
    return when


def date_of_birth(session: Session, patient_id: int) -> dt.date | None:
    """The date of birth in the patient's latest screening record (``None`` if not given)."""
    data = session.scalar(
        select(ScreeningRecordVersion.data)
        .where(ScreeningRecordVersion.patient_id == patient_id)
        .order_by(ScreeningRecordVersion.version.desc())
        .limit(1)
    )
    given = (data or {}).get("patient", {})
    born = given.get("date_of_birth") if isinstance(given, dict) else None
    try:
        return dt.date.fromisoformat(born) if isinstance(born, str) else None
    except ValueError:  # the screening record validates its dates: not seen, but not fatal
        return None


def latest_records(session: Session, patient_id: int) -> list[CaptureRecord]:
    """The latest version of every record of the patient, by form then key."""
    rows = session.scalars(
        select(CaptureRecord)
        .where(CaptureRecord.patient_id == patient_id)
        .order_by(CaptureRecord.form, CaptureRecord.record_key, CaptureRecord.version)
    )
    latest: dict[tuple[str, str], CaptureRecord] = {}
    for row in rows:
        latest[(row.form, row.record_key)] = row
    return list(latest.values())


def latest_records_of(session: Session, patients: Select[int]) -> dict[int, list[CaptureRecord]]:
    """:func:`latest_records` of many patients in one query: patient id -> its latest records.

    ``patients`` selects the patient ids; a patient without records is absent from the result.
    """
    rows = session.scalars(
        select(CaptureRecord)
        .where(CaptureRecord.patient_id.in_(patients.scalar_subquery()))
        .order_by(
            CaptureRecord.patient_id,
            CaptureRecord.form,
            CaptureRecord.record_key,
            CaptureRecord.version,
        )
    )
    latest: dict[int, dict[tuple[str, str], CaptureRecord]] = {}
    for row in rows:
        latest.setdefault(row.patient_id, {})[(row.form, row.record_key)] = row
    return {patient_id: list(records.values()) for patient_id, records in latest.items()}


def tumour_forms(roles: Mapping[str, str]) -> tuple[str, str]:
    """The names of the tumour baseline and tumour assessment forms: the protocol's roles
    (``forms.roles``); ``""`` for a role the protocol gives no form."""
    return roles.get("tumour_baseline", ""), roles.get("tumour_assessment", "")


def lesion_record(
    records: list[CaptureRecord],
    randomisation_date: dt.date,
    roles: Mapping[str, str],
) -> tuple[LesionRecord | None, dict[int, str]]:
    """The RECIST input from the latest tumour records, and assessment index -> record key.

    ``None`` without a dated baseline. Assessments without a date are left out (an edit check
    queries the missing date); they are put in date order. ``roles``: the protocol's forms by
    role (:func:`tumour_forms`).
    """
    first, later = tumour_forms(roles)
    baseline = next((r for r in records if r.form == first), None)
    if baseline is None or baseline.data.get("date") is None:
        return None, {}
    dated = sorted(
        (r for r in records if r.form == later and r.data.get("date")),
        key=lambda r: str(r.data["date"]),
    )
    assessments: list[dict[str, Any]] = []
    keys: dict[int, str] = {}
    seen: set[str] = set()
    for row in dated:
        when = str(row.data["date"])
        if when in seen or when <= str(baseline.data["date"]):
            continue  # same-day or pre-baseline scans: queried by the edit checks
        seen.add(when)
        keys[len(assessments)] = row.record_key
        assessments.append({k: v for k, v in row.data.items() if v is not None})
    record = LesionRecord.model_validate(
        {
            "randomisation_date": randomisation_date,
            "baseline": baseline.data,
            "assessments": assessments,
        }
    )
    return record, keys


def evaluate_patient(
    session: Session, patient: Patient, records: list[CaptureRecord], randomisation_date: dt.date
) -> RecistEvaluation | None:
    """RECIST 1.1 over the patient's latest tumour records under the trial's response rules."""
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    roles = protocol.forms.roles if protocol.forms is not None else {}
    record, _ = lesion_record(records, randomisation_date, roles)
    if record is None:
        return None
    return evaluate_recist(record, protocol.response or DEFAULT_CRITERIA)
