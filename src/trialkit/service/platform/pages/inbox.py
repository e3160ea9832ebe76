"""Every user's inbox: their notifications, newest first, marked read one by one or all."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from trialkit.service.platform import notify
from trialkit.service.platform.pages.deps import DbSession, Form, Id, PagesDep, ViewerDep

router = APIRouter()


@router.get("/inbox", response_class=HTMLResponse)
def inbox(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    items = notify.inbox(session=session, actor=viewer.principal)
    return pages.response("inbox.html", viewer=viewer, items=items)


@router.post("/inbox/read", response_class=HTMLResponse)
def mark_all_read(_form: Form, viewer: ViewerDep, session: DbSession) -> RedirectResponse:
    notify.mark_all_read(session=session, actor=viewer.principal)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{item_id}/read", response_class=HTMLResponse)
def mark_read(item_id: Id, _form: Form, viewer: ViewerDep, session: DbSession) -> RedirectResponse:
    notify.mark_read(session=session, actor=viewer.principal, item_id=item_id)
    return RedirectResponse(f"/inbox#item-{item_id}", status_code=303)
