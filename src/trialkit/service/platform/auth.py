"""Logging in and out, authenticating a token, and changing a password.

A failed login is recorded (audit event, failure count, lock-out) and then raised as
:class:`~trialkit.errors.PasswordRefusedError`, which the caller's transaction commits
(:func:`trialkit.service.platform.transaction`) before it becomes a 401 or a one-line error.

Details and reasoning: docs/operations.md, section `trialkit.service.platform.auth`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from trialkit.errors import AuthenticationError, InputError, PasswordRefusedError, PermissionDenied
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.db.database import is_busy, is_reading
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security, check_password_rules
from trialkit.service.platform.sessions import (
    LOGIN_SWEEP_LIMIT,
    end_session,
    ended_error,
    idle_message,
    ran_out,
    sweep,
)
from trialkit.service.platform.tables.people import (
    LoginSession,
    Role,
    RoleAssignment,
    SessionEnd,
    User,
)
from trialkit.service.platform.views import IssuedToken

__all__ = [
    "ACTIVITY_RESOLUTION",
    "authenticate",
    "change_password",
    "idle_message",
    "locked_out",
    "login",
    "logout",
    "record_password_failure",
    "record_password_success",
    "require_reentered_password",
]

BAD_CREDENTIALS = "wrong username or password"
ACTIVITY_RESOLUTION = dt.timedelta(minutes=1)
"""A session's last activity is written when it is at least this old (not on every request)."""
SessionKind = Literal["cookie", "bearer"]


def _failed(
    session: Session,
    *,
    user: User | None,
    username: str,
    why: str,
    request_id: str | None,
    shown: str = BAD_CREDENTIALS,
) -> PasswordRefusedError:
    actor = Principal(
        user_id=user.id if user else None, username=username[:64], grants=(), request_id=request_id
    )
    audit.record(
        session,
        actor=actor,
        grant=None,
        action="login_failed",
        entity="user",
        entity_id=user.id if user else None,
        reason=why,
        changes_data=False,
    )
    return PasswordRefusedError(shown, locked=why == "account locked")


def login(
    *,
    session: Session,
    security: Security,
    username: str,
    password: str,
    kind: SessionKind,
    request_id: str | None = None,
) -> IssuedToken:
    """Check a password and open a session; failures count towards a lock-out.

    A failure is recorded and raised as :class:`~trialkit.errors.PasswordRefusedError` (kept by
    the caller's transaction).
    """
    now = security.clock()
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        security.verify_password(_DUMMY.get(security), password)  # same time as a real check
        raise _failed(
            session, user=None, username=username, why="unknown user", request_id=request_id
        )
    if not user.is_active:
        raise _failed(
            session, user=user, username=username, why="account deactivated", request_id=request_id
        )
    if user.is_demo and not security.demo:
        raise _failed(
            session,
            user=user,
            username=username,
            why="demo account outside demo mode",
            request_id=request_id,
        )
    locked = locked_out(user, now)
    if locked is not None:
        raise _failed(
            session,
            user=user,
            username=username,
            why="account locked",
            request_id=request_id,
            shown=locked,
        )
    if not security.verify_password(user.password_hash, password):
        record_password_failure(
            session, security=security, user=user, request_id=request_id, reason="failed login"
        )
        raise _failed(
            session, user=user, username=username, why="wrong password", request_id=request_id
        )

    actor = Principal(user_id=user.id, username=user.username, grants=(), request_id=request_id)
    record_password_success(session, user=user, request_id=request_id, reason="successful login")
    if security.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    token, token_hash = security.new_token()
    login_session = LoginSession(
        token_hash=token_hash,
        user_id=user.id,
        kind=kind,
        created_at=now,
        expires_at=now + security.session_lifetime,
        last_seen_at=now,
    )
    session.add(login_session)
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=None,
        action="login",
        entity="login_session",
        entity_id=login_session.id,
        changes={"kind": (None, kind), "expires_at": (None, login_session.expires_at)},
        changes_data=False,
    )
    sweep(session, security=security, request_id=request_id, limit=LOGIN_SWEEP_LIMIT)
    return IssuedToken(token=token, expires_at=login_session.expires_at, user_id=user.id)


def locked_out(user: User, now: dt.datetime) -> str | None:
    """Why the user's password may not be tried now (a lock-out), or ``None``."""
    if user.locked_until is not None and user.locked_until > now:
        return (
            "account locked after repeated failed password attempts until "
            f"{user.locked_until:%Y-%m-%d %H:%M} UTC; try again later or ask an administrator"
        )
    return None


def _audit_own_account(
    session: Session,
    user: User,
    request_id: str | None,
    changes: dict[str, tuple[object, object]],
    reason: str,
) -> None:
    """Audit a change the user's own password attempt made to their account."""
    actor = Principal(user_id=user.id, username=user.username, grants=(), request_id=request_id)
    audit.record(
        session,
        actor=actor,
        grant=None,
        action="update",
        entity="user",
        entity_id=user.id,
        changes=changes,
        reason=reason,
        changes_data=False,
    )


def record_password_failure(
    session: Session, *, security: Security, user: User, request_id: str | None, reason: str
) -> None:
    """Count a wrong password (a login, or a re-entry such as emergency unblinding) and lock
    the account after :attr:`Security.max_failed_logins` of them, audited with ``reason``.

    Every form that checks a password counts here, so none is a way round the lock-out.
    The count is read again under a row lock first: failures sent at once to several
    servers (or workers) each count, none overwrites another's.
    """
    session.refresh(user, ["failed_logins", "locked_until"], with_for_update=True)
    now = security.clock()
    failures = user.failed_logins + 1
    changes: dict[str, tuple[object, object]] = {"failed_logins": (user.failed_logins, failures)}
    if failures >= security.max_failed_logins:
        locked_until = now + security.lockout
        changes = {
            "failed_logins": (user.failed_logins, 0),
            "locked_until": (user.locked_until, locked_until),
        }
        user.failed_logins, user.locked_until = 0, locked_until
    else:
        user.failed_logins = failures
    _audit_own_account(session, user, request_id, changes, reason)


def record_password_success(
    session: Session, *, user: User, request_id: str | None, reason: str
) -> None:
    """A right password clears the failure count and any expired lock (audited if it changes)."""
    if not user.failed_logins and user.locked_until is None:
        return
    changes: dict[str, tuple[object, object]] = {
        "failed_logins": (user.failed_logins, 0),
        "locked_until": (user.locked_until, None),
    }
    _audit_own_account(session, user, request_id, changes, reason)
    user.failed_logins, user.locked_until = 0, None


def _reentered_password_refusal(
    session: Session,
    *,
    security: Security,
    user: User,
    password: str,
    request_id: str | None,
    act: str,
) -> tuple[str, str, bool] | None:
    """Check a password re-entered to confirm ``act`` (an emergency unblinding, a signature).

    A locked account is refused before the password is tried; a wrong password counts
    towards the lock-out like a failed login. Returns ``None`` when the password is right
    (clearing the failure count), else ``(message, why, locked)`` for the caller to audit
    and raise as :class:`~trialkit.errors.PasswordRefusedError`.
    """
    locked = locked_out(user, security.clock())
    if locked is not None:
        return f"{act} refused: {locked}", "account locked", True
    if not security.verify_password(user.password_hash, password):
        record_password_failure(
            session,
            security=security,
            user=user,
            request_id=request_id,
            reason=f"wrong password on the {act} form",
        )
        locked = locked_out(user, security.clock())
        message = f"{act} refused: the password is wrong" + (f"; {locked}" if locked else "")
        return message, "wrong password", locked is not None
    record_password_success(session, user=user, request_id=request_id, reason="password re-entered")
    return None


def require_reentered_password(
    session: Session,
    *,
    security: Security,
    actor: Principal,
    grant: Grant | None,
    password: str,
    act: str,
    entity: str,
    entity_id: object,
    refused: str | None = None,
    location: str = "password",
) -> User:
    """The actor's user, once they have re-entered their password to do ``act`` (a signature,
    an unblinding): the one re-entry rule.

    A wrong password counts towards the lock-out (:func:`_reentered_password_refusal`); the
    refusal is audited as ``refused`` (by default ``<act>_refused``, spaces as underscores) on
    ``entity`` and raised as :class:`~trialkit.errors.PasswordRefusedError` for the caller's
    transaction to commit.
    """
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise AuthenticationError(f"{act} needs a user account")
    refusal = _reentered_password_refusal(
        session,
        security=security,
        user=user,
        password=password,
        request_id=actor.request_id,
        act=act,
    )
    if refusal is None:
        return user
    failure, why, locked = refusal
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action=refused or f"{act.replace(' ', '_')}_refused",
        entity=entity,
        entity_id=entity_id,
        reason=why,
        changes_data=False,
    )
    raise PasswordRefusedError(failure, location=location, locked=locked)


class _DummyHash:
    """A hash to verify unknown usernames against, so that they take as long as known ones."""

    def __init__(self) -> None:
        self._by_params: dict[int, str] = {}

    def get(self, security: Security) -> str:
        key = id(security.hasher)
        if key not in self._by_params:
            self._by_params[key] = security.hash_password("not a password of anyone")
        return self._by_params[key]


_DUMMY = _DummyHash()


def authenticate(
    *, session: Session, security: Security, token: str, request_id: str | None = None
) -> Principal:
    """The principal behind a session token; expired, ended, idle or unknown ones are refused.

    A session that ran out (idle for :attr:`Security.session_idle`, or past its lifetime)
    is ended here, at the moment it ran out, with an audit event;
    :class:`SessionTimeoutError` or :class:`SessionExpiredError` then carries that record
    to the caller's commit. One that had already ended is refused with the reason it
    ended (an idle timeout gets the idle message in every tab). Otherwise its activity is
    brought up to date when the recorded one is a minute old or more.
    """
    now = security.clock()
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == security.token_hash(token))
    ).one_or_none()
    if row is None:
        raise AuthenticationError("unknown session: log in again")
    login_session, user = row
    if login_session.ended_at is not None:
        raise ended_error(login_session.end_reason, security)
    out = ran_out(login_session, security, now)
    if out is not None:
        reason, at = out
        end_session(
            session,
            login_session=login_session,
            user=user,
            reason=reason,
            at=at,
            request_id=request_id,
        )
        raise ended_error(login_session.end_reason or reason, security)
    if not user.is_active or (user.is_demo and not security.demo):
        raise AuthenticationError("this account may not log in")
    if now - login_session.last_seen_at >= ACTIVITY_RESOLUTION:
        _record_activity(session, login_session, now)
    assignments = session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.revoked_at.is_(None)
        )
    ).all()
    grants = tuple(
        Grant(role=Role(a.role), trial_id=a.trial_id, site_id=a.site_id, assignment_id=a.id)
        for a in assignments
    )
    return Principal(
        user_id=user.id,
        username=user.username,
        grants=grants,
        request_id=request_id,
        session_id=login_session.id,
    )


def _record_activity(session: Session, login_session: LoginSession, now: dt.datetime) -> None:
    """Bring a session's last activity up to date, unless that would make the request wait.

    A page view must not wait, nor fail, for it: on PostgreSQL the row is taken with
    ``SKIP LOCKED``, so a request that finds another one (of the same session) updating it
    leaves the update to that one. On SQLite a reader's write is tried in a SAVEPOINT: if
    another connection holds the write lock or committed since the view's snapshot, SQLite
    refuses at once, and the view goes on as a reader; its session's next request records the
    activity (it stays due). Either way the recorded activity is at most a little older.
    """
    if is_reading() and session.get_bind().dialect.name == "sqlite":
        try:
            with session.begin_nested():
                session.execute(
                    update(LoginSession)
                    .where(LoginSession.id == login_session.id)
                    .values(last_seen_at=now)
                    .execution_options(synchronize_session=False)
                )
        except OperationalError as exc:
            if not is_busy(exc):
                raise
            return
        set_committed_value(login_session, "last_seen_at", now)
        return
    free = session.scalar(
        select(LoginSession.id)
        .where(LoginSession.id == login_session.id)
        .with_for_update(skip_locked=True)
    )
    if free is not None:
        login_session.last_seen_at = now


def logout(*, session: Session, actor: Principal) -> None:
    """End the actor's current session."""
    if actor.session_id is None:
        return
    login_session = session.get(LoginSession, actor.session_id)
    if login_session is None or login_session.ended_at is not None:
        return
    user = session.get(User, login_session.user_id)
    assert user is not None  # a session's user is never deleted (foreign key)
    end_session(
        session,
        login_session=login_session,
        user=user,
        reason=SessionEnd.LOGOUT,
        at=real_utcnow(),
        request_id=actor.request_id,
        actor=actor,
    )


def change_password(
    *, session: Session, security: Security, actor: Principal, old_password: str, new_password: str
) -> None:
    """Change one's own password: the old one is required; every other session ends."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise PermissionDenied("only a user account has a password to change")
    if not security.verify_password(user.password_hash, old_password):
        raise PermissionDenied("the old password is wrong; the password was not changed")
    check_password_rules(new_password, field="new_password")
    if new_password == old_password:
        raise InputError("the new password must differ from the old one", location="new_password")
    now = security.clock()
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = now
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.user_id == user.id,
            LoginSession.ended_at.is_(None),
            LoginSession.id != (actor.session_id or 0),
        )
        .values(ended_at=now, end_reason=SessionEnd.PASSWORD_CHANGE.value)
    )
    audit.record(
        session,
        actor=actor,
        grant=None,
        action="password_change",
        entity="user",
        entity_id=user.id,
        changes={"password_hash": (audit.REDACTED, audit.REDACTED)},
        changes_data=False,
    )
