"""The two clocks: records follow a pinned calendar date, the audit trail stays on real time."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.orm import Session

from trialkit.service.platform.db.base import on_calendar, pinned_calendar, real_utcnow, utcnow
from trialkit.service.platform.tables.audit import AuditEntry, append_events, verify_chain

DAY = dt.date(2009, 5, 14)
SLACK = dt.timedelta(seconds=5)  # between two readings of the real clock in one test


def _close(a: dt.datetime, b: dt.datetime) -> bool:
    return abs(a - b) < SLACK


def _same_time_of_day(a: dt.datetime, b: dt.datetime) -> bool:
    """Equal times of day within the slack (across midnight too)."""
    seconds = abs(dt.datetime.combine(b.date(), a.timetz()) - b).total_seconds() % 86400
    return min(seconds, 86400 - seconds) < SLACK.total_seconds()


def test_without_a_pinned_date_the_record_clock_is_real_utc() -> None:
    assert pinned_calendar() is None
    now = utcnow()
    assert now.tzinfo is dt.UTC
    assert _close(now, real_utcnow())


def test_a_pinned_date_keeps_the_real_time_of_day() -> None:
    with on_calendar(DAY):
        assert pinned_calendar() == DAY
        stamped, real = utcnow(), real_utcnow()
    assert stamped.date() == DAY
    assert stamped.tzinfo is not None
    assert stamped.utcoffset() == dt.timedelta(0)
    assert _same_time_of_day(stamped, real)
    assert pinned_calendar() is None  # the block ends, the pin with it


def test_pins_nest_and_none_means_the_real_date() -> None:
    with on_calendar(DAY):
        with on_calendar(dt.date(2010, 2, 22)):
            assert utcnow().date() == dt.date(2010, 2, 22)
        with on_calendar(None):
            assert _close(utcnow(), real_utcnow())
        assert utcnow().date() == DAY


def test_a_pin_holds_for_its_own_context_only() -> None:
    """Two requests at once, in two threads: one pinned, one not; neither sees the other's."""
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, dt.date] = {}

    def request(name: str, day: dt.date | None) -> None:
        with on_calendar(day):
            barrier.wait()  # both pins are set now
            seen[name] = utcnow().date()
            barrier.wait()

    threads = [
        threading.Thread(target=request, args=("pinned", DAY)),
        threading.Thread(target=request, args=("real", None)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["pinned"] == DAY
    assert seen["real"] == real_utcnow().date()
    assert pinned_calendar() is None


def test_audit_events_keep_the_real_time_under_a_pinned_date(session: Session) -> None:
    before = real_utcnow()
    with on_calendar(DAY):
        events = append_events(session, [AuditEntry(action="create", entity="thing")] * 3)
    after = real_utcnow()
    assert all(before <= e.occurred_at <= after for e in events)
    assert verify_chain(session).intact
