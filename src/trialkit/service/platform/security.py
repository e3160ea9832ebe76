"""Password hashing (argon2id) and session tokens, configured from the settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from trialkit.config import Settings
from trialkit.errors import InputError
from trialkit.service.platform.db.base import real_utcnow

__all__ = ["MIN_PASSWORD_LENGTH", "Security", "check_password_rules"]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class Security:
    """Everything authentication needs from the settings, built once per application.

    ``clock`` is the time sessions are judged by: the real clock, never a pinned calendar
    date (tests give a clock they move, so that lifetimes and idle timeouts are tested
    without sleeping).
    """

    hasher: PasswordHasher
    token_key: bytes
    session_lifetime: dt.timedelta
    max_failed_logins: int
    lockout: dt.timedelta
    demo: bool
    session_idle: dt.timedelta = dt.timedelta(minutes=30)
    clock: Callable[[], dt.datetime] = real_utcnow

    @classmethod
    def from_settings(cls, settings: Settings) -> Security:
        return cls(
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
                type=Type.ID,
            ),
            token_key=settings.session_key(),
            session_lifetime=dt.timedelta(minutes=settings.session_minutes),
            session_idle=dt.timedelta(minutes=settings.session_idle_minutes),
            max_failed_logins=settings.max_failed_logins,
            lockout=dt.timedelta(minutes=settings.lockout_minutes),
            demo=settings.demo,
        )

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def new_token(self) -> tuple[str, str]:
        """A fresh session token and the keyed hash under which it is stored."""
        token = secrets.token_urlsafe(32)
        return token, self.token_hash(token)

    def token_hash(self, token: str) -> str:
        return hmac.new(self.token_key, token.encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, session_token: str) -> str:
        """The anti-forgery token of a cookie session: an HMAC of its token, never the token.

        Page forms carry it in a hidden field; API clients that log in with a cookie send it
        in the ``X-CSRF-Token`` header of their writes.
        """
        return hmac.new(
            self.token_key, b"csrf\x00" + session_token.encode(), hashlib.sha256
        ).hexdigest()


def check_password_rules(password: str, *, field: str = "password") -> None:
    """Refuse passwords that are too short or too long (NIST SP 800-63B: length, not recipes)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InputError(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            location=field,
        )
