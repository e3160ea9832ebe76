"""The database itself refuses to alter or remove audit rows (migration 0004).

Raw SQL and ORM statements alike: UPDATE and DELETE of an audit event (and TRUNCATE on
PostgreSQL) fail with a message naming the table and the operation; the chain head only
moves forward. Appending still works, and the chain stays intact. Downgrading below 0004
removes the guard; upgrading brings it back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.tamper import SQLITE_GUARD_TRIGGERS
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import downgrade, upgrade
from trialkit.service.platform.tables.audit import (
    AuditEntry,
    AuditEvent,
    AuditHead,
    append_events,
    verify_chain,
)

REFUSED = "is append-only: {op} refused"


def _append(session: Session, n: int, *, changes_data: bool = True) -> list[AuditEvent]:
    return append_events(
        session,
        [
            AuditEntry(action="create", entity="thing", entity_id=str(i), changes_data=changes_data)
            for i in range(n)
        ],
    )


def _refused(session: Session, statement: object, *, table: str, op: str) -> str:
    """Run a statement in a savepoint; it must fail with the trigger's message."""
    with pytest.raises(DBAPIError) as caught, session.begin_nested():
        session.execute(statement)  # type: ignore[call-overload]
    message = str(caught.value.orig)
    assert f"{table} {REFUSED.format(op=op)}" in message, message
    return message


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET new_value = 'forged' WHERE seq = 2",
        "UPDATE audit_events SET occurred_at = occurred_at",
        "UPDATE audit_events SET hash = prev_hash WHERE seq = 3",
    ],
)
def test_raw_updates_of_audit_events_are_refused(session: Session, statement: str) -> None:
    _append(session, 3)
    message = _refused(session, text(statement), table="audit_events", op="UPDATE")
    assert "record a correction as a new event" in message
    assert verify_chain(session).intact


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM audit_events WHERE seq = 3", "DELETE FROM audit_events"],
)
def test_raw_deletes_of_audit_events_are_refused(session: Session, statement: str) -> None:
    _append(session, 3)
    _refused(session, text(statement), table="audit_events", op="DELETE")
    assert verify_chain(session).events == 3


def test_orm_updates_and_deletes_are_refused_too(session: Session) -> None:
    _append(session, 2)
    _refused(
        session,
        update(AuditEvent).where(AuditEvent.seq == 1).values(reason="tidied"),
        table="audit_events",
        op="UPDATE",
    )
    _refused(session, delete(AuditEvent), table="audit_events", op="DELETE")
    session.expunge_all()
    assert session.scalars(select(AuditEvent.reason).order_by(AuditEvent.seq)).all() == [None, None]


def test_truncate_is_refused_on_postgresql(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (a DELETE without WHERE is refused above)")
    _append(session, 2)
    _refused(session, text("TRUNCATE audit_events"), table="audit_events", op="TRUNCATE")
    _refused(session, text("TRUNCATE audit_head"), table="audit_head", op="TRUNCATE")
    assert verify_chain(session).intact


def test_the_chain_head_only_moves_forward(session: Session) -> None:
    _append(session, 3)
    _refused(session, text("UPDATE audit_head SET last_seq = 2"), table="audit_head", op="UPDATE")
    _refused(
        session,
        text("UPDATE audit_head SET last_hash = 'f' WHERE id = 1"),
        table="audit_head",
        op="UPDATE",
    )
    _refused(
        session, text("UPDATE audit_head SET id = 2, last_seq = 9"), table="audit_head", op="UPDATE"
    )
    _refused(session, text("DELETE FROM audit_head"), table="audit_head", op="DELETE")
    session.expire_all()
    head = session.get(AuditHead, 1)
    assert head is not None
    assert head.last_seq == 3


def test_appends_still_work_after_a_refusal(session: Session) -> None:
    _append(session, 2)
    _refused(session, text("DELETE FROM audit_events"), table="audit_events", op="DELETE")
    session.expire_all()
    more = _append(session, 3)
    assert [e.seq for e in more] == [3, 4, 5]
    report = verify_chain(session)
    assert report.intact, report.summary()
    assert report.events == 5


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('guard') / 'guard.db'}"
        return
    url = create_postgres_database("trialkit_guard")
    yield url
    drop_postgres_database(url)


def _guard_triggers(url: str) -> set[str]:
    database = create_database(url, pool_size=1)
    try:
        with database.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                rows = connection.execute(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                        "AND tgrelid IN ('audit_events'::regclass, 'audit_head'::regclass)"
                    )
                )
            else:
                rows = connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                )
            return {row[0] for row in rows}
    finally:
        database.dispose()


def _try_update(url: str) -> str | None:
    """Edit an audit event in a committed transaction: None if done, else the refusal."""
    database = create_database(url, pool_size=1)
    try:
        with database.sessions.begin() as session:
            _append(session, 1, changes_data=False)  # below 0017 the head has no data version
        try:
            with database.sessions.begin() as session:
                session.execute(text("UPDATE audit_events SET reason = 'edited'"))
        except DBAPIError as exc:
            return str(exc.orig)
        return None
    finally:
        database.dispose()


def test_upgrade_and_downgrade_add_and_remove_the_guard(empty_url: str) -> None:
    database = create_database(empty_url, pool_size=1)
    try:
        upgrade(database.engine)
        assert "audit_events" in inspect(database.engine).get_table_names()
    finally:
        database.dispose()
    expected = (
        {
            "audit_events_append_only",
            "audit_events_no_truncate",
            "audit_head_forward_only",
            "audit_head_no_truncate",
        }
        if empty_url.startswith("postgresql")
        else set(SQLITE_GUARD_TRIGGERS)
    )
    assert _guard_triggers(empty_url) == expected
    refusal = _try_update(empty_url)
    assert refusal is not None
    assert f"audit_events {REFUSED.format(op='UPDATE')}" in refusal

    database = create_database(empty_url, pool_size=1)
    try:
        downgrade(database.engine, "0003")
    finally:
        database.dispose()
    assert _guard_triggers(empty_url) == set()
    assert _try_update(empty_url) is None  # below 0004 only the chain would notice

    database = create_database(empty_url, pool_size=1)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()
    assert _guard_triggers(empty_url) == expected
    assert _try_update(empty_url) is not None


def test_insert_or_replace_over_an_existing_audit_event_is_refused(session: Session) -> None:
    """SQLite's REPLACE deletes the old row silently (no DELETE trigger): refused (0009).

    PostgreSQL's nearest form, ``INSERT ... ON CONFLICT DO UPDATE``, is an UPDATE: refused too.
    """
    events = _append(session, 3)
    columns = "seq, occurred_at, action, entity, entity_id, prev_hash, hash"
    forged = "2, occurred_at, 'forged', entity, entity_id, prev_hash, hash"
    if session.get_bind().dialect.name == "sqlite":
        for verb in ("INSERT OR REPLACE INTO", "REPLACE INTO"):
            statement = f"{verb} audit_events ({columns}) SELECT {forged} FROM audit_events "
            _refused(session, text(statement + "WHERE seq = 2"), table="audit_events", op="REPLACE")
        _refused(
            session,
            text("INSERT OR REPLACE INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, 'x')"),
            table="audit_head",
            op="REPLACE",
        )
    else:
        statement = (
            f"INSERT INTO audit_events ({columns}) SELECT {forged} FROM audit_events "
            "WHERE seq = 2 ON CONFLICT (seq) DO UPDATE SET action = EXCLUDED.action"
        )
        _refused(session, text(statement), table="audit_events", op="UPDATE")
    session.expire_all()
    assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all() == [
        e.action for e in events
    ]
    assert verify_chain(session).intact
    assert [e.seq for e in _append(session, 1)] == [4]  # a genuine append still passes
