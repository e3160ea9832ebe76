"""SAE reports (one row per version), the sponsor's reviews, and SUSAR unblindings.

Nothing is updated in place: a follow-up report is a new version of its case, a changed
review a new review version. A SUSAR unblinding names the case it opens; the arm is never
stored here (it is read from the allocation when the safety role views the case).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["MeddraTerm", "SaeReportVersion", "SaeReview", "SusarUnblinding"]


class SaeReportVersion(Base):
    """One version of a patient's SAE case ``case_number``: the site's item values."""

    __tablename__ = "sae_reports"
    __table_args__ = (UniqueConstraint("patient_id", "case_number", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    case_number: Mapped[int]
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    complete: Mapped[bool]
    aware_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SaeReview(Base):
    """One version of the sponsor's review of a case: its causality per drug and comment."""

    __tablename__ = "sae_reviews"
    __table_args__ = (UniqueConstraint("patient_id", "case_number", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    case_number: Mapped[int]
    version: Mapped[int]
    report_version: Mapped[int]
    causality: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SusarUnblinding(Base):
    """The safety role's unblinding of one case (password re-entered, reason; audited)."""

    __tablename__ = "susar_unblindings"
    __table_args__ = (UniqueConstraint("patient_id", "case_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    case_number: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    unblinded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MeddraTerm(Base):
    """A lowest level term of the MedDRA release the sponsor imported (licensed, not shipped)."""

    __tablename__ = "meddra_terms"

    llt_code: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    llt_name: Mapped[str] = mapped_column(String(200), index=True)
    pt_code: Mapped[int]
    pt_name: Mapped[str] = mapped_column(String(200))
    soc_code: Mapped[int]
    soc_name: Mapped[str] = mapped_column(String(200))
    current: Mapped[bool]
    version: Mapped[str] = mapped_column(String(64))
