"""Clinical data after randomisation: the case report forms, tumour assessments, queries.

Each form is a plain HTML form (no JavaScript needed): a new record, or a correction of an
existing one (a new version, which needs a reason, as the service requires). Errors of the
service come back next to the field they name; the RECIST result of a tumour form is shown
on the patient page once saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, PermissionDenied, RecordError, TrialkitError
from trialkit.protocol.forms import Form, Forms
from trialkit.service.capture import capture as capture_service
from trialkit.service.capture import queries as query_service
from trialkit.service.capture.capture import CaptureView
from trialkit.service.capture.clinical import tumour_forms
from trialkit.service.capture.pages.wording import Wording
from trialkit.service.capture.queries import QueryView
from trialkit.service.capture.recist_preview import preview_tumour_response
from trialkit.service.platform.pages.deps import DbSession, Id, PagesDep, Today, Viewer, ViewerDep
from trialkit.service.platform.pages.deps import Form as PostedForm
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.form_pages import (
    CheckedField,
    Converted,
    SectionView,
    field_check,
    field_of_location,
    form_fields,
    keyed_ids,
    page_field,
    page_sections,
    page_to_record,
    progress,
    record_to_page,
    rows_changed,
    section_values,
)
from trialkit.service.platform.pages.labels import CORRECTION_NEEDS_REASON, N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.views import PatientView
from trialkit.service.screening import patients
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "QUERY_STATUS",
    "entered_forms",
    "latest_versions",
    "notice_number",
    "router",
    "trial_forms",
]

router = APIRouter()

QUERY_STATUS = {"open": N_("open"), "answered": N_("answered"), "closed": N_("closed")}
"""The words for a query's status."""


def trial_forms(session: Session, trial_id: int) -> Forms | None:
    """The form definitions of the trial's protocol (``None`` when it defines none)."""
    return trial_protocol(get_trial_or_raise(session, trial_id)).forms


def entered_forms(forms: Forms | None) -> list[Form]:
    """The case report forms a site enters on these pages, in the protocol's order."""
    return [f for f in forms.forms if f.used != "screening"] if forms else []


def _form_or_absent(pages: Pages, forms: Forms | None, name: str) -> Form:
    form = next((f for f in entered_forms(forms) if f.name == name), None)
    if form is None:
        raise NotFoundError(pages._("No such page."))
    return form


def latest_versions(records: list[CaptureView]) -> list[CaptureView]:
    """The latest version of each record (records come oldest first)."""
    latest: dict[tuple[str, str], CaptureView] = {}
    for record in records:
        latest[(record.form, record.record_key)] = record
    return list(latest.values())


def _baseline(session: Session, viewer: Viewer, forms: Forms, patient_id: int) -> dict[str, Any]:
    """The latest record of the protocol's baseline form (its lesions key the assessments)."""
    form = next((f for f in forms.forms if f.used == "baseline"), None)
    if form is None:
        return {}
    records = capture_service.list_records(
        session=session, actor=viewer.principal, patient_id=patient_id, form=form.name
    )
    return records[-1].data if records else {}


def _record_queries(
    session: Session, viewer: Viewer, patient_id: int, form: Form, key: str | None
) -> list[QueryView]:
    """The queries on one record that are not closed (``[]`` for a new record)."""
    if key is None:
        return []
    listed = query_service.list_patient_queries(
        session=session, actor=viewer.principal, patient_id=patient_id
    )
    return [
        q for q in listed if q.form == form.name and q.record_key == key and q.status != "closed"
    ]


def _entered(value: Any) -> bool:
    """Whether anything was entered (a blank form would only open queries on every field)."""
    if isinstance(value, dict):
        return any(_entered(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_entered(v) for v in value)
    return value is not None and value != ""


def _response(session: Session, viewer: Viewer, ctx: _Context) -> dict[str, Any] | None:
    """The RECIST evaluation so far, shown beside the tumour forms (``None`` for others)."""
    if not ctx.tumour:
        return None
    patient_id = ctx.patient.id
    try:
        return capture_service.tumour_response(
            session=session, actor=viewer.principal, patient_id=patient_id
        ).evaluation
    except TrialkitError:  # not randomised: saving says so next to the form
        return None


@dataclass(frozen=True)
class _Context:
    """What a form's page is built from: the definitions, the form, the record's versions."""

    patient: PatientView
    forms: Forms
    form: Form
    versions: list[CaptureView]
    keys: dict[str, list[str]]

    @property
    def key(self) -> str | None:
        return self.versions[-1].record_key if self.versions else None

    @property
    def tumour(self) -> bool:
        """Whether the form is one of the protocol's tumour forms (by their roles), which show
        the RECIST response beside them."""
        return self.form.name in tumour_forms(self.forms.roles)


def _context(
    session: Session, viewer: Viewer, pages: Pages, patient_id: int, name: str, key: str | None
) -> _Context:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    forms = trial_forms(session, patient.trial_id)
    form = _form_or_absent(pages, forms, name)
    assert forms is not None  # the form was found there
    versions = _existing(session, viewer, patient_id, form, key)
    data = versions[-1].data if versions else None
    keys = keyed_ids(form, _baseline(session, viewer, forms, patient_id), data)
    return _Context(patient, forms, form, versions, keys)


def _labels(pages: Pages, sections: tuple[SectionView, ...]) -> dict[str, str]:
    labels = {
        "reason": pages._("Reason for the correction"),
        "form": pages._("The form"),
    }
    labels.update({name: pages._(f.label) for name, f in form_fields(sections).items()})
    return labels


def _page(
    pages: Pages,
    ctx: _Context,
    *,
    viewer: Viewer,
    values: dict[str, str],
    errors: dict[str, str],
    response: dict[str, Any] | None = None,
    preview: bool = False,
    status_code: int = 200,
    queries: list[QueryView] | None = None,
    saved_section: str | None = None,
) -> HTMLResponse:
    form = ctx.form
    sections = page_sections(ctx.forms, form, values, ctx.keys)
    all_labels = _labels(pages, sections)
    labels = {key: label for key, label in all_labels.items() if key in errors}
    # each open query next to its field, and all of them in a summary at the top
    field_queries: dict[str, list[QueryView]] = {}
    query_summary: list[tuple[QueryView, str | None, str]] = []
    for query in queries or []:
        name = page_field(sections, query.field, ctx.keys)
        if name is not None:
            field_queries.setdefault(name, []).append(query)
        query_summary.append((query, name, all_labels.get(name or "", query.field)))
    keyed = [(path, item.label) for path, item in form.walk() if item.keyed]
    baseline = next((f for f in ctx.forms.forms if f.used == "baseline"), None)
    return pages.response(
        "patients/record_form.html",
        labels=labels,
        response=response,
        preview=preview,
        status_code=status_code,
        viewer=viewer,
        patient=ctx.patient,
        form=form.name,
        title=form.label,
        help=form.help,
        key=ctx.key,
        version=len(ctx.versions) + 1,
        values=values,
        errors=errors,
        sections=sections,
        tumour=ctx.tumour,
        missing_keys=[(path, label) for path, label in keyed if not ctx.keys.get(path)],
        baseline_form=(baseline.name, baseline.label) if baseline else None,
        field_queries=field_queries,
        query_summary=query_summary,
        query_status=QUERY_STATUS,
        progress=progress(form, _stored(ctx), values) if len(form.sections) > 1 else None,
        saved_section=saved_section,
        check_url=f"/patients/{ctx.patient.id}/forms/{form.name}/field",
        query_message=Wording(pages, ctx.forms).query_message,
    )


def _stored(ctx: _Context) -> dict[str, str]:
    """The inputs' values of the latest version (``{}`` for a new record)."""
    return record_to_page(ctx.form, ctx.versions[-1].data, ctx.keys) if ctx.versions else {}


def _existing(
    session: Session, viewer: Viewer, patient_id: int, form: Form, key: str | None
) -> list[CaptureView]:
    """The versions of the record being corrected (``[]`` for a new record)."""
    records = capture_service.list_records(
        session=session, actor=viewer.principal, patient_id=patient_id, form=form.name
    )
    if key is None:
        # forms recorded once are corrected, never added twice
        return [r for r in records if r.record_key == form.name]
    versions = [r for r in records if r.record_key == key]
    if not versions:
        raise NotFoundError(f"no {form.name} record {key!r} for this patient", location="key")
    return versions


@router.get("/patients/{patient_id}/forms/{form_name}", response_class=HTMLResponse)
def record_form_page(
    patient_id: Id,
    form_name: str,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    key = request.query_params.get("key") or None
    ctx = _context(session, viewer, pages, patient_id, form_name, key)
    values = _stored(ctx)
    return _page(
        pages,
        ctx,
        response=_response(session, viewer, ctx),
        viewer=viewer,
        values=values,
        errors={},
        queries=_record_queries(session, viewer, patient_id, ctx.form, ctx.key),
    )


@router.post("/patients/{patient_id}/forms/{form_name}", response_class=HTMLResponse)
def record_form_save(
    patient_id: Id,
    form_name: str,
    posted: PostedForm,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    actor = viewer.principal
    key = posted.get("record_key", "").strip() or None
    ctx = _context(session, viewer, pages, patient_id, form_name, key)
    form = ctx.form
    changed = rows_changed(form, posted)
    if changed is not None:  # a row added or removed: the same form again, nothing saved
        return _page(
            pages,
            ctx,
            viewer=viewer,
            values=changed,
            errors={},
            queries=_record_queries(session, viewer, patient_id, form, ctx.key),
        )
    section = posted.get("section", "").strip() or None
    values: dict[str, str] = dict(posted)
    errors: dict[str, str] = {}
    if section is not None:  # one section saved: the others as the latest version holds them
        try:
            values = section_values(form, section, _stored(ctx), posted)
        except KeyError:
            errors["form"] = pages._("This form has no such section: reload the form.")
    converted = page_to_record(ctx.forms, form, values, ctx.keys)
    errors.update({name: pages._(words) for name, words in converted.problems.items()})
    if not errors and not _entered(converted.data):
        errors["form"] = pages._("Nothing was entered: fill in at least one field.")
    reason = posted.get("reason", "").strip() or None
    if not errors:
        try:
            saved = capture_service.record_form(
                session=session,
                actor=actor,
                patient_id=patient_id,
                form=form.name,
                data=converted.data,
                record_key=ctx.key,
                reason=reason,
                today=today,
            )
        except (NotFoundError, PermissionDenied):
            raise  # not theirs to record: the page says so, not a field
        except TrialkitError as exc:
            errors.update(_service_errors(pages, ctx, posted, exc))
        else:
            if section is not None:  # the form again: what other sections hold is kept
                key = saved.record_key
                return _page(
                    pages,
                    _context(session, viewer, pages, patient_id, form.name, key),
                    viewer=viewer,
                    values={k: v for k, v in posted.items() if k not in ("csrf_token", "reason")},
                    errors={},
                    saved_section=section,
                    queries=_record_queries(session, viewer, patient_id, form, saved.record_key),
                )
            # open queries on the record: the page opens on their summary, at its top
            queried = _record_queries(session, viewer, patient_id, form, saved.record_key)
            anchor = "query-summary" if queried else "records"
            return RedirectResponse(
                f"/patients/{patient_id}?saved={form.name}&key={saved.record_key}#{anchor}",
                status_code=303,
            )
    raise FormRejected(
        _page(
            pages,
            ctx,
            response=_response(session, viewer, ctx),
            viewer=viewer,
            values=posted,
            errors=errors,
            status_code=422,
            queries=_record_queries(session, viewer, patient_id, form, ctx.key),
        )
    )


def _service_errors(
    pages: Pages, ctx: _Context, posted: dict[str, str], exc: TrialkitError
) -> dict[str, str]:
    """The service's refusal next to each input it concerns, in a person's words: every
    invalid value of a record (:attr:`RecordError.problems`), the first one's message where two
    share an input; the reason rule without its internal names."""
    problems = exc.problems if isinstance(exc, RecordError) else ((exc.location, exc.message),)
    out: dict[str, str] = {}
    for where, message in problems:
        shown = pages._(CORRECTION_NEEDS_REASON) if where == "reason" else message
        out.setdefault(_error_field(ctx, posted, where), shown)
    return out


def _error_field(ctx: _Context, posted: dict[str, str], location: str | None) -> str:
    """The input an error of the service is shown next to (the form's top when none)."""
    field = field_of_location(location or "form", ctx.keys)
    if field == "reason":
        return field if ctx.versions else "form"
    sections = page_sections(ctx.forms, ctx.form, posted, ctx.keys)
    return page_field(sections, field, ctx.keys) or field


@router.post("/patients/{patient_id}/forms/{form_name}/check", response_class=HTMLResponse)
def record_form_check(
    patient_id: Id,
    form_name: str,
    request: Request,
    posted: PostedForm,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    """The RECIST response of a tumour form as entered, unsaved: a fragment for htmx, the
    whole form without JavaScript."""
    key = posted.get("record_key", "").strip() or None
    ctx = _context(session, viewer, pages, patient_id, form_name, key)
    if not ctx.tumour:
        raise NotFoundError(pages._("No such page."))
    converted: Converted = page_to_record(ctx.forms, ctx.form, posted, ctx.keys)
    errors = {name: pages._(words) for name, words in converted.problems.items()}
    response: dict[str, Any] | None = None
    if not errors:
        try:
            response = preview_tumour_response(
                session=session,
                actor=viewer.principal,
                patient_id=patient_id,
                form=ctx.form.name,
                data=converted.data,
                record_key=ctx.key,
            )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            errors.update(_service_errors(pages, ctx, posted, exc))
    if request.headers.get("HX-Request") == "true":
        return pages.response(
            "patients/_recist_preview.html", response=response, preview=True, errors=errors
        )
    return _page(
        pages, ctx, response=response, preview=True, viewer=viewer, values=posted, errors=errors
    )


@router.post("/patients/{patient_id}/forms/{form_name}/field", response_class=HTMLResponse)
def record_form_field(
    patient_id: Id,
    form_name: str,
    field: CheckedField,
    posted: PostedForm,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    """One input (``?field=``) checked as it is filled, for htmx: the message of the service's
    own check of its item (protocol/records.py), or nothing. Without JavaScript the form
    shows the same message next to the field when saved."""
    key = posted.get("record_key", "").strip() or None
    ctx = _context(session, viewer, pages, patient_id, form_name, key)
    converted = page_to_record(ctx.forms, ctx.form, posted, ctx.keys)
    return field_check(pages, converted, field)


# --- queries ----------------------------------------------------------------------------------


def notice_number(value: str | None) -> str | None:
    """A notice's number from the query string, or nothing: no other text reaches the page."""
    return value if value and value.isdigit() and len(value) < 12 else None
