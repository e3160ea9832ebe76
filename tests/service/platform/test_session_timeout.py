"""Idle session timeout: a session ends after N minutes without activity (a clock moved by hand).

Activity is written at most once a minute; the absolute lifetime still applies; the end is
recorded (``ended_at`` and an audit event ``timeout``) and committed although the request
is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, MovableClock, TestUser, login, make_trial, make_user
from trialkit.errors import AuthenticationError, SessionExpiredError, SessionTimeoutError
from trialkit.service.platform import audit, auth
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import LoginSession
from trialkit.service.platform.transaction import transaction

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def timed(security: Security, clock: MovableClock) -> Security:
    """Security with a 30-minute idle timeout, an 8-hour lifetime and the test's clock."""
    return dataclasses.replace(
        security,
        clock=clock,
        session_idle=dt.timedelta(minutes=30),
        session_lifetime=dt.timedelta(hours=8),
    )


def _user(session: Session, security: Security) -> TestUser:
    return make_user(session, security, make_trial(session), Role.MONITOR)


def _stored(session: Session, token: str, security: Security) -> LoginSession:
    session.expire_all()
    return session.scalars(
        select(LoginSession).where(LoginSession.token_hash == security.token_hash(token))
    ).one()


def test_activity_keeps_a_session_alive_and_idleness_ends_it(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    token = login(session, timed, _user(session, timed))
    for _ in range(4):  # a request every 29 minutes: two hours, never idle for 30
        clock.advance(minutes=29)
        assert auth.authenticate(session=session, security=timed, token=token).username
    last_request = clock.now
    clock.advance(minutes=30)
    with pytest.raises(SessionTimeoutError) as ended:
        auth.authenticate(session=session, security=timed, token=token)
    assert str(ended.value) == (
        "your session ended after 30 minutes without activity: log in again"
    )
    stored = _stored(session, token, timed)
    assert stored.ended_at == last_request + dt.timedelta(minutes=30)  # when it timed out
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).one()
    assert event.entity == "login_session"
    assert event.entity_id == str(stored.id)
    assert event.field == "ended_at"
    assert event.new_value == stored.ended_at.isoformat()
    assert event.reason == "no activity for 30 minutes"
    assert audit.verify_trail(session=session).intact
    assert stored.end_reason == "timeout"
    # presented again (a second tab), it stays ended, says why, and is not recorded twice
    with pytest.raises(SessionTimeoutError) as again:
        auth.authenticate(session=session, security=timed, token=token)
    assert str(again.value) == str(ended.value)
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).all()) == 1


def test_one_second_short_of_the_timeout_is_still_activity(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    token = login(session, timed, _user(session, timed))
    clock.advance(minutes=29, seconds=59)
    auth.authenticate(session=session, security=timed, token=token)
    clock.advance(minutes=29, seconds=59)
    auth.authenticate(session=session, security=timed, token=token)
    clock.advance(minutes=30)
    with pytest.raises(SessionTimeoutError):
        auth.authenticate(session=session, security=timed, token=token)


def test_activity_is_written_at_most_once_a_minute(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    token = login(session, timed, _user(session, timed))
    assert _stored(session, token, timed).last_seen_at == START
    for seconds in (1, 20, 59):  # within the minute: nothing written
        clock.now = START + dt.timedelta(seconds=seconds)
        auth.authenticate(session=session, security=timed, token=token)
        assert _stored(session, token, timed).last_seen_at == START
    clock.now = START + dt.timedelta(seconds=60)
    auth.authenticate(session=session, security=timed, token=token)
    assert _stored(session, token, timed).last_seen_at == START + dt.timedelta(seconds=60)
    # so the timeout counts from the last written activity: up to a minute early, never late
    clock.now = START + dt.timedelta(seconds=60 + 59)
    auth.authenticate(session=session, security=timed, token=token)
    clock.now = START + dt.timedelta(minutes=31)
    with pytest.raises(SessionTimeoutError):
        auth.authenticate(session=session, security=timed, token=token)


def test_the_absolute_lifetime_still_ends_an_active_session(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    short = dataclasses.replace(timed, session_lifetime=dt.timedelta(minutes=60))
    token = login(session, short, _user(session, short))
    clock.advance(minutes=20)
    auth.authenticate(session=session, security=short, token=token)
    clock.advance(minutes=20)
    auth.authenticate(session=session, security=short, token=token)
    clock.advance(minutes=25)
    with pytest.raises(SessionExpiredError) as refused:
        auth.authenticate(session=session, security=short, token=token)
    assert str(refused.value) == (
        "your session expired after its maximum length of 1 hour: log in again"
    )
    # ended and audited at the moment its lifetime ran out, not when it was presented
    stored = _stored(session, token, short)
    assert (stored.ended_at, stored.end_reason) == (START + dt.timedelta(hours=1), "expired")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "expired")).one()
    assert (event.entity, event.entity_id) == ("login_session", str(stored.id))
    assert event.new_value == stored.ended_at.isoformat()
    assert event.reason == "maximum session length of 60 minutes reached"
    with pytest.raises(SessionExpiredError):
        auth.authenticate(session=session, security=short, token=token)
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "expired")).all()) == 1


def test_the_idle_timeout_is_a_setting(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    one = dataclasses.replace(timed, session_idle=dt.timedelta(minutes=1))
    token = login(session, one, _user(session, one))
    clock.advance(minutes=1)
    with pytest.raises(SessionTimeoutError, match="after 1 minute without activity"):
        auth.authenticate(session=session, security=one, token=token)


def test_the_end_is_committed_although_the_request_is_refused(
    db: Database, timed: Security, clock: MovableClock
) -> None:
    with transaction(db) as session:
        token = login(session, timed, _user(session, timed))
    clock.advance(minutes=45)
    with pytest.raises(SessionTimeoutError), transaction(db) as session:
        auth.authenticate(session=session, security=timed, token=token)
    with transaction(db) as session:
        assert _stored(session, token, timed).ended_at == START + dt.timedelta(minutes=30)
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).one()
    # an ordinary refusal keeps nothing: the transaction is rolled back
    with pytest.raises(AuthenticationError), transaction(db) as session:
        _record_then_refuse(session)
    with transaction(db) as session:
        assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "probe")).all()


def _record_then_refuse(session: Session) -> None:
    audit.record(session, actor=SYSTEM, grant=None, action="probe", entity="test", entity_id=1)
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "probe")).one()
    raise AuthenticationError("refused")
