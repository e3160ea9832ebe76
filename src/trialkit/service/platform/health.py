"""Whether the service can work: the database answers a trivial query."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trialkit.service.platform.db.database import Database

__all__ = ["database_reachable"]


def database_reachable(*, database: Database) -> bool:
    try:
        with database.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
