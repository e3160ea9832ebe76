"""Users, their role assignments (per trial, and per site for site roles) and login sessions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["LoginSession", "Role", "RoleAssignment", "SessionEnd", "User"]


class Role(StrEnum):
    """The roles of the architecture's roles table, as stored."""

    INVESTIGATOR = "investigator"
    PHARMACIST = "pharmacist"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    STATISTICIAN = "statistician"
    UNBLINDED_STATISTICIAN = "unblinded_statistician"
    DSMB_MEMBER = "dsmb_member"
    ADMINISTRATOR = "administrator"
    SAFETY_PHYSICIAN = "safety_physician"
    """The sponsor's safety role: blinded, but sees one SUSAR case's arm after unblinding it."""


class SessionEnd(StrEnum):
    """Why a login session ended, as stored in ``login_sessions.end_reason``."""

    LOGOUT = "logout"
    TIMEOUT = "timeout"
    """No activity for the idle timeout (``TRIALKIT_SESSION_IDLE_MINUTES``)."""
    EXPIRED = "expired"
    """Its absolute lifetime (``TRIALKIT_SESSION_MINUTES``) was reached."""
    PASSWORD_CHANGE = "password_change"
    """The user changed their password in another session."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    """Where notifications are e-mailed (empty: the in-app inbox only)."""
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoleAssignment(Base):
    """A role held in a trial, at one site (site roles) or trial-wide (``site_id`` empty).

    Revoking sets ``revoked_at``; the assignment itself is never deleted.
    """

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LoginSession(Base):
    """A login: a cookie or bearer token, stored only as its keyed hash.

    ``last_seen_at`` is the last recorded activity (updated at most once a minute, see
    :func:`trialkit.service.platform.auth.authenticate`); the session ends after the idle timeout
    from it, or at ``expires_at``, whichever comes first. ``end_reason`` says why it ended
    (a :class:`SessionEnd`; empty for sessions ended before it was recorded, migration 0006).
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))
