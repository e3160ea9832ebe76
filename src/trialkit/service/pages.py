"""Server-rendered pages for every role (Jinja2 and htmx, no front-end build).

The pages call the same :mod:`trialkit.service` functions as the API, in one
transaction per request, and never query the store themselves. They are an
application of their own, mounted beside the API by :mod:`trialkit.service.server`:

* log in and out (the API's session cookie; a CSRF token on every form)
* home: per role
* investigator: patients of their site, screening with a live eligibility
  checklist, consent, randomisation, the patient page (visit schedule, records,
  RECIST per assessment, PFS, queries), the case report forms, emergency unblinding
* pharmacist: kit inventory, receipts, dispensing, resupply requests
* monitor (blinded): enrolment against target by site and country over time, visit
  completeness and queries by site, the pooled count of PFS events, source data
  verification (work list by the protocol's SDV plan) and monitoring visit reports
* investigator: the casebook with its electronic signatures, and its PDF
* monitor, statisticians, DSMB: the blinded event forecast (``/forecast``)
* statistician: the protocol's design claims and power curve, simulation runs
* reports: the blinded (pooled) or unblinded trial report, HTML and PDF (``/reports``)
* data manager (blinded): freezes and locks, the database lock, signed data cut packages;
  administrator: unlock (``/locks``)
* administrator: sites, users and roles, audit trail and its export

Every form works without JavaScript; htmx only
refreshes the eligibility checklist while the screening form is filled in, and the RECIST
response while a tumour form is.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from trialkit.config import Settings
from trialkit.service.capture.pages import clinical, grid, patients, queries, signoff
from trialkit.service.oversight.pages import audit, datamanager, design, forecast, monitor, reports
from trialkit.service.oversight.pages import home as work_lists
from trialkit.service.platform.anchors import Anchoring
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.pages import auth, home, inbox
from trialkit.service.platform.pages.deps import checked_input
from trialkit.service.platform.pages.errors import install_error_pages
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import Database
from trialkit.service.randomisation.pages import pharmacy, randomise
from trialkit.service.safety import pages as safety
from trialkit.service.trials import pages as admin

__all__ = ["STATIC_DIR", "create_web_app"]

STATIC_DIR = Path(__file__).resolve().parent / "platform" / "pages" / "static"


def create_web_app(
    *, settings: Settings, database: Database, security: Security, clock: Clock | None = None
) -> FastAPI:
    """The pages as an application, sharing the API's settings, database and security.

    It runs mounted in the API application (:func:`trialkit.service.server.create_server`), whose
    middleware gives each request its request id and pins the calendar date for records.
    """
    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(checked_input)],  # the boundary's checks on every page and form
    )
    app.state.settings = settings
    app.state.database = database
    app.state.security = security
    app.state.clock = clock or Clock.from_settings(settings)  # the API's, when mounted in it
    app.state.pages = Pages()
    app.state.anchoring = Anchoring.from_paths(settings.audit_anchor_key, settings.audit_anchor_dir)

    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        auth,
        home,
        work_lists,
        inbox,
        patients,
        randomise,
        clinical,
        queries,
        signoff,
        grid,
        pharmacy,
        safety,
        monitor,
        design,
        admin,
        audit,
        forecast,
        reports,
        datamanager,
    ):
        app.include_router(module.router, include_in_schema=False)
    return app
