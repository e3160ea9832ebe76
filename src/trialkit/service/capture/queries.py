"""Data queries: a question on one field of one record, seen by the site and the monitor.

Life cycle::

    open ──(site answers)──> answered ──(monitor closes)──> closed
      │  └────────────(monitor closes, e.g. raised in error)──────┘
      └──<──(monitor re-opens with a comment: answered or closed)──<──┘

An edit check that fails opens a query (``source = edit_check``, the check's code); a monitor
may raise one by hand (``source = manual``). A failing check does not open a second query
while one on the same field and code is still open or answered. The site answers (and
corrects the record, a new version with a reason); only a monitor closes or re-opens (the
comment of a re-opening is kept as the query's ``resolution`` until it is closed again). Every
step is audited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, NotFoundError
from trialkit.service.capture.forms import case_report_form
from trialkit.service.capture.tables import CaptureRecord, DataQuery
from trialkit.service.platform import audit, notify
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.listing import Listing, ListPage, Sortable, list_page
from trialkit.service.platform.policy import (
    Action,
    authorize,
    patient_or_absent,
    site_or_absent,
    site_scope,
)
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.people import Role
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.locks import require_unlocked
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "QUERY_SORTS",
    "QUERY_STATUSES",
    "QueryCount",
    "QueryView",
    "answer_query",
    "close_query",
    "list_patient_queries",
    "list_site_queries",
    "list_trial_queries",
    "open_query",
    "query_counts",
    "raise_query",
    "reopen_query",
    "screening_numbers",
    "search_queries",
]


class QueryView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    patient_id: int
    site_id: int
    form: str
    record_key: str
    field: str
    code: str
    source: str
    message: str
    status: str
    opened_at: dt.datetime
    opened_by: int | None
    response: str | None
    answered_at: dt.datetime | None
    resolution: str | None
    closed_at: dt.datetime | None


def _view(row: DataQuery) -> QueryView:
    return QueryView(
        id=row.id,
        patient_id=row.patient_id,
        site_id=row.site_id,
        form=row.form,
        record_key=row.record_key,
        field=row.field,
        code=row.code,
        source=row.source,
        message=row.message,
        status=row.status,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        response=row.response,
        answered_at=row.answered_at,
        resolution=row.resolution,
        closed_at=row.closed_at,
    )


def open_query(
    session: Session,
    *,
    actor: Principal,
    grant: Grant | None,
    patient: Patient,
    form: str,
    record_key: str,
    field: str,
    code: str,
    message: str,
    source: str = "edit_check",
) -> QueryView | None:
    """Open a query unless one on the same field and code is still open or answered; the
    site's investigators are notified."""
    pending = session.scalars(
        select(DataQuery.id).where(
            DataQuery.patient_id == patient.id,
            DataQuery.form == form,
            DataQuery.record_key == record_key,
            DataQuery.field == field,
            DataQuery.code == code,
            DataQuery.status != "closed",
        )
    ).first()
    if pending is not None and source == "edit_check":
        return None
    try:
        require_unlocked(session, patient=patient, form=form, record_key=record_key, query=True)
    except ConflictError:
        if source == "edit_check":  # a check run by another change never queries a lock
            return None
        raise
    row = DataQuery(
        patient_id=patient.id,
        site_id=patient.site_id,
        form=form,
        record_key=record_key,
        field=field[:200],
        code=code,
        source=source,
        message=message,
        status="open",
        opened_at=utcnow(),
        opened_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="data_query",
        entity_id=row.id,
        values={
            "patient_id": patient.id,
            "form": form,
            "record_key": record_key,
            "field": row.field,
            "code": code,
            "source": source,
            "message": message,
        },
    )
    notify.notify(
        session,
        trial_id=patient.trial_id,
        kind=notify.Kind.QUERY_OPENED,
        to=notify.To.role(Role.INVESTIGATOR, site_id=patient.site_id),
        message=notify.query_opened_message(
            trial=get_trial_or_raise(session, patient.trial_id).acronym,
            screening_number=patient.screening_number,
            form=form,
            field=row.field,
            message=message,
        ),
        site_id=patient.site_id,
        link=f"/patients/{patient.id}",
    )
    return _view(row)


def _query_or_absent(
    session: Session, actor: Principal, query_id: int, action: Action
) -> tuple[DataQuery, Grant]:
    absent = f"query {query_id} not found"
    row = session.get(DataQuery, query_id)
    if row is None:
        authorize(actor, action, trial_id=None)
        raise NotFoundError(absent)
    patient = session.get(Patient, row.patient_id)
    assert patient is not None
    grant = authorize(actor, action, trial_id=patient.trial_id, site_id=row.site_id, absent=absent)
    return row, grant


def _transition(
    session: Session,
    *,
    actor: Principal,
    grant: Grant,
    row: DataQuery,
    status: str,
    field: str,
    text: str,
) -> QueryView:
    patient = session.get(Patient, row.patient_id)
    assert patient is not None
    require_unlocked(session, patient=patient, form=row.form, record_key=row.record_key, query=True)
    old = row.status
    row.status = status
    now = utcnow()
    if status == "answered":
        row.response, row.answered_at, row.answered_by = text, now, actor.user_id
    else:
        row.resolution, row.closed_at, row.closed_by = text, now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="answer" if status == "answered" else "close",
        entity="data_query",
        entity_id=row.id,
        changes={"status": (old, status), field: (None, text)},
    )
    return _view(row)


def answer_query(*, session: Session, actor: Principal, query_id: int, response: str) -> QueryView:
    """The site's answer (say what was corrected, or why the value stands)."""
    row, grant = _query_or_absent(session, actor, query_id, Action.EDIT_CLINICAL)
    if row.status == "closed":
        raise ConflictError(f"query {row.id} is closed; a monitor may raise a new one")
    return _transition(
        session,
        actor=actor,
        grant=grant,
        row=row,
        status="answered",
        field="response",
        text=response,
    )


def close_query(*, session: Session, actor: Principal, query_id: int, resolution: str) -> QueryView:
    """The monitor closes a query (answered, or raised in error), saying why."""
    row, grant = _query_or_absent(session, actor, query_id, Action.REVIEW_QUERIES)
    if row.status == "closed":
        raise ConflictError(f"query {row.id} is already closed")
    return _transition(
        session,
        actor=actor,
        grant=grant,
        row=row,
        status="closed",
        field="resolution",
        text=resolution,
    )


def reopen_query(*, session: Session, actor: Principal, query_id: int, comment: str) -> QueryView:
    """The monitor re-opens an answered or closed query, saying what is still wrong."""
    row, grant = _query_or_absent(session, actor, query_id, Action.REVIEW_QUERIES)
    if row.status == "open":
        raise ConflictError(f"query {row.id} is already open")
    old = row.status
    row.status = "open"
    row.resolution, row.closed_at, row.closed_by = comment, None, None
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="reopen",
        entity="data_query",
        entity_id=row.id,
        changes={"status": (old, "open"), "comment": (None, comment)},
    )
    return _view(row)


def raise_query(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    form: str,
    record_key: str,
    field: str,
    message: str,
) -> QueryView:
    """A monitor's own query on a field (source data verification, say) of a case report form
    of the trial's protocol."""
    patient, grant = patient_or_absent(session, actor, patient_id, Action.REVIEW_QUERIES)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    name = case_report_form(protocol, form).name
    recorded = select(CaptureRecord.id).where(
        CaptureRecord.patient_id == patient.id,
        CaptureRecord.form == name,
        CaptureRecord.record_key == record_key,
    )
    if session.scalars(recorded).first() is None:
        raise NotFoundError(
            f"no {name} record {record_key!r} for this patient", location="record_key"
        )
    view = open_query(
        session,
        actor=actor,
        grant=grant,
        patient=patient,
        form=name,
        record_key=record_key,
        field=field,
        code="manual",
        message=message,
        source="manual",
    )
    assert view is not None
    return view


def _listed(session: Session, *conditions: object, status: str | None) -> list[QueryView]:
    query = select(DataQuery).where(*conditions)  # type: ignore[arg-type]
    if status is not None:
        query = query.where(DataQuery.status == status)
    return [_view(r) for r in session.scalars(query.order_by(DataQuery.id))]


def list_patient_queries(
    *, session: Session, actor: Principal, patient_id: int, status: str | None = None
) -> list[QueryView]:
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    return _listed(session, DataQuery.patient_id == patient.id, status=status)


def list_site_queries(
    *, session: Session, actor: Principal, site_id: int, status: str | None = None
) -> list[QueryView]:
    """A site's queries (the investigator's work list)."""
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_CLINICAL)
    return _listed(session, DataQuery.site_id == site.id, status=status)


def list_trial_queries(
    *, session: Session, actor: Principal, trial_id: int, status: str | None = None
) -> list[QueryView]:
    """Every query at the sites the caller may see (the monitor's work list)."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_CLINICAL, trial_id=trial.id)
    sites = site_scope(actor, Action.VIEW_CLINICAL, trial_id=trial.id)
    in_trial = DataQuery.patient_id.in_(select(Patient.id).where(Patient.trial_id == trial.id))
    if sites is None:
        return _listed(session, in_trial, status=status)
    return _listed(session, in_trial, DataQuery.site_id.in_(sites), status=status)


QUERY_STATUSES = ("pending", "open", "answered", "closed", "all")
"""The status filter of the query list: ``pending`` is open or answered (work not done)."""

QUERY_SORTS: dict[str, Sortable] = {
    "id": DataQuery.id,
    "opened_at": DataQuery.opened_at,
    "status": DataQuery.status,
    "form": DataQuery.form,
    "site": DataQuery.site_id,
    "patient": DataQuery.patient_id,
}


def _visible(session: Session, actor: Principal, trial_id: int) -> list[ColumnElement[bool]]:
    """The conditions that keep to the caller's sites of the trial (after authorising)."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_CLINICAL, trial_id=trial.id)
    sites = site_scope(actor, Action.VIEW_CLINICAL, trial_id=trial.id)
    conditions: list[ColumnElement[bool]] = [
        DataQuery.patient_id.in_(select(Patient.id).where(Patient.trial_id == trial.id))
    ]
    if sites is not None:
        conditions.append(DataQuery.site_id.in_(sites))
    return conditions


def search_queries(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    listing: Listing,
    status: str = "pending",
    site_id: int | None = None,
    form: str | None = None,
    patient_id: int | None = None,
    screening_number: str | None = None,
    text: str | None = None,
) -> ListPage[QueryView]:
    """One page of the queries at the sites the caller may see, filtered and sorted."""
    query = select(DataQuery).where(*_visible(session, actor, trial_id))
    if status == "pending":
        query = query.where(DataQuery.status != "closed")
    elif status in ("open", "answered", "closed"):
        query = query.where(DataQuery.status == status)
    if site_id is not None:
        query = query.where(DataQuery.site_id == site_id)
    if form:
        query = query.where(DataQuery.form == form)
    if patient_id is not None:
        query = query.where(DataQuery.patient_id == patient_id)
    if screening_number:
        query = query.where(
            DataQuery.patient_id.in_(
                select(Patient.id).where(Patient.screening_number == screening_number)
            )
        )
    if text:
        query = query.where(DataQuery.message.icontains(text, autoescape=True))
    found = list_page(session, query, listing, sort_columns=QUERY_SORTS, tiebreak=DataQuery.id)
    return ListPage(items=[_view(r) for r in found.items], total=found.total, listing=listing)


def screening_numbers(session: Session, listed: list[QueryView]) -> dict[int, str]:
    """The screening number of each patient of queries already found for the caller."""
    ids = {q.patient_id for q in listed}
    rows = session.execute(select(Patient.id, Patient.screening_number).where(Patient.id.in_(ids)))
    return {row.id: row.screening_number for row in rows}


AGED_DAYS = 30
"""A query not closed after this many days counts as aged."""


class QueryCount(BaseModel):
    """Queries of one site or one form by status, with the aged ones and the oldest open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str  # "site" (key: the site's id) or "form" (key: the form's name)
    key: str
    open: int
    answered: int
    closed: int
    aged: int
    oldest_open: dt.date | None


def query_counts(
    *, session: Session, actor: Principal, trial_id: int, today: dt.date
) -> list[QueryCount]:
    """Counts by site and by form, at the sites the caller may see (one query per group)."""
    conditions = _visible(session, actor, trial_id)
    cutoff = dt.datetime.combine(today - dt.timedelta(days=AGED_DAYS), dt.time(), tzinfo=dt.UTC)
    out: list[QueryCount] = []
    for by, column in (("site", DataQuery.site_id), ("form", DataQuery.form)):
        rows = session.execute(
            select(
                column,
                DataQuery.status,
                func.count(),
                func.min(DataQuery.opened_at),
                func.count().filter(DataQuery.opened_at < cutoff),
            )
            .where(*conditions)
            .group_by(column, DataQuery.status)
        ).all()
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        oldest_open: dict[str, dt.date] = {}
        for key, status, count, oldest, aged in rows:
            counts[str(key)][status] += count
            if status != "closed":
                counts[str(key)]["aged"] += aged
            if status == "open" and oldest is not None:
                oldest_open[str(key)] = oldest.date()
        out.extend(
            QueryCount(
                by=by,
                key=key,
                open=count["open"],
                answered=count["answered"],
                closed=count["closed"],
                aged=count["aged"],
                oldest_open=oldest_open.get(key),
            )
            for key, count in sorted(counts.items())
        )
    return out
