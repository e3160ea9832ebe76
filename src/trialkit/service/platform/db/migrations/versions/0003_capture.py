"""Clinical data capture: versioned form records and data queries.

Revision ID: 0003
Revises: 0001 (another branch adds 0002; the chain is re-linked at merge)
Create Date: 2026-11-25 14:14:57.222171
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capture_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_capture_records_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_capture_records_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_records")),
        sa.UniqueConstraint(
            "patient_id",
            "form",
            "record_key",
            "version",
            name=op.f("uq_capture_records_patient_id_form_record_key_version"),
        ),
    )
    with op.batch_alter_table("capture_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_capture_records_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_data_queries_answered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_data_queries_closed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["users.id"], name=op.f("fk_data_queries_opened_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_data_queries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_data_queries_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_queries")),
    )
    with op.batch_alter_table("data_queries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_queries_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_data_queries_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_queries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("data_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_queries_status"))
        batch_op.drop_index(batch_op.f("ix_data_queries_site_id"))
        batch_op.drop_index(batch_op.f("ix_data_queries_patient_id"))

    op.drop_table("data_queries")
    with op.batch_alter_table("capture_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_records_patient_id"))

    op.drop_table("capture_records")
