"""Patients at screening: versioned screening records, eligibility evaluations and consent.

Nothing here is updated in place: a correction is a new version with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Dialect, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from trialkit.screening import ScreeningResult
from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["Consent", "EligibilityEvaluation", "Patient", "ScreeningRecordVersion"]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("trial_id", "site_id", "screening_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    screening_number: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ScreeningRecordVersion(Base):
    """One version of a patient's screening record; version 1 needs no reason, later ones do."""

    __tablename__ = "screening_records"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int]
    form_version: Mapped[str] = mapped_column(String(32))
    """The version of the protocol's screening form the record was entered on."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ScreeningResultJSON(TypeDecorator[ScreeningResult]):
    """A :class:`~trialkit.screening.ScreeningResult` stored as its JSON shape, read back typed."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: ScreeningResult | None, dialect: Dialect) -> Any:
        return None if value is None else value.as_dict()

    def process_result_value(self, value: Any, dialect: Dialect) -> ScreeningResult | None:
        return None if value is None else ScreeningResult.from_dict(value)


class EligibilityEvaluation(Base):
    """The verdict on one screening record version, with what produced it."""

    __tablename__ = "eligibility_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    screening_record_id: Mapped[int] = mapped_column(ForeignKey("screening_records.id"))
    protocol_version: Mapped[str] = mapped_column(String(100))
    trialkit_version: Mapped[str] = mapped_column(String(32))
    eligible: Mapped[bool | None]
    verdict: Mapped[str] = mapped_column(String(32))
    result: Mapped[ScreeningResult] = mapped_column(ScreeningResultJSON)
    evaluated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    evaluated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Consent(Base):
    """Informed consent (versioned like the screening record)."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int]
    consent_date: Mapped[dt.date] = mapped_column(Date)
    information_sheet_version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
