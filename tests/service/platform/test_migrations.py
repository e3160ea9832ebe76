"""The schema comes from the migrations alone: empty -> head -> empty; head matches the models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from tests.conftest import create_postgres_database, drop_postgres_database
from trialkit.randomisation import kit_order_keys
from trialkit.service.platform.db.base import Base
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import (
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import LoginSession, User
from trialkit.service.randomisation.tables.supply import KitListEntry
from trialkit.service.trials.tables import Trial


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('migrations') / 'empty.db'}"
        return
    url = create_postgres_database("trialkit_migrations")
    yield url
    drop_postgres_database(url)


def test_empty_to_head_and_back(empty_url: str) -> None:
    database = create_database(empty_url, pool_size=1)
    try:
        assert current_revision(database.engine) is None
        upgrade(database.engine)
        assert current_revision(database.engine) == head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        downgrade(database.engine, "base")
        assert current_revision(database.engine) is None
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database.engine)  # and up again
        assert current_revision(database.engine) == head_revision()
    finally:
        database.dispose()


def test_0006_takes_the_end_reason_of_earlier_sessions_from_their_audit_event(
    empty_url: str,
) -> None:
    database = create_database(empty_url, pool_size=1)
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    try:
        upgrade(database.engine, "0005")
        with database.engine.begin() as connection:
            connection.execute(
                User.__table__.insert(),
                [
                    {
                        "id": 1,
                        "username": "rossi",
                        "full_name": "M. Rossi",
                        "password_hash": "x",
                        "is_active": True,
                        "is_demo": False,
                        "failed_logins": 0,
                        "password_changed_at": at,
                        "created_at": at,
                    }
                ],
            )
            ended = {1: at, 2: at, 3: at, 4: None}  # logout, timeout, password change, open
            connection.execute(
                insert(LoginSession.__table__),
                [
                    {
                        "id": i,
                        "token_hash": f"{i:064d}",
                        "user_id": 1,
                        "kind": "bearer",
                        "created_at": at,
                        "expires_at": at + dt.timedelta(hours=8),
                        "last_seen_at": at,
                        "ended_at": ended_at,
                    }
                    for i, ended_at in ended.items()
                ],
            )
            connection.execute(
                insert(AuditEvent.__table__),
                [
                    {
                        "seq": seq,
                        "occurred_at": at,
                        "user_id": 1,
                        "username": "rossi",
                        "action": action,
                        "entity": entity,
                        "entity_id": entity_id,
                        "field": "ended_at",
                        "prev_hash": f"{seq - 1:064d}",
                        "hash": f"{seq:064d}",
                    }
                    for seq, (action, entity, entity_id) in enumerate(
                        [
                            ("login", "login_session", "1"),
                            ("logout", "login_session", "1"),
                            ("timeout", "login_session", "2"),
                            ("logout", "user", "3"),  # another entity's event of that id
                            ("login", "login_session", "4"),
                        ],
                        start=1,
                    )
                ],
            )
        upgrade(database.engine)
        with database.engine.connect() as connection:
            reasons = dict(
                connection.execute(
                    select(LoginSession.id, LoginSession.end_reason).order_by(LoginSession.id)
                ).all()
            )
        assert reasons == {1: "logout", 2: "timeout", 3: None, 4: None}
        downgrade(database.engine, "0005")
    finally:
        database.dispose()


def test_0008_gives_kits_sealed_before_it_the_order_keys_of_their_trials_seed(
    empty_url: str,
) -> None:
    """Kits sealed before the order keys existed get the keys their seed regenerates, so a
    sealed trial verifies and dispenses by key after the upgrade."""
    database = create_database(empty_url, pool_size=1)
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    seeds = {1: bytes(range(32)), 2: bytes(range(32, 64))}
    try:
        upgrade(database.engine, "0007")
        with database.engine.begin() as connection:
            for trial_id, seed in seeds.items():
                connection.execute(
                    insert(Trial.__table__),
                    [
                        {
                            "id": trial_id,
                            "acronym": f"T{trial_id}",
                            "protocol_name": "sor",
                            "protocol_version": "1",
                            "title": "t",
                            "blinding": "double",
                            "first_enrolment": dt.date(2007, 11, 22),
                            "final_enrolment": dt.date(2010, 6, 30),
                            "created_at": at,
                        }
                    ],
                )
                connection.execute(
                    text(
                        "INSERT INTO allocation_seals (trial_id, seed, protocol_version,"
                        " slots_per_stratum, list_hash, kit_list_hash, extensions, sealed_at)"
                        " VALUES (:t, :seed, '1', 4, 'x', 'y', 0, :at)"
                    ),
                    {"t": trial_id, "seed": seed, "at": at},
                )
                connection.execute(
                    text(
                        "INSERT INTO kit_list (trial_id, number, arm, batch)"
                        " VALUES (:t, :n, :arm, 0)"
                    ),
                    [{"t": trial_id, "n": n, "arm": "AB"[n % 2]} for n in (100_001, 100_002)],
                )
        upgrade(database.engine)
        with database.engine.connect() as connection:
            keys = connection.execute(
                select(
                    KitListEntry.trial_id,
                    KitListEntry.number,
                    KitListEntry.ship_key,
                    KitListEntry.dispense_key,
                )
            ).all()
        assert len(keys) == 4
        for trial_id, number, ship, dispense in keys:
            assert (ship, dispense) == kit_order_keys(seeds[trial_id], number)
        downgrade(database.engine, "0007")
    finally:
        database.dispose()


def test_0012_brings_the_notifications_nobody_read_to_the_monitors_inboxes(
    empty_url: str,
) -> None:
    database = create_database(empty_url, pool_size=1)
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    try:
        upgrade(database.engine, "0009")
        with database.engine.begin() as connection:
            connection.execute(
                insert(Trial.__table__).values(
                    id=1,
                    acronym="SOR",
                    protocol_name="sor",
                    protocol_version="1.0",
                    title="SOR",
                    blinding="double",
                    first_enrolment=dt.date(2007, 11, 22),
                    final_enrolment=dt.date(2010, 6, 30),
                    created_at=at,
                )
            )
            for user_id, name in ((1, "monitor"), (2, "former-monitor"), (3, "investigator")):
                connection.execute(
                    text(
                        "INSERT INTO users (id, username, full_name, password_hash, is_active,"
                        " is_demo, failed_logins, password_changed_at, created_at)"
                        " VALUES (:id, :name, :name, 'x', true, false, 0, :at, :at)"
                    ),
                    {"id": user_id, "name": name, "at": at.replace(tzinfo=None)},
                )
            for user_id, role, revoked in (
                (1, "monitor", None),
                (2, "monitor", at),
                (3, "investigator", None),
            ):
                connection.execute(
                    text(
                        "INSERT INTO role_assignments (user_id, trial_id, role, granted_at,"
                        " revoked_at) VALUES (:user, 1, :role, :at, :revoked)"
                    ),
                    {
                        "user": user_id,
                        "role": role,
                        "at": at.replace(tzinfo=None),
                        "revoked": revoked.replace(tzinfo=None) if revoked else None,
                    },
                )
            connection.execute(
                text(
                    "INSERT INTO notifications (id, trial_id, recipient, kind, subject, body,"
                    " created_at) VALUES (1, 1, 'sponsor', 'emergency_unblinding', 's', 'b', :at)"
                ),
                {"at": at.replace(tzinfo=None)},
            )
        upgrade(database.engine)
        with database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT notification_id, user_id, channel, read_at FROM notification_deliveries"
                )
            ).all()
        assert [tuple(r) for r in rows] == [(1, 1, "inbox", None)]
    finally:
        database.dispose()


def test_0010_names_the_form_version_of_records_stored_before_it(empty_url: str) -> None:
    """Records stored before forms were defined get their trial's form versions; the column
    is required from then on."""
    database = create_database(empty_url, pool_size=1)
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    try:
        upgrade(database.engine, "0009")
        with database.engine.begin() as connection:
            connection.execute(
                insert(Trial.__table__),
                [
                    {
                        "id": 1,
                        "acronym": "SOR",
                        "protocol_name": "sor",
                        "protocol_version": "1",
                        "title": "t",
                        "blinding": "double",
                        "first_enrolment": dt.date(2007, 11, 22),
                        "final_enrolment": dt.date(2010, 6, 30),
                        "created_at": at,
                    }
                ],
            )
            for sql, values in (
                (
                    "INSERT INTO countries (id, trial_id, code, name) VALUES (1, 1, 'IT', 'Italy')",
                    {},
                ),
                (
                    "INSERT INTO sites (id, trial_id, country_id, code, name, city, coordinating,"
                    " created_at) VALUES (1, 1, 1, 'IT01', 'Milano', 'Milano', false, :at)",
                    {"at": at},
                ),
                (
                    "INSERT INTO patients (id, trial_id, site_id, screening_number, created_at)"
                    " VALUES (1, 1, 1, 'IT01-001', :at)",
                    {"at": at},
                ),
                (
                    "INSERT INTO screening_records (id, patient_id, version, data, recorded_at)"
                    " VALUES (1, 1, 1, '{\"ecog\": 0}', :at)",
                    {"at": at},
                ),
                (
                    "INSERT INTO capture_records (id, patient_id, form, record_key, version, data,"
                    " recorded_at) VALUES (1, 1, 'adverse_event', 'AE-1', 1, '{}', :at)",
                    {"at": at},
                ),
            ):
                connection.execute(text(sql), values)
        upgrade(database.engine)
        with database.engine.connect() as connection:
            screening = connection.execute(text("SELECT form_version FROM screening_records"))
            captured = connection.execute(text("SELECT form_version FROM capture_records"))
            assert screening.scalars().all() == ["1"]
            assert captured.scalars().all() == ["1"]
        downgrade(database.engine, "0009")
        columns = {c["name"] for c in inspect(database.engine).get_columns("capture_records")}
        assert "form_version" not in columns
    finally:
        database.dispose()
