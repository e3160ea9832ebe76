"""Why a login session ended (``end_reason``), and an index to find the open ones.

``end_reason`` is ``logout``, ``timeout``, ``expired`` or ``password_change``, so that a
session presented after it ended is told why (a second tab after an idle timeout gets the
idle message). Sessions ended before this migration take the reason from their audit event
(``logout`` or ``timeout``); those without one (ended by a password change) stay empty.
The index on ``ended_at`` lets the session sweep find the open sessions without reading
every session ever opened.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_reason", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_login_sessions_ended_at"), ["ended_at"], unique=False)
    op.execute(
        "UPDATE login_sessions SET end_reason = ("
        " SELECT MAX(audit_events.action) FROM audit_events"
        " WHERE audit_events.entity = 'login_session'"
        " AND audit_events.entity_id = CAST(login_sessions.id AS VARCHAR(64))"
        " AND audit_events.action IN ('logout', 'timeout'))"
        " WHERE ended_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_ended_at"))
        batch_op.drop_column("end_reason")
