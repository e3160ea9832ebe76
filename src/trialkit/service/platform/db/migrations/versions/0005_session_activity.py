"""Idle session timeout: each login session records its last activity (``last_seen_at``).

Existing sessions start from their creation time, so a session idle since before
the upgrade ends at its next use if the idle timeout has passed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
