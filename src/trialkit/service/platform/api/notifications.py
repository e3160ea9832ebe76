"""Every user's own notifications: the inbox, its unread count, marking read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from trialkit.service.platform import notify
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["notifications"])


class Inbox(BaseModel):
    model_config = ConfigDict(frozen=True)

    unread: int
    items: list[notify.InboxItemView]


class Marked(BaseModel):
    model_config = ConfigDict(frozen=True)

    marked: int


@router.get("/notifications", dependencies=[requires()], response_model=Inbox)
def inbox(
    session: DbSession,
    actor: CurrentPrincipal,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Inbox:
    """The caller's notifications, newest first, and how many are unread."""
    return Inbox(
        unread=notify.unread_count(session=session, actor=actor),
        items=notify.inbox(session=session, actor=actor, unread_only=unread, limit=limit),
    )


@router.post("/notifications/read", dependencies=[requires()], response_model=Marked)
def mark_all_read(session: DbSession, actor: CurrentPrincipal) -> Marked:
    """Mark all the caller's notifications read."""
    return Marked(marked=notify.mark_all_read(session=session, actor=actor))


@router.post(
    "/notifications/{item_id}/read",
    dependencies=[requires()],
    response_model=notify.InboxItemView,
)
def mark_read(
    session: DbSession,
    actor: CurrentPrincipal,
    item_id: Id,
) -> notify.InboxItemView:
    """Mark one of the caller's notifications read (another user's: 404)."""
    return notify.mark_read(session=session, actor=actor, item_id=item_id)
