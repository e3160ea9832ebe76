"""Every stored record names the version of the form definition it was entered on.

``screening_records.form_version`` and ``capture_records.form_version``: records stored before
forms were defined in the protocol file get the version of their trial's protocol form of the
same name (SOR's forms are all version "1"), or "1" where the protocol cannot be loaded.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from trialkit.errors import ProtocolError
from trialkit.protocol import load_protocol

revision: str = "0010"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST = "1"


def _versions(bind: sa.engine.Connection) -> dict[int, dict[str, str]]:
    """Per trial: form name -> version of its definition in the trial's protocol."""
    out: dict[int, dict[str, str]] = {}
    for trial_id, name in bind.execute(sa.text("SELECT id, protocol_name FROM trials")).all():
        try:
            forms = load_protocol(name).forms
        except ProtocolError:
            forms = None
        out[int(trial_id)] = {} if forms is None else {f.name: f.version for f in forms.forms}
        if forms is not None and forms.screening is not None:
            out[int(trial_id)]["<screening>"] = forms.screening.version
    return out


def upgrade() -> None:
    for table in ("screening_records", "capture_records"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("form_version", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    versions = _versions(bind)
    screening = bind.execute(
        sa.text(
            "SELECT r.id, p.trial_id FROM screening_records r "
            "JOIN patients p ON p.id = r.patient_id"
        )
    ).all()
    rows = [
        {"id": row_id, "v": versions.get(int(trial_id), {}).get("<screening>", _FIRST)}
        for row_id, trial_id in screening
    ]
    if rows:
        bind.execute(sa.text("UPDATE screening_records SET form_version = :v WHERE id = :id"), rows)
    captured = bind.execute(
        sa.text(
            "SELECT r.id, p.trial_id, r.form FROM capture_records r "
            "JOIN patients p ON p.id = r.patient_id"
        )
    ).all()
    rows = [
        {"id": row_id, "v": versions.get(int(trial_id), {}).get(form, _FIRST)}
        for row_id, trial_id, form in captured
    ]
    if rows:
        bind.execute(sa.text("UPDATE capture_records SET form_version = :v WHERE id = :id"), rows)
    for table in ("screening_records", "capture_records"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("form_version", existing_type=sa.String(32), nullable=False)


def downgrade() -> None:
    for table in ("capture_records", "screening_records"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("form_version")
