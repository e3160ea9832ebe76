"""Sign-off pages: the casebook with its signatures (and PDF), source data verification, the
monitor's SDV work list, and monitoring visit reports (and PDF).

* ``/patients/{id}/casebook`` (``.pdf``): every record with the signatures covering it
  (full name, UTC time, meaning) and what needs signing; the investigator signs here;
* ``/signatures``: the investigator's casebooks to sign;
* ``/patients/{id}/sdv``: the monitor verifies items, records or a visit, or raises a query;
* ``/monitor/sdv``: the work list by site and patient, with the protocol's SDV plan;
* ``/monitor/visits`` and ``/monitor/visits/{id}`` (``/report.pdf``): visit reports.

No arm: the randomisation record shows number, stratum, background therapy and date only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PasswordRefusedError,
    PermissionDenied,
)
from trialkit.report.pdf import render_pdf
from trialkit.service.capture import monitoring_visits, queries, sdv, signatures
from trialkit.service.capture.forms import case_report_forms
from trialkit.service.capture.pages.wording import Wording, wording_of
from trialkit.service.platform.listing import Listing, page_of
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    SecurityDep,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.screening import patients
from trialkit.service.screening.screening import get_protocol
from trialkit.service.trials import trials

router = APIRouter()

_OTHER_LABELS = {
    "screening": N_("Screening record (eligibility)"),
    "consent": N_("Informed consent"),
    "randomisation": N_("Randomisation"),
}


WHY = (N_("not signed"), N_("the protocol requires this form's own signature"))
"""The service's reasons a record needs signing, for the catalogue (shown translated)."""


def record_label(pages: Pages, form: str, wording: Wording) -> str:
    """A casebook record's form in words (any stored form, not only the CRFs)."""
    other = _OTHER_LABELS.get(form)
    return pages._(other) if other else wording.form_label(form)


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return "; ".join(
            f"{k}: {_shown(v)}"
            for k, v in (value.items() if isinstance(value, dict) else enumerate(value))
        )
    return "—" if value is None else str(value)


def _queryable(session: Session, viewer: Viewer, trial_id: int) -> frozenset[str]:
    """The forms a query may be raised on: the trial's case report forms, as the service has
    them (:func:`~trialkit.service.capture.forms.case_report_forms`)."""
    protocol = get_protocol(session=session, actor=viewer.principal, trial_id=trial_id)
    return frozenset(case_report_forms(protocol))


def _common(pages: Pages, session: Session, viewer: Viewer) -> dict[str, Any]:
    wording = wording_of(pages, session, viewer)
    return {
        "record_label": lambda f: record_label(pages, f, wording),
        "item_label": wording.item_label,
        "shown": _shown,
    }


# --- the casebook and its signatures -----------------------------------------------------------


def signoff_or_none(
    session: Session, viewer: Viewer, patient_id: int
) -> signatures.CasebookSignoffView | None:
    """The casebook's sign-off for the patient page; ``None`` for a role without clinical data."""
    try:
        return signatures.casebook_signoff(
            session=session, actor=viewer.principal, patient_id=patient_id
        )
    except PermissionDenied:
        return None


def _casebook(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    *,
    template: str = "signoff/casebook.html",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    signed: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    signoff = signatures.casebook_signoff(session=session, actor=actor, patient_id=patient_id)
    site = trials.get_site(session=session, actor=actor, site_id=patient.site_id)
    visit_dates = sorted({r.visit_date for r in signoff.records if r.visit_date})
    return pages.response(
        template,
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        site=site,
        signoff=signoff,
        by_id={s.id: s for s in signoff.signatures},
        visit_dates=visit_dates,
        may_sign=viewer.has(Role.INVESTIGATOR),
        errors=errors or {},
        values=values or {"meaning": signoff.meaning},
        signed=signed,
        printed_at=dt.datetime.now(dt.UTC),
        **_common(pages, session, viewer),
    )


@router.get("/patients/{patient_id}/casebook", response_class=HTMLResponse)
def casebook_page(
    patient_id: Id,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    signed: int | None = None,
) -> HTMLResponse:
    """The casebook: records, their signatures, what needs signing; the signing form."""
    return _casebook(pages, session, viewer, patient_id, signed=signed)


@router.get("/signatures", response_class=HTMLResponse)
def to_sign(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    """The investigator's casebooks to sign, at each of her sites."""
    listed = [
        (
            trials.get_site(session=session, actor=viewer.principal, site_id=site_id),
            signatures.casebooks_to_sign(session=session, actor=viewer.principal, site_id=site_id),
        )
        for site_id in viewer.site_ids(Role.INVESTIGATOR)
    ]
    return pages.response("signoff/to_sign.html", viewer=viewer, listed=listed)


@router.get("/patients/{patient_id}/casebook.pdf")
def casebook_pdf(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    """The casebook printed: every record with the signer's name, UTC time and meaning."""
    html = _casebook(pages, session, viewer, patient_id, template="signoff/casebook_pdf.html")
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    return Response(
        render_pdf(bytes(html.body).decode()),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="casebook-{patient.screening_number}.pdf"'
        },
    )


def _scope(what: str) -> tuple[signatures.Scope, str] | None:
    if what == "casebook":
        return "casebook", ""
    kind, _, key = what.partition(":")
    if kind == "visit" and key:
        return "visit", key
    if kind == "form" and key:
        return "form", key
    return None


@router.post("/patients/{patient_id}/casebook/signatures", response_class=HTMLResponse)
def sign(
    patient_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    """Sign (password re-entered, meaning stated); a wrong password is answered, not raised,
    so that the failure count and the audit event commit."""
    values = {"what": form.get("what", ""), "meaning": form.get("meaning", "").strip()}
    errors: dict[str, str] = {}
    scope = _scope(values["what"])
    if scope is None:
        errors["what"] = pages._("Choose what to sign: the casebook, a visit or a form.")
    if not values["meaning"]:
        errors["meaning"] = pages._("State the meaning of your signature.")
    if not form.get("password"):
        errors["password"] = pages._("Enter your password again: a signature is a separate act.")
    if not errors and scope is not None:
        try:
            done = signatures.sign(
                session=session,
                security=security,
                actor=viewer.principal,
                patient_id=patient_id,
                scope=scope[0],
                scope_key=scope[1],
                password=form.get("password", ""),
                meaning=values["meaning"],
            )
        except PasswordRefusedError as exc:
            errors["password"] = (
                pages._(
                    "Your account is locked after repeated wrong passwords; nothing was "
                    "signed. Try again later or ask an administrator."
                )
                if exc.locked
                else pages._("The password is wrong; nothing was signed.")
            )
        except (InputError, NotFoundError) as exc:
            errors["what"] = exc.message
        else:
            return RedirectResponse(
                f"/patients/{patient_id}/casebook?signed={done.id}", status_code=303
            )
    return _casebook(
        pages, session, viewer, patient_id, errors=errors, values=values, status_code=422
    )


# --- source data verification ------------------------------------------------------------------


def _sdv_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    view = sdv.patient_sdv(session=session, actor=actor, patient_id=patient_id)
    signoff = signatures.casebook_signoff(session=session, actor=actor, patient_id=patient_id)
    data = {(r.form, r.record_key): r.data for r in signoff.records}
    return pages.response(
        "signoff/sdv.html",
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        sdv=view,
        data=data,
        visit_dates=sorted({r.visit_date for r in view.records if r.visit_date}),
        queryable=_queryable(session, viewer, patient.trial_id),
        may_verify=viewer.has(Role.MONITOR),
        errors=errors or {},
        notice=notice,
        **_common(pages, session, viewer),
    )


@router.get("/patients/{patient_id}/sdv", response_class=HTMLResponse)
def sdv_page(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep, done: str | None = None
) -> HTMLResponse:
    notice = {
        "verified": pages._("Marked verified against source."),
        "query": pages._("Query raised."),
    }.get(done or "")
    return _sdv_page(pages, session, viewer, patient_id, notice=notice)


@router.post("/patients/{patient_id}/sdv", response_class=HTMLResponse)
def verify(
    patient_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    """Verify the items ticked of one record, a whole record, or a whole visit."""
    record = form.get("record", "")
    visit = form.get("visit_date", "")
    try:
        if visit:
            try:
                day = dt.date.fromisoformat(visit)
            except ValueError:
                raise InputError(
                    pages._("The visit date must be written YYYY-MM-DD."), location="visit_date"
                ) from None
            sdv.verify(
                session=session, actor=viewer.principal, patient_id=patient_id, visit_date=day
            )
        else:
            name, _, key = record.partition("/")
            ticked = [v for k, v in form.items() if k.startswith("item-") and v]
            if form.get("whole") != "yes" and not ticked:
                raise InputError(
                    pages._("Tick the items you verified, or verify the whole record."),
                    location="items",
                )
            sdv.verify(
                session=session,
                actor=viewer.principal,
                patient_id=patient_id,
                form=name,
                record_key=key,
                items=ticked if form.get("whole") != "yes" else None,
            )
    except (InputError, NotFoundError) as exc:
        return _sdv_page(
            pages, session, viewer, patient_id, errors={"sdv": exc.message}, status_code=422
        )
    return RedirectResponse(f"/patients/{patient_id}/sdv?done=verified", status_code=303)


@router.post("/patients/{patient_id}/sdv/query", response_class=HTMLResponse)
def raise_query(
    patient_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    """Raise a query on an item from the SDV page (the same service call as the queries page)."""
    name, _, key = form.get("record", "").partition("/")
    field, message = form.get("field", "").strip(), form.get("message", "").strip()
    problem = None
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    if name not in _queryable(session, viewer, patient.trial_id):
        problem = pages._("Queries are raised on the case report forms.")
    elif not field or not message:
        problem = pages._("Choose the item and write the question.")
    if problem is None:
        try:
            queries.raise_query(
                session=session,
                actor=viewer.principal,
                patient_id=patient_id,
                form=name,
                record_key=key,
                field=field,
                message=message[:2000],
            )
        except (InputError, NotFoundError, ConflictError) as exc:
            problem = exc.message
    if problem is not None:
        return _sdv_page(
            pages, session, viewer, patient_id, errors={"query": problem}, status_code=422
        )
    return RedirectResponse(f"/patients/{patient_id}/sdv?done=query", status_code=303)


SDV_SORTS: dict[str, Callable[[sdv.WorkItemView], Any]] = {
    "site": lambda i: (i.site_code, i.screening_number),
    "patient": lambda i: i.screening_number,
    "form": lambda i: (i.form, i.screening_number),
}


@router.get("/monitor/sdv", response_class=HTMLResponse)
def work_list(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    site: str | None = None,
) -> HTMLResponse:
    """The monitor's SDV work list, by site and patient, with the protocol's SDV plan: one
    page of it at a time (sorted and paged in the address, the site filter kept)."""
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    site_id = int(site) if site and site.isdigit() else None
    listed = sdv.work_list(
        session=session, actor=viewer.principal, trial_id=viewer.trial.id, site_id=site_id
    )
    chosen = Listing.from_params(
        request.query_params, sorts=tuple(SDV_SORTS), default_sort="site", filters=("site",)
    )
    return pages.response(
        "signoff/work_list.html",
        viewer=viewer,
        work=listed,
        found=page_of(listed.items, chosen, sort_keys=SDV_SORTS),
        sites=_monitored_sites(session, viewer),
        site_id=site_id,
        **_common(pages, session, viewer),
    )


def _monitored_sites(session: Session, viewer: Viewer) -> list[Any]:
    assert viewer.trial is not None
    every = trials.list_sites(session=session, actor=viewer.principal, trial_id=viewer.trial.id)
    held = viewer.site_ids(Role.MONITOR)
    return [s for s in every if viewer.trial_wide(Role.MONITOR) or s.id in held]


# --- monitoring visit reports ------------------------------------------------------------------


@router.get("/monitor/visits", response_class=HTMLResponse)
def visits_page(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    sites = _monitored_sites(session, viewer)
    reports = [
        (s, monitoring_visits.list_visits(session=session, actor=viewer.principal, site_id=s.id))
        for s in sites
    ]
    return pages.response(
        "signoff/visits.html", viewer=viewer, reports=reports, sites=sites, errors={}, values={}
    )


@router.post("/monitor/visits", response_class=HTMLResponse)
def open_visit(form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep) -> Response:
    try:
        day = dt.date.fromisoformat(form.get("visit_date", ""))
    except ValueError:
        raise InputError(
            pages._("The visit date must be written YYYY-MM-DD, for example 2009-06-30."),
            location="visit_date",
        ) from None
    site = form.get("site_id", "")
    if not site.isdigit():
        raise InputError(pages._("Choose the site visited."), location="site_id")
    visit = monitoring_visits.open_visit(
        session=session, actor=viewer.principal, site_id=int(site), visit_date=day
    )
    return RedirectResponse(f"/monitor/visits/{visit.id}", status_code=303)


def _visit_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    visit_id: int,
    *,
    template: str = "signoff/visit.html",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    visit = monitoring_visits.get_visit(session=session, actor=viewer.principal, visit_id=visit_id)
    return pages.response(
        template,
        status_code=status_code,
        viewer=viewer,
        visit=visit,
        may_edit=viewer.has(Role.MONITOR) and not visit.signed,
        errors=errors or {},
        values=values or {"findings": visit.findings, "meaning": pages._(VISIT_MEANING)},
        printed_at=dt.datetime.now(dt.UTC),
        **_common(pages, session, viewer),
    )


VISIT_MEANING = N_("I confirm that this report is a true account of the monitoring visit.")


@router.get("/monitor/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(
    visit_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    return _visit_page(pages, session, viewer, visit_id)


@router.get("/monitor/visits/{visit_id}/report.pdf")
def visit_pdf(visit_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep) -> Response:
    html = _visit_page(pages, session, viewer, visit_id, template="signoff/visit_pdf.html")
    return Response(
        render_pdf(bytes(html.body).decode()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="monitoring-visit-{visit_id}.pdf"'},
    )


@router.post("/monitor/visits/{visit_id}/findings", response_class=HTMLResponse)
def save_findings(
    visit_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    monitoring_visits.update_findings(
        session=session,
        actor=viewer.principal,
        visit_id=visit_id,
        findings=form.get("findings", "")[:20000],
    )
    return RedirectResponse(f"/monitor/visits/{visit_id}", status_code=303)


@router.post("/monitor/visits/{visit_id}/signature", response_class=HTMLResponse)
def sign_visit(
    visit_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    values = {"meaning": form.get("meaning", "").strip(), "findings": form.get("findings", "")}
    errors: dict[str, str] = {}
    if not values["meaning"]:
        errors["meaning"] = pages._("State the meaning of your signature.")
    if not form.get("password"):
        errors["password"] = pages._("Enter your password again: a signature is a separate act.")
    if not errors:
        try:
            monitoring_visits.sign_visit(
                session=session,
                security=security,
                actor=viewer.principal,
                visit_id=visit_id,
                password=form.get("password", ""),
                meaning=values["meaning"],
            )
        except PasswordRefusedError as exc:
            errors["password"] = (
                pages._(
                    "Your account is locked after repeated wrong passwords; nothing was signed."
                )
                if exc.locked
                else pages._("The password is wrong; nothing was signed.")
            )
        except (InputError, ConflictError, PermissionDenied) as exc:
            errors["meaning"] = exc.message
        else:
            return RedirectResponse(f"/monitor/visits/{visit_id}", status_code=303)
    return _visit_page(
        pages, session, viewer, visit_id, errors=errors, values=values, status_code=422
    )
