"""The monitor's blinded overview: enrolment against target, visit completeness, queries.

Everything here is counted over patients, sites and countries, never over arms: it
reads the blinded enrolment report, each randomised patient's visit schedule and the
query work list, all through the service functions that authorise them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, NotFoundError, TrialkitError
from trialkit.service.capture import queries, visits
from trialkit.service.platform import audit
from trialkit.service.platform.cache import LruCache
from trialkit.service.platform.policy import Action, site_or_absent, site_scope
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import SiteView
from trialkit.service.randomisation import reports
from trialkit.service.screening import patients
from trialkit.service.trials import trials
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "EnrolmentProgress",
    "MonthCount",
    "QueryTally",
    "VisitTally",
    "enrolment_progress",
    "query_summary",
    "visit_completeness",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonthCount(_View):
    """Patients randomised in one month, the running total and the planned running total.

    ``planned`` is ``None`` for a monitor of some sites only (the plan is the whole trial's).
    """

    month: str
    randomised: int
    cumulative: int
    planned: float | None


class EnrolmentProgress(_View):
    """Randomised patients over time, by site and by country, against the protocol's target.

    For a monitor assigned to some sites only (``sites``: their codes), the counts are their
    sites' and ``target`` is ``None``: the protocol's target (``trial_target``) and its plan
    are the whole trial's, and their sites' randomisations set against it would read as the
    trial falling behind. ``sites`` is ``None`` for a trial-wide view.
    """

    target: int | None
    trial_target: int | None
    sites: list[str] | None
    planned_start: dt.date
    planned_end: dt.date
    total: int
    months: list[MonthCount]
    by_site: dict[str, int]
    by_country: dict[str, int]
    country_months: dict[str, list[tuple[str, int]]]
    site_months: dict[str, list[tuple[str, int]]]


def _month_end(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    first_next = dt.date(year + mon // 12, mon % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _months(first: str, last: str) -> list[str]:
    year, mon = (int(x) for x in first.split("-"))
    out = []
    while f"{year:04d}-{mon:02d}" <= last:
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return out


def enrolment_progress(*, session: Session, actor: Principal, trial_id: int) -> EnrolmentProgress:
    """Cumulative randomisations per month (every month, also those without any) vs the plan.

    The plan is linear: the protocol's patients spread evenly from its first to its last
    planned enrolment date. A monitor of some sites sees their sites' counts without it.
    """
    rows = reports.enrolment(session=session, actor=actor, trial_id=trial_id)
    protocol = trial_protocol(get_trial_or_raise(session, trial_id))
    start, end = protocol.dates.first_enrolment, protocol.dates.final_enrolment
    trial_target = protocol.design.patients if protocol.design else None
    scope = site_scope(actor, Action.VIEW_ENROLMENT, trial_id=trial_id)
    target = trial_target if scope is None else None
    codes = (
        None
        if scope is None
        else sorted(
            s.code
            for s in trials.list_sites(session=session, actor=actor, trial_id=trial_id)
            if s.id in scope
        )
    )
    per_month: Counter[str] = Counter()
    by_site: Counter[str] = Counter()
    by_country: Counter[str] = Counter()
    country_month: dict[str, Counter[str]] = defaultdict(Counter)
    site_month: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        per_month[row.month] += row.randomised
        by_site[row.site] += row.randomised
        by_country[row.country] += row.randomised
        country_month[row.country][row.month] += row.randomised
        site_month[row.site][row.month] += row.randomised
    span = max((end - start).days + 1, 1)
    months: list[MonthCount] = []
    running = 0
    if per_month:
        for month in _months(min(per_month), max(per_month)):
            running += per_month[month]
            days = min(max((_month_end(month) - start).days + 1, 0), span)
            planned = target * days / span if target is not None else None
            months.append(
                MonthCount(
                    month=month, randomised=per_month[month], cumulative=running, planned=planned
                )
            )
    return EnrolmentProgress(
        target=target,
        trial_target=trial_target,
        sites=codes,
        planned_start=start,
        planned_end=end,
        total=running,
        months=months,
        by_site=dict(sorted(by_site.items())),
        by_country=dict(sorted(by_country.items())),
        country_months=_running(country_month),
        site_months=_running(site_month),
    )


def _running(counts: dict[str, Counter[str]]) -> dict[str, list[tuple[str, int]]]:
    out = {}
    for key, per_month in sorted(counts.items()):
        total, series = 0, []
        for month in sorted(per_month):
            total += per_month[month]
            series.append((month, total))
        out[key] = series
    return out


class VisitTally(_View):
    """Expected visits of a site's randomised patients on a date, and what became of them."""

    site: str
    patients: int
    expected: int
    done: int
    out_of_window: int
    overdue: int
    due: int

    @property
    def completeness(self) -> float | None:
        """Share of the visits expected by now that took place (in window or not)."""
        return None if self.expected == 0 else (self.done + self.out_of_window) / self.expected


def visit_completeness(
    *, session: Session, actor: Principal, trial_id: int, today: dt.date
) -> list[VisitTally]:
    """Per site the caller may see: visits expected by ``today``, done, out of window, overdue.

    Each site's tally derives every patient's schedule: it is cached per data version
    (:func:`~trialkit.service.platform.audit.data_version`), site and date, and served from
    the cache only to a caller who may read the site's patients and their visits.
    """
    trial = get_trial_or_raise(session, trial_id)
    version = audit.data_version(session)
    out = []
    for site in trials.list_sites(session=session, actor=actor, trial_id=trial.id):
        try:
            site_or_absent(session, actor, site.id, Action.VIEW_PATIENTS)
        except NotFoundError:  # a monitor assigned to other sites
            continue
        key = (site.id, version, today)
        tally = _tallies.get(key) if _may_read_visits(session, actor, site.id) else None
        if tally is None:
            tally = _site_visits(session, actor, site, today)
            _tallies.put(key, tally)
        out.append(tally)
    return out


_tallies: LruCache[tuple[int, str, dt.date], VisitTally] = LruCache(64)


def _may_read_visits(session: Session, actor: Principal, site_id: int) -> bool:
    try:
        site_or_absent(session, actor, site_id, Action.VIEW_CLINICAL)
    except TrialkitError:
        return False
    return True


def _site_visits(session: Session, actor: Principal, site: SiteView, today: dt.date) -> VisitTally:
    listed = patients.list_patients(session=session, actor=actor, site_id=site.id)
    status: Counter[str] = Counter()
    randomised = 0
    for patient in listed:
        try:
            schedule = visits.patient_visits(
                session=session, actor=actor, patient_id=patient.id, today=today
            )
        except ConflictError:  # not randomised: no schedule yet
            continue
        randomised += 1
        status.update(v.status for v in schedule.visits)
    expected = status["done"] + status["out_of_window"] + status["overdue"] + status["due"]
    return VisitTally(
        site=site.code,
        patients=randomised,
        expected=expected,
        done=status["done"],
        out_of_window=status["out_of_window"],
        overdue=status["overdue"],
        due=status["due"],
    )


class QueryTally(_View):
    """Queries at one site by status, and the date the oldest open one was raised."""

    site: str
    open: int
    answered: int
    closed: int
    oldest_open: dt.date | None


def query_summary(*, session: Session, actor: Principal, trial_id: int) -> list[QueryTally]:
    """Open, answered and closed queries per site the caller may see."""
    listed = queries.list_trial_queries(session=session, actor=actor, trial_id=trial_id)
    codes = {
        s.id: s.code for s in trials.list_sites(session=session, actor=actor, trial_id=trial_id)
    }
    by_site: dict[int, list[queries.QueryView]] = defaultdict(list)
    for q in listed:
        by_site[q.site_id].append(q)
    out = []
    for site_id, items in sorted(by_site.items(), key=lambda kv: codes.get(kv[0], "")):
        count = Counter(q.status for q in items)
        opened = [q.opened_at.date() for q in items if q.status == "open"]
        out.append(
            QueryTally(
                site=codes.get(site_id, str(site_id)),
                open=count["open"],
                answered=count["answered"],
                closed=count["closed"],
                oldest_open=min(opened, default=None),
            )
        )
    return out
