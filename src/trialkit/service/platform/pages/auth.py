"""Log in and out with the session cookie that the API uses too."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trialkit.errors import PasswordRefusedError
from trialkit.service.platform import auth
from trialkit.service.platform.pages.deps import (
    COOKIE_NAME,
    IDLE_ENDED,
    LOGIN_CSRF_COOKIE,
    DbSession,
    Form,
    PagesDep,
    RawForm,
    SecurityDep,
    ViewerDep,
)

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no other host) is followed after logging in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/home"


def _login_page(
    pages: PagesDep,
    *,
    token: str,
    next_path: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    secure: bool,
) -> HTMLResponse:
    response = pages.response(
        "login.html",
        status_code=status_code,
        csrf=token,
        next_path=next_path,
        username=username,
        error=error,
        notice=notice,
        viewer=None,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    pages: PagesDep,
    security: SecurityDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    ended: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    notice = None
    if ended == IDLE_ENDED:  # the number comes from the settings, never from the address
        minutes = round(security.session_idle.total_seconds() / 60)
        notice = (
            pages._(
                "Your session ended after 1 minute without activity. "
                "Log in again to continue where you were."
            )
            if minutes == 1
            else pages._(
                "Your session ended after %(minutes)d minutes without activity. "
                "Log in again to continue where you were."
            )
            % {"minutes": minutes}
        )
    return _login_page(
        pages,
        token=token,
        next_path=_safe_next(next_path),
        notice=notice,
        secure=request.app.state.settings.cookie_secure,
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    form: RawForm,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    """Check the password; a failure is recorded (committed) and shown next to the password."""
    next_path = _safe_next(form.get("next"))
    secure: bool = request.app.state.settings.cookie_secure
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    username = form.get("username", "").strip()
    if not cookie or not hmac.compare_digest(cookie.encode(), form.get("csrf_token", "").encode()):
        return _login_page(
            pages,
            token=secrets.token_urlsafe(24),
            next_path=next_path,
            username=username,
            error=pages._("The login form had expired; please enter your password again."),
            status_code=400,
            secure=secure,
        )
    if not username or not form.get("password"):
        return _login_page(
            pages,
            token=cookie,
            next_path=next_path,
            username=username,
            error=pages._("Enter your username and your password."),
            status_code=422,
            secure=secure,
        )
    try:
        issued = auth.login(
            session=session,
            security=security,
            username=username,
            password=form.get("password", ""),
            kind="cookie",
            request_id=getattr(request.state, "request_id", None),
        )
    except PasswordRefusedError as exc:  # caught here, the failure is committed with the page
        return _login_page(
            pages,
            token=cookie,
            next_path=next_path,
            username=username,
            error=exc.message,
            status_code=401,
            secure=secure,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        issued.token,
        max_age=int(security.session_lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(_form: Form, viewer: ViewerDep, session: DbSession) -> Response:
    auth.logout(session=session, actor=viewer.principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
