"""Recording to the audit trail, verifying it and exporting it for an inspector."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from trialkit.service.platform.listing import Listing, ListPage, Sortable, list_page
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.audit import (
    HASHED_FIELDS,
    AuditEntry,
    AuditEvent,
    AuditHead,
    ChainReport,
    append_rows,
    iter_events,
    verify_chain,
)

__all__ = [
    "AUDIT_SORTS",
    "REDACTED",
    "AuditSearch",
    "audit_choices",
    "data_version",
    "export_trail",
    "export_trail_for",
    "list_events",
    "record",
    "record_created",
    "search_events",
    "verify_trail",
]

REDACTED = "[redacted]"
EXPORT_FIELDS = (*HASHED_FIELDS, "hash")


def data_version(session: Session) -> str:
    """The last audit event that changed trial data (sequence number and hash), as this
    transaction sees it.

    Every recorded change of data moves it, and nothing else does (a login, a session's end,
    a view of a report: :func:`record` with ``changes_data=False``), so a result computed
    from the data may be cached under it: any change, in this process or another, makes a
    new key, and the hash tells apart two chains of the same length (a rolled-back
    transaction's, another database's). Read it before the data it keys. A plain read: it
    waits for no append.
    """
    row = session.execute(
        select(AuditHead.data_seq, AuditHead.data_hash).where(AuditHead.id == 1)
    ).one_or_none()
    return "0" if row is None else f"{row[0]}:{row[1]}"


def _text(value: Any) -> str | None:
    """An audit value as text: ISO dates, canonical JSON for structures, plain strings as is."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record(
    session: Session,
    *,
    actor: Principal,
    grant: Grant | None,
    action: str,
    entity: str,
    entity_id: object,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    reason: str | None = None,
    changes_data: bool = True,
) -> None:
    """Append one event per changed field (or one event without a field) to the chain.

    ``changes_data=False`` for an event that changes no trial data (a login, a session's end,
    a view): it leaves :func:`data_version`, and the caches keyed by it, as they are.
    """
    common: dict[str, Any] = {
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "reason": reason,
        "user_id": actor.user_id,
        "username": actor.username,
        "role": grant.role.value if grant is not None else None,
        "site_id": grant.site_id if grant is not None else None,
        "request_id": actor.request_id,
        "changes_data": changes_data,
    }
    if not changes:
        entries = [AuditEntry(**common)]
    else:
        entries = [
            AuditEntry(field=name, old_value=_text(old), new_value=_text(new), **common)
            for name, (old, new) in changes.items()
        ]
    append_rows(session, entries)


def record_created(
    session: Session,
    *,
    actor: Principal,
    grant: Grant | None,
    entity: str,
    entity_id: object,
    values: Mapping[str, Any],
    reason: str | None = None,
    site_id: int | None = None,
) -> None:
    """Record a creation: one event per field, old value empty."""
    if site_id is not None and grant is not None and grant.site_id is None:
        grant = Grant(grant.role, grant.trial_id, site_id, grant.assignment_id)
    record(
        session,
        actor=actor,
        grant=grant,
        action="create",
        entity=entity,
        entity_id=entity_id,
        changes={name: (None, value) for name, value in values.items()},
        reason=reason,
    )


def verify_trail(*, session: Session) -> ChainReport:
    """Walk the whole chain; the report names the first broken link."""
    return verify_chain(session)


def list_events(
    *,
    session: Session,
    actor: Principal,
    after: int = 0,
    limit: int = 100,
    username: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> list[dict[str, object]]:
    """A page of the trail for an administrator (``after``: the last sequence number seen).

    The optional filters match exactly (who, what kind of record, which record, what was done).
    """
    authorize(actor, Action.VIEW_AUDIT, trial_id=None)
    query = select(AuditEvent).where(AuditEvent.seq > after)
    if username:
        query = query.where(AuditEvent.username == username)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    rows = session.scalars(query.order_by(AuditEvent.seq).limit(limit)).all()
    return [row.as_dict() for row in rows]


AUDIT_SORTS: dict[str, Sortable] = {
    "seq": AuditEvent.seq,
    "username": AuditEvent.username,
    "action": AuditEvent.action,
    "entity": AuditEvent.entity,
}
"""The columns the audit page sorts by (time order is sequence order)."""


@dataclass(frozen=True)
class AuditSearch:
    """What to find in the trail; every given part must match.

    ``records``: events about any of these records, as (kind, ids) pairs (a patient's
    history is the patient and each of her records).
    """

    username: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    records: Sequence[tuple[str, Sequence[str]]] | None = field(default=None)


def _conditions(search: AuditSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (AuditEvent.username, search.username),
        (AuditEvent.entity, search.entity),
        (AuditEvent.entity_id, search.entity_id),
        (AuditEvent.action, search.action),
    ):
        if value:
            conditions.append(column == value)
    if search.date_from is not None:
        start = dt.datetime.combine(search.date_from, dt.time(), tzinfo=dt.UTC)
        conditions.append(AuditEvent.occurred_at >= start)
    if search.date_to is not None:
        end = dt.datetime.combine(search.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        conditions.append(AuditEvent.occurred_at < end)
    if search.records is not None:
        about = [
            and_(AuditEvent.entity == kind, AuditEvent.entity_id.in_(list(ids)))
            for kind, ids in search.records
            if ids
        ]
        conditions.append(or_(*about) if about else AuditEvent.seq < 0)
    return conditions


def search_events(
    *, session: Session, actor: Principal, search: AuditSearch, listing: Listing
) -> ListPage[dict[str, object]]:
    """One page of the events matching ``search``, in the listing's order (newest first)."""
    authorize(actor, Action.VIEW_AUDIT, trial_id=None)
    query = select(AuditEvent).where(*_conditions(search))
    found = list_page(session, query, listing, sort_columns=AUDIT_SORTS, tiebreak=AuditEvent.seq)
    return ListPage(
        items=[event.as_dict() for event in found.items], total=found.total, listing=listing
    )


def audit_choices(*, session: Session, actor: Principal) -> dict[str, list[str]]:
    """The record kinds and actions in the trail, for the audit page's choices."""
    authorize(actor, Action.VIEW_AUDIT, trial_id=None)
    return {
        "entity": list(
            session.scalars(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity))
        ),
        "action": list(
            session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        ),
    }


def export_trail(*, session: Session, fmt: Literal["csv", "json"]) -> str:
    """The whole trail as CSV (one row per event) or JSON (the verification report and events)."""
    if fmt == "json":
        report = verify_chain(session)
        events = [event.as_dict() for event in iter_events(session)]
        return json.dumps(
            {"verification": report.as_dict(), "events": events}, indent=2, ensure_ascii=False
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(EXPORT_FIELDS), lineterminator="\n")
    writer.writeheader()
    for event in iter_events(session):
        writer.writerow(event.as_dict())
    return out.getvalue()


def export_trail_for(*, session: Session, actor: Principal, fmt: Literal["csv", "json"]) -> str:
    """:func:`export_trail` for a user who may read the audit trail (an administrator)."""
    authorize(actor, Action.VIEW_AUDIT, trial_id=None)
    return export_trail(session=session, fmt=fmt)
