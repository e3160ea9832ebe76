"""The audit trail append-only in the database itself: UPDATE, DELETE and TRUNCATE refused.

Details and reasoning: docs/operations.md, section
`trialkit.service.platform.db.migrations.versions.0004_audit_append_only`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The words every refusal starts with (tests look for them): "<table> is append-only: <OP>".
_HINT = "the audit trail is never altered or removed; record a correction as a new event"
_HEAD_HINT = "the chain head only moves forward, as events are appended"

_POSTGRES_UP = [
    f"""
    CREATE FUNCTION trialkit_audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused (%)', TG_TABLE_NAME, TG_OP, '{_HINT}';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION trialkit_audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION trialkit_audit_events_append_only()
    """,
    f"""
    CREATE FUNCTION trialkit_audit_head_forward_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_seq > OLD.last_seq THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused (%)', TG_TABLE_NAME, TG_OP, '{_HEAD_HINT}';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION trialkit_audit_head_forward_only()
    """,
    """
    CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION trialkit_audit_head_forward_only()
    """,
]

_POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
    "DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head",
    "DROP FUNCTION IF EXISTS trialkit_audit_head_forward_only()",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS trialkit_audit_events_append_only()",
]

_SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused ({_HINT})');
    END
    """,
    f"""
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused ({_HINT})');
    END
    """,
    f"""
    CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
    WHEN NEW.id <> OLD.id OR NEW.last_seq <= OLD.last_seq
    BEGIN
        SELECT RAISE(ABORT, 'audit_head is append-only: UPDATE refused ({_HEAD_HINT})');
    END
    """,
    f"""
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN
        SELECT RAISE(ABORT, 'audit_head is append-only: DELETE refused ({_HEAD_HINT})');
    END
    """,
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS audit_events_no_update",
]


def _statements(*, up: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        return _POSTGRES_UP if up else _POSTGRES_DOWN
    if dialect == "sqlite":
        return _SQLITE_UP if up else _SQLITE_DOWN
    raise NotImplementedError(f"no append-only triggers written for {dialect}")


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
