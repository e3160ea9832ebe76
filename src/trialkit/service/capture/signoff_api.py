"""Sign-off over the API: electronic signatures, source data verification, monitoring visits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trialkit.service.capture import monitoring_visits, sdv, signatures
from trialkit.service.capture.monitoring_visits import MonitoringVisitView
from trialkit.service.capture.sdv import PatientSdvView, WorkListView
from trialkit.service.capture.signatures import (
    CasebookSignoffView,
    CasebookToSignView,
    SignatureView,
)
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, SecurityDep
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import IdField, Password
from trialkit.service.platform.policy import Action

__all__ = ["router"]

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["sign-off"])

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignatureBody(_Body):
    """A signature: what is signed (the casebook, a visit by date, a form as FORM/RECORD_KEY),
    the signer's password re-entered and the meaning of the signature."""

    scope: Literal["casebook", "visit", "form"]
    scope_key: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""
    password: Password
    meaning: Text


class VerificationBody(_Body):
    """What a monitor verified against source: items of one record, a whole record (no
    items), or every record of one visit (``visit_date`` alone)."""

    form: Name | None = None
    record_key: Name | None = None
    items: Annotated[list[Name], Field(max_length=500)] | None = None
    visit_date: dt.date | None = None
    monitoring_visit_id: IdField | None = None


class VisitBody(_Body):
    visit_date: dt.date
    findings: Annotated[str, StringConstraints(max_length=20000)] = ""


class FindingsBody(_Body):
    findings: Annotated[str, StringConstraints(max_length=20000)]


class VisitSignatureBody(_Body):
    password: Password
    meaning: Text


_PASSWORD = {401: {"description": "Wrong password (counts towards the lock-out) or locked"}}


@router.get(
    "/patients/{patient_id}/signoff",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=CasebookSignoffView,
)
def casebook_signoff(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> CasebookSignoffView:
    """The casebook's signatures (valid and void, with reasons) and what needs signing."""
    return signatures.casebook_signoff(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/signatures",
    dependencies=[requires(Action.SIGN_CASEBOOK)],
    response_model=SignatureView,
    status_code=status.HTTP_201_CREATED,
    responses=_PASSWORD,  # type: ignore[arg-type]
)
def sign(
    patient_id: Id,
    body: SignatureBody,
    session: DbSession,
    security: SecurityDep,
    actor: CurrentPrincipal,
) -> SignatureView:
    """Sign the casebook, a visit or a form electronically (password re-entered)."""
    return signatures.sign(
        session=session,
        security=security,
        actor=actor,
        patient_id=patient_id,
        scope=body.scope,
        scope_key=body.scope_key,
        password=body.password,
        meaning=body.meaning,
    )


@router.get(
    "/sites/{site_id}/casebooks-to-sign",
    dependencies=[requires(Action.SIGN_CASEBOOK)],
    response_model=list[CasebookToSignView],
)
def casebooks_to_sign(
    site_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[CasebookToSignView]:
    """The site's patients whose casebooks have records to sign (the investigator's list)."""
    return signatures.casebooks_to_sign(session=session, actor=actor, site_id=site_id)


@router.get(
    "/patients/{patient_id}/sdv",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=PatientSdvView,
)
def patient_sdv(patient_id: Id, session: DbSession, actor: CurrentPrincipal) -> PatientSdvView:
    """Every record of the patient with its verification and the SDV plan's requirement."""
    return sdv.patient_sdv(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/sdv",
    dependencies=[requires(Action.VERIFY_SOURCE)],
    response_model=PatientSdvView,
)
def verify(
    patient_id: Id, body: VerificationBody, session: DbSession, actor: CurrentPrincipal
) -> PatientSdvView:
    """Mark items, a record or a visit verified against source."""
    return sdv.verify(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=body.form,
        record_key=body.record_key,
        items=body.items,
        visit_date=body.visit_date,
        monitoring_visit_id=body.monitoring_visit_id,
    )


@router.get(
    "/trials/{trial_id}/sdv-work-list",
    dependencies=[requires(Action.VERIFY_SOURCE)],
    response_model=WorkListView,
)
def work_list(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal, site_id: int | None = None
) -> WorkListView:
    """What the SDV plan requires and is not verified, by site and patient."""
    return sdv.work_list(session=session, actor=actor, trial_id=trial_id, site_id=site_id)


@router.get(
    "/sites/{site_id}/monitoring-visits",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=list[MonitoringVisitView],
)
def list_visits(
    site_id: Id, session: DbSession, actor: CurrentPrincipal
) -> list[MonitoringVisitView]:
    return monitoring_visits.list_visits(session=session, actor=actor, site_id=site_id)


@router.post(
    "/sites/{site_id}/monitoring-visits",
    dependencies=[requires(Action.VERIFY_SOURCE)],
    response_model=MonitoringVisitView,
    status_code=status.HTTP_201_CREATED,
)
def open_visit(
    site_id: Id, body: VisitBody, session: DbSession, actor: CurrentPrincipal
) -> MonitoringVisitView:
    """Open a monitoring visit report at a site."""
    return monitoring_visits.open_visit(
        session=session,
        actor=actor,
        site_id=site_id,
        visit_date=body.visit_date,
        findings=body.findings,
    )


@router.get(
    "/monitoring-visits/{visit_id}",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=MonitoringVisitView,
)
def get_visit(visit_id: Id, session: DbSession, actor: CurrentPrincipal) -> MonitoringVisitView:
    return monitoring_visits.get_visit(session=session, actor=actor, visit_id=visit_id)


@router.put(
    "/monitoring-visits/{visit_id}/findings",
    dependencies=[requires(Action.VERIFY_SOURCE)],
    response_model=MonitoringVisitView,
)
def update_findings(
    visit_id: Id, body: FindingsBody, session: DbSession, actor: CurrentPrincipal
) -> MonitoringVisitView:
    return monitoring_visits.update_findings(
        session=session, actor=actor, visit_id=visit_id, findings=body.findings
    )


@router.post(
    "/monitoring-visits/{visit_id}/signature",
    dependencies=[requires(Action.VERIFY_SOURCE)],
    response_model=MonitoringVisitView,
    responses=_PASSWORD,  # type: ignore[arg-type]
)
def sign_visit(
    visit_id: Id,
    body: VisitSignatureBody,
    session: DbSession,
    security: SecurityDep,
    actor: CurrentPrincipal,
) -> MonitoringVisitView:
    """Sign the monitoring visit report (password re-entered); it is fixed from then on."""
    return monitoring_visits.sign_visit(
        session=session,
        security=security,
        actor=actor,
        visit_id=visit_id,
        password=body.password,
        meaning=body.meaning,
    )
