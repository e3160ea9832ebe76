"""Dependencies of the routes, as ``Annotated`` aliases: the transaction, the caller, the ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from trialkit.config import Settings
from trialkit.errors import AuthenticationError
from trialkit.service import Principal, Security, transaction
from trialkit.service.auth import authenticate
from trialkit.service.boundary import MAX_ID, request_problems
from trialkit.store import Database

__all__ = [
    "COOKIE_NAME",
    "CurrentPrincipal",
    "DbSession",
    "Id",
    "RequestId",
    "SecurityDep",
    "Today",
    "checked_input",
]

COOKIE_NAME = "trialkit_session"

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/auth/token")
_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by POST /api/auth/session"
)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def checked_input(request: Request) -> None:
    """Every request's path, query and body through the boundary's checks, before its route.

    NaN, Infinity, 1e999, NUL, unpaired surrogates, implausible dates and ids beyond the
    database's range are refused with a 422 naming the field
    (:mod:`trialkit.service.boundary`); the application runs this for every route.
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


def _principal(
    session: DbSession,
    security: SecurityDep,
    request_id: RequestId,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise AuthenticationError(
            "log in first: POST /api/auth/session (cookie) or /api/auth/token (bearer)"
        )
    return authenticate(session=session, security=security, token=token, request_id=request_id)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def _today(request: Request) -> dt.date:
    settings: Settings = request.app.state.settings
    return settings.today()


Today = Annotated[dt.date, Depends(_today)]
"""The calendar date of the request (UTC today, or the date pinned in the settings)."""
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
