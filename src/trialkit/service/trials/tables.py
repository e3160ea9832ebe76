"""Trials, their countries and sites, the ethics approvals that let a site recruit, and the
freezes and locks that stop their data changing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["Country", "DataLock", "EthicsApproval", "Site", "Trial"]


class Trial(Base):
    """One trial run under one protocol version (an amendment is a new protocol version)."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    acronym: Mapped[str] = mapped_column(String(32), unique=True)
    protocol_name: Mapped[str] = mapped_column(String(200))
    protocol_version: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    blinding: Mapped[str] = mapped_column(String(16))
    first_enrolment: Mapped[dt.date] = mapped_column(Date)
    final_enrolment: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Country(Base):
    __tablename__ = "countries"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))


class Site(Base):
    """A recruiting centre; it recruits once approved by its ethics committee and activated."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    coordinating: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EthicsApproval(Base):
    """An ethics committee's approval of one protocol version for one site (append-only)."""

    __tablename__ = "ethics_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    committee: Mapped[str] = mapped_column(String(300))
    approval_date: Mapped[dt.date] = mapped_column(Date)
    protocol_version: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DataLock(Base):
    """A freeze or lock of a trial's data: the whole trial (the database lock), a site, a
    patient or one form record (``form`` and ``record_key``), the narrower scope set.

    ``level`` is ``freeze`` (no edits; queries still possible) or ``lock`` (nothing changes).
    Nothing is deleted: releasing sets ``released_at`` with a reason.
    """

    __tablename__ = "data_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    form: Mapped[str | None] = mapped_column(String(32))
    record_key: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str | None] = mapped_column(Text)
