"""The audit trail searched as a person asks of it: by user, date, kind of record and patient.

A patient's history is every event about her or any of her records, from registration
through screening, consent, randomisation, dispensing and every case report form to the
end of the study; the records are found here, where every slice's tables can be read.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.capture.tables import CaptureRecord, DataQuery
from trialkit.service.platform import audit
from trialkit.service.platform.listing import Listing, ListPage
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation.tables.randomisation import Randomisation, Unblinding
from trialkit.service.randomisation.tables.supply import Dispensing
from trialkit.service.screening.tables import (
    Consent,
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)

__all__ = ["patient_records", "search_trail"]

_PATIENT_TABLES = (
    ("screening_record", ScreeningRecordVersion),
    ("eligibility_evaluation", EligibilityEvaluation),
    ("consent", Consent),
    ("randomisation", Randomisation),
    ("emergency_unblinding", Unblinding),
    ("dispensing", Dispensing),
    ("data_query", DataQuery),
)


def patient_records(session: Session, patient_ids: list[int]) -> list[tuple[str, list[str]]]:
    """The patients and each of their records, as (record kind, ids) pairs of the trail."""
    refs: list[tuple[str, list[str]]] = [("patient", [str(i) for i in patient_ids])]
    for kind, table in _PATIENT_TABLES:
        ids = session.scalars(select(table.id).where(table.patient_id.in_(patient_ids)))
        refs.append((kind, [str(i) for i in ids]))
    forms: dict[str, list[str]] = {}
    for form, record_id in session.execute(
        select(CaptureRecord.form, CaptureRecord.id).where(
            CaptureRecord.patient_id.in_(patient_ids)
        )
    ):
        forms.setdefault(form, []).append(str(record_id))
    refs.extend(sorted(forms.items()))
    return refs


def search_trail(
    *,
    session: Session,
    actor: Principal,
    search: audit.AuditSearch,
    listing: Listing,
    patient: str | None = None,
) -> ListPage[dict[str, object]]:
    """:func:`audit.search_events`, and with ``patient`` (a screening number) her whole history.

    A screening number that names no patient finds nothing.
    """
    authorize(actor, Action.VIEW_AUDIT, trial_id=None)
    if patient:
        ids = list(
            session.scalars(select(Patient.id).where(Patient.screening_number == patient.strip()))
        )
        search = replace(search, records=patient_records(session, ids) if ids else [])
    return audit.search_events(session=session, actor=actor, search=search, listing=listing)
