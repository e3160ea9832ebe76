"""Clinical data after randomisation: records, tumour response, checks, queries, schedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict

from trialkit.service.capture import capture, edit_checks, grid, history, queries, visits
from trialkit.service.capture.capture import CaptureView, TumourResponseView
from trialkit.service.capture.edit_checks import EditCheckReport
from trialkit.service.capture.forms import FormView, trial_forms
from trialkit.service.capture.grid import PatientGrid
from trialkit.service.capture.history import RecordHistory
from trialkit.service.capture.patient_pfs import PfsView, patient_pfs
from trialkit.service.capture.queries import QueryView
from trialkit.service.capture.recist_preview import preview_tumour_response
from trialkit.service.capture.visits import ScheduleView
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import (
    FormRecordCreate,
    QueryAnswer,
    QueryClosure,
    QueryCreate,
    QueryReopening,
    TumourPreviewBody,
)
from trialkit.service.platform.policy import Action

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["clinical data"])
_FORM_NAME = r"^[a-z][a-z0-9_]{0,31}$"
FormName = Annotated[
    str,
    Path(
        pattern=_FORM_NAME,
        description="A case report form of the trial's protocol "
        "(GET /api/trials/{trial_id}/forms lists them with their schemas)",
    ),
]
FormQuery = Annotated[str | None, Query(pattern=_FORM_NAME, description="Only this form's records")]
Status = Literal["open", "answered", "closed"]


class TumourPreviewView(BaseModel):
    """The RECIST 1.1 evaluation a tumour form would give if saved (nothing is saved)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    evaluation: dict[str, Any] | None
    """``None`` without a dated baseline."""


@router.get(
    "/trials/{trial_id}/forms",
    dependencies=[requires(Action.VIEW_TRIAL)],
    response_model=list[FormView],
)
def list_forms(trial_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[FormView]:
    """The trial's forms as its protocol defines them, each with the JSON Schema of a record."""
    return trial_forms(session=session, actor=actor, trial_id=trial_id)


@router.get(
    "/patients/{patient_id}/records",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=list[CaptureView],
)
def list_records(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, form: FormQuery = None
) -> list[CaptureView]:
    """Every version of every form record of the patient (of one form with ?form=)."""
    return capture.list_records(session=session, actor=actor, patient_id=patient_id, form=form)


@router.post(
    "/patients/{patient_id}/records/{form}",
    dependencies=[requires(Action.EDIT_CLINICAL)],
    response_model=CaptureView,
    status_code=status.HTTP_201_CREATED,
)
def record_form(
    patient_id: Id,
    form: FormName,
    body: FormRecordCreate,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
) -> CaptureView:
    """Record a form (a correction names its record_key and says why); checks run on save."""
    return capture.record_form(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=form,
        data=body.data,
        record_key=body.record_key,
        reason=body.reason,
        today=today,
    )


@router.get(
    "/patients/{patient_id}/tumour-response",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=TumourResponseView,
)
def tumour_response(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal
) -> TumourResponseView:
    """RECIST 1.1 over the latest tumour records (the recist evaluate JSON contract)."""
    return capture.tumour_response(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/tumour-response/preview",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=TumourPreviewView,
)
def preview_tumour(
    patient_id: Id, body: TumourPreviewBody, session: DbSession, actor: CurrentPrincipal
) -> TumourPreviewView:
    """The evaluation with this form entered as ``record_key`` (a new one without): not saved."""
    evaluation = preview_tumour_response(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=body.form,
        data=body.data,
        record_key=body.record_key,
    )
    return TumourPreviewView(patient_id=patient_id, evaluation=evaluation)


@router.get(
    "/patients/{patient_id}/pfs",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=PfsView | None,
)
def pfs(patient_id: Id, session: DbSession, actor: CurrentPrincipal) -> PfsView | None:
    """The patient's PFS as derived now (FDA 2018 censoring); ``null`` before randomisation."""
    return patient_pfs(session=session, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/edit-checks",
    dependencies=[requires(Action.RUN_EDIT_CHECKS)],
    response_model=EditCheckReport,
)
def run_edit_checks(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today
) -> EditCheckReport:
    """Run the edit checks now; failures not yet queried open queries."""
    return edit_checks.run_edit_checks(
        session=session, actor=actor, patient_id=patient_id, today=today
    )


@router.get(
    "/patients/{patient_id}/queries",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=list[QueryView],
)
def list_patient_queries(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, status: Status | None = None
) -> list[QueryView]:
    return queries.list_patient_queries(
        session=session, actor=actor, patient_id=patient_id, status=status
    )


@router.post(
    "/patients/{patient_id}/queries",
    dependencies=[requires(Action.REVIEW_QUERIES)],
    response_model=QueryView,
    status_code=201,
)
def raise_query(
    patient_id: Id,
    form: Annotated[str, Query(pattern=_FORM_NAME, description="The record's form")],
    body: QueryCreate,
    session: DbSession,
    actor: CurrentPrincipal,
) -> QueryView:
    """A monitor raises a query on a field by hand (?form= names the form)."""
    return queries.raise_query(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=form,
        record_key=body.record_key,
        field=body.field,
        message=body.message,
    )


@router.get(
    "/sites/{site_id}/queries",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=list[QueryView],
)
def list_site_queries(
    site_id: Id, session: DbSession, actor: CurrentPrincipal, status: Status | None = None
) -> list[QueryView]:
    """The site's queries (the investigator's work list)."""
    return queries.list_site_queries(session=session, actor=actor, site_id=site_id, status=status)


@router.get(
    "/trials/{trial_id}/queries",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=list[QueryView],
)
def list_trial_queries(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal, status: Status | None = None
) -> list[QueryView]:
    """Every query at the caller's sites (the monitor's work list)."""
    return queries.list_trial_queries(
        session=session, actor=actor, trial_id=trial_id, status=status
    )


@router.post(
    "/queries/{query_id}/answer",
    dependencies=[requires(Action.EDIT_CLINICAL)],
    response_model=QueryView,
)
def answer_query(
    query_id: Id, body: QueryAnswer, session: DbSession, actor: CurrentPrincipal
) -> QueryView:
    """The site answers a query."""
    return queries.answer_query(
        session=session, actor=actor, query_id=query_id, response=body.response
    )


@router.post(
    "/queries/{query_id}/closure",
    dependencies=[requires(Action.REVIEW_QUERIES)],
    response_model=QueryView,
)
def close_query(
    query_id: Id, body: QueryClosure, session: DbSession, actor: CurrentPrincipal
) -> QueryView:
    """A monitor closes a query."""
    return queries.close_query(
        session=session, actor=actor, query_id=query_id, resolution=body.resolution
    )


@router.post(
    "/queries/{query_id}/reopen",
    dependencies=[requires(Action.REVIEW_QUERIES)],
    response_model=QueryView,
)
def reopen_query(
    query_id: Id, body: QueryReopening, session: DbSession, actor: CurrentPrincipal
) -> QueryView:
    """A monitor re-opens an answered or closed query, saying what is still wrong (409 when
    it is open)."""
    return queries.reopen_query(
        session=session, actor=actor, query_id=query_id, comment=body.comment
    )


@router.get(
    "/patients/{patient_id}/schedule",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=ScheduleView,
)
def patient_schedule(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today
) -> ScheduleView:
    """Expected visits and windows from the protocol, flagged done, overdue or out of window."""
    return visits.patient_visits(session=session, actor=actor, patient_id=patient_id, today=today)


@router.get(
    "/patients/{patient_id}/grid",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=PatientGrid,
)
def patient_grid(
    patient_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today
) -> PatientGrid:
    """The patient's visits by forms, each cell's status, and her status (as on the page)."""
    return grid.patient_grid(session=session, actor=actor, patient_id=patient_id, today=today)


@router.get(
    "/patients/{patient_id}/records/{form}/{record_key}/history",
    dependencies=[requires(Action.VIEW_CLINICAL)],
    response_model=RecordHistory,
)
def record_history(
    patient_id: Id, form: str, record_key: str, session: DbSession, actor: CurrentPrincipal
) -> RecordHistory:
    """One record's item changes, newest first: who, when, before and after, why."""
    return history.record_history(
        session=session, actor=actor, patient_id=patient_id, form=form, record_key=record_key
    )
