"""Settings of the trial service, read from the environment (``TRIALKIT_*``) by a factory.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings`
when the API, the CLI or a test asks for one. Outside demo mode the service
refuses to start without a secret key of its own (:meth:`Settings.require_safe`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from trialkit.errors import ConfigError

__all__ = ["DEFAULT_DATABASE_URL", "INSECURE_SECRETS", "Settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite:///./var/trialkit.db"
# Values that appear in documentation and examples: never acceptable outside demo mode.
INSECURE_SECRETS = frozenset({"", "changethis", "change-me", "secret", "demo"})
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Everything the service can be told by its environment."""

    model_config = SettingsConfigDict(
        env_prefix="TRIALKIT_", extra="ignore", frozen=True, populate_by_name=True
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: SQLite by default, postgresql+psycopg://... for PostgreSQL.",
    )
    demo: bool = Field(default=False, description="Demo mode: demo users may log in.")
    secret_key: SecretStr | None = Field(
        default=None, description="Keys session tokens; at least 32 characters outside demo mode."
    )
    host: str = "127.0.0.1"
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("PORT", "TRIALKIT_PORT")
    )
    session_minutes: int = Field(default=480, ge=1, description="Lifetime of a login session.")
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        description="A login session ends after this many minutes without activity "
        "(and at the latest after session_minutes).",
    )
    max_failed_logins: int = Field(default=5, ge=1, description="Failures before a lock-out.")
    lockout_minutes: int = Field(default=15, ge=1)
    cookie_secure: bool = Field(default=False, description="Send the cookie over HTTPS only.")
    # argon2id cost (RFC 9106 second recommendation by default; tests lower it for speed)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    db_pool_size: int = Field(default=20, ge=1)
    calendar_date: dt.date | None = Field(
        default=None,
        description="Pin the service's calendar date (enrolment period, kit expiry) for demos, "
        "tests and benchmarks of a protocol whose enrolment period is not today; records are "
        "then stamped on that date at the real time of day, while the audit trail, sessions "
        "and lock-outs keep the real UTC time "
        "(read through trialkit.service.platform.calendar.Clock).",
    )

    smtp_host: str | None = Field(
        default=None,
        description="SMTP server that notifications are e-mailed through (unset: e-mails wait "
        "in the outbox; the in-app inbox works without it).",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, description="SMTP login (unset: none).")
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(
        default="trialkit@localhost", description="The From address of notification e-mails."
    )
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection (STARTTLS).")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    public_url: str | None = Field(
        default=None,
        description="The service's address as users reach it (https://trialkit.example.org): "
        "e-mails link to their page under it (unset: the path alone).",
    )
    notify_poll_seconds: float = Field(
        default=10.0, gt=0, description="How often the delivery worker looks for due e-mails."
    )
    notify_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Back-off after a failed e-mail: this, doubled after each further failure "
        "up to notify_retry_max_seconds; an e-mail is retried until it is sent.",
    )
    notify_retry_max_seconds: float = Field(default=3600.0, gt=0)
    notify_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a worker holds the e-mails it claimed; a worker that died "
        "holding them frees them after this.",
    )
    audit_anchor_key: Path | None = Field(
        default=None,
        description="The operator's Ed25519 private key (PEM, kept outside the database) that "
        "signs the audit chain's head at every lock and data cut ('trialkit audit keygen').",
    )
    audit_anchor_dir: Path | None = Field(
        default=None,
        description="The directory where signed anchors of the audit chain's head are written "
        "('trialkit audit verify --anchors DIR' checks the chain against them).",
    )

    def require_safe(self) -> None:
        """Refuse unsafe settings before serving: outside demo mode the secret must be real."""
        if self.demo:
            return
        secret = self.secret_key.get_secret_value() if self.secret_key is not None else ""
        if secret.strip().lower() in INSECURE_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "set TRIALKIT_SECRET_KEY to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters (for example: python -c "
                "'import secrets; print(secrets.token_urlsafe(32))'), "
                "or TRIALKIT_DEMO=1 for a demo",
                location="TRIALKIT_SECRET_KEY",
            )

    def session_key(self) -> bytes:
        """The key that session tokens are hashed with (``require_safe`` vouches for it)."""
        return self.secret_key.get_secret_value().encode() if self.secret_key else b""


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides (tests, CLI options).

    In demo mode without a secret key a random one is made: demo sessions end when
    the server stops.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"], location=f"TRIALKIT_{where.upper()}") from exc
    if settings.demo and not settings.session_key():
        settings = settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})
    return settings
