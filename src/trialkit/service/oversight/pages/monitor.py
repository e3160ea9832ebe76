"""The monitor's pages (blinded): enrolment against target, data completeness, PFS events.

* ``/monitor``: screening outcomes and randomised patients by site and country, the
  cumulative enrolment against the planned enrolment (``/monitor/enrolment.svg``), and
  the pooled count of PFS events against the target (the forecast is ``/forecast``);
* ``/monitor/data``: expected, done, overdue and out-of-window visits by site, and
  open, answered and closed queries by site with the oldest open one.

Counts come from the service's blinded views, which carry no arm and nothing derived
from one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError
from trialkit.report.enrolment_plot import enrolment_svg
from trialkit.service.oversight import forecast, monitoring
from trialkit.service.oversight.pages.forecast import calendar_today
from trialkit.service.platform import audit
from trialkit.service.platform.cache import GrantsKey, LruCache, grants_key
from trialkit.service.platform.pages.deps import DbSession, PagesDep, ViewerDep
from trialkit.service.platform.policy import Action, site_scope
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import PatientView, SiteView
from trialkit.service.screening import patients
from trialkit.service.screening import screening as screening_service
from trialkit.service.trials import trials

router = APIRouter()


@dataclass
class Tally:
    """Patients in screening at a site or in a country (no arm, nothing derived from one)."""

    registered: int = 0
    screened: int = 0
    eligible: int = 0
    not_eligible: int = 0
    undetermined: int = 0
    consented: int = 0
    sites: list[str] = field(default_factory=list)

    def add(self, patient: PatientView) -> None:
        self.registered += 1
        self.screened += patient.screening_record_versions > 0
        self.eligible += patient.latest_verdict == "eligible"
        self.not_eligible += patient.latest_verdict == "not eligible"
        self.undetermined += patient.latest_verdict == "undetermined"
        self.consented += patient.consented


Tallies = tuple[list[tuple[SiteView, Tally]], dict[str, Tally], Tally]
"""Screening by site, by country and in total."""

_tallies: LruCache[tuple[int, str, GrantsKey], Tallies] = LruCache(16)
"""Screening tallies by trial, data version and the caller's grants in it (per process)."""


def _screening_tallies(
    session: Session, actor: Principal, trial_id: int, countries: list[str]
) -> Tallies:
    """Every patient of each site the caller may see, tallied: cached per data version
    (:func:`~trialkit.service.platform.audit.data_version`) and the caller's grants, after
    the caller may see the trial's sites."""
    sites = trials.list_sites(session=session, actor=actor, trial_id=trial_id)
    key = (trial_id, audit.data_version(session), grants_key(actor, trial_id))
    return _tallies.get_or_make(key, lambda: _tally(session, actor, sites, countries))


def _tally(
    session: Session, actor: Principal, sites: list[SiteView], countries: list[str]
) -> Tallies:
    by_site: list[tuple[SiteView, Tally]] = []
    by_country: dict[str, Tally] = {c: Tally() for c in countries}
    total = Tally()
    for site in sites:
        try:
            listed = patients.list_patients(session=session, actor=actor, site_id=site.id)
        except NotFoundError:  # a monitor assigned to other sites
            continue
        tally = Tally()
        for patient in listed:
            tally.add(patient)
            by_country.setdefault(site.country, Tally()).add(patient)
            total.add(patient)
        by_country.setdefault(site.country, Tally()).sites.append(site.code)
        by_site.append((site, tally))
    return by_site, by_country, total


@router.get("/monitor", response_class=HTMLResponse)
def enrolment(
    request: Request, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> HTMLResponse:
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    actor = viewer.principal
    protocol = screening_service.get_protocol(
        session=session, actor=actor, trial_id=viewer.trial.id
    )
    by_site, by_country, total = _screening_tallies(
        session, actor, viewer.trial.id, viewer.trial.countries
    )
    names = {c.code: c.name for c in protocol.countries}
    progress = monitoring.enrolment_progress(session=session, actor=actor, trial_id=viewer.trial.id)
    trial_wide = site_scope(actor, Action.VIEW_FORECAST, trial_id=viewer.trial.id) is None
    events = (  # pooled over every site: not for a monitor of some sites only
        forecast.pooled_events(
            session=session, actor=actor, trial_id=viewer.trial.id, today=calendar_today(request)
        )
        if trial_wide
        else None
    )
    return pages.response(
        "monitor/enrolment.html",
        viewer=viewer,
        progress=progress,
        events=events,
        trial_wide=trial_wide,
        by_site=by_site,
        by_country=sorted(by_country.items()),
        country_names=names,
        total=total,
        target=progress.target,  # None for a monitor of some sites: the target is the trial's
        target_events=protocol.design.events if protocol.design else None,
    )


@router.get("/monitor/enrolment.svg")
def enrolment_plot(
    viewer: ViewerDep, session: DbSession, pages: PagesDep, by: str = "country"
) -> Response:
    """Cumulative randomisations, in total and per country (or site), against the plan."""
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    progress = monitoring.enrolment_progress(
        session=session, actor=viewer.principal, trial_id=viewer.trial.id
    )
    svg = enrolment_svg(
        months=[(m.month, m.cumulative) for m in progress.months],
        by_country=progress.site_months if by == "site" else progress.country_months,
        target=progress.target,
        planned_start=progress.planned_start,
        planned_end=progress.planned_end,
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=60"})


@router.get("/monitor/data", response_class=HTMLResponse)
def data_quality(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    on: str | None = None,
) -> HTMLResponse:
    """Visit completeness and queries by site, on a date (default: today)."""
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    errors: dict[str, str] = {}
    today = calendar_today(request)
    if on:
        try:
            today = dt.date.fromisoformat(on.strip())
        except ValueError:
            errors["on"] = pages._("The date must be written YYYY-MM-DD, for example 2009-06-30.")
    actor = viewer.principal
    tallies = monitoring.visit_completeness(
        session=session, actor=actor, trial_id=viewer.trial.id, today=today
    )
    queries = monitoring.query_summary(session=session, actor=actor, trial_id=viewer.trial.id)
    return pages.response(
        "monitor/data.html",
        viewer=viewer,
        today=today,
        visits=tallies,
        queries=queries,
        values={"on": on or ""},
        errors=errors,
    )
