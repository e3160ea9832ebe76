"""The database: an engine and a session factory, built by a factory from a URL.

SQLite (the default, a file under ``./var/``) runs every transaction as
``BEGIN IMMEDIATE``: writers queue for the lock instead of failing half-way, and
SAVEPOINTs work (the pysqlite driver's own transaction handling is switched off,
as the SQLAlchemy documentation recommends). PostgreSQL runs at READ COMMITTED;
the audit trail serialises its appends with a row lock (see :mod:`.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "create_database"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
