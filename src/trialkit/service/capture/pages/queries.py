"""The query cycle on the pages: a monitor raises, the site answers, the monitor closes or re-opens.

``/queries`` is one list for both: the investigator's work list at their sites and the
monitor's at the sites they monitor, searched, filtered and sorted in the address, with the
counts by site and by form and the aged queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, PermissionDenied, TrialkitError
from trialkit.protocol.forms import Form, Forms, Item
from trialkit.service.capture import capture as capture_service
from trialkit.service.capture import queries as query_service
from trialkit.service.capture.pages.clinical import (
    QUERY_STATUS,
    entered_forms,
    notice_number,
    trial_forms,
)
from trialkit.service.capture.pages.wording import Wording
from trialkit.service.platform.listing import Listing
from trialkit.service.platform.pages.deps import DbSession, Id, PagesDep, Today, Viewer, ViewerDep
from trialkit.service.platform.pages.deps import Form as PostedForm
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.form_pages import keyed_ids
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.screening import patients
from trialkit.service.trials import trials

__all__ = ["router"]

router = APIRouter()

FILTERS = ("status", "site", "form", "patient", "q")
QUERIES_PER_PAGE = 20
"""Each query carries its answer, close and re-open forms: 20 keep a page short."""
STATUS_CHOICES = (
    ("pending", N_("open or answered")),
    ("open", N_("open")),
    ("answered", N_("answered")),
    ("closed", N_("closed")),
    ("all", N_("all")),
)


def _reviewer(viewer: Viewer) -> bool:
    return viewer.has(Role.MONITOR)


def _queries_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    request: Request,
    today: dt.date,
    *,
    errors: dict[str, str],
    values: dict[str, str],
) -> HTMLResponse:
    if viewer.trial is None or not viewer.has(Role.INVESTIGATOR, Role.MONITOR):
        raise PermissionDenied(pages._("The query list is for investigators and monitors."))
    actor = viewer.principal
    trial_id = viewer.trial.id
    listing = Listing.from_params(
        request.query_params,
        sorts=tuple(query_service.QUERY_SORTS),
        default_sort="opened_at",
        filters=FILTERS,
        per_page=QUERIES_PER_PAGE,
    )
    given = listing.filters
    sites = trials.list_sites(session=session, actor=actor, trial_id=trial_id)
    visible = [s for s in sites if viewer.trial_wide(Role.MONITOR) or s.id in _site_ids(viewer)]
    by_code = {s.code: s.id for s in visible}
    status = given.get("status", "pending")
    found = query_service.search_queries(
        session=session,
        actor=actor,
        trial_id=trial_id,
        listing=listing,
        status=status if status in query_service.QUERY_STATUSES else "pending",
        site_id=by_code.get(given.get("site", ""), -1) if given.get("site") else None,
        form=given.get("form"),
        screening_number=given.get("patient"),
        text=given.get("q"),
    )
    counts = query_service.query_counts(
        session=session,
        actor=actor,
        trial_id=trial_id,
        today=today,
    )
    codes = {s.id: s.code for s in sites}
    definitions = trial_forms(session, trial_id)
    wording = Wording(pages, definitions)
    return pages.response(
        "patients/queries.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        found=found,
        filters={"status": "pending", **given},
        numbers=query_service.screening_numbers(session, found.items),
        site_codes=codes,
        site_options=[(s.code, f"{s.code} · {s.name}") for s in visible],
        form_options=[(f.name, pages._(f.label)) for f in entered_forms(definitions)],
        status_options=[(v, pages._(w)) for v, w in STATUS_CHOICES],
        counts=counts,
        reviewer=_reviewer(viewer),
        answers=viewer.has(Role.INVESTIGATOR),
        done=notice_number(request.query_params.get("answered"))
        or notice_number(request.query_params.get("done")),
        errors=errors,
        values=values,
        query_status=QUERY_STATUS,
        form_label=wording.form_label,
        item_label=wording.item_label,
        query_message=wording.query_message,
    )


def _site_ids(viewer: Viewer) -> set[int]:
    return {g.site_id for g in viewer.principal.grants if g.site_id is not None}


@router.get("/queries", response_class=HTMLResponse)
def query_list(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    """The site's or the monitor's queries: oldest open first, filtered in the address."""
    return _queries_page(session, viewer, pages, request, today, errors={}, values={})


def _safe_next(target: str, fallback: str) -> str:
    """Only a path of these pages: never another site, never a scheme."""
    if target.startswith(("/patients/", "/queries")) and "//" not in target and "\\" not in target:
        return target
    return fallback


def _step(
    query_id: int,
    posted: dict[str, str],
    request: Request,
    viewer: Viewer,
    session: Session,
    pages: Pages,
    today: dt.date,
    *,
    name: str,
    missing: str,
    done: str,
) -> Response:
    """Answer, close or re-open a query; the error is shown next to the text on the list."""
    text = posted.get(name, "").strip()
    back = _safe_next(posted.get("next", ""), "/queries")
    key = f"{name}-{query_id}"
    errors: dict[str, str] = {}
    if not text:
        errors[key] = pages._(missing)
    elif len(text) > 2000:
        errors[key] = pages._("Write at most 2000 characters.")
    else:
        actor = viewer.principal
        try:
            if name == "response":
                query_service.answer_query(
                    session=session, actor=actor, query_id=query_id, response=text
                )
            elif name == "resolution":
                query_service.close_query(
                    session=session, actor=actor, query_id=query_id, resolution=text
                )
            else:
                query_service.reopen_query(
                    session=session, actor=actor, query_id=query_id, comment=text
                )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            errors[key] = exc.message
        else:
            sep = "&" if "?" in back else "?"
            anchor = "#queries" if back.startswith("/patients/") else f"#query-{query_id}"
            return RedirectResponse(f"{back}{sep}{done}={query_id}{anchor}", status_code=303)
    raise FormRejected(
        _queries_page(session, viewer, pages, request, today, errors=errors, values={key: text})
    )


@router.post("/queries/{query_id}/answer", response_class=HTMLResponse)
def answer_query(
    query_id: Id,
    posted: PostedForm,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    """The site's answer (say what was corrected, or why the value stands)."""
    return _step(
        query_id,
        posted,
        request,
        viewer,
        session,
        pages,
        today,
        name="response",
        missing=N_("Write the answer to the query."),
        done="answered",
    )


@router.post("/queries/{query_id}/close", response_class=HTMLResponse)
def close_query(
    query_id: Id,
    posted: PostedForm,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    """The monitor closes a query, saying why (it is resolved, or it was raised in error)."""
    return _step(
        query_id,
        posted,
        request,
        viewer,
        session,
        pages,
        today,
        name="resolution",
        missing=N_("Say why the query is closed."),
        done="done",
    )


@router.post("/queries/{query_id}/reopen", response_class=HTMLResponse)
def reopen_query(
    query_id: Id,
    posted: PostedForm,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    """The monitor re-opens a query the answer does not resolve, saying what is still wrong."""
    return _step(
        query_id,
        posted,
        request,
        viewer,
        session,
        pages,
        today,
        name="comment",
        missing=N_("Say what is still wrong."),
        done="done",
    )


# --- raising a query -----------------------------------------------------------------------


def _latest(session: Session, viewer: Viewer, patient_id: int, form: str, key: str | None) -> Any:
    """The latest version of a record (``key`` ``None``: any), or an empty record."""
    records = capture_service.list_records(
        session=session, actor=viewer.principal, patient_id=patient_id, form=form
    )
    found = [r for r in records if key is None or r.record_key == key]
    return found[-1].data if found else {}


def _paths(
    items: tuple[Item, ...], prefix: str, path: str, data: Any, keys: Mapping[str, list[str]]
) -> Iterator[str]:
    """Each item of the record a query can be about, by its name on the form's page."""
    for item in items:
        if item.derived is not None:
            continue  # computed, not entered
        name, where = f"{prefix}{item.name}", f"{path}{item.name}"
        held = data.get(item.name) if isinstance(data, Mapping) else None
        if item.type == "group" and item.repeating:
            rows = held if isinstance(held, list) else []
            if not rows:
                yield name  # none recorded: the query asks whether there were any
            for i, row in enumerate(rows):
                yield from _paths(item.items, f"{name}.{i}.", f"{where}.", row, keys)
        elif item.type == "group":
            yield from _paths(item.items, f"{name}.", f"{where}.", held, keys)
        elif item.keyed:
            yield from (f"{name}.{key}" for key in keys.get(where, []))
        else:
            yield name


def _items(
    session: Session, viewer: Viewer, patient_id: int, forms: Forms, form: Form, key: str
) -> list[str]:
    """The items of a record a query can be raised on (its rows and lesions as recorded)."""
    data = _latest(session, viewer, patient_id, form.name, key)
    baseline = next((f for f in forms.forms if f.used == "baseline"), None)
    lesions = _latest(session, viewer, patient_id, baseline.name, None) if baseline else {}
    keys = keyed_ids(form, lesions, data)
    return list(_paths(form.items, "", "", data, keys))


def _raise_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    patient_id: int,
    forms: Forms,
    form: Form,
    key: str,
    *,
    errors: dict[str, str],
    values: dict[str, str],
) -> HTMLResponse:
    if not _reviewer(viewer):
        raise PermissionDenied(pages._("Monitors raise queries."))
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    wording = Wording(pages, forms)
    items = [
        (name, wording.item_label(form.name, name))
        for name in _items(session, viewer, patient_id, forms, form, key)
    ]
    return pages.response(
        "patients/raise_query.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        patient=patient,
        form=form.name,
        title=form.label,
        key=key,
        items=items,
        errors=errors,
        values=values,
    )


def _form_of(
    session: Session, viewer: Viewer, pages: Pages, patient_id: int, name: str
) -> tuple[Forms, Form]:
    """The definitions of the patient's trial and the case report form ``name`` among them."""
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    forms = trial_forms(session, patient.trial_id)
    form = next((f for f in entered_forms(forms) if f.name == name), None)
    if forms is None or form is None:
        raise NotFoundError(pages._("No such page."))
    return forms, form


@router.get("/patients/{patient_id}/forms/{form_name}/query", response_class=HTMLResponse)
def raise_form(
    patient_id: Id,
    form_name: str,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    key: Annotated[str, Query(min_length=1, max_length=64)],
    item: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The monitor's form to raise a query on one item of one record."""
    forms, form = _form_of(session, viewer, pages, patient_id, form_name)
    return _raise_page(
        session, viewer, pages, patient_id, forms, form, key, errors={}, values={"field": item}
    )


@router.post("/patients/{patient_id}/forms/{form_name}/query", response_class=HTMLResponse)
def raise_query(
    patient_id: Id,
    form_name: str,
    posted: PostedForm,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> Response:
    forms, form = _form_of(session, viewer, pages, patient_id, form_name)
    key = posted.get("key", "").strip()[:64]
    item = posted.get("field", "").strip()
    message = posted.get("message", "").strip()
    errors: dict[str, str] = {}
    offered = set(_items(session, viewer, patient_id, forms, form, key))
    if item not in offered:
        errors["field"] = pages._("Choose the item the query is about.")
    if not message:
        errors["message"] = pages._("Write the question to the site.")
    elif len(message) > 2000:
        errors["message"] = pages._("Write at most 2000 characters.")
    if not errors:
        try:
            raised = query_service.raise_query(
                session=session,
                actor=viewer.principal,
                patient_id=patient_id,
                form=form.name,
                record_key=key,
                field=item,
                message=message,
            )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            errors[exc.location or "message"] = exc.message
        else:
            return RedirectResponse(f"/queries?done={raised.id}#query-{raised.id}", status_code=303)
    raise FormRejected(
        _raise_page(
            session,
            viewer,
            pages,
            patient_id,
            forms,
            form,
            key,
            errors=errors,
            values={"field": item, "message": message},
        )
    )
