"""The boundary of every HTTP request, shared by the API and the pages (ASGI middleware).

A request is one unit of work: one transaction (:mod:`trialkit.service.platform.transaction`).
:class:`RequestBoundary` runs it again, whole and with the same body, when the database
aborted that transaction to break a deadlock or a serialisation conflict, at most
:data:`~trialkit.service.platform.transaction.RETRY_ATTEMPTS` times; the aborted attempt left
nothing, so nothing is done twice. Any other unexpected error, or the last conflict, is
answered with the application's own error response and goes no further: an error that
reached the server would make it close the connection, and drop the next requests a
client sends on it.
A GET's first attempt reads without SQLite's write lock (docs/operations.md, "Concurrency").
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trialkit.service.platform.db.database import reading
from trialkit.service.platform.transaction import RETRY_ATTEMPTS, is_retryable

__all__ = ["ErrorResponder", "RequestBoundary"]

log = logging.getLogger("trialkit.boundary")

ErrorResponder = Callable[[Request, Exception], Awaitable[Response]]
"""The application's answer to an unexpected error (it logs the error and says nothing of it)."""

_READS = frozenset({"GET", "HEAD"})
_BACKOFF_S = 0.005
"""The first pause before a retry; doubled for each later one, with random jitter so that
the transactions that met each other do not meet again."""


def _code(exc: BaseException) -> str:
    """The database's code for an aborted transaction (PostgreSQL's SQLSTATE, SQLite's code)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorcode", None)
    return "?" if code is None else str(code)


class RequestBoundary:
    """Retry a request whose transaction the database aborted; answer every other error."""

    def __init__(
        self, app: ASGIApp, *, on_error: ErrorResponder, attempts: int = RETRY_ATTEMPTS
    ) -> None:
        self.app = app
        self.on_error = on_error
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []  # the request's messages so far, replayed to a retry
        position = 0
        started = False

        async def replay() -> Message:
            nonlocal position
            if position < len(body):
                position += 1
                return body[position - 1]
            message = await receive()
            if message["type"] == "http.request":
                body.append(message)
                position += 1
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        for attempt in range(1, self.attempts + 1):
            position = 0
            try:
                # a copy: routing writes into the scope (a mount moves its root path)
                # a retry writes from the start, even inside another boundary's first attempt
                with reading(attempt == 1 and scope.get("method") in _READS):
                    await self.app(dict(scope), replay, tracked)
                return
            except Exception as exc:
                if started:  # a response is on its way: the server must end it
                    raise
                if is_retryable(exc) and attempt < self.attempts:
                    log.info(
                        "request %s: transaction aborted by the database (%s); attempt %d of %d",
                        scope.get("state", {}).get("request_id", "-"),
                        _code(exc),
                        attempt + 1,
                        self.attempts,
                    )
                    await anyio.sleep(random.uniform(0.5, 1.5) * _BACKOFF_S * 2 ** (attempt - 1))
                    continue
                response = await self.on_error(Request(scope), exc)
                await response(scope, receive, send)
                return
