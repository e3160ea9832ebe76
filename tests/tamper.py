"""A tamperer who owns the schema: switches off the audit trail's append-only triggers.

Migration 0004 makes the database refuse UPDATE, DELETE and TRUNCATE of audit rows
(0009: and SQLite's INSERT OR REPLACE over an existing row).
The schema's owner can still drop those triggers; the hash chain is what catches
an edit made that way, and the tests of :func:`trialkit.service.platform.tables.audit.verify_chain`
play that tamperer. Inside a test's rolled-back transaction the triggers come
back with the rollback (DDL is transactional on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from trialkit.service.platform.tables.audit import AuditEvent, AuditHead, event_hash

__all__ = ["SQLITE_GUARD_TRIGGERS", "drop_append_only_guard", "rewrite_chain_from"]

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


def rewrite_chain_from(session: Session, seq: int, value: str) -> None:
    """The tamperer with database rights: edit event ``seq``, rehash it and every later event,
    and move the head, so that the chain verifies on its own."""
    drop_append_only_guard(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(new_value=value))
    session.expunge_all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)
    ).all()
    previous = session.scalars(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).one()
    for audit_event in events:
        audit_event.prev_hash = previous
        audit_event.hash = previous = event_hash(audit_event)
        session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=previous))
    session.expunge_all()
