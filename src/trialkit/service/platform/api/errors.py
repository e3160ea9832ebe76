"""Domain errors become HTTP responses here, and nowhere else.

InputError -> 422 (with the field path; a refused record names each invalid value),
NotFoundError -> 404, ConflictError and RandomisationError (a refused allocation, no
dispensable kit) -> 409,
AuthenticationError -> 401, PermissionDenied -> 403. A request that fails validation
(FastAPI's own, or the boundary's checks in
:func:`trialkit.service.platform.api.deps.checked_input`) -> 422 naming each field, without the
rejected value: no password, token or unprintable text is ever sent back. A transaction the
database aborted to break a deadlock, which still failed when run again, -> 503 (send it again).
Anything else is a defect: it is logged with the request id and answered with a generic 500, and
the connection stays open (:mod:`trialkit.service.platform.request_boundary`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    RandomisationError,
    RecordError,
    TrialkitError,
)
from trialkit.service.platform.boundary import is_secret, printable
from trialkit.service.platform.request_boundary import RequestBoundary
from trialkit.service.platform.transaction import is_retryable

__all__ = ["error_response", "install_error_handlers", "validation_detail"]

log = logging.getLogger("trialkit.api")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _loc(location: str) -> list[str | int]:
    """The field path of an input error, as FastAPI's own 422 responses give it.

    The error carries the parameter or field it concerns as its location (``data.labs.alt``,
    ``lesions[0].diameter``, ``median_treatment``); the message is never read for it.
    """
    loc: list[str | int] = ["body"]
    for name, index in _STEP.findall(location.removeprefix("$")):
        loc.append(name if name else int(index))
    return loc


def error_response(exc: TrialkitError) -> JSONResponse:
    """The HTTP answer to a domain error (a refused record: each of its invalid values)."""
    if isinstance(exc, InputError):
        problems = exc.problems if isinstance(exc, RecordError) else ((exc.location, exc.message),)
        detail = [
            validation_detail({"loc": _loc(where), "msg": message, "type": "value_error"})
            for where, message in problems
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    status = 400
    headers: dict[str, str] = {}
    if isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, ConflictError | RandomisationError):
        status = 409
    elif isinstance(exc, AuthenticationError):
        status, headers = 401, {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, PermissionDenied):
        status = 403
    return JSONResponse({"detail": printable(str(exc), 2000)}, status_code=status, headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrialkitError)
    return error_response(exc)


def _shown(value: object) -> object | None:
    """A context value safe to send back (text made printable), or None to leave it out."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return printable(value, 200)
    return None


def validation_detail(error: Mapping[str, Any]) -> dict[str, Any]:
    """One validation error as sent: field path, rule and message; never the rejected input."""
    loc = [p if isinstance(p, int) else printable(str(p)) for p in error.get("loc", ())]
    shown: dict[str, Any] = {
        "type": str(error.get("type", "")),
        "loc": loc,
        "msg": printable(str(error.get("msg", "")), 500),
    }
    context = error.get("ctx")
    if isinstance(context, Mapping) and not any(is_secret(p) for p in loc):
        kept = {str(k): v for k, raw in context.items() if (v := _shown(raw)) is not None}
        if kept:
            shown["ctx"] = kept
    return shown


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [validation_detail(e) for e in exc.errors() if isinstance(e, Mapping)]
    return JSONResponse({"detail": detail}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    if is_retryable(exc):
        log.warning(
            "request %s: transaction aborted by the database on every attempt (%s)",
            request_id,
            getattr(getattr(exc, "orig", None), "args", ("?",))[0],
        )
        return JSONResponse(
            {"detail": "the trial database was busy with conflicting requests and nothing was "
             f"recorded: send the request again (request id {request_id})"},
            status_code=503,
            headers={"Retry-After": "1"},
        )  # fmt: skip
    log.error("unhandled error in request %s", request_id, exc_info=exc)
    return JSONResponse(
        {"detail": f"internal error; quote request id {request_id} to the administrator"},
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """The domain errors' answers, and the request boundary (retries, then the 500 or 503)."""
    app.add_exception_handler(TrialkitError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)  # errors in the outer middleware
    app.add_middleware(RequestBoundary, on_error=_unexpected)
