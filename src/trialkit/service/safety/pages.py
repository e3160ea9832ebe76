"""Pages of serious adverse events: the work list, the site's SAE form (drawn from the protocol's
SAE form definition) and follow-ups, and the safety role's review, SUSAR unblinding and exports.

Every page calls the service functions of :mod:`trialkit.service.safety.sae`; what a reader sees
(blinded, or one unblinded case's arm for the safety role) is what the service returns to them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, PasswordRefusedError
from trialkit.protocol import Protocol
from trialkit.protocol.forms import Form as FormDefinition
from trialkit.protocol.forms import Item
from trialkit.safety import CAUSALITY
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    SecurityDep,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.safety import sae
from trialkit.service.safety.views import SafetyCaseView
from trialkit.service.screening import patients
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

router = APIRouter()


def time_left(seconds: int | None) -> str:
    """``3 h 20 min left`` or ``overdue by 1 d 2 h``: how a work list shows the clock."""
    if seconds is None:
        return ""
    span = abs(seconds) // 60
    days, rest = divmod(span, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = f"{days} d {hours} h" if days else f"{hours} h {minutes} min"
    return f"{text} left" if seconds >= 0 else f"overdue by {text}"


def _protocol(session: Session, viewer: Viewer) -> Protocol:
    if viewer.trial is None:
        raise ConflictError("you hold no role in a trial yet; ask an administrator")
    return trial_protocol(get_trial_or_raise(session, viewer.trial.id))


def _form_definition(protocol: Protocol) -> FormDefinition:
    safety = sae.protocol_safety(protocol)
    if protocol.forms is None or safety.sae_form is None:
        raise ConflictError(f"protocol {protocol.id} defines no SAE form (safety.sae_form)")
    return protocol.forms.form(safety.sae_form)


def _fields(protocol: Protocol, definition: FormDefinition) -> list[dict[str, Any]]:
    """The form's items as the template draws them: path, label, kind and options."""
    assert protocol.forms is not None
    fields: list[dict[str, Any]] = []
    for path, item in definition.walk():
        if item.type == "group":
            fields.append({"path": path, "label": item.label, "kind": "heading"})
            continue
        options: list[tuple[str, str]] = []
        if item.codelist:
            options = [
                (str(c.code), c.label) for c in protocol.forms.code_list(item.codelist).codes
            ]
        kind = {
            "date": "date",
            "integer": "number",
            "choice": "checkboxes" if item.multiple else "select",
        }.get(item.type, "textarea" if (item.max_length or 0) > 2000 else "text")
        fields.append(
            {
                "path": path,
                "label": item.label,
                "help": item.help,
                "kind": kind,
                "options": options,
                "required": item.required,
            }
        )
    return fields


def _value(item: Item, raw: str, protocol: Protocol) -> Any:
    if item.type == "integer":
        return int(raw) if raw.lstrip("-").isdigit() else raw
    if item.type == "choice" and item.codelist and protocol.forms is not None:
        codes = protocol.forms.code_list(item.codelist).codes
        return next((c.code for c in codes if str(c.code) == raw), raw)
    return raw


def _values(protocol: Protocol, definition: FormDefinition, form: dict[str, str]) -> dict[str, Any]:
    """The posted fields as the form's item values (empty fields left out)."""
    values: dict[str, Any] = {}
    for path, item in definition.walk():
        if item.type == "group":
            continue
        if item.multiple:
            chosen = [
                _value(item, code, protocol)
                for code in (str(c) for c in _codes(protocol, item))
                if form.get(f"{path}.{code}") == "yes"
            ]
            raw: Any = chosen or None
        else:
            text = form.get(path, "").strip()
            raw = _value(item, text, protocol) if text else None
        if raw is None:
            continue
        target = values
        *groups, name = path.split(".")
        for group in groups:
            target = target.setdefault(group, {})
        target[name] = raw
    return values


def _codes(protocol: Protocol, item: Item) -> list[object]:
    if protocol.forms is None or item.codelist is None:
        return []
    return [c.code for c in protocol.forms.code_list(item.codelist).codes]


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Item values as the form's fields (``causality.docetaxel``; ``criteria.death`` = yes)."""
    flat: dict[str, str] = {}
    for name, value in values.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{path}."))
        elif isinstance(value, list):
            flat.update({f"{path}.{v}": "yes" for v in value})
        else:
            flat[path] = str(value)
    return flat


def _error_key(location: str) -> str:
    """``values.criteria[0]`` -> ``criteria``; ``values.causality.docetaxel`` as it is."""
    return location.removeprefix("values.").split("[")[0] or "form"


@router.get("/safety", response_class=HTMLResponse)
def work_list(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    """Serious adverse events: overdue first, with the time left (blinded)."""
    if viewer.trial is None:
        raise ConflictError("you hold no role in a trial yet; ask an administrator")
    rows = sae.list_cases(session=session, actor=viewer.principal, trial_id=viewer.trial.id)
    return pages.response(
        "safety/work_list.html",
        viewer=viewer,
        rows=rows,
        safety=viewer.has(Role.SAFETY_PHYSICIAN),
        reports=viewer.has(Role.INVESTIGATOR),
        time_left=time_left,
    )


def _report_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=viewer.principal, patient_id=patient_id)
    protocol = _protocol(session, viewer)
    definition = _form_definition(protocol)
    return pages.response(
        "safety/report.html",
        status_code=status_code,
        viewer=viewer,
        patient=patient,
        definition=definition,
        fields=_fields(protocol, definition),
        values=values,
        errors=errors,
        action=f"/safety/report/{patient.id}",
        case=None,
    )


@router.get("/safety/report/{patient_id}", response_class=HTMLResponse)
def report_page(
    patient_id: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep, ae: str = ""
) -> HTMLResponse:
    """The SAE form for a new case (``?ae=AE-3`` links it to the adverse-event record)."""
    values = {"ae_record_key": ae} if ae else {}
    return _report_page(pages, session, viewer, patient_id, values=values, errors={})


@router.post("/safety/report/{patient_id}", response_class=HTMLResponse)
def report(
    patient_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    protocol = _protocol(session, viewer)
    values = _values(protocol, _form_definition(protocol), form)
    try:
        case = sae.report_sae(
            session=session, actor=viewer.principal, patient_id=patient_id, values=values
        )
    except InputError as exc:
        return _report_page(
            pages,
            session,
            viewer,
            patient_id,
            values={k: v for k, v in form.items() if k != "csrf_token"},
            errors={_error_key(exc.location): exc.message},
            status_code=422,
        )
    return RedirectResponse(f"/safety/cases/{patient_id}/{case.case_number}", status_code=303)


def _case_page(
    pages: Pages,
    session: Session,
    viewer: Viewer,
    patient_id: int,
    case_number: int,
    *,
    errors: dict[str, str],
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    case = sae.get_case(
        session=session, actor=viewer.principal, patient_id=patient_id, case_number=case_number
    )
    protocol = _protocol(session, viewer)
    definition = _form_definition(protocol)
    latest = case.versions_detail[-1].data if case.versions_detail else {}
    return pages.response(
        "safety/case.html",
        status_code=status_code,
        viewer=viewer,
        case=case,
        review=case.review if isinstance(case, SafetyCaseView) else None,
        reviewer=isinstance(case, SafetyCaseView),
        reports=viewer.has(Role.INVESTIGATOR),
        definition=definition,
        fields=_fields(protocol, definition),
        values=values if values is not None else _flat(latest),
        errors=errors,
        action=f"/safety/cases/{patient_id}/{case_number}/versions",
        drugs=sae.protocol_safety(protocol).reference_safety_information,
        causality=CAUSALITY,
        now=utcnow(),
        time_left=time_left,
    )


@router.get("/safety/cases/{patient_id}/{case_number}", response_class=HTMLResponse)
def case_page(
    patient_id: Id, case_number: Id, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    return _case_page(pages, session, viewer, patient_id, case_number, errors={})


@router.post("/safety/cases/{patient_id}/{case_number}/versions", response_class=HTMLResponse)
def follow_up(
    patient_id: Id,
    case_number: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> Response:
    protocol = _protocol(session, viewer)
    values = _values(protocol, _form_definition(protocol), form)
    try:
        sae.report_sae(
            session=session,
            actor=viewer.principal,
            patient_id=patient_id,
            values=values,
            case_number=case_number,
            reason=form.get("reason", ""),
        )
    except InputError as exc:
        return _case_page(
            pages,
            session,
            viewer,
            patient_id,
            case_number,
            errors={_error_key(exc.location): exc.message},
            values={k: v for k, v in form.items() if k != "csrf_token"},
            status_code=422,
        )
    return RedirectResponse(f"/safety/cases/{patient_id}/{case_number}", status_code=303)


@router.post("/safety/cases/{patient_id}/{case_number}/review", response_class=HTMLResponse)
def review(
    patient_id: Id,
    case_number: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
) -> Response:
    causality = {
        name.removeprefix("sponsor."): value
        for name, value in form.items()
        if name.startswith("sponsor.") and value
    }
    try:
        sae.review_case(
            session=session,
            actor=viewer.principal,
            patient_id=patient_id,
            case_number=case_number,
            causality=causality,
            comment=form.get("comment", ""),
        )
    except InputError as exc:
        return _case_page(
            pages,
            session,
            viewer,
            patient_id,
            case_number,
            errors={exc.location or "review": exc.message},
            status_code=422,
        )
    return RedirectResponse(f"/safety/cases/{patient_id}/{case_number}#review", status_code=303)


@router.post("/safety/cases/{patient_id}/{case_number}/unblinding", response_class=HTMLResponse)
def unblind(
    patient_id: Id,
    case_number: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    """Unblind this case for the safety role (password again, reason; recorded)."""
    errors: dict[str, str] = {}
    if not form.get("password"):
        errors["password"] = pages._("Enter your password again to confirm who you are.")
    if not form.get("reason", "").strip():
        errors["unblinding_reason"] = pages._("Give the reason for unblinding this case.")
    if not errors:
        try:
            sae.unblind_case(
                session=session,
                security=security,
                actor=viewer.principal,
                patient_id=patient_id,
                case_number=case_number,
                password=form.get("password", ""),
                reason=form.get("reason", ""),
            )
        except PasswordRefusedError as exc:  # answered, so the failure count commits
            errors["password"] = (
                pages._("Your account is locked; nothing was unblinded.")
                if exc.locked
                else pages._("The password is wrong; nothing was unblinded.")
            )
        except (ConflictError, InputError) as exc:
            errors["unblinding"] = exc.message
        else:
            return RedirectResponse(
                f"/safety/cases/{patient_id}/{case_number}#unblinded", status_code=303
            )
    return _case_page(
        pages, session, viewer, patient_id, case_number, errors=errors, status_code=422
    )


@router.get("/safety/cases/{patient_id}/{case_number}/{kind}")
def export(
    patient_id: Id, case_number: Id, kind: str, viewer: ViewerDep, session: DbSession
) -> Response:
    """The case's CIOMS I form (``cioms``, PDF) or E2B(R3) ICSR (``e2b``, XML)."""
    if kind not in ("cioms", "e2b"):
        raise InputError(f"no export {kind!r}; choose cioms or e2b", location="kind")
    content, media_type, name = sae.export_case(
        session=session,
        actor=viewer.principal,
        patient_id=patient_id,
        case_number=case_number,
        kind="cioms" if kind == "cioms" else "e2b",
    )
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
