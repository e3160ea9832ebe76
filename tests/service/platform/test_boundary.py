"""The request boundary on a real server (uvicorn on a loopback port, in this process).

An unexpected error is answered, and the connection it came on serves the next request;
a transaction the database aborts (a deadlock or serialisation failure) is run again with
the same body, at most ``RETRY_ATTEMPTS`` times, then answered 503 ("send it again").
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import pytest
import uvicorn
from fastapi import Body, FastAPI
from sqlalchemy import text

from tests.conftest import create_postgres_database, drop_postgres_database, test_settings
from trialkit.service.app import create_app
from trialkit.service.pages import create_web_app
from trialkit.service.platform.api.deps import DbSession
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import RETRY_ATTEMPTS


def _broken() -> None:
    raise RuntimeError("a defect behind this route")


def _api(url: str) -> FastAPI:
    app = create_app(test_settings(url))
    app.add_api_route("/api/broken", _broken)
    return app


def _pages(url: str) -> FastAPI:
    settings = test_settings(url)
    app = create_web_app(
        settings=settings,
        database=create_database(url),
        security=Security.from_settings(settings),
    )
    app.add_api_route("/broken", _broken)
    return app


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], http.client.HTTPConnection]]:
    """Serve an application with uvicorn on a free loopback port; a keep-alive connection."""
    servers: list[tuple[uvicorn.Server, threading.Thread, FastAPI]] = []

    def start(app: FastAPI) -> http.client.HTTPConnection:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread, app))
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.02)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=20)

    yield start
    for server, thread, app in servers:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.database.dispose()


@pytest.mark.parametrize(
    ("application", "failing", "working"),
    [(_api, "/api/broken", "/health"), (_pages, "/broken", "/static/style.css")],
    ids=["api", "pages"],
)
def test_a_failed_request_does_not_disturb_the_next_on_its_connection(
    serve: Callable[[FastAPI], http.client.HTTPConnection],
    tmp_path: Path,
    application: Callable[[str], FastAPI],
    failing: str,
    working: str,
) -> None:
    """A 500 is an answer like any other: the server keeps the connection open, and the
    next request sent on it is answered (it was reset when the error reached uvicorn)."""
    connection = serve(application(f"sqlite:///{tmp_path / 'boundary.db'}"))
    connection.request("GET", failing)
    failed = connection.getresponse()
    body = failed.read().decode()
    assert failed.status == 500
    assert "a defect" not in body
    assert failed.getheader("connection", "").lower() != "close"
    sock = connection.sock
    for _ in range(2):
        connection.request("GET", working)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
        assert connection.sock is sock  # the same connection
    connection.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = create_postgres_database("trialkit_boundary")
    try:
        yield url
    finally:
        drop_postgres_database(url)


def _aborting(url: str, *, failures: int) -> tuple[FastAPI, list[dict[str, int]]]:
    """The API with a route whose transaction PostgreSQL aborts ``failures`` times
    (``serialization_failure``, raised by the server), recording each attempt's body."""
    app = create_app(test_settings(url))
    seen: list[dict[str, int]] = []

    def conflicted(
        session: DbSession, payload: Annotated[dict[str, int], Body()]
    ) -> dict[str, int]:
        seen.append(payload)
        if len(seen) <= failures:
            session.execute(
                text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$")
            )
        return {"attempts": len(seen)}

    app.add_api_route("/api/conflicted", conflicted, methods=["POST"])
    return app, seen


def test_a_transaction_aborted_by_the_database_is_run_again_with_its_body(
    serve: Callable[[FastAPI], http.client.HTTPConnection], postgres_url: str
) -> None:
    """The retry is transparent: the client sees one answer, from the attempt that
    committed, and every attempt read the request's body."""
    app, seen = _aborting(postgres_url, failures=2)
    connection = serve(app)
    connection.request(
        "POST",
        "/api/conflicted",
        body=json.dumps({"n": 7}),
        headers={"Content-Type": "application/json"},
    )
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())) == (200, {"attempts": 3})
    assert seen == [{"n": 7}] * 3
    connection.close()


def test_a_request_aborted_on_every_attempt_is_answered_503_and_the_connection_stays_open(
    serve: Callable[[FastAPI], http.client.HTTPConnection], postgres_url: str
) -> None:
    """Bounded: after ``RETRY_ATTEMPTS`` aborted attempts the answer says to send the
    request again (503, Retry-After), and the connection serves the next request."""
    app, seen = _aborting(postgres_url, failures=RETRY_ATTEMPTS)
    connection = serve(app)
    connection.request(
        "POST",
        "/api/conflicted",
        body=json.dumps({"n": 1}),
        headers={"Content-Type": "application/json"},
    )
    busy = connection.getresponse()
    detail = json.loads(busy.read())["detail"]
    assert busy.status == 503
    assert busy.getheader("retry-after") == "1"
    assert "nothing was recorded" in detail
    assert "send the request again" in detail
    assert len(seen) == RETRY_ATTEMPTS
    connection.request("GET", "/health")
    health = connection.getresponse()
    health.read()
    assert health.status == 200
    connection.close()
