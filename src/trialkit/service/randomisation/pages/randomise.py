"""Randomisation and emergency unblinding of one patient, by her site's investigator.

The randomise page lists the service's checks
(:func:`trialkit.service.randomisation.randomisation.readiness`, the ones ``randomise`` refuses by)
with their reasons and names the missing step; a confirmation step posts the randomisation, and the
result shows the randomisation number, the kit, the background therapy and the treatment calendar,
never the arm. The service decides: its refusal, if any, is shown at the top.

Emergency unblinding asks for the password again and the medical reason, warns first,
and shows the one patient's arm once, on the response to that form; it is recorded
(with a notification to the sponsor) by the service and never shown again on a page.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PasswordRefusedError,
    RandomisationError,
)
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    SecurityDep,
    Today,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.platform.views import RandomisationView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.randomisation import Precondition
from trialkit.service.screening import patients
from trialkit.service.screening.pages.screening_form import therapy_label_of

__all__ = ["CHECK_LABELS", "randomisation_or_none", "router"]

router = APIRouter()


CHECK_LABELS: dict[Precondition, str] = {
    Precondition.SITE_RECRUITING: N_("Site recruiting"),
    Precondition.ENROLMENT_OPEN: N_("Enrolment open today"),
    Precondition.NOT_RANDOMISED: N_("Not randomised yet"),
    Precondition.ELIGIBLE: N_("Eligible"),
    Precondition.BACKGROUND_THERAPY: N_("Background therapy assigned"),
    Precondition.CONSENT: N_("Informed consent"),
    Precondition.KIT_STOCK: N_("Kits at the site"),
}
"""The page's name of each of the service's checks."""

_FIX: dict[Precondition, str] = {
    Precondition.ELIGIBLE: "/patients/{p}/screening",
    Precondition.BACKGROUND_THERAPY: "/patients/{p}/screening",
    Precondition.CONSENT: "/patients/{p}/consent",
}
"""Where an investigator fixes a failing check, when it is on a page of hers."""


def randomisation_or_none(
    session: Session, viewer: Viewer, patient_id: int
) -> RandomisationView | None:
    """The patient's randomisation as the viewer may see it, or ``None`` if not randomised."""
    try:
        return randomisation.get_randomisation(
            session=session, actor=viewer.principal, patient_id=patient_id
        )
    except NotFoundError:
        return None  # the patient is in scope (read before): she is not randomised yet


def _randomise_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    today: dt.date,
    *,
    problem: str | None = None,
    status_code: int = 200,
    done: bool = False,
    over: bool = False,
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    randomised = randomisation_or_none(session, viewer, patient_id)
    readiness = (
        None
        if randomised
        else randomisation.readiness(
            session=session, actor=viewer.principal, patient_id=patient_id, on_date=today
        )
    )
    return pages.response(
        "patients/randomise.html",
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        randomised=randomised,
        checks=readiness.checks if readiness else (),
        labels=CHECK_LABELS,
        fixes={name: url.format(p=patient_id) for name, url in _FIX.items()},
        ready=readiness is not None and readiness.ready,
        may_randomise=viewer.has(Role.INVESTIGATOR),
        problem=problem,
        done=done,
        over=over,
        today=today,
        therapy_label=therapy_label_of(session, patient.trial_id),
    )


@router.get("/patients/{patient_id}/randomise", response_class=HTMLResponse)
def randomise_page(
    patient_id: Id,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> HTMLResponse:
    """The checks, then a confirmation step; or the randomisation, once done."""
    done = request.query_params.get("done") == "1"
    over = request.query_params.get("over") == "1"
    return _randomise_page(pages, session, viewer, patient_id, today, done=done, over=over)


@router.post("/patients/{patient_id}/randomise", response_class=HTMLResponse)
def randomise(
    patient_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    problem: str | None = None
    if form.get("confirm") != "yes":
        problem = pages._("Tick the box to confirm that you want to randomise this patient now.")
    else:
        try:
            shown = randomisation.randomise(
                session=session, actor=viewer.principal, patient_id=patient_id, on_date=today
            )
        except (ConflictError, InputError, RandomisationError) as exc:
            problem = exc.message
        else:
            over = "&over=1" if shown.warning else ""
            return RedirectResponse(
                f"/patients/{patient_id}/randomise?done=1{over}", status_code=303
            )
    raise FormRejected(
        _randomise_page(pages, session, viewer, patient_id, today, problem=problem, status_code=422)
    )


# --- emergency unblinding ---------------------------------------------------------------------


def _unblinding_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    *,
    errors: dict[str, str],
    values: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    return pages.response(
        "patients/unblinding.html",
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        randomised=randomisation_or_none(session, viewer, patient_id),
        may_unblind=viewer.has(Role.INVESTIGATOR),
        errors=errors,
        values=values,
        unblinded=None,
    )


@router.get("/patients/{patient_id}/unblinding", response_class=HTMLResponse)
def unblinding_page(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    """The warning and the form; never the arm."""
    return _unblinding_page(pages, session, viewer, patient_id, errors={}, values={})


@router.post("/patients/{patient_id}/unblinding", response_class=HTMLResponse)
def unblind(
    patient_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    """The arm of this one patient, shown once on this response (recorded by the service)."""
    password = form.get("password", "")
    reason = form.get("reason", "").strip()
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = pages._("Enter your password again to confirm who you are.")
    if not reason:
        errors["reason"] = pages._("Give the medical reason for the emergency unblinding.")
    elif len(reason) > 2000:
        errors["reason"] = pages._("A reason has at most 2000 characters.")
    if form.get("understood") != "yes":
        errors["understood"] = pages._("Tick the box to confirm that you have read the warning.")
    if not errors:
        try:
            shown = randomisation.emergency_unblind(
                session=session,
                security=security,
                actor=viewer.principal,
                patient_id=patient_id,
                password=password,
                reason=reason,
            )
        except PasswordRefusedError as exc:  # caught here, the failure count and audit commit
            errors["password"] = (
                pages._(
                    "Your account is locked after repeated wrong passwords; nothing was "
                    "unblinded. Try again later or ask an administrator."
                )
                if exc.locked
                else pages._("The password is wrong; nothing was unblinded.")
            )
            return _unblinding_page(  # answered, not raised: the transaction commits
                pages,
                session,
                viewer,
                patient_id,
                errors=errors,
                values={"reason": reason},
                status_code=422,
            )
        except AuthenticationError:
            errors["password"] = pages._("The password is wrong; nothing was unblinded.")
        except NotFoundError:
            patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
            errors["form"] = pages._("The patient is not randomised: there is no arm to show.")
        except (ConflictError, InputError) as exc:
            errors[exc.location or "form"] = exc.message
        else:
            patient = patients.get_patient(
                session=session, actor=viewer.principal, patient_id=patient_id
            )
            response = pages.response(
                "patients/unblinding.html",
                viewer=viewer,
                patient=patient,
                randomised=None,
                may_unblind=False,
                errors={},
                values={},
                unblinded=shown,
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    raise FormRejected(
        _unblinding_page(
            pages,
            session,
            viewer,
            patient_id,
            errors=errors,
            values={"reason": reason},
            status_code=422,
        )
    )
