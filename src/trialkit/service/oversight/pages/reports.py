"""The trial report pages: blinded (statistician: pooled KM curve, counts, safety) and unblinded
(unblinded statistician, DSMB), inside the site layout, with HTML and PDF downloads; and the
unblinded allocation audit (``/allocation-audit``, from
:func:`trialkit.service.randomisation.reports.allocation_audit`, as for the API and the CLI).

The page is a GET form (cut-off date, and blinded or unblinded for roles that see arms), so it
works without JavaScript; a bad date is shown next to its field. The report itself comes from
:func:`trialkit.service.oversight.trial_report.trial_report`, as for the API and the CLI.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from trialkit.errors import InputError, NotFoundError
from trialkit.report.document import ReportDocument
from trialkit.report.html import render_html
from trialkit.report.pdf import render_pdf
from trialkit.service.oversight.trial_report import ReportOutput, trial_report
from trialkit.service.platform.pages.deps import (
    DbSession,
    PagesDep,
    Viewer,
    ViewerDep,
    request_clock,
)
from trialkit.service.platform.policy import can_see_arm
from trialkit.service.randomisation import reports

router = APIRouter()


def _cutoff(request: Request, text: str | None) -> dt.date:
    if not text:
        return request_clock(request).today()
    return dt.date.fromisoformat(text)


def _document(
    viewer: Viewer,
    session: DbSession,
    cutoff: dt.date,
    view: str | None,
    output: ReportOutput,
) -> ReportDocument:
    if viewer.trial is None:
        raise NotFoundError("you hold no role in a trial")
    unblinded = _may_unblind(viewer) if view is None else view == "unblinded"
    return trial_report(
        session=session,
        actor=viewer.principal,
        trial_id=viewer.trial.id,
        unblinded=unblinded,
        cutoff=cutoff,
        output=output,
    )


def _may_unblind(viewer: Viewer) -> bool:
    return any(can_see_arm(role) for role in viewer.roles)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    cutoff: str | None = None,
    view: str | None = None,
) -> HTMLResponse:
    values = {"cutoff": cutoff or "", "view": view or ""}
    try:
        day = _cutoff(request, cutoff)
    except ValueError:
        errors = {"cutoff": pages._("Give the cut-off date as YYYY-MM-DD, for example 2009-06-30.")}
        return pages.response(
            "reports/reports.html",
            status_code=422,
            viewer=viewer,
            values=values,
            errors=errors,
            may_unblind=_may_unblind(viewer),
            report=None,
            query="",
        )
    document = _document(viewer, session, day, view, "page")
    query = f"cutoff={day.isoformat()}&view={'blinded' if document.blinded else 'unblinded'}"
    return pages.response(
        "reports/reports.html",
        viewer=viewer,
        values={"cutoff": day.isoformat(), "view": "blinded" if document.blinded else "unblinded"},
        errors={},
        may_unblind=_may_unblind(viewer),
        report=Markup(render_html(document, fragment=True, gettext=pages._)),
        document=document,
        query=query,
    )


def _filename(document: ReportDocument, suffix: str) -> str:
    kind = "blinded" if document.blinded else "unblinded"
    return f"{document.trial}-report-{kind}-{document.cutoff.isoformat()}.{suffix}"


@router.get("/reports/report.html", response_class=HTMLResponse)
def report_download(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    cutoff: str | None = None,
    view: str | None = None,
) -> HTMLResponse:
    document = _document(viewer, session, _safe_cutoff(request, cutoff), view, "html")
    return HTMLResponse(
        render_html(document, gettext=pages._),
        headers={"Content-Disposition": f'attachment; filename="{_filename(document, "html")}"'},
    )


@router.get("/reports/report.pdf")
def report_pdf(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    cutoff: str | None = None,
    view: str | None = None,
) -> Response:
    document = _document(viewer, session, _safe_cutoff(request, cutoff), view, "pdf")
    return Response(
        render_pdf(render_html(document, gettext=pages._)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(document, "pdf")}"'},
    )


def _safe_cutoff(request: Request, text: str | None) -> dt.date:
    """The cut-off of a download link (made by the page); a hand-edited bad one is an error."""
    try:
        return _cutoff(request, text)
    except ValueError:
        raise InputError(
            f"cut-off {text!r} is not a date: give it as YYYY-MM-DD", location="cutoff"
        ) from None


@router.get("/allocation-audit", response_class=HTMLResponse)
def allocation_audit_page(
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    stratum: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Every slot of the sealed list in order with who took it (unblinded roles; others: 403).

    The strata in a table; one stratum's slots at a time (``?stratum=N``, in the address), its
    unused slots after the last used one folded.
    """
    if viewer.trial is None:
        raise NotFoundError("you hold no role in a trial")
    audit = reports.allocation_audit(
        session=session, actor=viewer.principal, trial_id=viewer.trial.id, output="page"
    )
    chosen = min(stratum, max(1, len(audit.strata)))
    return pages.response(
        "reports/allocation_audit.html", viewer=viewer, audit=audit, chosen=chosen
    )
