"""Each role's work list for the home page: what is due, overdue or waiting, and where.

Blinded throughout: visits, queries, patients and counts by site and status, never by arm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, PermissionDenied
from trialkit.service.capture import queries, sdv, signatures, visits
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit
from trialkit.service.platform.cache import GrantsKey, LruCache, grants_key
from trialkit.service.platform.policy import Action, authorize, site_scope
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import PatientView, SiteView
from trialkit.service.randomisation import randomisation
from trialkit.service.screening import patients
from trialkit.service.screening.tables import Patient
from trialkit.service.trials import trials

__all__ = [
    "DueVisit",
    "MonitorSite",
    "SiteWork",
    "Waiting",
    "investigator_work",
    "monitor_work",
]

RECENT_DAYS = 30
"""The monitor's "entered lately": records saved within this many days."""


@dataclass(frozen=True)
class DueVisit:
    """A visit due now or overdue: the patient, which visit and its window."""

    patient: PatientView
    label: str
    earliest: dt.date
    latest: dt.date
    status: str  # "due" or "overdue"


@dataclass(frozen=True)
class Waiting:
    """A patient screened but not randomised, and what randomising her still needs."""

    patient: PatientView
    missing: list[str]


@dataclass(frozen=True)
class SiteWork:
    """An investigator's work at one site on one day."""

    site: SiteView
    visits: list[DueVisit]
    waiting: list[Waiting]
    open_queries: int
    answered_queries: int
    aged_queries: int
    to_sign: int = 0
    """Records that need the investigator's signature (again), from the sign-off service."""
    casebooks_to_sign: int = 0
    """Patients whose casebook holds such records."""


_site_work: LruCache[tuple[int, dt.date, str, GrantsKey], SiteWork] = LruCache(64)
"""Site work lists by site, day, data version and the caller's grants there (per process)."""


def investigator_work(
    *, session: Session, actor: Principal, site_id: int, today: dt.date
) -> SiteWork:
    """Visits due or overdue, patients waiting for randomisation, and the queries at a site.

    It derives every patient's schedule, so it is cached per site, day, data version
    (:func:`~trialkit.service.platform.audit.data_version`) and the caller's grants at the
    site, and served from the cache only after the caller may see the site.
    """
    site = trials.get_site(session=session, actor=actor, site_id=site_id)
    key = (site.id, today, audit.data_version(session), grants_key(actor, site.trial_id, site.id))
    return _site_work.get_or_make(key, lambda: _site_work_of(session, actor, site, today))


def _site_work_of(session: Session, actor: Principal, site: SiteView, today: dt.date) -> SiteWork:
    site_id = site.id
    due: list[DueVisit] = []
    waiting: list[Waiting] = []
    for patient in patients.list_patients(session=session, actor=actor, site_id=site_id):
        if patient.status == "screening":
            check = randomisation.readiness(
                session=session, actor=actor, patient_id=patient.id, on_date=today
            )
            waiting.append(Waiting(patient, [c.reason for c in check.failing]))
            continue
        if patient.status not in ("on_treatment", "follow_up"):
            continue
        try:
            schedule = visits.patient_visits(
                session=session, actor=actor, patient_id=patient.id, today=today
            )
        except ConflictError:  # not randomised: no schedule
            continue
        due.extend(
            DueVisit(patient, v.label, v.earliest, v.latest, v.status)
            for v in schedule.visits
            if v.status in ("due", "overdue")
        )
    due.sort(key=lambda v: (v.status != "overdue", v.latest, v.patient.screening_number))
    counts = {
        c.key: c
        for c in queries.query_counts(
            session=session, actor=actor, trial_id=site.trial_id, today=today
        )
        if c.by == "site"
    }
    tally = counts.get(str(site.id))
    # every casebook of the site in a fixed number of statements (signatures.records_to_sign)
    books = signatures.casebooks_to_sign(session=session, actor=actor, site_id=site.id)
    return SiteWork(
        site=site,
        visits=due,
        waiting=waiting,
        open_queries=tally.open if tally else 0,
        answered_queries=tally.answered if tally else 0,
        aged_queries=tally.aged if tally else 0,
        to_sign=sum(b.to_sign for b in books),
        casebooks_to_sign=len(books),
    )


@dataclass(frozen=True)
class MonitorSite:
    """One monitored site: data entered lately, and its queries by status and age.

    Overdue visits are counted on ``/monitor/data`` (every patient's schedule: too slow for
    a home page).
    """

    site: SiteView
    entered: int
    queries: dict[str, int] = field(default_factory=dict)
    awaiting_verification: int | None = None
    """Records the SDV plan requires and nobody verified yet (``None``: not the viewer's to
    verify)."""


def monitor_work(
    *, session: Session, actor: Principal, trial_id: int, today: dt.date
) -> list[MonitorSite]:
    """Per site the monitor may see: records entered lately and the queries."""
    authorize(actor, Action.VIEW_CLINICAL, trial_id=trial_id)
    scope = site_scope(actor, Action.VIEW_CLINICAL, trial_id=trial_id)
    sites = [
        s
        for s in trials.list_sites(session=session, actor=actor, trial_id=trial_id)
        if scope is None or s.id in scope
    ]
    since = dt.datetime.combine(today - dt.timedelta(days=RECENT_DAYS), dt.time(), tzinfo=dt.UTC)
    entered: dict[int, int] = {
        row.site_id: row.entered
        for row in session.execute(
            select(Patient.site_id, func.count().label("entered"))
            .join(CaptureRecord, CaptureRecord.patient_id == Patient.id)
            .where(Patient.trial_id == trial_id, CaptureRecord.recorded_at >= since)
            .group_by(Patient.site_id)
        )
    }
    counts = {
        c.key: c
        for c in queries.query_counts(session=session, actor=actor, trial_id=trial_id, today=today)
        if c.by == "site"
    }
    awaiting = _awaiting_verification(session, actor, trial_id)
    out = []
    for site in sites:
        tally = counts.get(str(site.id))
        out.append(
            MonitorSite(
                site=site,
                entered=entered.get(site.id, 0),
                queries={
                    "open": tally.open if tally else 0,
                    "answered": tally.answered if tally else 0,
                    "closed": tally.closed if tally else 0,
                    "aged": tally.aged if tally else 0,
                },
                awaiting_verification=None if awaiting is None else awaiting.get(site.id, 0),
            )
        )
    return out


_awaiting: LruCache[tuple[int, str, GrantsKey], dict[int, int] | None] = LruCache(32)
"""Records awaiting SDV per site, by trial, data version and the caller's grants (per process):
the SDV work list hashes every record of the trial, a third of a monitor's home page."""


def _awaiting_verification(
    session: Session, actor: Principal, trial_id: int
) -> dict[int, int] | None:
    """Per site, the records awaiting source data verification (the SDV service's work list,
    every site in a fixed number of statements); ``None`` when the viewer may not verify.
    Cached per data version (:func:`~trialkit.service.platform.audit.data_version`) and the
    caller's grants, so a monitor of some sites never gets another's counts."""
    key = (trial_id, audit.data_version(session), grants_key(actor, trial_id))
    return _awaiting.get_or_make(key, lambda: _awaiting_of(session, actor, trial_id))


def _awaiting_of(session: Session, actor: Principal, trial_id: int) -> dict[int, int] | None:
    try:
        work = sdv.work_list(session=session, actor=actor, trial_id=trial_id)
    except PermissionDenied:
        return None
    per_site: dict[int, int] = {}
    for item in work.items:
        per_site[item.site_id] = per_site.get(item.site_id, 0) + 1
    return per_site
