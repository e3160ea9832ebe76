"""The data manager's pages: freezes and locks (and the administrator's unlock), and data cuts.

``/locks``: what is frozen or locked, a form to freeze or lock a form record, a patient, a site
or the trial's database, and a release form (reason required) beside each; ``/datacut``: the
database lock and a form that makes the signed data cut package (blinded for a data manager).
The pages call :mod:`trialkit.service.capture.locking` (set), :mod:`trialkit.service.trials.locks`
and :mod:`trialkit.service.oversight.datacut`, as the API and the CLI do; nothing shows an arm.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import ConfigError, NotFoundError, TrialkitError
from trialkit.service.capture import locking
from trialkit.service.capture.forms import case_report_forms
from trialkit.service.oversight.datacut import data_cut_lock, make_data_cut
from trialkit.service.platform.anchors import Anchoring, load_private_key_bytes
from trialkit.service.platform.pages.deps import DbSession, Form, Id, PagesDep, Viewer, ViewerDep
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.screening.screening import get_protocol
from trialkit.service.trials import locks, trials
from trialkit.service.trials.locks import CONSENT_FORM, SCREENING_FORM, Level

router = APIRouter()

MAX_KEY_BYTES = 4096


def _lockable_forms(session: Session, viewer: Viewer, trial_id: int) -> tuple[str, ...]:
    """The forms a record lock may name: the screening record, the consent and the trial's
    case report forms."""
    protocol = get_protocol(session=session, actor=viewer.principal, trial_id=trial_id)
    return (SCREENING_FORM, CONSENT_FORM, *case_report_forms(protocol))


def _trial_id(viewer: Viewer, pages: Pages) -> int:
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    return viewer.trial.id


def _anchoring(request: Request) -> Anchoring | None:
    anchoring: Anchoring | None = getattr(request.app.state, "anchoring", None)
    return anchoring


AnchoringDep = Annotated[Anchoring | None, Depends(_anchoring)]


def _locks_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    trial_id = _trial_id(viewer, pages)
    rows = locks.list_locks(session=session, actor=viewer.principal, trial_id=trial_id)
    sites = trials.list_sites(session=session, actor=viewer.principal, trial_id=trial_id)
    return pages.response(
        "datamanager/locks.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        locks=rows,
        site_options=[(str(s.id), f"{s.code} · {s.name}") for s in sites],
        form_options=[(name, name) for name in _lockable_forms(session, viewer, trial_id)],
        errors=errors or {},
        values=values or {},
        done=done,
    )


@router.get("/locks", response_class=HTMLResponse)
def locks_page(
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    return _locks_page(session, viewer, pages, done=done)


def _id(text: str, name: str, errors: dict[str, str], message: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        errors[name] = message
        return None
    return int(text)


@router.post("/locks", response_class=HTMLResponse)
def set_lock(
    form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep, anchoring: AnchoringDep
) -> Response:
    errors: dict[str, str] = {}
    level = form.get("level", "")
    if level not in ("freeze", "lock"):
        errors["level"] = pages._("Choose freeze or lock.")
    site_id = _id(form.get("site_id", ""), "site_id", errors, pages._("Choose a site."))
    patient_id = _id(
        form.get("patient_id", ""), "patient_id", errors, pages._("Enter the patient's number.")
    )
    name = form.get("form", "").strip() or None
    if name is not None and name not in _lockable_forms(session, viewer, _trial_id(viewer, pages)):
        errors["form"] = pages._("Choose a form.")
    record_key = form.get("record_key", "").strip() or None
    if name is not None and record_key is None and name in (SCREENING_FORM, CONSENT_FORM):
        record_key = name
    if not form.get("reason", "").strip():
        errors["reason"] = pages._("Say why.")
    if not errors:
        try:
            locking.set_lock(
                session=session,
                actor=viewer.principal,
                trial_id=_trial_id(viewer, pages),
                level=Level(level),
                reason=form.get("reason"),
                site_id=site_id,
                patient_id=patient_id,
                form=name,
                record_key=record_key,
                anchoring=anchoring,
            )
        except TrialkitError as exc:
            if not exc.location:
                raise
            errors[exc.location] = exc.message
        else:
            return RedirectResponse(f"/locks?done={level}", status_code=303)
    raise FormRejected(_locks_page(session, viewer, pages, errors=errors, values=dict(form)))


@router.post("/locks/{lock_id}/release", response_class=HTMLResponse)
def release(
    lock_id: Id,
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    anchoring: AnchoringDep,
) -> Response:
    reason = form.get("reason", "").strip()
    if not reason:
        errors = {f"{lock_id}.reason": pages._("Say why.")}
        raise FormRejected(_locks_page(session, viewer, pages, errors=errors))
    locks.release(
        session=session, actor=viewer.principal, lock_id=lock_id, reason=reason, anchoring=anchoring
    )
    return RedirectResponse("/locks?done=released", status_code=303)


def _datacut_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    trial_id = _trial_id(viewer, pages)
    return pages.response(
        "datamanager/datacut.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        lock=data_cut_lock(session=session, actor=viewer.principal, trial_id=trial_id),
        errors=errors or {},
        values=values or {},
    )


@router.get("/datacut", response_class=HTMLResponse)
def datacut_page(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    return _datacut_page(session, viewer, pages)


async def _key_upload(request: Request) -> bytes | None:
    """The signing key file posted with the form (read in memory, never stored)."""
    upload = (await request.form()).get("key")
    if upload is None or isinstance(upload, str):
        return None
    try:
        data = await upload.read(MAX_KEY_BYTES + 1)
    finally:
        await upload.close()
    return data or None


KeyUpload = Annotated[bytes | None, Depends(_key_upload)]


@router.post("/datacut", response_class=HTMLResponse)
def datacut(
    form: Form,
    key: KeyUpload,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    anchoring: AnchoringDep,
) -> Response:
    errors: dict[str, str] = {}
    cutoff: dt.date | None = None
    try:
        cutoff = dt.date.fromisoformat(form.get("cutoff", "").strip())
    except ValueError:
        errors["cutoff"] = pages._("Enter the data cut-off as YYYY-MM-DD.")
    signing = None
    if key is None or len(key) > MAX_KEY_BYTES:
        errors["key"] = pages._("Choose your Ed25519 signing key file (PEM).")
    else:
        try:
            signing = load_private_key_bytes(key, what="the key file")
        except ConfigError as exc:
            errors["key"] = exc.message
    if errors or signing is None:
        raise FormRejected(_datacut_page(session, viewer, pages, errors=errors, values=dict(form)))
    cut = make_data_cut(
        session=session,
        actor=viewer.principal,
        trial_id=_trial_id(viewer, pages),
        key=signing,
        cutoff=cutoff,
        anchoring=anchoring,
    )
    return Response(
        cut.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{cut.filename}"'},
    )
