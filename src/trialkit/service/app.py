"""The FastAPI application factory: settings and database are built here, never at import."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from trialkit import __version__
from trialkit.config import Settings, load_settings
from trialkit.service.capture import api as capture
from trialkit.service.capture import signoff_api
from trialkit.service.oversight.api import forecast, reports
from trialkit.service.platform.anchors import Anchoring
from trialkit.service.platform.api import audit, health, notifications
from trialkit.service.platform.api.deps import checked_input
from trialkit.service.platform.api.errors import install_error_handlers
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import api as randomisation
from trialkit.service.safety import api as safety
from trialkit.service.screening import api as patients
from trialkit.service.trials.api import auth, locks, trials, users

__all__ = ["create_app"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# scripts only from this site (htmx is served from /static), no framing, no plug-ins; inline
# styles stay allowed for the reports' self-contained figures (SVG style attributes)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_INTERACTIVE_DOCS = ("/docs", "/redoc")  # FastAPI's own pages, which load their scripts


def _secure(path: str, response: Response) -> None:
    """Browser hygiene on every answer, API and pages alike.

    Nothing but the static files may be kept by a browser or a proxy: pages and API answers
    hold patient data (``Cache-Control: no-store``).
    """
    response.headers.update(SECURITY_HEADERS)
    if not path.startswith(_INTERACTIVE_DOCS):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if not path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    security: Security | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the API; refuses unsafe settings (a default secret key outside demo mode).

    ``security`` replaces the one built from the settings (tests give one with their clock);
    ``clock``, the service's clock built from the settings.
    """
    settings = settings or load_settings()
    settings.require_safe()
    app = FastAPI(
        title="trialkit",
        version=__version__,
        description="The trial service: sites, users, patients, screening and the audit trail.",
        dependencies=[Depends(checked_input)],  # one validation layer for every route
    )
    app.state.settings = settings
    app.state.database = database or create_database(
        settings.database_url, pool_size=settings.db_pool_size
    )
    app.state.security = security or Security.from_settings(settings)
    clock = app.state.clock = clock or Clock.from_settings(settings)  # shared by the pages
    app.state.anchoring = Anchoring.from_paths(settings.audit_anchor_key, settings.audit_anchor_dir)
    install_error_handlers(app)  # first: its request boundary runs inside the middleware below

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        with clock.pinned():  # records stamped on a pinned calendar date
            response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        _secure(request.url.path, response)
        return response

    for module in (
        health,
        auth,
        trials,
        users,
        locks,
        patients,
        capture,
        signoff_api,
        randomisation,
        safety,
        audit,
        notifications,
        forecast,
        reports,
    ):
        app.include_router(module.router)
    return app
