"""A tamperer who owns the schema: switches off the audit trail's append-only triggers.

Migration 0004 makes the database refuse UPDATE, DELETE and TRUNCATE of audit rows
(0009: and SQLite's INSERT OR REPLACE over an existing row).
The schema's owner can still drop those triggers; the hash chain is what catches
an edit made that way, and the tests of :func:`trialkit.service.platform.tables.audit.verify_chain`
play that tamperer. Inside a test's rolled-back transaction the triggers come
back with the rollback (DDL is transactional on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["SQLITE_GUARD_TRIGGERS", "drop_append_only_guard"]

SQLITE_GUARD_TRIGGERS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_head_forward_only",
    "audit_head_no_delete",
    "audit_events_no_replace",
    "audit_head_no_replace",
)


def drop_append_only_guard(session: Session) -> None:
    """Switch the append-only triggers off in the session's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        return
    for name in SQLITE_GUARD_TRIGGERS:
        session.execute(text(f"DROP TRIGGER {name}"))
