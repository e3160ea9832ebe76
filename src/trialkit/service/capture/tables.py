"""Clinical data captured after randomisation, and the data queries raised on it.

Every case report form (tumour assessments, study drug, adverse events, death, end of
treatment ...) is stored the same way: one row per version of one record instance, keyed by
patient, form and record key (``AE-3``, ``TA-2``, or the form name for a form recorded once).
The form's items are validated by the service against the form's definition in the protocol
before they are stored, with the definition's version, as in CDISC ODM (form, item group,
items). Nothing is updated in place: a correction is a new version with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["CaptureRecord", "DataQuery"]


class CaptureRecord(Base):
    """One version of one form record; ``result`` keeps what an engine derived on save."""

    __tablename__ = "capture_records"
    __table_args__ = (UniqueConstraint("patient_id", "form", "record_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    form: Mapped[str] = mapped_column(String(32))
    form_version: Mapped[str] = mapped_column(String(32))
    """The version of the form's definition (the protocol's) the record was entered on."""
    record_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DataQuery(Base):
    """A question on one field of one record: opened, answered by the site, closed by a monitor.

    ``status`` is ``open``, ``answered`` or ``closed``; ``source`` is ``edit_check`` (with the
    check's ``code``) or ``manual`` (raised by a monitor).
    """

    __tablename__ = "data_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    form: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
