"""Domain errors become HTTP responses here, and nowhere else.

InputError -> 422 (with the field path), NotFoundError -> 404, ConflictError and
RandomisationError (a refused allocation, no dispensable kit) -> 409,
AuthenticationError -> 401, PermissionDenied -> 403. A transaction the database
aborted to break a deadlock, which still failed when run again, -> 503 (send it
again). Anything else is a defect: it is logged with the request id and answered with
a generic 500, and the connection stays open (:mod:`trialkit.service.boundary`).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    RandomisationError,
    TrialkitError,
)
from trialkit.service.boundary import RequestBoundary
from trialkit.service.transaction import is_retryable

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("trialkit.api")
_PATH = re.compile(r"^\$(?P<path>[^:\s]*): ")


def _loc(exc: InputError) -> list[str | int]:
    """The field path of an input error, as FastAPI's own 422 responses give it."""
    loc: list[str | int] = ["body"]
    if exc.location:
        loc += exc.location.split(".")
    match = _PATH.match(exc.message)
    if match:
        for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", match["path"]):
            loc.append(part[0] if part[0] else int(part[1]))
    return loc


def error_response(exc: TrialkitError) -> JSONResponse:
    """The HTTP answer to a domain error."""
    if isinstance(exc, InputError):
        detail = [{"loc": _loc(exc), "msg": exc.message, "type": "value_error"}]
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
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrialkitError)
    return error_response(exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    if is_retryable(exc):
        log.warning("request %s: transaction aborted by the database on every attempt", request_id)
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
    app.add_exception_handler(Exception, _unexpected)  # errors in the outer middleware
    app.add_middleware(RequestBoundary, on_error=_unexpected)
