"""How service commands reach the database: settings, one transaction per command.

The operator at the command line acts as :meth:`Principal.system` (they hold
the database credentials anyway); the audit trail records them as ``system``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from trialkit.cli._common import fail, user_errors
from trialkit.config import Settings, load_settings
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.transaction import transaction

__all__ = ["cli_actor", "cli_clock", "cli_settings", "open_database", "service_transaction"]


def cli_settings() -> Settings:
    with user_errors():
        return load_settings()


def cli_clock(settings: Settings | None = None) -> Clock:
    """The service's clock, from the settings (as the API's): record time and real time."""
    return Clock.from_settings(settings or cli_settings())


def cli_actor() -> Principal:
    return Principal.system(request_id=f"cli-{uuid.uuid4().hex[:12]}")


@contextmanager
def open_database(settings: Settings | None = None) -> Iterator[Database]:
    settings = settings or cli_settings()
    database = create_database(settings.database_url, pool_size=2)
    try:
        yield database
    except OperationalError as exc:
        fail(
            f"cannot use the database {database.url}: {str(exc.orig).splitlines()[0]} "
            "(check TRIALKIT_DATABASE_URL, and run 'trialkit db upgrade')"
        )
    finally:
        database.dispose()


@contextmanager
def service_transaction(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction around one command; domain errors end as one line and exit code 2.

    Records are stamped on ``TRIALKIT_CALENDAR_DATE`` when it is pinned (as in the API).
    """
    settings = settings or cli_settings()
    with (
        open_database(settings) as database,
        user_errors(),
        cli_clock(settings).pinned(),
        transaction(database) as session,
    ):
        yield session
