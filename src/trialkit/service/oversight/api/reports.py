"""The trial report as one self-contained HTML document or a PDF (blinded unless allowed)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from trialkit.report.html import render_html
from trialkit.report.pdf import render_pdf
from trialkit.service.oversight.trial_report import ReportOutput, trial_report
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.policy import Action

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["reports"])


def _html(
    trial_id: int,
    session: DbSession,
    actor: CurrentPrincipal,
    cutoff: dt.date,
    unblinded: bool,
    output: ReportOutput,
) -> tuple[str, str]:
    document = trial_report(
        session=session,
        actor=actor,
        trial_id=trial_id,
        unblinded=unblinded,
        cutoff=cutoff,
        output=output,
    )
    kind = "blinded" if document.blinded else "unblinded"
    return render_html(document), f"{document.trial}-report-{kind}-{cutoff.isoformat()}"


@router.get(
    "/trials/{trial_id}/report",
    dependencies=[requires(Action.VIEW_REPORTS)],
    response_class=HTMLResponse,
)
def report_html(
    trial_id: Id,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
    unblinded: bool = False,
    cutoff: dt.date | None = None,
) -> HTMLResponse:
    """The report (HTML, figures inline); ``unblinded`` needs an unblinded role."""
    html, _ = _html(trial_id, session, actor, cutoff or today, unblinded, "html")
    return HTMLResponse(html)


@router.get(
    "/trials/{trial_id}/report.pdf",
    dependencies=[requires(Action.VIEW_REPORTS)],
    response_class=Response,
)
def report_pdf(
    trial_id: Id,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
    unblinded: bool = False,
    cutoff: dt.date | None = None,
) -> Response:
    """The same report as PDF."""
    html, name = _html(trial_id, session, actor, cutoff or today, unblinded, "pdf")
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
