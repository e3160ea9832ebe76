"""The audit trail, page by page, for administrators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from trialkit.service.platform import audit
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.policy import Action

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["audit"])


@router.get(
    "/audit/events", dependencies=[requires(Action.VIEW_AUDIT)], response_model=list[dict[str, Any]]
)
def list_events(
    session: DbSession,
    actor: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**62, description="Last sequence number seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, object]]:
    return audit.list_events(session=session, actor=actor, after=after, limit=limit)
