"""Dependencies of the routes, as ``Annotated`` aliases: the transaction, the caller, the ids.

The one module of HTTP dependencies: the API's routes and the web pages
(:mod:`trialkit.service.platform.pages.deps` adds only what is page-specific: the redirect to the
login page, the checked form) take the boundary's checks, the database session, the security, the
session cookie's name, the id limits and the clock from here.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from trialkit.errors import AuthenticationError, PermissionDenied
from trialkit.service.platform.auth import authenticate
from trialkit.service.platform.boundary import MAX_ID, request_problems
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction

__all__ = [
    "COOKIE_NAME",
    "ClockDep",
    "CurrentPrincipal",
    "DbSession",
    "Id",
    "RequestId",
    "SecurityDep",
    "Today",
    "authenticated_principal",
    "bearer_scheme",
    "checked_input",
    "cookie_scheme",
    "request_clock",
]

COOKIE_NAME = "trialkit_session"

bearer_scheme = HTTPBearer(auto_error=False, description="A token from POST /api/auth/token")
cookie_scheme = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by POST /api/auth/session"
)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def checked_input(request: Request) -> None:
    """Every request's path, query and body through the boundary's checks, before its route.

    NaN, Infinity, 1e999, NUL, unpaired surrogates, implausible dates and ids beyond the
    database's range are refused with a 422 naming the field
    (:mod:`trialkit.service.platform.boundary`); the application runs this for every route.
    """
    json_body: bytes | None = None
    form: list[tuple[str, str]] | None = None
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in _FORMS:
            received = await request.form()
            form = [(k, v) for k, v in received.multi_items() if isinstance(v, str)]
        elif not kind or kind == "application/json" or kind.endswith("+json"):
            json_body = await request.body()
    problems = request_problems(
        path=((k, str(v)) for k, v in request.path_params.items()),
        query=request.query_params.multi_items(),
        json_body=json_body,
        form=form,
    )
    if problems:
        raise RequestValidationError([p.as_error() for p in problems])


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _security(request: Request) -> Security:
    security: Security = request.app.state.security
    return security


def _request_id(request: Request) -> str:
    request_id: str = request.state.request_id
    return request_id


def _session(database: Annotated[Database, Depends(_database)]) -> Iterator[Session]:
    # committed when the route returns, before the response is sent; rolled back on an error
    with transaction(database) as session:
        yield session


SecurityDep = Annotated[Security, Depends(_security)]
RequestId = Annotated[str, Depends(_request_id)]
DbSession = Annotated[Session, Depends(_session, scope="function")]


CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from a page of this very site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    given = urlsplit(origin)
    return given.scheme in {"http", "https"} and given.netloc == request.headers.get("host")


def _forgery_guard(request: Request, security: Security, cookie: str) -> None:
    """A write authenticated by the session cookie needs its CSRF token or this site's Origin.

    SameSite=Strict is one guard; this is the second, for browsers that ignore it. Bearer
    tokens are never sent by a browser on its own, so they need neither.
    """
    if request.method in _SAFE_METHODS or _same_origin(request):
        return
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), security.csrf_token(cookie).encode()):
        raise PermissionDenied(
            f"a write with the session cookie needs the {CSRF_HEADER} header given at login "
            "(POST /api/auth/session answers it as csrf_token), or must come from a page of "
            "this site; API clients may use a bearer token instead"
        )


def authenticated_principal(
    request: Request,
    session: DbSession,
    security: SecurityDep,
    request_id: RequestId,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise AuthenticationError(
            "log in first: POST /api/auth/session (cookie) or /api/auth/token (bearer)"
        )
    principal = authenticate(session=session, security=security, token=token, request_id=request_id)
    if bearer is None:
        _forgery_guard(request, security, token)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticated_principal)]


def request_clock(request: Request) -> Clock:
    """The application's clock (outside a route's parameters: ``request_clock(request)``)."""
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(request_clock)]
"""The service's clock (record time, real time), built once by the application."""


def _today(clock: ClockDep) -> dt.date:
    return clock.today()


Today = Annotated[dt.date, Depends(_today)]
"""The calendar date of the request (UTC today, or the date pinned in the settings)."""
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A database id in a path: 1 to the largest the database holds (else 422, or the 404 page)."""
