"""The unit of work: one transaction per use case, opened by the caller through this module.

The API and the pages open one per request and the CLI one per command, all through
:func:`transaction`; service functions take the session and never commit. The lock
order every transaction follows is in the docs.

Details and reasoning: docs/architecture.md, section `trialkit.service.platform.transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from trialkit.service.platform.db.database import Database, is_busy

# Database: the type the shell passes in
__all__ = ["RETRY_ATTEMPTS", "Database", "is_retryable", "transaction"]

RETRY_ATTEMPTS = 5
"""How many times one request's transaction is run at most (the first attempt included)."""
_RETRYABLE = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def is_retryable(exc: BaseException) -> bool:
    """Whether the database aborted the transaction to break a deadlock or a serialisation
    conflict, or SQLite refused it as busy (a reader's stale snapshot that came to write):
    it left nothing, and the same work run again may succeed."""
    if not isinstance(exc, DBAPIError):
        return False
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE or is_busy(exc)


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
