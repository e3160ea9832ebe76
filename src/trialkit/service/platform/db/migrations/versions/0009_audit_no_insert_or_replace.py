"""The audit trail on SQLite: ``INSERT OR REPLACE`` over an existing row refused.

Details and reasoning: docs/operations.md, section
`trialkit.service.platform.db.migrations.versions.0009_audit_no_insert_or_replace`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HINT = "the audit trail is never altered or removed; record a correction as a new event"
_HEAD_HINT = "the chain head only moves forward, as events are appended"

_SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
    WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only: REPLACE refused ({_HINT})');
    END
    """,
    f"""
    CREATE TRIGGER audit_head_no_replace BEFORE INSERT ON audit_head
    WHEN EXISTS (SELECT 1 FROM audit_head WHERE id = NEW.id)
    BEGIN
        SELECT RAISE(ABORT, 'audit_head is append-only: REPLACE refused ({_HEAD_HINT})');
    END
    """,
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_head_no_replace",
    "DROP TRIGGER IF EXISTS audit_events_no_replace",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
