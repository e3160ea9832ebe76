"""The declarative base, the UTC timestamp type, the clocks and the naming convention.

Two clocks: :func:`utcnow`, the record clock (pinned to the trial's calendar date
when set), and :func:`real_utcnow`, the real clock of the audit trail and sessions.

Details and reasoning: docs/architecture.md, section `trialkit.service.platform.db.base`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "UTCDateTime",
    "insert_unique",
    "kept",
    "on_calendar",
    "pinned_calendar",
    "real_utcnow",
    "utcnow",
]

# Stable constraint names, so that migrations can name what they alter on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_Row = TypeVar("_Row")
_KEPT = "trialkit_kept"


def kept(session: Session, row: _Row) -> _Row:
    """``row``, held by the session for its life (one request).

    The identity map holds rows weakly, so a trial, site or patient looked up by id in each
    service function of a request was read again each time once the last one let it go;
    held, ``session.get`` finds it without a statement.
    """
    session.info.setdefault(_KEPT, set()).add(row)
    return row


@event.listens_for(Session, "after_soft_rollback")
def _let_go(session: Session, _previous: object) -> None:
    """A rollback (a savepoint's too) may remove rows the session held: let them go, so that
    a new row under a reused id is never taken for the old one."""
    session.info.pop(_KEPT, None)


_CALENDAR: ContextVar[dt.date | None] = ContextVar("trialkit_calendar", default=None)


def real_utcnow() -> dt.datetime:
    """The computer's real time, as an aware UTC timestamp (audit trail, sessions)."""
    return dt.datetime.now(dt.UTC)


def utcnow() -> dt.datetime:
    """Now on the record clock: real UTC time, or the pinned calendar date at the real time of day.

    Hand-written rather than a time-travel library (freezegun, time-machine): those patch
    the process's clock for everything, the audit trail and sessions included, while only
    the records' stamps should follow the trial's calendar.
    """
    now = real_utcnow()
    day = _CALENDAR.get()
    return now if day is None else dt.datetime.combine(day, now.timetz())


def pinned_calendar() -> dt.date | None:
    """The calendar date pinned in this context (``None``: the real date)."""
    return _CALENDAR.get()


@contextmanager
def on_calendar(day: dt.date | None) -> Iterator[None]:
    """Stamp records made inside the block on ``day`` (``None``: on the real date).

    A context variable: it holds for the current request, command or task (and the threads
    it hands work to through ``contextvars``), never for other requests running beside it.
    """
    token = _CALENDAR.set(day)
    try:
        yield
    finally:
        _CALENDAR.reset(token)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored and returned as aware UTC on every database.

    SQLite keeps no time zone; PostgreSQL returns the session's zone. Both come
    back as UTC, so a value read back equals the value written (the audit chain
    hashes timestamps and relies on it).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use trialkit.service.platform.db.base.utcnow()")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_INSERT_UNIQUE: dict[tuple[type[Base], str], Any] = {}


def insert_unique(session: Session, model: type[Base], values: dict[str, Any]) -> int | None:
    """Insert one row and return its id, or ``None`` (nothing inserted) if the row would break
    one of the table's unique constraints: a record stored meanwhile by another transaction.

    ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (PostgreSQL and SQLite 3.35+): one
    statement where an ORM flush inside a SAVEPOINT, to survive the IntegrityError, takes
    three, and the session stays usable either way. A concurrent insert of the same key
    still waits for that transaction, as the unique index's check does. The row is not
    added to the session (read it back if it is needed as an object).
    """
    dialect = session.get_bind().dialect.name
    statement = _INSERT_UNIQUE.get((model, dialect))
    if statement is None:
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = make(model).on_conflict_do_nothing().returning(model.__table__.c.id)
        _INSERT_UNIQUE[(model, dialect)] = statement
    new_id = session.execute(statement, values).scalar_one_or_none()
    return None if new_id is None else int(new_id)
