"""Passwords (argon2id), sessions that expire, lock-out after failed logins, password change."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_trial, make_user, principal
from trialkit.errors import AuthenticationError, InputError, PasswordRefusedError, PermissionDenied
from trialkit.service.platform import auth
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import LoginSession, User


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_passwords_are_stored_as_argon2id(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.STATISTICIAN)
    stored = session.get(User, user.id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_login_authenticate_logout(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.MONITOR)
    token = auth.login(
        session=session, security=security, username=user.username, password=PASSWORD, kind="bearer"
    ).token
    stored = session.scalars(select(LoginSession)).all()
    assert token not in {s.token_hash for s in stored}  # only a keyed hash is kept
    actor = auth.authenticate(session=session, security=security, token=token)
    assert actor.username == user.username
    assert actor.roles == {Role.MONITOR}
    auth.logout(session=session, actor=actor)
    with pytest.raises(AuthenticationError, match="you logged out of this session"):
        auth.authenticate(session=session, security=security, token=token)
    assert {"login", "logout"} <= set(_actions(session))


def test_sessions_expire(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.MONITOR)
    token = auth.login(
        session=session,
        security=security,
        username=user.username,
        password=PASSWORD,
        kind="cookie",
    ).token
    session.execute(update(LoginSession).values(expires_at=utcnow()))
    with pytest.raises(AuthenticationError, match="expired"):
        auth.authenticate(session=session, security=security, token=token)
    with pytest.raises(AuthenticationError, match="unknown session"):
        auth.authenticate(session=session, security=security, token="not-a-token")


def test_failed_logins_lock_the_account(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.MONITOR)
    for _ in range(security.max_failed_logins):
        with pytest.raises(PasswordRefusedError, match=r"^wrong username or password$"):
            auth.login(
                session=session,
                security=security,
                username=user.username,
                password="wrong",
                kind="bearer",
            )
    # now even the right password is refused, saying until when
    with pytest.raises(PasswordRefusedError, match="locked") as refused:
        auth.login(
            session=session,
            security=security,
            username=user.username,
            password=PASSWORD,
            kind="bearer",
        )
    assert refused.value.locked
    assert _actions(session).count("login_failed") == security.max_failed_logins + 1
    # the lock ends by itself
    session.execute(update(User).where(User.id == user.id).values(locked_until=utcnow()))
    assert auth.login(
        session=session, security=security, username=user.username, password=PASSWORD, kind="bearer"
    ).token


def test_unknown_users_are_audited_too(session: Session, security: Security) -> None:
    with pytest.raises(PasswordRefusedError, match=r"^wrong username or password$"):
        auth.login(
            session=session, security=security, username="nobody", password="x", kind="bearer"
        )
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert (event.username, event.reason) == ("nobody", "unknown user")


def test_demo_accounts_work_only_in_demo_mode(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.MONITOR, is_demo=True)
    with pytest.raises(PasswordRefusedError):
        auth.login(
            session=session,
            security=security,
            username=user.username,
            password=PASSWORD,
            kind="bearer",
        )
    demo_security = dataclasses.replace(security, demo=True)
    assert auth.login(
        session=session,
        security=demo_security,
        username=user.username,
        password=PASSWORD,
        kind="bearer",
    ).token


def test_a_password_change_needs_the_old_password(session: Session, security: Security) -> None:
    user = make_user(session, security, make_trial(session), Role.MONITOR)
    actor = principal(session, security, user)
    other = auth.login(
        session=session,
        security=security,
        username=user.username,
        password=PASSWORD,
        kind="cookie",
    ).token
    with pytest.raises(PermissionDenied, match="old password"):
        auth.change_password(
            session=session,
            security=security,
            actor=actor,
            old_password="wrong",
            new_password="a new long password",
        )
    with pytest.raises(InputError, match="12 to 256"):
        auth.change_password(
            session=session,
            security=security,
            actor=actor,
            old_password=PASSWORD,
            new_password="short",
        )
    auth.change_password(
        session=session,
        security=security,
        actor=actor,
        old_password=PASSWORD,
        new_password="a new long password",
    )
    with pytest.raises(AuthenticationError):  # other sessions end
        auth.authenticate(session=session, security=security, token=other)
    with pytest.raises(PasswordRefusedError):
        auth.login(
            session=session,
            security=security,
            username=user.username,
            password=PASSWORD,
            kind="bearer",
        )
    assert auth.login(
        session=session,
        security=security,
        username=user.username,
        password="a new long password",
        kind="bearer",
    ).token
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "password_change")).one()
    assert event.old_value == event.new_value == "[redacted]"
