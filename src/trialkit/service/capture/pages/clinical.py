"""Clinical data after randomisation: the case report forms, tumour assessments, queries.

Each form is a plain HTML form (no JavaScript needed): a new record, or a correction of an
existing one (a new version, which needs a reason, as the service requires). Errors of the
service come back next to the field they name; the RECIST result of a tumour form is shown
on the patient page once saved.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, NotFoundError, PermissionDenied, TrialkitError
from trialkit.service.capture import capture as capture_service
from trialkit.service.capture import queries as query_service
from trialkit.service.capture.capture import CaptureView
from trialkit.service.capture.forms import Form
from trialkit.service.capture.pages.clinical_forms import (
    METHODS,
    NON_TARGET_ROWS,
    SIMPLE_FORMS,
    TARGET_ROWS,
    Converted,
    assessment_from_form,
    assessment_to_form,
    baseline_from_form,
    baseline_to_form,
    blank_baseline,
    field_labels,
    field_of_location,
    form_label,
    lesion_ids,
    page_field,
    simple_from_form,
    simple_to_form,
)
from trialkit.service.capture.queries import QueryView
from trialkit.service.capture.recist_preview import preview_tumour_response
from trialkit.service.platform.pages.deps import DbSession, Id, PagesDep, Today, Viewer, ViewerDep
from trialkit.service.platform.pages.deps import Form as PostedForm
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.views import PatientView
from trialkit.service.screening import patients

__all__ = ["ENTERED_FORMS", "QUERY_STATUS", "latest_versions", "notice_number", "router"]

router = APIRouter()

QUERY_STATUS = {"open": N_("open"), "answered": N_("answered"), "closed": N_("closed")}
"""The words for a query's status."""

ENTERED_FORMS = (
    Form.TUMOUR_BASELINE,
    Form.TUMOUR_ASSESSMENT,
    Form.ADVERSE_EVENT,
    Form.STUDY_DRUG,
    Form.DOCETAXEL_CYCLE,
    Form.LETROZOLE,
    Form.NEW_THERAPY,
    Form.END_OF_TREATMENT,
    Form.DEATH,
    Form.LAST_KNOWN_ALIVE,
    Form.END_OF_STUDY,
)
"""The forms a site enters on these pages, in the order the patient page offers them."""


def _form_or_absent(pages: Pages, name: str) -> Form:
    try:
        form = Form(name)
    except ValueError:
        raise NotFoundError(pages._("No such page.")) from None
    if form not in ENTERED_FORMS:
        raise NotFoundError(pages._("No such page."))
    return form


def latest_versions(records: list[CaptureView]) -> list[CaptureView]:
    """The latest version of each record (records come oldest first)."""
    latest: dict[tuple[str, str], CaptureView] = {}
    for record in records:
        latest[(record.form, record.record_key)] = record
    return list(latest.values())


def _baseline_lesions(
    session: Session, viewer: Viewer, patient_id: int
) -> tuple[list[str], list[str]]:
    records = capture_service.list_records(
        session=session, actor=viewer.principal, patient_id=patient_id, form=Form.TUMOUR_BASELINE
    )
    return lesion_ids(records[-1].data if records else None)


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
        q for q in listed if q.form == form.value and q.record_key == key and q.status != "closed"
    ]


def _convert(
    form: Form, posted: dict[str, str], targets: list[str], non_targets: list[str]
) -> Converted:
    if form == Form.TUMOUR_BASELINE:
        return baseline_from_form(posted)
    if form == Form.TUMOUR_ASSESSMENT:
        return assessment_from_form(posted, targets, non_targets)
    return simple_from_form(SIMPLE_FORMS[form], posted)


def _to_values(
    form: Form, data: dict[str, Any], targets: list[str], nts: list[str]
) -> dict[str, str]:
    if form == Form.TUMOUR_BASELINE:
        return baseline_to_form(data)
    if form == Form.TUMOUR_ASSESSMENT:
        return assessment_to_form(data, targets, nts)
    return simple_to_form(data)


def _entered(value: Any) -> bool:
    """Whether anything was entered (a blank form would only open queries on every field)."""
    if isinstance(value, dict):
        return any(_entered(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_entered(v) for v in value)
    return value is not None and value != ""


def _response(
    session: Session, viewer: Viewer, patient_id: int, form: Form
) -> dict[str, Any] | None:
    """The RECIST evaluation so far, shown beside the tumour forms (``None`` for others)."""
    if form not in (Form.TUMOUR_BASELINE, Form.TUMOUR_ASSESSMENT):
        return None
    try:
        return capture_service.tumour_response(
            session=session, actor=viewer.principal, patient_id=patient_id
        ).evaluation
    except ConflictError:  # not randomised: saving says so next to the form
        return None


def _page(
    pages: Pages,
    *,
    viewer: Viewer,
    patient: PatientView,
    form: Form,
    key: str | None,
    version: int,
    values: dict[str, str],
    errors: dict[str, str],
    targets: list[str],
    non_targets: list[str],
    response: dict[str, Any] | None = None,
    preview: bool = False,
    status_code: int = 200,
    queries: list[QueryView] | None = None,
) -> HTMLResponse:
    all_labels = {
        key: pages._(words) % {k: pages._(v) for k, v in values_.items()}
        for key, (words, values_) in field_labels(form, targets, non_targets).items()
    }
    labels = {key: label for key, label in all_labels.items() if key in errors}
    # each open query next to its field, and all of them in a summary at the top
    field_queries: dict[str, list[QueryView]] = {}
    query_summary: list[tuple[QueryView, str | None, str]] = []
    for query in queries or []:
        name = page_field(form, query.field, targets, non_targets)
        if name is not None:
            field_queries.setdefault(name, []).append(query)
        query_summary.append((query, name, all_labels.get(name or "", query.field)))
    return pages.response(
        "patients/record_form.html",
        labels=labels,
        response=response,
        preview=preview,
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        form=form.value,
        title=form_label(form),
        key=key,
        version=version,
        values=values,
        errors=errors,
        fields=SIMPLE_FORMS.get(form, ()),
        targets=targets,
        non_targets=non_targets,
        target_rows=range(TARGET_ROWS),
        non_target_rows=range(NON_TARGET_ROWS),
        method_options=[(m, m) for m in METHODS],
        field_queries=field_queries,
        query_summary=query_summary,
        query_status=QUERY_STATUS,
    )


def _existing(
    session: Session, viewer: Viewer, patient_id: int, form: Form, key: str | None
) -> list[CaptureView]:
    """The versions of the record being corrected (``[]`` for a new record)."""
    records = capture_service.list_records(
        session=session, actor=viewer.principal, patient_id=patient_id, form=form
    )
    if key is None:
        # forms recorded once are corrected, never added twice
        return [r for r in records if r.record_key == form.value]
    versions = [r for r in records if r.record_key == key]
    if not versions:
        raise NotFoundError(f"no {form.value} record {key!r} for this patient", location="key")
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
    form = _form_or_absent(pages, form_name)
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    key = request.query_params.get("key") or None
    versions = _existing(session, viewer, patient_id, form, key)
    targets, non_targets = _baseline_lesions(session, viewer, patient_id)
    if versions:
        values = _to_values(form, versions[-1].data, targets, non_targets)
        key = versions[-1].record_key
    else:
        values = blank_baseline() if form == Form.TUMOUR_BASELINE else {}
    return _page(
        pages,
        response=_response(session, viewer, patient_id, form),
        viewer=viewer,
        patient=patient,
        form=form,
        key=key if versions else None,
        version=len(versions) + 1,
        values=values,
        errors={},
        targets=targets,
        non_targets=non_targets,
        queries=_record_queries(session, viewer, patient_id, form, key if versions else None),
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
    form = _form_or_absent(pages, form_name)
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    key = posted.get("record_key", "").strip() or None
    versions = _existing(session, viewer, patient_id, form, key)
    targets, non_targets = _baseline_lesions(session, viewer, patient_id)
    converted = _convert(form, posted, targets, non_targets)
    errors = {name: pages._(words) for name, words in converted.problems.items()}
    if not errors and not _entered(converted.data):
        errors["form"] = pages._("Nothing was entered: fill in at least one field.")
    reason = posted.get("reason", "").strip() or None
    if versions and not reason:
        errors["reason"] = pages._("Say why this version corrects the one before.")
    rows = {f"target.{t}": f"target.{i}" for i, t in enumerate(targets)}
    rows.update({f"non_target.{n}": f"non_target.{i}" for i, n in enumerate(non_targets)})
    data = converted.data
    if versions and form in SIMPLE_FORMS:
        # keep what this page does not show (e.g. dose interruptions entered through the API)
        shown = {spec.name for spec in SIMPLE_FORMS[form]}
        data = {**{k: v for k, v in versions[-1].data.items() if k not in shown}, **data}
    if not errors:
        try:
            saved = capture_service.record_form(
                session=session,
                actor=actor,
                patient_id=patient_id,
                form=form,
                data=data,
                record_key=versions[-1].record_key if versions else None,
                reason=reason,
                today=today,
            )
        except (NotFoundError, PermissionDenied):
            raise  # not theirs to record: the page says so, not a field
        except TrialkitError as exc:
            field = field_of_location(exc.location or "form", rows)
            errors[field if field != "reason" or versions else "form"] = exc.message
        else:
            # open queries on the record: the page opens on their summary, at its top
            queried = _record_queries(session, viewer, patient_id, form, saved.record_key)
            anchor = "query-summary" if queried else "records"
            return RedirectResponse(
                f"/patients/{patient_id}?saved={form.value}&key={saved.record_key}#{anchor}",
                status_code=303,
            )
    raise FormRejected(
        _page(
            pages,
            response=_response(session, viewer, patient_id, form),
            viewer=viewer,
            patient=patient,
            form=form,
            key=versions[-1].record_key if versions else None,
            version=len(versions) + 1,
            values=posted,
            errors=errors,
            targets=targets,
            non_targets=non_targets,
            status_code=422,
            queries=_record_queries(
                session, viewer, patient_id, form, versions[-1].record_key if versions else None
            ),
        )
    )


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
    form = _form_or_absent(pages, form_name)
    if form not in (Form.TUMOUR_BASELINE, Form.TUMOUR_ASSESSMENT):
        raise NotFoundError(pages._("No such page."))
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    key = posted.get("record_key", "").strip() or None
    versions = _existing(session, viewer, patient_id, form, key)
    targets, non_targets = _baseline_lesions(session, viewer, patient_id)
    converted = _convert(form, posted, targets, non_targets)
    errors = {name: pages._(words) for name, words in converted.problems.items()}
    response: dict[str, Any] | None = None
    if not errors:
        try:
            response = preview_tumour_response(
                session=session,
                actor=actor,
                patient_id=patient_id,
                form=form,
                data=converted.data,
                record_key=versions[-1].record_key if versions else None,
            )
        except (NotFoundError, PermissionDenied):
            raise
        except TrialkitError as exc:
            rows = {f"target.{t}": f"target.{i}" for i, t in enumerate(targets)}
            errors[field_of_location(exc.location or "form", rows)] = exc.message
    if request.headers.get("HX-Request") == "true":
        return pages.response(
            "patients/_recist_preview.html", response=response, preview=True, errors=errors
        )
    return _page(
        pages,
        response=response,
        preview=True,
        viewer=viewer,
        patient=patient,
        form=form,
        key=versions[-1].record_key if versions else None,
        version=len(versions) + 1,
        values=posted,
        errors=errors,
        targets=targets,
        non_targets=non_targets,
    )


# --- queries ----------------------------------------------------------------------------------


def notice_number(value: str | None) -> str | None:
    """A notice's number from the query string, or nothing: no other text reaches the page."""
    return value if value and value.isdigit() and len(value) < 12 else None
