"""SQLite under concurrent use: a page view reads while another connection writes (WAL), and
one that comes to write on a stale snapshot is run again as a writer instead of failing."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import test_settings
from tests.factories import login, make_trial, make_user
from trialkit.service.app import create_app
from trialkit.service.pages import create_web_app
from trialkit.service.platform import auth
from trialkit.service.platform.api.deps import DbSession
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.db.database import create_database, is_busy, reading
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import LoginSession
from trialkit.service.platform.transaction import is_retryable, transaction


def _app(path: Path, *, mounted: bool = False) -> tuple[FastAPI, list[bool]]:
    """The API with two routes on a table ``t``: a plain read, and a read then a write
    between which another connection tries to commit a row (without waiting): it can while
    the request reads, so the request's snapshot goes stale; it cannot once the request
    holds the write lock. ``mounted``: the routes on the pages' application, mounted in the
    API's as ``trialkit serve`` runs them (two request boundaries, one inside the other)."""
    url = f"sqlite:///{path}"
    with create_database(url).engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"))
    settings = test_settings(url)
    app = create_app(settings)
    routes = app
    if mounted:
        routes = create_web_app(
            settings=settings,
            database=app.state.database,
            security=Security.from_settings(settings),
        )
    other_committed: list[bool] = []

    def count(session: DbSession) -> dict[str, int]:
        return {"rows": session.execute(text("SELECT count(*) FROM t")).scalar_one()}

    def touch(session: DbSession) -> dict[str, int]:
        rows = session.execute(text("SELECT count(*) FROM t")).scalar_one()
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("INSERT INTO t (note) VALUES ('another request')")
            other_committed.append(True)
        except sqlite3.OperationalError:  # this request holds the write lock
            other_committed.append(False)
        finally:
            other.close()
        session.execute(text("INSERT INTO t (note) VALUES ('activity')"))
        return {"rows": rows + 1}

    routes.add_api_route("/api/count", count)
    routes.add_api_route("/api/touch", touch)
    if mounted:
        app.mount("/", routes)
    return app, other_committed


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


@pytest.mark.parametrize("mounted", [False, True], ids=["api", "pages"])
def test_a_page_view_that_writes_on_a_stale_snapshot_is_run_again_as_a_writer(
    tmp_path: Path, mounted: bool
) -> None:
    """Its write is refused at once (SQLITE_BUSY_SNAPSHOT); the request boundary runs it
    again as a writer (the other connection now cannot commit in between), which the client
    does not notice."""
    app, other_committed = _app(tmp_path / "stale.db", mounted=mounted)
    with TestClient(app) as client:
        answer = client.get("/api/touch")
        assert answer.status_code == 200, answer.text
        assert other_committed == [True, False]  # a reader, then a writer
        assert answer.json() == {"rows": 2}  # the second attempt saw the other's row
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


def test_a_page_views_activity_write_never_makes_it_wait_or_fail(tmp_path: Path) -> None:
    """A session's activity is due (a minute old) while another connection holds the write
    lock: the view authenticates at once as a reader and leaves the activity due; the next
    view, with the lock free, records it."""
    path = tmp_path / "activity.db"
    url = f"sqlite:///{path}"
    database = create_database(url)
    upgrade(database.engine)
    security = Security.from_settings(test_settings(url))
    with transaction(database) as session:
        trial = make_trial(session)
        user = make_user(session, security, trial, Role.MONITOR)
        token = login(session, security, user)
    past = (real_utcnow() - dt.timedelta(minutes=5)).replace(tzinfo=None)
    with transaction(database) as session:
        session.execute(text("UPDATE login_sessions SET last_seen_at = :t"), {"t": past})

    def view() -> float:
        started = time.monotonic()
        with reading(), transaction(database) as session:
            auth.authenticate(session=session, security=security, token=token)
        return time.monotonic() - started

    def last_seen() -> dt.datetime:
        with transaction(database) as session:
            seen: dt.datetime = session.scalars(select(LoginSession.last_seen_at)).one()
        return seen

    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        assert view() < 5  # the busy timeout is 30 s: it did not wait
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert last_seen() < real_utcnow() - dt.timedelta(minutes=4)  # still due
    view()
    assert last_seen() > real_utcnow() - dt.timedelta(minutes=1)  # recorded
    database.dispose()
