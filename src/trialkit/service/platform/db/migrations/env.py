"""Alembic environment: runs on the engine :mod:`trialkit.service.platform.db.migrate` gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from trialkit.service.tables import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(
    engine, Engine
):  # pragma: no cover - guarded by trialkit.service.platform.db.migrate
    raise RuntimeError(
        "run migrations through trialkit.service.platform.db.migrate (trialkit db upgrade)"
    )

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
