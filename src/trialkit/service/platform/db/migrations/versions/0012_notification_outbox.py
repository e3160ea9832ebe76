"""The notification outbox: deliveries per recipient and channel, users' e-mail addresses.

``notifications`` (since 0002) gains the site it concerns and a link; each notification
reaches its recipients through ``notification_deliveries`` (an e-mail to send, or an
in-app inbox entry), unique per notification, user and channel. The emergency
unblindings notified before this migration reach the trial's monitors' inboxes.

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ALTER TABLE on both databases (a batch copy of users would break the foreign keys
    # that point at it on SQLite)
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("link", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_site_id_sites"), "sites", ["site_id"], ["id"]
        )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_deliveries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "notification_id",
            "user_id",
            "channel",
            name=op.f("uq_notification_deliveries_notification_id_user_id_channel"),
        ),
    )
    op.create_index(
        op.f("ix_notification_deliveries_notification_id"),
        "notification_deliveries",
        ["notification_id"],
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["channel", "sent_at", "next_attempt_at"],
    )
    op.create_index(
        "ix_notification_deliveries_inbox",
        "notification_deliveries",
        ["user_id", "channel", "read_at"],
    )
    # the notifications "nobody read": to the inboxes of the trial's monitors (the sponsor)
    op.execute(
        "INSERT INTO notification_deliveries (notification_id, user_id, channel, created_at,"
        " attempts)"
        " SELECT DISTINCT n.id, r.user_id, 'inbox', n.created_at, 0"
        " FROM notifications n JOIN role_assignments r ON r.trial_id = n.trial_id"
        " WHERE r.role = 'monitor' AND r.revoked_at IS NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_inbox", table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_due", table_name="notification_deliveries")
    op.drop_index(
        op.f("ix_notification_deliveries_notification_id"), table_name="notification_deliveries"
    )
    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notifications_site_id_sites"), type_="foreignkey")
        batch_op.drop_column("link")
        batch_op.drop_column("site_id")
    op.execute("ALTER TABLE users DROP COLUMN email")
