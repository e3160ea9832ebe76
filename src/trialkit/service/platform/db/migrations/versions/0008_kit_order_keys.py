"""The kit list's sealed order keys (``ship_key``, ``dispense_key``).

Kits of an arm with the same expiry were shipped and dispensed lowest number first, which put
arm-sorted ranges of numbers into shipments and showed a pharmacist that the lower numbers left
on the shelf were of the other arm. Each kit now carries two keys derived from the trial's
sealed seed (:func:`trialkit.randomisation.kits.kit_order_keys`); kits already sealed get
theirs from their trial's seed here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from trialkit.randomisation.kits import kit_order_keys

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kit_list", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ship_key", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("dispense_key", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT trial_id, seed FROM allocation_seals")).all()
    seeds: dict[int, bytes] = {int(trial_id): bytes(seed) for trial_id, seed in rows}
    kits = bind.execute(sa.text("SELECT id, trial_id, number FROM kit_list")).all()
    keyed = [
        {"id": kit_id, "ship": ship, "dispense": dispense}
        for kit_id, trial_id, number in kits
        for ship, dispense in [kit_order_keys(seeds[trial_id], number)]
    ]
    if keyed:
        bind.execute(
            sa.text(
                "UPDATE kit_list SET ship_key = :ship, dispense_key = :dispense WHERE id = :id"
            ),
            keyed,
        )
    with op.batch_alter_table("kit_list", schema=None) as batch_op:
        batch_op.alter_column("ship_key", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("dispense_key", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("kit_list", schema=None) as batch_op:
        batch_op.drop_column("dispense_key")
        batch_op.drop_column("ship_key")
