"""The audit trail page: newest first, by date range, user, patient, kind of record and action."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from trialkit.service.oversight import audit_trail
from trialkit.service.platform import audit
from trialkit.service.platform.listing import Listing, filter_date
from trialkit.service.platform.pages.deps import DbSession, PagesDep, ViewerDep

router = APIRouter(prefix="/admin")

FILTERS = ("username", "patient", "entity", "entity_id", "action", "date_from", "date_to")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    listing = Listing.from_params(
        request.query_params, sorts=tuple(audit.AUDIT_SORTS), default_sort="-seq", filters=FILTERS
    )
    given = listing.filters
    search = audit.AuditSearch(
        username=given.get("username"),
        entity=given.get("entity"),
        entity_id=given.get("entity_id"),
        action=given.get("action"),
        date_from=filter_date(listing, "date_from"),
        date_to=filter_date(listing, "date_to"),
    )
    found = audit_trail.search_trail(
        session=session,
        actor=viewer.principal,
        search=search,
        listing=listing,
        patient=given.get("patient"),
    )
    choices = audit.audit_choices(session=session, actor=viewer.principal)
    return pages.response(
        "admin/audit.html",
        viewer=viewer,
        found=found,
        filters=dict(given),
        entities=[(e, e.replace("_", " ").capitalize()) for e in choices["entity"]],
        actions=[(a, a.replace("_", " ")) for a in choices["action"]],
    )


@router.get("/audit/export.{fmt}")
def audit_export(fmt: Literal["csv", "json"], viewer: ViewerDep, session: DbSession) -> Response:
    """The whole trail (JSON with its verification report), as a download."""
    body = audit.export_trail_for(session=session, actor=viewer.principal, fmt=fmt)
    media = "text/csv" if fmt == "csv" else "application/json"
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-trail.{fmt}"'},
    )
