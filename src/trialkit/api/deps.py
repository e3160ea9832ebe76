"""Dependencies of the routes, as ``Annotated`` aliases: the transaction, the caller, the ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from trialkit.config import Settings
from trialkit.errors import AuthenticationError
from trialkit.service import Principal, Security, transaction
from trialkit.service.auth import authenticate
from trialkit.store import Database

__all__ = [
    "COOKIE_NAME",
    "CurrentPrincipal",
    "DbSession",
    "Id",
    "RequestId",
    "SecurityDep",
    "Today",
]

COOKIE_NAME = "trialkit_session"
MAX_ID = 2_147_483_647  # the largest integer key every database stores

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/auth/token")
_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by POST /api/auth/session"
)


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
