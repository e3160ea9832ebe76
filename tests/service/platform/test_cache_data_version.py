"""The data version, which keys every cache of results computed from the data: a login, a
failed login, a logout or a report view leaves it where it is (they are audited, but change no
trial data); a recorded change of data moves it to the end of the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_site, make_trial, make_user, principal
from trialkit.errors import PasswordRefusedError
from trialkit.service.platform import audit, auth
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditHead


def _chain_end(session: Session) -> tuple[int, str]:
    seq, last = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one()
    return seq, last


def _end_version(session: Session) -> str:
    seq, last = _chain_end(session)
    return f"{seq}:{last}"


def test_logins_failed_logins_and_logouts_leave_the_data_version(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    user = make_user(session, security, trial, Role.MONITOR)
    version = audit.data_version(session)
    seq, _ = _chain_end(session)

    actor = principal(session, security, user)  # a login (and the session's first use)
    with pytest.raises(PasswordRefusedError):
        auth.login(
            session=session,
            security=security,
            username=user.username,
            password=PASSWORD + " (wrong)",
            kind="bearer",
        )
    auth.logout(session=session, actor=actor)

    after, _ = _chain_end(session)
    assert after >= seq + 3  # each was recorded in the audit trail
    assert audit.data_version(session) == version


def test_a_recorded_change_of_data_moves_the_data_version_to_the_chain_end(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    user = make_user(session, security, trial, Role.MONITOR)
    principal(session, security, user)  # the chain now ends with a login
    version = audit.data_version(session)
    assert audit.data_version(session) != _end_version(session)

    make_site(session, trial, country="PL")

    assert audit.data_version(session) != version
    assert audit.data_version(session) == _end_version(session)
