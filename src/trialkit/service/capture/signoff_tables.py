"""Sign-off of captured data: electronic signatures, source data verification, monitoring visits.

A signature and a verification name the exact record versions they cover, each with the
SHA-256 of its content (:mod:`..casebook`), so neither can be carried over to other data. Rows
are never deleted: a later change voids a signature (``voided_at``, ``void_reason``) or resets
a verification (``reset_at``, ``reset_reason``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["MonitoringVisit", "Signature", "SourceVerification"]


class Signature(Base):
    """An investigator's signature of a casebook, a visit or a form, bound to record versions.

    ``scope`` is ``casebook``, ``visit`` (``scope_key``: the visit date) or ``form``
    (``scope_key``: ``form/record_key``); ``records`` lists ``{form, record_key, version,
    sha256}`` of every version signed; ``manifest_sha256`` is the hash of that list with the
    signer, time and meaning, so the signature cannot be moved to other data (11.70).
    """

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(String(120))
    meaning: Mapped[str] = mapped_column(Text)
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_role: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)


class SourceVerification(Base):
    """A monitor's mark that one item (``item``) or a whole record version matches the source.

    ``sha256`` is the hash of the item's value (or of the record) when it was verified; a new
    version that changes it resets the mark.
    """

    __tablename__ = "source_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    form: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    item: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    monitoring_visit_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_visits.id"))
    reset_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reset_reason: Mapped[str | None] = mapped_column(Text)


class MonitoringVisit(Base):
    """A monitor's visit to a site: its date, findings, and the monitor's signature."""

    __tablename__ = "monitoring_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    visit_date: Mapped[dt.date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    meaning: Mapped[str | None] = mapped_column(Text)
    report_sha256: Mapped[str | None] = mapped_column(String(64))
