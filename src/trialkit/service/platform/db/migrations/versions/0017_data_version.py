"""The data version on the audit chain's head: the last event that changed trial data.

Logins, sessions' ends and report views are audited but change no data; caches keyed by the
data version survive them. An existing database starts at ``0`` and an empty hash, which the
next change of data moves (the head's forward-only trigger refuses to rewrite the row here).

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_head", sa.Column("data_seq", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "audit_head",
        sa.Column("data_hash", sa.String(length=64), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("audit_head", "data_hash")
    op.drop_column("audit_head", "data_seq")
