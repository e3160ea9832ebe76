"""Randomisation: the sealed seed and lists, stratum counters, randomisations, blinded supply,
emergency unblinding and notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:13:40.561050
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocation_seals",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.LargeBinary(length=64), nullable=False),
        sa.Column("protocol_version", sa.String(length=100), nullable=False),
        sa.Column("slots_per_stratum", sa.Integer(), nullable=False),
        sa.Column("list_hash", sa.String(length=64), nullable=False),
        sa.Column("kit_list_hash", sa.String(length=64), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sealed_by"], ["users.id"], name=op.f("fk_allocation_seals_sealed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_allocation_seals_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("trial_id", name=op.f("pk_allocation_seals")),
    )
    op.create_table(
        "allocation_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("randomisation_number", sa.Integer(), nullable=False),
        sa.Column("extension", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_allocation_slots_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_slots")),
        sa.UniqueConstraint(
            "trial_id",
            "randomisation_number",
            name=op.f("uq_allocation_slots_trial_id_randomisation_number"),
        ),
        sa.UniqueConstraint(
            "trial_id",
            "stratum",
            "sequence",
            name=op.f("uq_allocation_slots_trial_id_stratum_sequence"),
        ),
    )
    op.create_table(
        "kit_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_kit_list_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kit_list")),
        sa.UniqueConstraint("trial_id", "number", name=op.f("uq_kit_list_trial_id_number")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_notifications_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_trial_id"), "notifications", ["trial_id"], unique=False)

    op.create_table(
        "stratum_counters",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_stratum_counters_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("trial_id", "stratum", name=op.f("pk_stratum_counters")),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_by", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["received_by"], ["users.id"], name=op.f("fk_shipments_received_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["shipped_by"], ["users.id"], name=op.f("fk_shipments_shipped_by_users")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_shipments_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_shipments_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_site_id"), "shipments", ["site_id"], unique=False)

    op.create_table(
        "kits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_kits_shipment_id_shipments")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_kits_site_id_sites")),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], name=op.f("fk_kits_trial_id_trials")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kits")),
        sa.UniqueConstraint("trial_id", "number", name=op.f("uq_kits_trial_id_number")),
    )
    op.create_index(op.f("ix_kits_site_id"), "kits", ["site_id"], unique=False)
    op.create_index(op.f("ix_kits_status"), "kits", ["status"], unique=False)

    op.create_table(
        "resupply_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kit_numbers", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_resupply_requests_shipment_id_shipments"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_resupply_requests_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_resupply_requests_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resupply_requests")),
    )
    op.create_index(
        op.f("ix_resupply_requests_site_id"), "resupply_requests", ["site_id"], unique=False
    )

    op.create_table(
        "unblindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unblinded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_unblindings_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_unblindings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unblindings")),
    )
    op.create_index(op.f("ix_unblindings_patient_id"), "unblindings", ["patient_id"], unique=False)
    op.create_index(op.f("ix_unblindings_user_id"), "unblindings", ["user_id"], unique=False)

    op.create_table(
        "dispensings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kit_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispensed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispensed_by"], ["users.id"], name=op.f("fk_dispensings_dispensed_by_users")
        ),
        sa.ForeignKeyConstraint(["kit_id"], ["kits.id"], name=op.f("fk_dispensings_kit_id_kits")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_dispensings_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispensings")),
        sa.UniqueConstraint("kit_id", name=op.f("uq_dispensings_kit_id")),
        sa.UniqueConstraint("patient_id", "cycle", name=op.f("uq_dispensings_patient_id_cycle")),
    )
    op.create_index(op.f("ix_dispensings_patient_id"), "dispensings", ["patient_id"], unique=False)

    op.create_table(
        "randomisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("randomisation_number", sa.Integer(), nullable=False),
        sa.Column("background_therapy", sa.String(length=64), nullable=False),
        sa.Column("eligibility_evaluation_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_date", sa.Date(), nullable=False),
        sa.Column("randomised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("randomised_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["eligibility_evaluation_id"],
            ["eligibility_evaluations.id"],
            name=op.f("fk_randomisations_eligibility_evaluation_id_eligibility_evaluations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_randomisations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["randomised_by"], ["users.id"], name=op.f("fk_randomisations_randomised_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_randomisations_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["allocation_slots.id"],
            name=op.f("fk_randomisations_slot_id_allocation_slots"),
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_randomisations_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisations")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_randomisations_patient_id")),
        sa.UniqueConstraint("slot_id", name=op.f("uq_randomisations_slot_id")),
        sa.UniqueConstraint(
            "trial_id",
            "randomisation_number",
            name=op.f("uq_randomisations_trial_id_randomisation_number"),
        ),
        sa.UniqueConstraint(
            "trial_id",
            "stratum",
            "sequence",
            name=op.f("uq_randomisations_trial_id_stratum_sequence"),
        ),
    )
    op.create_index(op.f("ix_randomisations_site_id"), "randomisations", ["site_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_randomisations_site_id"), table_name="randomisations")

    op.drop_table("randomisations")
    op.drop_index(op.f("ix_dispensings_patient_id"), table_name="dispensings")

    op.drop_table("dispensings")
    op.drop_index(op.f("ix_unblindings_user_id"), table_name="unblindings")
    op.drop_index(op.f("ix_unblindings_patient_id"), table_name="unblindings")

    op.drop_table("unblindings")
    op.drop_index(op.f("ix_resupply_requests_site_id"), table_name="resupply_requests")

    op.drop_table("resupply_requests")
    op.drop_index(op.f("ix_kits_status"), table_name="kits")
    op.drop_index(op.f("ix_kits_site_id"), table_name="kits")

    op.drop_table("kits")
    op.drop_index(op.f("ix_shipments_site_id"), table_name="shipments")

    op.drop_table("shipments")
    op.drop_table("stratum_counters")
    op.drop_index(op.f("ix_notifications_trial_id"), table_name="notifications")

    op.drop_table("notifications")
    op.drop_table("kit_list")
    op.drop_table("allocation_slots")
    op.drop_table("allocation_seals")
