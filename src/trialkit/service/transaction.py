"""The unit of work: one transaction per use case, opened by the caller through this module.

The API opens one per request and the CLI one per command, both through
:func:`transaction`; service functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from trialkit.store.database import Database

__all__ = ["Database", "transaction"]  # Database: the type the shell passes in


@contextmanager
def transaction(database: Database) -> Iterator[Session]:
    """A session in a transaction: committed when the block ends, rolled back on an error."""
    with database.sessions.begin() as session:
        yield session
