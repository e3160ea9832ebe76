"""The safety slice: SAE report versions, the sponsor's reviews, SUSAR unblindings and the
imported MedDRA release's lowest level terms."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sae_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_sae_reports_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_sae_reports_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_sae_reports_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_sae_reports_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sae_reports")),
        sa.UniqueConstraint(
            "patient_id",
            "case_number",
            "version",
            name=op.f("uq_sae_reports_patient_id_case_number_version"),
        ),
    )
    op.create_index(op.f("ix_sae_reports_patient_id"), "sae_reports", ["patient_id"], unique=False)
    op.create_index(op.f("ix_sae_reports_site_id"), "sae_reports", ["site_id"], unique=False)
    op.create_index(op.f("ix_sae_reports_trial_id"), "sae_reports", ["trial_id"], unique=False)
    op.create_table(
        "sae_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("report_version", sa.Integer(), nullable=False),
        sa.Column("causality", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_sae_reviews_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_sae_reviews_reviewed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_sae_reviews_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sae_reviews")),
        sa.UniqueConstraint(
            "patient_id",
            "case_number",
            "version",
            name=op.f("uq_sae_reviews_patient_id_case_number_version"),
        ),
    )
    op.create_index(op.f("ix_sae_reviews_patient_id"), "sae_reviews", ["patient_id"], unique=False)
    op.create_index(op.f("ix_sae_reviews_trial_id"), "sae_reviews", ["trial_id"], unique=False)
    op.create_table(
        "susar_unblindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unblinded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_susar_unblindings_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_susar_unblindings_trial_id_trials")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_susar_unblindings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_susar_unblindings")),
        sa.UniqueConstraint(
            "patient_id", "case_number", name=op.f("uq_susar_unblindings_patient_id_case_number")
        ),
    )
    op.create_index(
        op.f("ix_susar_unblindings_patient_id"), "susar_unblindings", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_susar_unblindings_trial_id"), "susar_unblindings", ["trial_id"], unique=False
    )

    op.create_table(
        "meddra_terms",
        sa.Column("llt_code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("llt_name", sa.String(length=200), nullable=False),
        sa.Column("pt_code", sa.Integer(), nullable=False),
        sa.Column("pt_name", sa.String(length=200), nullable=False),
        sa.Column("soc_code", sa.Integer(), nullable=False),
        sa.Column("soc_name", sa.String(length=200), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("llt_code", name=op.f("pk_meddra_terms")),
    )
    op.create_index(op.f("ix_meddra_terms_llt_name"), "meddra_terms", ["llt_name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_meddra_terms_llt_name"), table_name="meddra_terms")
    op.drop_table("meddra_terms")
    op.drop_index(op.f("ix_susar_unblindings_trial_id"), table_name="susar_unblindings")
    op.drop_index(op.f("ix_susar_unblindings_patient_id"), table_name="susar_unblindings")
    op.drop_table("susar_unblindings")
    op.drop_index(op.f("ix_sae_reviews_trial_id"), table_name="sae_reviews")
    op.drop_index(op.f("ix_sae_reviews_patient_id"), table_name="sae_reviews")
    op.drop_table("sae_reviews")
    op.drop_index(op.f("ix_sae_reports_trial_id"), table_name="sae_reports")
    op.drop_index(op.f("ix_sae_reports_site_id"), table_name="sae_reports")
    op.drop_index(op.f("ix_sae_reports_patient_id"), table_name="sae_reports")
    op.drop_table("sae_reports")
