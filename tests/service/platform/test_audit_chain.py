"""The audit chain: intact after appends; an edited, removed or truncated event is caught.

The database refuses such edits (migration 0004, tests/service/platform/test_audit_append_only.py);
here the tamperer owns the schema and switches that guard off first, and the chain is what
catches them.
"""

from __future__ import annotations

import itertools

from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from tests.tamper import drop_append_only_guard
from trialkit.service.platform.tables.audit import (
    AuditEntry,
    AuditEvent,
    append_events,
    verify_chain,
)


def _append(session: Session, n: int) -> list[AuditEvent]:
    return append_events(
        session,
        [
            AuditEntry(action="create", entity="thing", entity_id=str(i), new_value=f"v{i}")
            for i in range(n)
        ],
    )


def test_appended_events_chain_up(session: Session) -> None:
    events = _append(session, 5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    report = verify_chain(session)
    assert report.intact, report.summary()
    assert report.events == 5
    assert report.head_hash == events[-1].hash


def test_an_edited_row_is_caught_at_that_row(session: Session) -> None:
    _append(session, 5)
    session.expunge_all()
    # an edit straight in the database, as a tamperer who owns the schema would make it
    drop_append_only_guard(session)
    session.execute(text("UPDATE audit_events SET new_value = 'forged' WHERE seq = 3"))
    report = verify_chain(session)
    assert not report.intact
    assert report.broken_at == 3
    assert "edited" in (report.problem or "")


def test_a_rehashed_row_is_caught_at_the_next_link(session: Session) -> None:
    events = _append(session, 4)
    drop_append_only_guard(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(hash="f" * 64))
    session.expunge_all()
    report = verify_chain(session)
    assert report.broken_at == 2  # its own hash no longer matches its content
    del events


def test_a_removed_row_is_caught(session: Session) -> None:
    _append(session, 4)
    drop_append_only_guard(session)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    session.expunge_all()
    report = verify_chain(session)
    assert report.broken_at == 2
    assert "missing" in (report.problem or "")


def test_a_truncated_tail_is_caught_by_the_head(session: Session) -> None:
    _append(session, 4)
    drop_append_only_guard(session)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    session.expunge_all()
    report = verify_chain(session)
    assert not report.intact
    assert report.broken_at is None
    assert "head" in (report.problem or "")
