"""The audit trail: an append-only, hash-chained table of every change and every login.

Each event stores the SHA-256 of its own content and of its predecessor
(``prev_hash``), so editing, removing or reordering any event breaks the chain
at that point, and :func:`verify_chain` names the first broken link. A one-row
table, ``audit_head``, holds the last sequence number and hash: appends lock it
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writers are serialised by
``BEGIN IMMEDIATE``), so concurrent transactions extend the chain one after
another, in commit order, and truncating the tail is caught too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Text, bindparam, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from trialkit.service.platform.db.base import Base, UTCDateTime, real_utcnow

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditEvent",
    "AuditHead",
    "ChainReport",
    "append_events",
    "append_rows",
    "event_hash",
    "iter_events",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


class AuditHead(Base):
    """The end of the chain: one row, ``id = 1``, created by the first migration.

    ``data_seq`` and ``data_hash`` are the sequence number and hash of the last event that
    changed trial data (not a login, a session's end or a view): the data version.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    data_seq: Mapped[int] = mapped_column(server_default="0")
    data_hash: Mapped[str] = mapped_column(String(64), server_default="")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None]
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    site_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def as_dict(self) -> dict[str, object]:
        """The event as an inspector reads it (timestamps in ISO 8601 UTC)."""
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(),
            "request_id": self.request_id,
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "site_id": self.site_id,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "field": self.field,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "reason": self.reason,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditEntry:
    """What the service asks to record; the chain adds sequence, time and hashes."""

    action: str
    entity: str
    entity_id: str | None = None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    site_id: int | None = None
    request_id: str | None = None
    changes_data: bool = True
    """False for an event that changes no trial data (a login, a session's end, a view): it
    leaves the data version where it is. Not stored: the action says what happened."""


HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "request_id",
    "user_id",
    "username",
    "role",
    "site_id",
    "action",
    "entity",
    "entity_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "prev_hash",
)


def _digest(values: Sequence[object]) -> str:
    payload = json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content and its predecessor's hash (canonical JSON)."""
    content = event.as_dict()
    return _digest([content[name] for name in HASHED_FIELDS])


_LOCK_HEAD = (
    select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()
)
_INSERT_EVENTS = insert(AuditEvent)
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(last_seq=bindparam("seq"), last_hash=bindparam("hash"))
)
_MOVE_HEAD_AND_DATA = _MOVE_HEAD.values(data_seq=bindparam("seq"), data_hash=bindparam("hash"))


def append_rows(session: Session, entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Append entries to the chain in the caller's transaction (holds the head lock till commit).

    Three Core statements (lock the head, insert the events, move the head, and the data
    version with it when an entry changes data), no ORM unit of work: the audit append is
    on every write's path. Each row is hashed exactly as
    :func:`event_hash` hashes the stored event (the same values in the same order), so
    :func:`verify_chain` checks what is written here. Returns the rows written.
    """
    if not entries:
        return []
    last_seq, last_hash = session.execute(_LOCK_HEAD).one()  # autoflushes pending ORM work
    now = real_utcnow()  # the computer's time, never a pinned calendar (see store.base)
    stamp = now.isoformat()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        last_seq += 1
        row: dict[str, Any] = {
            "seq": last_seq,
            "occurred_at": now,
            "request_id": entry.request_id,
            "user_id": entry.user_id,
            "username": entry.username,
            "role": entry.role,
            "site_id": entry.site_id,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "field": entry.field,
            "old_value": entry.old_value,
            "new_value": entry.new_value,
            "reason": entry.reason,
            "prev_hash": last_hash,
        }
        row["hash"] = last_hash = _digest(
            [stamp if name == "occurred_at" else row[name] for name in HASHED_FIELDS]
        )
        rows.append(row)
    connection = session.connection()
    connection.execute(_INSERT_EVENTS, rows)
    move = _MOVE_HEAD_AND_DATA if any(e.changes_data for e in entries) else _MOVE_HEAD
    connection.execute(move, {"seq": last_seq, "hash": last_hash})
    head = session.identity_map.get(identity_key(AuditHead, 1))
    if head is not None:  # loaded earlier in this session: read it again when next used
        session.expire(head)
    return rows


def append_events(session: Session, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """:func:`append_rows`, returning the events written (not attached to the session)."""
    return [AuditEvent(**row) for row in append_rows(session, entries)]


def iter_events(session: Session, *, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every event in chain order, read in batches."""
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: intact, or where it first breaks and how."""

    events: int
    head_hash: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None and self.problem is None

    def summary(self) -> str:
        if self.intact:
            return f"audit trail intact: {self.events} events, head {self.head_hash}"
        where = f"event {self.broken_at}" if self.broken_at is not None else "chain head"
        return f"audit trail broken at {where}: {self.problem}"

    def as_dict(self) -> dict[str, object]:
        return {
            "intact": self.intact,
            "events": self.events,
            "head_hash": self.head_hash,
            "broken_at": self.broken_at,
            "problem": self.problem,
        }


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the start and report the first broken link."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for event in iter_events(session):
        if event.seq != expected_seq:
            return ChainReport(
                count,
                expected_prev,
                broken_at=expected_seq,
                problem=f"event(s) {expected_seq}..{event.seq - 1} are missing",
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                count,
                expected_prev,
                broken_at=event.seq,
                problem="its prev_hash does not match the hash of the event before it",
            )
        if event_hash(event) != event.hash:
            return ChainReport(
                count,
                expected_prev,
                broken_at=event.seq,
                problem="its content does not match its hash (the row was edited)",
            )
        expected_prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = session.get(AuditHead, 1)
    if head is None or head.last_seq != count or head.last_hash != expected_prev:
        return ChainReport(
            count,
            expected_prev,
            problem=f"the chain head does not match the last event ({count}): events were "
            "removed from the end, or the head was edited",
        )
    return ChainReport(count, expected_prev)
