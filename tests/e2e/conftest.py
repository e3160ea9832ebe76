"""The whole server in a subprocess (uvicorn, demo mode, a temporary SQLite database) and
Debian's Chromium driven by Playwright.

No browser is downloaded: the tests use the ``chromium`` binary that
``apt-get install chromium`` provides. Without it they are skipped locally, with the
reason shown, and fail in CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
CALENDAR_DATE = "2008-03-03"
ARTEFACTS = REPO / "test-artefacts" / "e2e"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def chromium_or_skip() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium not installed (apt-get install -y chromium); browser tests need it"
        if _in_ci():
            pytest.fail(message + " - CI must install it (.ci/run)")
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo server on a free port; its URL."""
    chromium_or_skip()
    folder = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "TRIALKIT_DEMO": "1",
        "TRIALKIT_DATABASE_URL": f"sqlite:///{folder / 'trialkit.db'}",
        # randomisation and dispensing need a date inside SOR's enrolment period
        # (2007-11-22 to 2010-06-30): the date 'make run' pins too
        "TRIALKIT_CALENDAR_DATE": CALENDAR_DATE,
        # cheap password hashing: these demo users live for one test run
        "TRIALKIT_ARGON2_TIME_COST": "1",
        "TRIALKIT_ARGON2_MEMORY_KIB": "8",
        "TRIALKIT_ARGON2_PARALLELISM": "1",
    }
    env.pop("TRIALKIT_SECRET_KEY", None)
    trialkit = [sys.executable, "-m", "trialkit.cli.main"]
    database = create_database(env["TRIALKIT_DATABASE_URL"], pool_size=1)
    upgrade(database.engine)  # in this process: what 'trialkit db upgrade' does, less a start-up
    database.dispose()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        # a small demo (the full one takes a minute to seed)
        [*trialkit, "serve", "--demo", "--patients", "16", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("the server did not start:\n" + (folder / "server.log").read_text())
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_or_skip(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
