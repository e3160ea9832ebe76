"""Log in (cookie for browsers, bearer token for API clients), log out, change password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from trialkit.service.platform import auth
from trialkit.service.platform.api.deps import (
    COOKIE_NAME,
    CurrentPrincipal,
    DbSession,
    RequestId,
    SecurityDep,
)
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import (
    LoginBody,
    PasswordChange,
    SessionOpened,
    TokenIssued,
)
from trialkit.service.platform.views import UserView
from trialkit.service.trials import users

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api/auth", tags=["auth"])
_401: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials, locked account or expired session"}
}


@router.post("/session", response_model=SessionOpened, responses=_401)
def open_session(
    body: LoginBody,
    session: DbSession,
    security: SecurityDep,
    request_id: RequestId,
    request: Request,
) -> SessionOpened | JSONResponse:
    """Log in with a password; the session travels in an HttpOnly, SameSite cookie."""
    issued = auth.login(  # a failure raises PasswordRefusedError: committed, then a 401
        session=session,
        security=security,
        username=body.username,
        password=body.password,
        kind="cookie",
        request_id=request_id,
    )
    response = JSONResponse(
        SessionOpened(
            user_id=issued.user_id,
            expires_at=issued.expires_at,
            csrf_token=security.csrf_token(issued.token),
        ).model_dump(mode="json")
    )
    response.set_cookie(
        COOKIE_NAME,
        issued.token,
        max_age=int(security.session_lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/token", response_model=TokenIssued, responses=_401)
def issue_token(
    body: LoginBody, session: DbSession, security: SecurityDep, request_id: RequestId
) -> TokenIssued:
    """Log in with a password; the answer holds a bearer token for API clients."""
    issued = auth.login(  # a failure raises PasswordRefusedError: committed, then a 401
        session=session,
        security=security,
        username=body.username,
        password=body.password,
        kind="bearer",
        request_id=request_id,
    )
    return TokenIssued(access_token=issued.token, expires_at=issued.expires_at)


@router.post(
    "/logout", dependencies=[requires()], status_code=status.HTTP_204_NO_CONTENT, responses=_401
)
def logout(session: DbSession, actor: CurrentPrincipal, response: Response) -> None:
    """End the current session (cookie or token)."""
    auth.logout(session=session, actor=actor)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")


@router.post(
    "/password", dependencies=[requires()], status_code=status.HTTP_204_NO_CONTENT, responses=_401
)
def change_password(
    body: PasswordChange, session: DbSession, security: SecurityDep, actor: CurrentPrincipal
) -> None:
    """Change one's password; the old one is required, and other sessions end."""
    auth.change_password(
        session=session,
        security=security,
        actor=actor,
        old_password=body.old_password,
        new_password=body.new_password,
    )


@router.get("/me", dependencies=[requires()], response_model=UserView, responses=_401)
def me(session: DbSession, actor: CurrentPrincipal) -> UserView:
    """The caller's account and roles."""
    return users.me(session=session, actor=actor)
