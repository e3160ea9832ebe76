"""Every user's inbox: their notifications, newest first, marked read one by one or all."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trialkit.service.platform import notify
from trialkit.service.platform.listing import Listing
from trialkit.service.platform.pages.deps import DbSession, Form, Id, PagesDep, ViewerDep

router = APIRouter()


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    listing = Listing.from_params(
        request.query_params,
        sorts=("created_at",),
        default_sort="-created_at",
        filters=("show", "kind"),
        per_page=25,
    )
    found = notify.inbox_page(session=session, actor=viewer.principal, listing=listing)
    return pages.response(
        "inbox.html",
        viewer=viewer,
        found=found,
        show=listing.filters.get("show", notify.INBOX_SHOW[0]),
        kinds=[k.value for k in notify.Kind],
    )


@router.post("/inbox/read", response_class=HTMLResponse)
def mark_all_read(_form: Form, viewer: ViewerDep, session: DbSession) -> RedirectResponse:
    notify.mark_all_read(session=session, actor=viewer.principal)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{item_id}/read", response_class=HTMLResponse)
def mark_read(item_id: Id, _form: Form, viewer: ViewerDep, session: DbSession) -> RedirectResponse:
    notify.mark_read(session=session, actor=viewer.principal, item_id=item_id)
    return RedirectResponse(f"/inbox#item-{item_id}", status_code=303)
