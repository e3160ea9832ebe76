"""The database: an engine and a session factory, built by a factory from a URL.

SQLite (the default, a file under ``./var/``) runs in WAL mode, so that readers and
the one writer never block each other, with a busy timeout. A transaction begins as
``BEGIN IMMEDIATE`` (writers queue for the lock instead of failing half-way) unless
it is opened inside :func:`reading`: a page view's ``BEGIN`` takes no lock until it
writes, and if its snapshot is stale by then, SQLite refuses the write at once
(``SQLITE_BUSY_SNAPSHOT``), which :func:`is_busy` recognises so that the request is
run again as a writer. The pysqlite driver's own transaction handling is switched
off, as the SQLAlchemy documentation recommends, so SAVEPOINTs work. PostgreSQL runs
at READ COMMITTED; the audit trail serialises its appends with a row lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "create_database", "is_busy", "is_reading", "reading"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
_SQLITE_BUSY = frozenset({5, 6, 517})  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT
_READING: ContextVar[bool] = ContextVar("trialkit_reading", default=False)


@contextmanager
def reading(on: bool = True) -> Iterator[None]:
    """Begin SQLite transactions opened inside the block without the write lock (``BEGIN``);
    ``on=False``: with it (``BEGIN IMMEDIATE``), also inside an outer ``reading()`` block.

    For requests that mostly read (a page view): the transaction sees one snapshot and
    blocks no writer; should it write after all (a session's activity, an audit event),
    it takes the lock then, or fails with :func:`is_busy` and is run again outside the
    block. No effect on PostgreSQL. A context variable: it holds for the current request
    and the threads it hands work to.
    """
    token = _READING.set(on)
    try:
        yield
    finally:
        _READING.reset(token)


def is_reading() -> bool:
    """Whether transactions begun now begin as readers (inside :func:`reading`)."""
    return _READING.get()


def is_busy(exc: BaseException) -> bool:
    """Whether SQLite refused a statement because another connection holds or changed the
    database (the busy timeout ran out, or a reader's snapshot went stale before it wrote)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    return (
        isinstance(orig, sqlite3.OperationalError)
        and getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY
    )


@dataclass(frozen=True)
class Database:
    """An engine and the factory of sessions bound to it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def create_database(url: str, *, pool_size: int = 20) -> Database:
    """Connect to ``url`` (creating the folder of a SQLite file); no schema is created here."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            # a file: one connection per concurrent request (SQLAlchemy's default pool of
            # 5 + 10 makes the rest wait, and fail after 30 s, under a real load)
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    # statement parameters stay out of error messages and logs (they may hold secrets)
    engine = create_engine(parsed, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers see a snapshot and never wait for the writer, nor it for them
        # (kept in the file; an in-memory database stays in its own "memory" mode)
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if _READING.get() else "BEGIN IMMEDIATE")
