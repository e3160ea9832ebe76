"""The unit of work: one transaction per use case, opened by the caller through this module.

The API opens one per request and the CLI one per command, both through
:func:`transaction`; service functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from trialkit.service.platform.db.database import Database

__all__ = ["Database", "transaction"]  # Database: the type the shell passes in


@contextmanager
def transaction(database: Database) -> Iterator[Session]:
    """A session in a transaction: committed when the block ends, rolled back on an error.

    An error with a true ``keeps_record`` attribute is the exception: the service recorded
    something that must outlive the refusal before raising, so the transaction commits and
    the error then propagates. There are two: :class:`~trialkit.errors.SessionTimeoutError`
    (and the web's redirect to the login page that carries it), raised while a request
    authenticates, which keeps the session's end and its audit event; and
    :class:`~trialkit.errors.SupplyShortError`, raised before a randomisation or a
    dispensing has changed anything else, which keeps the resupply request the shortage
    raised. Both are raised before the request has changed anything else.
    """
    kept: BaseException | None = None
    with database.sessions.begin() as session:
        try:
            yield session
        except Exception as exc:
            if not getattr(exc, "keeps_record", False):
                raise
            kept = exc
    if kept is not None:
        raise kept
