"""Refusals that must still commit: one mechanism, the error's ``keeps_record``, which the
transaction boundary honours (:func:`trialkit.service.platform.transaction`).

A failed password (counting towards the lock-out) and a shortage's resupply request are both
raised, never returned, and both are kept by the transaction that refuses the request;
anything else a refused request did is rolled back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_trial, make_user
from trialkit import errors
from trialkit.errors import InputError, PasswordRefusedError, SupplyShortError, TrialkitError
from trialkit.service.platform import auth
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import User
from trialkit.service.platform.transaction import transaction


def _kept_classes() -> set[str]:
    return {
        cls.__name__
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, TrialkitError) and cls.keeps_record
    }


def test_refusals_that_commit_are_the_errors_marked_keeps_record() -> None:
    """Failed passwords and shortages use the one mechanism (as do sessions that ran out)."""
    assert _kept_classes() == {
        "PasswordRefusedError",
        "SupplyShortError",
        "SessionTimeoutError",
        "SessionExpiredError",
    }
    assert not hasattr(auth, "LoginOutcome")  # no second pattern: a refusal is never returned


def test_a_failed_password_raised_through_the_transaction_keeps_its_count_and_audit(
    db: Database, security: Security
) -> None:
    with transaction(db) as session:
        user = make_user(session, security, make_trial(session), Role.MONITOR)
    with (
        pytest.raises(PasswordRefusedError, match="wrong username or password"),
        transaction(db) as session,
    ):
        auth.login(
            session=session,
            security=security,
            username=user.username,
            password="wrong",
            kind="bearer",
        )
    with transaction(db) as session:
        row = session.get(User, user.id)
        assert row is not None
        assert row.failed_logins == 1
        failed = session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "login_failed")
        ).all()
        assert failed == ["wrong password"]


def test_a_refusal_that_keeps_no_record_rolls_back_what_it_did(
    db: Database, security: Security
) -> None:
    """The counterpart: an ordinary error (here raised after a failed login was recorded)
    rolls back everything, which is why the kept refusals are raised before anything else."""
    with transaction(db) as session:
        user = make_user(session, security, make_trial(session), Role.MONITOR)

    def refused_then_failed() -> None:
        with transaction(db) as session:
            with pytest.raises(PasswordRefusedError):
                auth.login(
                    session=session,
                    security=security,
                    username=user.username,
                    password="wrong",
                    kind="bearer",
                )
            raise InputError("something else was wrong")

    with pytest.raises(InputError):
        refused_then_failed()
    with transaction(db) as session:
        row = session.get(User, user.id)
        assert row is not None
        assert row.failed_logins == 0


def test_a_shortage_refusal_is_kept_by_the_same_mechanism() -> None:
    """The resupply request a shortage raised survives its refusal through the same attribute
    (the behaviour: the refused randomisation test in
    tests/service/randomisation/test_blinded_supply.py)."""
    assert SupplyShortError.keeps_record
    assert PasswordRefusedError.keeps_record
