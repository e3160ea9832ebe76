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
    """A session in a transaction: committed when the block ends, rolled back on an error.

    An error with a true ``keeps_record`` attribute is the exception, and the one way a
    refusal keeps what it recorded: the service recorded something that must outlive the
    refusal before raising, so the transaction commits and the error then propagates.
    :class:`~trialkit.errors.PasswordRefusedError` keeps a failed password's count, lock-out and
    audit event (a login, an emergency unblinding's password);
    :class:`~trialkit.errors.SessionTimeoutError` and
    :class:`~trialkit.errors.SessionExpiredError` (and the web's redirect to the login page
    that carries them), raised while a request authenticates, keep the session's end and its
    audit event; :class:`~trialkit.errors.SupplyShortError` keeps the resupply request a
    shortage raised. Each is raised before the request has changed anything else.
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
