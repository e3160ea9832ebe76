"""The calendar day of each dispensing and the reason of a pharmacist's override.

``dispensed_on`` is the trial's calendar date of the dispensing, from which the next cycle
is due (``dispensed_at`` is the real time it was recorded, which a pinned calendar does not
move). Dispensings made before this migration take it from their randomisation's enrolment
date (cycle 1) or from the date of ``dispensed_at`` (later cycles). ``override_reason`` holds
the documented reason when a pharmacist dispensed although the check refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dispensings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispensed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.String(length=2000), nullable=True))
    op.execute(
        "UPDATE dispensings SET dispensed_on = ("
        " SELECT randomisations.enrolment_date FROM randomisations"
        " WHERE randomisations.patient_id = dispensings.patient_id)"
        " WHERE cycle = 1"
    )
    # SQLite keeps the UTC timestamp as ISO text (date() reads it); PostgreSQL casts it
    day = (
        "date(dispensed_at)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(dispensed_at AS DATE)"
    )
    op.execute(f"UPDATE dispensings SET dispensed_on = {day} WHERE dispensed_on IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("dispensings", schema=None) as batch_op:
        batch_op.drop_column("override_reason")
        batch_op.drop_column("dispensed_on")
