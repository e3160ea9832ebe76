"""The patient's grid (visits by forms, each cell's status in words and colour) and the
history of one record's items, both from the capture slice's service functions."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from trialkit.errors import PermissionDenied
from trialkit.service.capture import grid as grid_service
from trialkit.service.capture import history as history_service
from trialkit.service.capture.pages.clinical import trial_forms
from trialkit.service.capture.pages.wording import Wording
from trialkit.service.capture.visits import ScheduleView
from trialkit.service.platform.pages.deps import DbSession, Id, PagesDep, Today, Viewer, ViewerDep
from trialkit.service.screening import patients

router = APIRouter()


def grid_or_none(
    session: Session,
    viewer: Viewer,
    patient_id: int,
    today: dt.date,
    schedule: ScheduleView | None = None,
) -> grid_service.PatientGrid | None:
    """The grid for the patient page; ``None`` for a role without clinical data.
    ``schedule``: the patient's visits where the page has them already."""
    try:
        return grid_service.patient_grid(
            session=session,
            actor=viewer.principal,
            patient_id=patient_id,
            today=today,
            schedule=schedule,
        )
    except PermissionDenied:
        return None


@router.get("/patients/{patient_id}/grid", response_class=HTMLResponse)
def grid_page(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep, today: Today
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    grid = grid_service.patient_grid(
        session=session, actor=viewer.principal, patient_id=patient_id, today=today
    )
    wording = Wording(pages, trial_forms(session, patient.trial_id))
    return pages.response(
        "patients/grid.html",
        viewer=viewer,
        patient=patient,
        grid=grid,
        status_reason=wording.status_reason,
    )


@router.get(
    "/patients/{patient_id}/records/{form}/{record_key}/history", response_class=HTMLResponse
)
def history_page(
    patient_id: Id,
    form: str,
    record_key: str,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    history = history_service.record_history(
        session=session,
        actor=viewer.principal,
        patient_id=patient_id,
        form=form,
        record_key=record_key,
    )
    return pages.response("patients/history.html", viewer=viewer, patient=patient, history=history)
