"""SQLite under concurrent use: a page view reads while another connection writes (WAL), and
one that comes to write on a stale snapshot is run again as a writer instead of failing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import test_settings
from trialkit.service.app import create_app
from trialkit.service.platform.api.deps import DbSession
from trialkit.service.platform.db.database import create_database, is_busy, reading
from trialkit.service.platform.transaction import is_retryable, transaction


def _app(path: Path) -> tuple[FastAPI, list[str]]:
    """The API with two routes on a table ``t``: a plain read, and a read then a write
    during whose first attempt another connection commits (the snapshot goes stale)."""
    url = f"sqlite:///{path}"
    with create_database(url).engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"))
    app = create_app(test_settings(url))
    attempts: list[str] = []

    def count(session: DbSession) -> dict[str, int]:
        return {"rows": session.execute(text("SELECT count(*) FROM t")).scalar_one()}

    def touch(session: DbSession) -> dict[str, int]:
        attempts.append("attempt")
        rows = session.execute(text("SELECT count(*) FROM t")).scalar_one()
        if len(attempts) == 1:  # another request commits between this read and the write
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("INSERT INTO t (note) VALUES ('another request')")
            other.close()
        session.execute(text("INSERT INTO t (note) VALUES ('activity')"))
        return {"rows": rows + 1}

    app.add_api_route("/api/count", count)
    app.add_api_route("/api/touch", touch)
    return app, attempts


def test_a_page_view_reads_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    """WAL and a reader's plain BEGIN: the view waits for no writer, and sees what was
    committed (not the writer's open transaction)."""
    path = tmp_path / "readers.db"
    app, _ = _app(path)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        with TestClient(app) as client:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO t (note) VALUES ('not committed yet')")
            started = time.monotonic()
            answer = client.get("/api/count")
            took = time.monotonic() - started
            writer.execute("COMMIT")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"rows": 0}
            assert took < 5  # the busy timeout is 30 s: it did not wait for the writer
            assert client.get("/api/count").json() == {"rows": 1}
        assert writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        writer.close()


def test_a_page_view_that_writes_on_a_stale_snapshot_is_run_again(tmp_path: Path) -> None:
    """Its write is refused at once (SQLITE_BUSY_SNAPSHOT); the request boundary runs it
    again as a writer, which the client does not notice."""
    app, attempts = _app(tmp_path / "stale.db")
    with TestClient(app) as client:
        answer = client.get("/api/touch")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"rows": 2}  # the second attempt saw the other's row
        assert len(attempts) == 2
        assert client.get("/api/count").json() == {"rows": 2}  # the first attempt left nothing


def test_the_stale_write_is_recognised_as_busy_and_retryable(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    database = create_database(f"sqlite:///{path}")
    with transaction(database) as session:
        session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    caught: BaseException | None = None
    with reading():
        try:
            with transaction(database) as session:
                session.execute(text("SELECT count(*) FROM t")).scalar_one()
                other = sqlite3.connect(path, isolation_level=None)
                other.execute("INSERT INTO t DEFAULT VALUES")
                other.close()
                session.execute(text("INSERT INTO t DEFAULT VALUES"))
        except Exception as exc:  # the error is the subject of the test
            caught = exc
    assert caught is not None
    assert is_busy(caught)
    assert is_retryable(caught)
    with transaction(database) as session:  # outside reading(): BEGIN IMMEDIATE, no refusal
        session.execute(text("SELECT count(*) FROM t")).scalar_one()
        session.execute(text("INSERT INTO t DEFAULT VALUES"))
    database.dispose()
