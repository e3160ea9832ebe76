"""Users and role assignments (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, status

from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, SecurityDep
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import RoleGrant, RoleRevocation, UserCreate
from trialkit.service.platform.policy import Action
from trialkit.service.platform.views import RoleAssignmentView, UserView
from trialkit.service.trials import users

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["users"])


@router.get("/users", dependencies=[requires(Action.MANAGE_USERS)], response_model=list[UserView])
def list_users(session: DbSession, actor: CurrentPrincipal) -> list[UserView]:
    return users.list_users(session=session, actor=actor)


@router.post(
    "/users",
    dependencies=[requires(Action.MANAGE_USERS)],
    response_model=UserView,
    status_code=status.HTTP_201_CREATED,
)
def create_user(
    body: UserCreate, session: DbSession, security: SecurityDep, actor: CurrentPrincipal
) -> UserView:
    return users.create_user(
        session=session,
        security=security,
        actor=actor,
        username=body.username,
        full_name=body.full_name,
        password=body.password,
    )


@router.get(
    "/users/{user_id}", dependencies=[requires(Action.MANAGE_USERS)], response_model=UserView
)
def get_user(user_id: Id, session: DbSession, actor: CurrentPrincipal) -> UserView:
    return users.get_user(session=session, actor=actor, user_id=user_id)


@router.post(
    "/users/{user_id}/roles",
    dependencies=[requires(Action.MANAGE_USERS)],
    response_model=RoleAssignmentView,
    status_code=status.HTTP_201_CREATED,
)
def grant_role(
    user_id: Id, body: RoleGrant, session: DbSession, actor: CurrentPrincipal
) -> RoleAssignmentView:
    return users.grant_role(
        session=session,
        actor=actor,
        user_id=user_id,
        trial_id=body.trial_id,
        role=body.role,
        site_id=body.site_id,
        reason=body.reason,
    )


@router.post(
    "/role-assignments/{assignment_id}/revocation",
    dependencies=[requires(Action.MANAGE_USERS)],
    response_model=RoleAssignmentView,
)
def revoke_role(
    assignment_id: Id, body: RoleRevocation, session: DbSession, actor: CurrentPrincipal
) -> RoleAssignmentView:
    return users.revoke_role(
        session=session, actor=actor, assignment_id=assignment_id, reason=body.reason
    )
