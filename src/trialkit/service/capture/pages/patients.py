"""The investigator's pages: patients of their own site, screening with a live checklist,
consent, and the patient page (screening, then randomisation, visits, records, RECIST, PFS
and queries once she is randomised).

Another site's patient reads as absent (the service raises NotFoundError, shown as a
404 page). Randomisation and unblinding are in :mod:`.randomise`, the clinical forms and
queries in :mod:`.clinical`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import InputError, TrialkitError
from trialkit.screening import ScreeningResult
from trialkit.service.capture.pages.clinical import (
    QUERY_STATUS,
    entered_forms,
    notice_number,
    trial_forms,
)
from trialkit.service.capture.pages.grid import grid_or_none
from trialkit.service.capture.pages.patient_summary import VISIT_STATUS, clinical_summary
from trialkit.service.capture.pages.signoff import signoff_or_none
from trialkit.service.capture.pages.wording import Wording
from trialkit.service.capture.patient_status import PatientStatus, offered_forms
from trialkit.service.platform.listing import Listing, page_of
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    Today,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.errors import FormRejected, plain_problem
from trialkit.service.platform.pages.form_pages import (
    CheckedField,
    field_check,
    progress,
    rows_changed,
    section_values,
)
from trialkit.service.platform.pages.labels import CORRECTION_NEEDS_REASON, N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.platform.views import PatientView
from trialkit.service.randomisation import randomisation
from trialkit.service.screening import patients
from trialkit.service.screening import screening as screening_service
from trialkit.service.screening.pages.checklist import Checklist, checklist
from trialkit.service.screening.pages.screening_form import (
    ScreeningForm,
    form_sections,
    form_to_record,
    label_for,
    record_to_form,
    screening_form_of,
    therapy_label_of,
)
from trialkit.service.trials import trials

router = APIRouter()


STATUS = {
    "screen_failure": N_("screen failure (not eligible)"),
    "on_treatment": N_("randomised, on study treatment"),
    "follow_up": N_("in follow-up (study treatment ended)"),
    "dead": N_("dead"),
    "withdrawn": N_("withdrawn"),
    "off_study": N_("off study"),
}
"""The words for :class:`~..patient_status.PatientStatus` (screening: below)."""


def patient_status(patient: PatientView) -> str:
    """The patient's status in words to translate, from the service's derived status (never
    anything about an arm); in screening, how far screening went."""
    if patient.status in STATUS:
        return STATUS[patient.status]
    if patient.screening_record_versions == 0:
        return N_("registered, not yet screened")
    if patient.latest_verdict is None:
        return N_("screening record saved, not evaluated")
    return {
        "eligible": N_("eligible"),
        "not eligible": N_("not eligible"),
        "undetermined": N_("undetermined"),
    }.get(patient.latest_verdict, patient.latest_verdict)


def _field_words(pages: Pages, screening: ScreeningForm, path: str) -> str:
    """A screening field in words; a part's label with its group's (``ALT: Value``)."""
    if path == "form":  # the record as a whole
        return pages._("The form")
    own = pages._(label_for(screening, path))
    group = path.rsplit(".", 1)[0]
    group_label = label_for(screening, group) if "." in path else group
    if group_label != group and not own.startswith(f"{group_label}:"):
        return f"{pages._(group_label)}: {own}"
    return own


def _saved(value: str | None, forms: list[str]) -> str | None:
    """What was saved, for the notice: only the names this application writes there."""
    known = {"screening", "consent", *forms}
    return value if value in known else None


def _record_key(value: str | None) -> str | None:
    return value if value and re.fullmatch(r"[a-z_]+|[A-Z]{2}-\d{1,6}", value) else None


def _own_sites(session: Session, viewer: Viewer) -> list[Any]:
    return [
        trials.get_site(session=session, actor=viewer.principal, site_id=site_id)
        for site_id in viewer.site_ids(Role.INVESTIGATOR)
    ]


PATIENT_FILTERS = ("q", "status")
PATIENT_SORTS: dict[str, Any] = {
    "number": lambda p: p.screening_number,
    "status": lambda p: p.status,
    "registered": lambda p: (p.created_at, p.id),
}
STATUS_CHOICES = (("screening", N_("in screening")), *STATUS.items())
"""The status filter of the patient list: screening, then the statuses after it."""


def _list_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    errors: dict[str, str],
    values: dict[str, str],
    params: Mapping[str, str] | None = None,
) -> HTMLResponse:
    chosen = Listing.from_params(
        params or {},
        sorts=tuple(PATIENT_SORTS),
        default_sort="-registered",
        filters=PATIENT_FILTERS,
    )
    text = chosen.filters.get("q", "").casefold()
    status = chosen.filters.get("status")
    listing = []
    for site in _own_sites(session, viewer):
        listed = patients.list_patients(session=session, actor=viewer.principal, site_id=site.id)
        kept = [
            p
            for p in listed
            if (not text or text in p.screening_number.casefold())
            and (not status or p.status == status)
        ]
        listing.append((site, page_of(kept, chosen, sort_keys=PATIENT_SORTS), len(listed)))
    numbers = {
        patient_id: number
        for site, _found, _n in listing
        for patient_id, number in randomisation.randomisation_numbers(
            session=session, actor=viewer.principal, site_id=site.id
        ).items()
    }
    return pages.response(
        "patients/list.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        listing=listing,
        filters=dict(chosen.filters),
        status_options=[(k, pages._(v)) for k, v in STATUS_CHOICES],
        randomised=numbers,
        status=patient_status,
        errors=errors,
        values=values,
    )


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    """The site's patients: newest first, searched by number and filtered by status."""
    return _list_page(session, viewer, pages, {}, {}, request.query_params)


@router.post("/patients", response_class=HTMLResponse)
def register(form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep) -> Response:
    number = form.get("screening_number", "").strip()
    errors: dict[str, str] = {}
    site_ids = viewer.site_ids(Role.INVESTIGATOR)
    try:
        site_id = int(form.get("site_id", "0"))
    except ValueError:
        site_id = 0
    if site_id not in site_ids:
        site_id = site_ids[0] if len(site_ids) == 1 else 0
    if not number:
        errors["screening_number"] = pages._("Enter the patient's screening number.")
    elif len(number) > 32:
        errors["screening_number"] = pages._("A screening number has at most 32 characters.")
    if not errors:
        try:
            patient = patients.register_patient(
                session=session, actor=viewer.principal, site_id=site_id, screening_number=number
            )
        except TrialkitError as exc:
            errors[exc.location or "screening_number"] = exc.message
        else:
            return RedirectResponse(f"/patients/{patient.id}/screening", status_code=303)
    raise FormRejected(_list_page(session, viewer, pages, errors, {"screening_number": number}))


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    patient_id: Id,
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> HTMLResponse:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    site = trials.get_site(session=session, actor=actor, site_id=patient.site_id)
    records = patients.list_screening_records(session=session, actor=actor, patient_id=patient_id)
    evaluations = patients.list_evaluations(session=session, actor=actor, patient_id=patient_id)
    consents = patients.list_consents(session=session, actor=actor, patient_id=patient_id)
    definitions = trial_forms(session, patient.trial_id)
    forms = entered_forms(definitions)
    labels = {f.name: f.label for f in forms}
    wording = Wording(pages, definitions)
    clinical = clinical_summary(session, viewer, patient, today, pages._)
    return pages.response(
        "patients/patient.html",
        viewer=viewer,
        patient=patient,
        site=site,
        status=patient_status(patient),
        records=records,
        evaluations=evaluations,
        consents=consents,
        checklist=checklist(
            ScreeningResult.from_dict(evaluations[-1].result),
            screening_form_of(session, patient.trial_id),
        )
        if evaluations
        else None,
        saved=_saved(request.query_params.get("saved"), list(labels)),
        saved_key=_record_key(request.query_params.get("key")),
        answered=notice_number(request.query_params.get("answered")),
        errors={},
        values={},
        editable=viewer.has(Role.INVESTIGATOR) and site.recruiting,
        clinical=clinical,
        signoff=signoff_or_none(session, viewer, patient_id),
        grid=grid_or_none(
            session, viewer, patient_id, today, clinical.schedule if clinical else None
        ),
        may_record=viewer.has(Role.INVESTIGATOR),
        summary=wording.summary,
        item_label=wording.item_label,
        query_message=wording.query_message,
        therapy_label=therapy_label_of(session, patient.trial_id),
        entered_forms=list(labels.items()),
        offered_forms=[
            (name, labels[name])
            for name in offered_forms(PatientStatus(patient.status), list(labels))
        ],
        form_label=wording.form_label,
        status_reason=wording.status_reason,
        today=today,
        visit_status=VISIT_STATUS,
        query_status=QUERY_STATUS,
    )


def _preview(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    patient: PatientView,
    form: dict[str, str],
) -> tuple[Checklist | None, dict[str, str]]:
    """The checklist for the form as entered, and the errors of its fields (path -> words)."""
    patient_id = patient.id
    screening = screening_form_of(session, patient.trial_id)
    converted = form_to_record(screening, form)
    errors = {path: pages._(message) for path, message in converted.problems.items()}
    preview = screening_service.preview_screening(
        session=session, actor=viewer.principal, patient_id=patient_id, data=converted.data
    )
    for problem in preview.problems:
        errors.setdefault(
            problem.path,
            plain_problem(pages, problem.kind, problem.message, dict(problem.context)),
        )
    if preview.outcome is None or errors:
        return None, errors
    return checklist(preview.outcome.result, screening), errors


def _screening_page(
    pages: Pages,
    *,
    screening: ScreeningForm,
    viewer: Viewer,
    patient: PatientView,
    values: dict[str, str],
    checklist_: Checklist | None,
    errors: dict[str, str],
    version: int,
    stored: dict[str, str],
    status_code: int = 200,
    saved_section: str | None = None,
) -> HTMLResponse:
    """The screening form; ``stored``: the inputs of the latest version (its progress)."""
    return pages.response(
        "patients/screening.html",
        field_queries={},
        query_status={},
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        sections=form_sections(screening, values),
        progress=progress(screening.form, stored, values),
        saved_section=saved_section,
        check_url=f"/patients/{patient.id}/screening/field",
        values=values,
        checklist=checklist_,
        errors=errors,
        field_label=lambda path: _field_words(pages, screening, path),
        version=version,
    )


@router.get("/patients/{patient_id}/screening", response_class=HTMLResponse)
def screening_form(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    records = patients.list_screening_records(session=session, actor=actor, patient_id=patient_id)
    screening = screening_form_of(session, patient.trial_id)
    values = record_to_form(screening, records[-1].data) if records else {}
    current, errors = _preview(session, viewer, pages, patient, values)
    return _screening_page(
        pages,
        screening=screening,
        viewer=viewer,
        patient=patient,
        values=values,
        checklist_=current,
        errors=errors if records else {},
        version=len(records) + 1,
        stored=values,
    )


def _stored_screening(
    session: Session, viewer: Viewer, screening: ScreeningForm, patient_id: int
) -> dict[str, str]:
    """The inputs of the latest screening record (``{}`` before the first)."""
    records = patients.list_screening_records(
        session=session, actor=viewer.principal, patient_id=patient_id
    )
    return record_to_form(screening, records[-1].data) if records else {}


@router.post("/patients/{patient_id}/screening/field", response_class=HTMLResponse)
def screening_field(
    patient_id: Id,
    field: CheckedField,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    """One input (``?field=``) checked as it is filled, for htmx: the message of the service's
    own check of its item, or nothing (without JavaScript: next to the field on save)."""
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    screening = screening_form_of(session, patient.trial_id)
    return field_check(pages, form_to_record(screening, form), field)


@router.post("/patients/{patient_id}/screening/check", response_class=HTMLResponse)
def screening_check(
    patient_id: Id,
    request: Request,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> HTMLResponse:
    """The checklist for the form as entered: a fragment for htmx, the whole page without JS."""
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    screening = screening_form_of(session, patient.trial_id)
    current, errors = _preview(session, viewer, pages, patient, form)
    if request.headers.get("HX-Request") == "true":
        return pages.response(
            "patients/_checklist.html",
            checklist=current,
            errors=errors,
            live=True,
            field_label=lambda path: _field_words(pages, screening, path),
        )
    return _screening_page(
        pages,
        screening=screening,
        viewer=viewer,
        patient=patient,
        values=form,
        checklist_=current,
        errors=errors,
        version=patient.screening_record_versions + 1,
        stored=_stored_screening(session, viewer, screening, patient_id),
    )


@router.post("/patients/{patient_id}/screening", response_class=HTMLResponse)
def screening_save(
    patient_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    """Save the form as the next version of the screening record, and evaluate it."""
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    screening = screening_form_of(session, patient.trial_id)
    changed = rows_changed(screening.form, form)
    if changed is not None:  # a row added or removed: the same form again, nothing saved
        current, _ = _preview(session, viewer, pages, patient, changed)
        return _screening_page(
            pages,
            screening=screening,
            viewer=viewer,
            patient=patient,
            values=changed,
            checklist_=current,
            errors={},
            version=patient.screening_record_versions + 1,
            stored=_stored_screening(session, viewer, screening, patient_id),
        )
    stored = _stored_screening(session, viewer, screening, patient_id)
    section = form.get("section", "").strip() or None
    values: dict[str, str] = dict(form)
    if section is not None:  # one section saved: the others as the latest version holds them
        try:
            values = section_values(screening.form, section, stored, form)
        except KeyError:
            section = None  # not a section of this form: the whole form is saved
    current, errors = _preview(session, viewer, pages, patient, values)
    reason = form.get("reason", "").strip() or None
    if not errors:
        try:
            patients.submit_screening_record(
                session=session,
                actor=actor,
                patient_id=patient_id,
                data=form_to_record(screening, values).data,
                reason=reason,
            )
            patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient_id)
        except InputError as exc:  # the record's field path is the form's field name
            where = exc.location.removeprefix("data").removeprefix(".") or "form"
            reason_words = pages._(CORRECTION_NEEDS_REASON)
            errors[where] = reason_words if where == "reason" else exc.message
        else:
            if section is not None:  # the form again: what other sections hold is kept
                shown = {k: v for k, v in form.items() if k not in ("csrf_token", "reason")}
                return _screening_page(
                    pages,
                    screening=screening,
                    viewer=viewer,
                    patient=patient,
                    values=shown,
                    checklist_=_preview(session, viewer, pages, patient, shown)[0],
                    errors={},
                    version=patient.screening_record_versions + 2,
                    stored=_stored_screening(session, viewer, screening, patient_id),
                    saved_section=section,
                )
            return RedirectResponse(f"/patients/{patient_id}?saved=screening", status_code=303)
    raise FormRejected(
        _screening_page(
            pages,
            screening=screening,
            viewer=viewer,
            patient=patient,
            values=form,
            checklist_=current,
            errors=errors,
            version=patient.screening_record_versions + 1,
            stored=stored,
            status_code=422,
        )
    )


@router.get("/patients/{patient_id}/consent", response_class=HTMLResponse)
def consent_form(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    consents = patients.list_consents(session=session, actor=actor, patient_id=patient_id)
    return pages.response(
        "patients/consent.html",
        viewer=viewer,
        patient=patient,
        consents=consents,
        values={},
        errors={},
    )


@router.post("/patients/{patient_id}/consent", response_class=HTMLResponse)
def consent_save(
    patient_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    today: Today,
) -> Response:
    actor = viewer.principal
    patient = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    errors: dict[str, str] = {}
    consent_date: dt.date | None = None
    try:
        consent_date = dt.date.fromisoformat(form.get("consent_date", "").strip())
    except ValueError:
        errors["consent_date"] = pages._("Enter the date of consent as YYYY-MM-DD.")
    sheet = form.get("information_sheet_version", "").strip()
    if not sheet:
        errors["information_sheet_version"] = pages._(
            "Enter the version of the patient information sheet that was signed."
        )
    if not errors and consent_date is not None:
        try:
            patients.record_consent(
                session=session,
                actor=actor,
                patient_id=patient_id,
                consent_date=consent_date,
                information_sheet_version=sheet,
                reason=form.get("reason", "").strip() or None,
                today=today,
            )
        except InputError as exc:
            errors[exc.location or "consent_date"] = exc.message
        else:
            return RedirectResponse(f"/patients/{patient_id}?saved=consent", status_code=303)
    consents = patients.list_consents(session=session, actor=actor, patient_id=patient_id)
    raise FormRejected(
        pages.response(
            "patients/consent.html",
            status_code=422,
            viewer=viewer,
            patient=patient,
            consents=consents,
            values=form,
            errors=errors,
        )
    )
