"""The schema comes from the migrations alone: empty -> head -> empty; head matches the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import create_postgres_database, drop_postgres_database
from trialkit.store import Base, create_database
from trialkit.store.migrate import current_revision, downgrade, head_revision, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('migrations') / 'empty.db'}"
        return
    url = create_postgres_database("trialkit_migrations")
    yield url
    drop_postgres_database(url)


def test_empty_to_head_and_back(empty_url: str) -> None:
    database = create_database(empty_url, pool_size=1)
    try:
        assert current_revision(database.engine) is None
        upgrade(database.engine)
        assert current_revision(database.engine) == head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        downgrade(database.engine, "base")
        assert current_revision(database.engine) is None
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database.engine)  # and up again
        assert current_revision(database.engine) == head_revision()
    finally:
        database.dispose()
