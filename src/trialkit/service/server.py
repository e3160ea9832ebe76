"""The whole server: the API under ``/api`` and the web pages beside it, on one application.

The pages use the API's HTTP dependencies (:mod:`trialkit.service.platform.api.deps`) and nothing
else of it; this module composes the two. ``trialkit serve`` loads :func:`create_server` as a
factory.
"""

from __future__ import annotations

from fastapi import FastAPI

from trialkit.config import Settings
from trialkit.service.app import create_app
from trialkit.service.pages import create_web_app
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security

__all__ = ["create_server"]


def create_server(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    security: Security | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The API with the pages mounted at ``/`` (API routes and ``/docs`` match first)."""
    app = create_app(settings, database=database, security=security, clock=clock)
    app.mount(
        "/",
        create_web_app(
            settings=app.state.settings,
            database=app.state.database,
            security=app.state.security,
            clock=app.state.clock,
        ),
    )
    return app
