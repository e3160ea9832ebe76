"""Errors as pages: a domain error becomes a page in plain words, never a JSON body or a trace.

NotFoundError -> 404 (another site's patient reads as absent), PermissionDenied -> 403,
an expired session -> the login page, ConflictError and InputError outside a form -> 409
and 422 with the message. A request FastAPI cannot validate is a page too: a bad id in the
address (``/patients/0``, ``/patients/abc``) -> 404, a bad query or form value -> 422 naming
the value and what it must be. Inside a form, errors are shown next to their fields instead
(:class:`FormRejected`); the transaction is rolled back either way.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    SessionTimeoutError,
    TrialkitError,
)
from trialkit.service.platform.boundary import printable
from trialkit.service.platform.pages.deps import CsrfRejected, LoginRequired, login_url
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.request_boundary import RequestBoundary
from trialkit.service.platform.transaction import is_retryable

__all__ = ["FormRejected", "install_error_pages", "plain_problem"]

log = logging.getLogger("trialkit.service.pages")


class FormRejected(Exception):  # noqa: N818 - carries the page that shows the errors
    """A form with errors: the page showing them (raised so that the transaction rolls back)."""

    def __init__(self, response: Response) -> None:
        super().__init__("form rejected")
        self.response = response


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    pages = _pages(request)
    return pages.response(
        "error.html",
        status_code=status,
        title=pages._(title),
        message=printable(message, 2000),
        request_id=getattr(request.state, "request_id", "-"),
    )


async def _form_rejected(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRejected)
    return exc.response


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path, timed_out=exc.timed_out), status_code=303)


async def _csrf(request: Request, _exc: Exception) -> Response:
    return _error_page(
        request,
        403,
        N_("Form expired"),
        _pages(request)._(
            "This form does not belong to your current session (it may be from before you "
            "logged in again). Go back, reload the page and submit it again."
        ),
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TrialkitError)
    if isinstance(exc, AuthenticationError):
        timed_out = isinstance(exc, SessionTimeoutError)
        return RedirectResponse(login_url(request.url.path, timed_out=timed_out), status_code=303)
    if isinstance(exc, NotFoundError):
        return _error_page(request, 404, N_("Not found"), str(exc))
    if isinstance(exc, PermissionDenied):
        return _error_page(request, 403, N_("Not allowed"), str(exc))
    if isinstance(exc, ConflictError):
        return _error_page(request, 409, N_("Not possible now"), str(exc))
    if isinstance(exc, InputError):
        return _error_page(request, 422, N_("Please check your input"), str(exc))
    return _error_page(request, 400, N_("Not possible"), str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/api/"):  # an unknown API path answers as the API would
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 404:
        return _error_page(request, 404, N_("Not found"), _pages(request)._("No such page."))
    return _error_page(request, exc.status_code, N_("Not possible"), str(exc.detail))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    pages = _pages(request)
    problems = [e for e in exc.errors() if isinstance(e, dict)]
    if not problems or any(tuple(e.get("loc", ()))[:1] == ("path",) for e in problems):
        return _error_page(
            request,
            404,
            N_("Not found"),
            pages._("No such page: the address does not name a valid record (check the number)."),
        )
    lines = []
    for problem in problems:
        name = printable(str(tuple(problem.get("loc", ()))[-1]))
        context = {k: printable(str(v)) for k, v in (problem.get("ctx") or {}).items()}
        words = plain_problem(
            pages, str(problem.get("type", "")), str(problem.get("msg", "")), context
        )
        lines.append(f"{name}: {words}")
    return _error_page(request, 422, N_("Please check your input"), "; ".join(lines))


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "-")
    status = 500
    if is_retryable(exc):  # conflicting transactions, on every attempt: worth sending again
        log.warning("page request %s: transaction aborted on every attempt", request_id)
        status = 503
    else:
        log.error("unhandled error in page request %s", request_id, exc_info=exc)
    return _error_page(
        request,
        status,
        N_("Something went wrong"),
        _pages(request)._("An internal error occurred; quote the request id to the administrator."),
    )


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(FormRejected, _form_rejected)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(TrialkitError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RequestBoundary, on_error=_unexpected)  # retries, then the error page


_PLAIN: dict[str, str] = {
    "missing": N_("this is required when the rest of this group is filled in"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "greater_than": N_("must be more than %(gt)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "less_than": N_("must be less than %(lt)s"),
    "date_from_datetime_parsing": N_("enter a date as YYYY-MM-DD"),
    "date_parsing": N_("enter a date as YYYY-MM-DD"),
    "float_parsing": N_("enter a number"),
    "int_parsing": N_("enter a whole number"),
    "literal_error": N_("choose one of the listed options"),
}


def plain_problem(pages: Pages, kind: str, message: str, context: dict[str, str]) -> str:
    """A validation problem in plain words (pydantic's own message when there is no better one)."""
    template = _PLAIN.get(kind)
    if template is None:
        return message
    try:
        return pages._(template) % context
    except (KeyError, ValueError):
        return message
