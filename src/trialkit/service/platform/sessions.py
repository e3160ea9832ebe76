"""How login sessions end (idle timeout, lifetime, logout); sweeping the ones that ran out.

A session runs out at the first of two moments: ``last_seen_at`` plus the idle timeout
(:attr:`Security.session_idle`, reason ``timeout``) or ``expires_at`` (its lifetime,
reason ``expired``). Whoever notices first ends it, stamped at that moment (not when it
was noticed), stores the reason and records an audit event of that name: the request
that presents it (:func:`trialkit.service.platform.auth.authenticate`), or the sweep
(:func:`sweep_sessions`, ``trialkit sessions sweep``; a bounded sweep also runs at each
login), so a session abandoned in a browser is ended and audited too. Ending is a
conditional ``UPDATE ... WHERE ended_at IS NULL``: of two transactions ending the same
session at once, only one records it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from trialkit.errors import (
    AuthenticationError,
    InputError,
    SessionExpiredError,
    SessionTimeoutError,
)
from trialkit.service.platform import audit
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import LoginSession, SessionEnd, User

__all__ = [
    "LOGIN_SWEEP_LIMIT",
    "SessionEnd",
    "SweepResult",
    "end_session",
    "ended_error",
    "expired_message",
    "idle_message",
    "ran_out",
    "sweep",
    "sweep_sessions",
]

LOGIN_SWEEP_LIMIT = 20
"""How many run-out sessions a login ends at most (the sweep at login stays cheap)."""


def idle_message(security: Security) -> str:
    """What a user whose session timed out is told (the API's 401, the CLI)."""
    minutes = round(security.session_idle.total_seconds() / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return f"your session ended after {minutes} {unit} without activity: log in again"


def expired_message(security: Security) -> str:
    """What a user whose session reached its absolute lifetime is told."""
    return f"your session expired after its maximum length of {_length(security)}: log in again"


def _length(security: Security) -> str:
    minutes = round(security.session_lifetime.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


_ENDED_BECAUSE: dict[str, str] = {
    SessionEnd.LOGOUT: "you logged out of this session: log in again",
    SessionEnd.PASSWORD_CHANGE: "your session ended when your password was changed: log in again",
}


def ended_error(reason: str | None, security: Security) -> AuthenticationError:
    """The refusal of a session that ended for ``reason`` (a :class:`SessionEnd`, or unknown).

    A timeout or an expiry raises the error that keeps its record: the request that found
    the session run out has just recorded its end (a later one finds nothing to keep).
    """
    if reason == SessionEnd.TIMEOUT:
        return SessionTimeoutError(idle_message(security))
    if reason == SessionEnd.EXPIRED:
        return SessionExpiredError(expired_message(security))
    known = _ENDED_BECAUSE.get(reason) if reason is not None else None
    return AuthenticationError(known or "your session has ended or expired: log in again")


def ran_out(
    login_session: LoginSession, security: Security, now: dt.datetime
) -> tuple[SessionEnd, dt.datetime] | None:
    """Whether an open session has run out by ``now``: why, and the moment it did."""
    timeout_at = login_session.last_seen_at + security.session_idle
    if login_session.expires_at <= now and login_session.expires_at <= timeout_at:
        return SessionEnd.EXPIRED, login_session.expires_at
    if timeout_at <= now:
        return SessionEnd.TIMEOUT, timeout_at
    return None


def end_session(
    session: Session,
    *,
    login_session: LoginSession,
    user: User,
    reason: SessionEnd,
    at: dt.datetime,
    request_id: str | None,
    actor: Principal | None = None,
) -> bool:
    """End an open session at ``at`` for ``reason`` and audit it; ``False`` if already ended.

    The audit event's actor is the session's user (``actor`` when given, as for a logout),
    with the request that noticed it; its action is the reason.
    """
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.id == login_session.id, LoginSession.ended_at.is_(None))
        .values(ended_at=at, end_reason=reason.value)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    session.refresh(login_session, ["ended_at", "end_reason"])
    if result.rowcount != 1:
        return False  # another transaction ended it first, and recorded it
    audit.record(
        session,
        actor=actor
        or Principal(user_id=user.id, username=user.username, grants=(), request_id=request_id),
        grant=None,
        action=reason.value,
        entity="login_session",
        entity_id=login_session.id,
        changes={"ended_at": (None, at)},
        reason=_why(login_session, reason, at),
        changes_data=False,
    )
    return True


def _why(login_session: LoginSession, reason: SessionEnd, at: dt.datetime) -> str | None:
    if reason == SessionEnd.TIMEOUT:
        minutes = round((at - login_session.last_seen_at).total_seconds() / 60)
        return f"no activity for {minutes} minutes"
    if reason == SessionEnd.EXPIRED:
        minutes = round((at - login_session.created_at).total_seconds() / 60)
        return f"maximum session length of {minutes} minutes reached"
    return None


@dataclass(frozen=True)
class SweepResult:
    """What a sweep ended: sessions timed out, sessions expired; ``more`` if it hit its limit."""

    timed_out: int
    expired: int
    more: bool = False

    @property
    def ended(self) -> int:
        return self.timed_out + self.expired

    def summary(self) -> str:
        text = (
            f"ended {self.ended} session{'' if self.ended == 1 else 's'} that had run out "
            f"({self.timed_out} timed out, {self.expired} expired)"
        )
        return text + ("; more remain: run it again" if self.more else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "ended": self.ended,
            "timed_out": self.timed_out,
            "expired": self.expired,
            "more": self.more,
        }


def sweep(
    session: Session, *, security: Security, request_id: str | None, limit: int | None = None
) -> SweepResult:
    """End and audit every open session that has run out (the oldest ``limit`` of them).

    No authorisation: the service's own housekeeping (at each login); an administrator
    runs it through :func:`sweep_sessions`.
    """
    now = security.clock()
    query = (
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(
            LoginSession.ended_at.is_(None),
            or_(
                LoginSession.expires_at <= now,
                LoginSession.last_seen_at <= now - security.session_idle,
            ),
        )
        .order_by(LoginSession.id)
        # another transaction sweeping (or presenting) a session: leave it to that one
        .with_for_update(of=LoginSession, skip_locked=True)
    )
    if limit is not None:
        query = query.limit(limit + 1)
    rows = session.execute(query).all()
    more = limit is not None and len(rows) > limit
    counts = {SessionEnd.TIMEOUT: 0, SessionEnd.EXPIRED: 0}
    for login_session, user in rows[:limit]:
        out = ran_out(login_session, security, now)
        if out is None:  # pragma: no cover - the query selects only run-out sessions
            continue
        reason, at = out
        if end_session(
            session,
            login_session=login_session,
            user=user,
            reason=reason,
            at=at,
            request_id=request_id,
        ):
            counts[reason] += 1
    return SweepResult(
        timed_out=counts[SessionEnd.TIMEOUT], expired=counts[SessionEnd.EXPIRED], more=more
    )


def sweep_sessions(
    *, session: Session, security: Security, actor: Principal, limit: int | None = None
) -> SweepResult:
    """An administrator's sweep (``trialkit sessions sweep``): every run-out session, audited."""
    authorize(actor, Action.MANAGE_USERS, trial_id=None)
    if limit is not None and limit < 1:
        raise InputError("the limit must be 1 or more", location="limit")
    return sweep(session, security=security, request_id=actor.request_id, limit=limit)
