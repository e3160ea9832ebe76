"""Sessions that run out unseen are ended and audited by the sweep (and at each login).

A session abandoned in a browser is never presented again, so the request that would end
it never comes: the sweep ends it, stamped at the moment it ran out (idle timeout or
lifetime), with the audit event of that name; and a session keeps why it ended, so that a
second tab is told the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, SYSTEM, MovableClock, TestUser, login, make_trial, make_user
from trialkit.errors import (
    AuthenticationError,
    InputError,
    PermissionDenied,
    SessionExpiredError,
    SessionTimeoutError,
)
from trialkit.service.platform import audit, auth, sessions
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
    """A 30-minute idle timeout, a 2-hour lifetime, the test's clock."""
    return dataclasses.replace(
        security,
        clock=clock,
        session_idle=dt.timedelta(minutes=30),
        session_lifetime=dt.timedelta(hours=2),
    )


def _users(session: Session, security: Security, n: int) -> list[TestUser]:
    trial = make_trial(session)
    return [make_user(session, security, trial, Role.MONITOR) for _ in range(n)]


def _stored(session: Session, token: str, security: Security) -> LoginSession:
    session.expire_all()
    return session.scalars(
        select(LoginSession).where(LoginSession.token_hash == security.token_hash(token))
    ).one()


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def test_the_sweep_ends_sessions_when_they_ran_out_and_audits_them(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    idle_user, busy_user, fresh_user = _users(session, timed, 3)
    idle = login(session, timed, idle_user)  # never presented again
    busy = login(session, timed, busy_user)  # active every 20 minutes until its lifetime
    eight_hours = dataclasses.replace(timed, session_lifetime=dt.timedelta(hours=8))
    fresh = login(session, eight_hours, fresh_user)  # active throughout: not touched
    for _ in range(7):
        clock.advance(minutes=20)
        auth.authenticate(session=session, security=timed, token=fresh)
        if clock.now - START < dt.timedelta(hours=2):
            auth.authenticate(session=session, security=timed, token=busy)
    clock.advance(minutes=5)
    assert not _events(session, "timeout")  # nobody presented or swept them yet

    result = sessions.sweep_sessions(session=session, security=timed, actor=SYSTEM)

    assert result == sessions.SweepResult(timed_out=1, expired=1, more=False)
    assert result.summary() == "ended 2 sessions that had run out (1 timed out, 1 expired)"
    idle_row, busy_row, fresh_row = (_stored(session, t, timed) for t in (idle, busy, fresh))
    assert (idle_row.ended_at, idle_row.end_reason) == (
        START + dt.timedelta(minutes=30),
        "timeout",
    )
    assert (busy_row.ended_at, busy_row.end_reason) == (START + dt.timedelta(hours=2), "expired")
    assert (fresh_row.ended_at, fresh_row.end_reason) == (None, None)
    timeout, expired = _events(session, "timeout"), _events(session, "expired")
    assert [(e.username, e.entity_id, e.new_value, e.reason) for e in timeout] == [
        (
            idle_user.username,
            str(idle_row.id),
            idle_row.ended_at.isoformat(),
            "no activity for 30 minutes",
        )
    ]
    assert [(e.username, e.entity_id, e.new_value, e.reason) for e in expired] == [
        (
            busy_user.username,
            str(busy_row.id),
            busy_row.ended_at.isoformat(),
            "maximum session length of 120 minutes reached",
        )
    ]
    assert audit.verify_trail(session=session).intact
    # nothing left to sweep; and presented now, each says why it ended, recorded once
    assert sessions.sweep_sessions(session=session, security=timed, actor=SYSTEM).ended == 0
    with pytest.raises(SessionTimeoutError, match="after 30 minutes without activity"):
        auth.authenticate(session=session, security=timed, token=idle)
    with pytest.raises(SessionExpiredError, match="maximum length of 2 hours"):
        auth.authenticate(session=session, security=timed, token=busy)
    assert len(_events(session, "timeout")) == 1
    assert len(_events(session, "expired")) == 1
    assert auth.authenticate(session=session, security=timed, token=fresh).username


def test_a_login_sweeps_the_sessions_that_ran_out_up_to_a_bound(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    limit = sessions.LOGIN_SWEEP_LIMIT
    abandoned_user, other = _users(session, timed, 2)
    tokens = [login(session, timed, abandoned_user) for _ in range(limit + 3)]
    clock.advance(minutes=31)
    login(session, timed, other)  # a login sweeps the oldest LOGIN_SWEEP_LIMIT of them
    ended = [_stored(session, t, timed).end_reason for t in tokens]
    assert ended == ["timeout"] * limit + [None] * 3
    assert len(_events(session, "timeout")) == limit
    login(session, timed, other)  # and the next login the rest
    assert [_stored(session, t, timed).ended_at for t in tokens] == [
        START + dt.timedelta(minutes=30)
    ] * (limit + 3)
    assert len(_events(session, "timeout")) == limit + 3


def test_a_bounded_sweep_says_that_more_remain(
    session: Session, timed: Security, clock: MovableClock
) -> None:
    (user,) = _users(session, timed, 1)
    for _ in range(3):
        login(session, timed, user)
    clock.advance(hours=3)
    first = sessions.sweep_sessions(session=session, security=timed, actor=SYSTEM, limit=2)
    assert first == sessions.SweepResult(timed_out=2, expired=0, more=True)
    assert first.summary().endswith("; more remain: run it again")
    assert sessions.sweep_sessions(session=session, security=timed, actor=SYSTEM, limit=2) == (
        sessions.SweepResult(timed_out=1, expired=0, more=False)
    )
    with pytest.raises(InputError, match="limit must be 1 or more"):
        sessions.sweep_sessions(session=session, security=timed, actor=SYSTEM, limit=0)


def test_only_an_administrator_may_run_the_sweep(session: Session, timed: Security) -> None:
    (monitor,) = _users(session, timed, 1)
    actor = auth.authenticate(session=session, security=timed, token=login(session, timed, monitor))
    with pytest.raises(PermissionDenied, match="may not manage users and roles"):
        sessions.sweep_sessions(session=session, security=timed, actor=actor)


def test_a_session_ended_by_logout_or_password_change_says_so(
    session: Session, timed: Security
) -> None:
    (user,) = _users(session, timed, 1)
    first, second = login(session, timed, user), login(session, timed, user)
    actor = auth.authenticate(session=session, security=timed, token=first)
    auth.logout(session=session, actor=actor)
    assert _stored(session, first, timed).end_reason == "logout"
    with pytest.raises(AuthenticationError, match="you logged out of this session"):
        auth.authenticate(session=session, security=timed, token=first)
    actor = auth.authenticate(session=session, security=timed, token=second)
    third = login(session, timed, user)
    auth.change_password(
        session=session,
        security=timed,
        actor=actor,
        old_password=PASSWORD,
        new_password=PASSWORD + " changed",
    )
    assert _stored(session, third, timed).end_reason == "password_change"
    with pytest.raises(AuthenticationError, match="ended when your password was changed"):
        auth.authenticate(session=session, security=timed, token=third)
    assert auth.authenticate(session=session, security=timed, token=second).username


def test_the_end_found_by_a_request_is_committed_although_it_is_refused(
    db: Database, timed: Security, clock: MovableClock
) -> None:
    timed = dataclasses.replace(timed, session_idle=dt.timedelta(hours=3))
    with transaction(db) as session:
        (user,) = _users(session, timed, 1)
        token = login(session, timed, user)
    clock.advance(hours=2)
    clock.now -= dt.timedelta(minutes=1)
    with transaction(db) as session:  # active until a minute before its lifetime
        auth.authenticate(session=session, security=timed, token=token)
    clock.advance(minutes=2)
    with pytest.raises(SessionExpiredError), transaction(db) as session:
        auth.authenticate(session=session, security=timed, token=token)
    with transaction(db) as session:
        stored = _stored(session, token, timed)
        assert (stored.ended_at, stored.end_reason) == (START + dt.timedelta(hours=2), "expired")
        assert len(_events(session, "expired")) == 1
