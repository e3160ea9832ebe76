"""Patients at screening: registration, screening records, eligibility, consent."""

from __future__ import annotations

from fastapi import APIRouter, status

from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import (
    ConsentCreate,
    PatientCreate,
    ScreeningRecordCreate,
)
from trialkit.service.platform.policy import Action
from trialkit.service.platform.views import (
    ConsentView,
    EligibilityView,
    PatientView,
    ScreeningRecordView,
    UnblindedPatientView,
)
from trialkit.service.screening import patients

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["patients"])
AnyPatient = PatientView | UnblindedPatientView


@router.get(
    "/sites/{site_id}/patients",
    dependencies=[requires(Action.VIEW_PATIENTS)],
    response_model=list[AnyPatient],
)
def list_patients(site_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[PatientView]:
    return patients.list_patients(session=session, actor=actor, site_id=site_id)


@router.post(
    "/sites/{site_id}/patients",
    dependencies=[requires(Action.EDIT_PATIENTS)],
    response_model=AnyPatient,
    status_code=status.HTTP_201_CREATED,
)
def register_patient(
    site_id: Id, body: PatientCreate, session: DbSession, actor: CurrentPrincipal
) -> PatientView:
    """Register a patient for screening (the site must be recruiting)."""
    return patients.register_patient(
        session=session, actor=actor, site_id=site_id, screening_number=body.screening_number
    )


@router.get(
    "/patients/{patient_id}",
    dependencies=[requires(Action.VIEW_PATIENTS)],
    response_model=AnyPatient,
)
def get_patient(patient_id: Id, session: DbSession, actor: CurrentPrincipal) -> PatientView:
    return patients.get_patient(session=session, actor=actor, patient_id=patient_id)


@router.get(
    "/patients/{patient_id}/screening-records",
    dependencies=[requires(Action.VIEW_SCREENING)],
    response_model=list[ScreeningRecordView],
)
def list_screening_records(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[ScreeningRecordView]:
    return patients.list_screening_records(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/screening-records",
    dependencies=[requires(Action.EDIT_PATIENTS)],
    response_model=ScreeningRecordView,
    status_code=status.HTTP_201_CREATED,
)
def submit_screening_record(
    patient_id: Id, body: ScreeningRecordCreate, session: DbSession, actor: CurrentPrincipal
) -> ScreeningRecordView:
    """Store the next version of the screening record; versions after the first need a reason."""
    return patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient_id, data=body.data, reason=body.reason
    )


@router.get(
    "/patients/{patient_id}/eligibility",
    dependencies=[requires(Action.VIEW_SCREENING)],
    response_model=list[EligibilityView],
)
def list_evaluations(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[EligibilityView]:
    return patients.list_evaluations(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/eligibility",
    dependencies=[requires(Action.EDIT_PATIENTS)],
    response_model=EligibilityView,
    status_code=status.HTTP_201_CREATED,
)
def evaluate_eligibility(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> EligibilityView:
    """Evaluate the latest screening record against the protocol; the verdict is kept."""
    return patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient_id)


@router.get(
    "/patients/{patient_id}/consents",
    dependencies=[requires(Action.VIEW_SCREENING)],
    response_model=list[ConsentView],
)
def list_consents(patient_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[ConsentView]:
    return patients.list_consents(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/consents",
    dependencies=[requires(Action.EDIT_PATIENTS)],
    response_model=ConsentView,
    status_code=status.HTTP_201_CREATED,
)
def record_consent(
    patient_id: Id, body: ConsentCreate, session: DbSession, actor: CurrentPrincipal, today: Today
) -> ConsentView:
    return patients.record_consent(
        session=session,
        actor=actor,
        patient_id=patient_id,
        consent_date=body.consent_date,
        information_sheet_version=body.information_sheet_version,
        reason=body.reason,
        today=today,
    )
