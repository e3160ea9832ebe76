"""Fixtures: every database test runs on SQLite and on PostgreSQL, inside a rolled-back transaction.

PostgreSQL: ``TRIALKIT_TEST_POSTGRES_URL`` names a server (default: the local one,
database ``test``); each test session creates its own database there and drops it
at the end, so engineers sharing a server do not collide. Where no PostgreSQL
answers, its tests are skipped with the reason shown, except in CI (``CI=true``)
or with ``TRIALKIT_REQUIRE_POSTGRES=1``, where that is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from trialkit.config import Settings, load_settings
from trialkit.protocol import Protocol, load_protocol
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.security import Security

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"} or os.environ.get(
        "TRIALKIT_REQUIRE_POSTGRES", ""
    ) in {"1", "true", "yes"}


def postgres_server() -> str:
    return os.environ.get("TRIALKIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def create_postgres_database(prefix: str = "trialkit_test") -> str:
    """Create a fresh database on the test server; returns its URL (skips or fails if none)."""
    server = make_url(postgres_server())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        message = f"PostgreSQL at {server.render_as_string()} unreachable: {exc.orig}"
        if postgres_required():
            pytest.fail(message + " (required: CI or TRIALKIT_REQUIRE_POSTGRES is set)")
        pytest.skip(message)
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(make_url(postgres_server()), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def test_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "demo": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "argon2_parallelism": 1,
        "max_failed_logins": 3,
    }
    values.update(overrides)
    return load_settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'trialkit.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    """The session's database, migrated to head (the only way the schema is made)."""
    database = create_database(database_url, pool_size=2)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def db(migrated: Database) -> Iterator[Database]:
    """A Database whose sessions all join one outer transaction, rolled back after the test.

    Sessions commit to SAVEPOINTs (``join_transaction_mode="create_savepoint"``), so
    the service's and the API's own transactions run unchanged inside the test's.
    """
    connection = migrated.engine.connect()
    outer = connection.begin()
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield Database(engine=migrated.engine, sessions=sessions)
    outer.rollback()
    connection.close()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.sessions() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url)


@pytest.fixture
def security(settings: Settings) -> Security:
    return Security.from_settings(settings)


@pytest.fixture
def examples() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "sor"


REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "sor"
# the registry record, vendored beside the protocol it is the source of; the shared copy
# beside the repository is the original
RECORD = REPO / "src" / "trialkit" / "protocol" / "protocols" / "sor.registry-record.txt"
SHARED_RECORD = REPO.parent / "shared" / "seed" / "000_f8980bc5da93917f.txt"


@pytest.fixture(scope="session")
def sor() -> Protocol:
    return load_protocol("sor")


def example(name: str) -> dict[str, Any]:
    """An example screening record as raw JSON data."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


RANDOMISED_ON = dt.date(2008, 3, 3)
"""The randomisation date of the patients of tests that need one date (in SOR's enrolment)."""


# a small seeded demo trial, for any test that asks for it (see tests/demo_fixtures.py)
from tests.demo_fixtures import demo_trial  # noqa: E402, F401

# the API's and the pages' fixtures, for the HTTP tests in every slice (tests/service/<slice>/)
from tests.service.api_fixtures import client, world  # noqa: E402, F401
from tests.service.page_fixtures import as_user, web, web_world  # noqa: E402, F401

PAGE_FIXTURES = ("web", "web_world")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The pages' tests run on SQLite only: the pages are thin over the service, whose tests run
    on both databases."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        uses_pages = any(name in getattr(item, "fixturenames", ()) for name in PAGE_FIXTURES)
        (dropped if on_postgres and uses_pages else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
