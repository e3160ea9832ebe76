"""The notification outbox: one row per notification, one per recipient and channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["Channel", "Delivery", "Notification"]


class Channel:
    """How a delivery reaches its recipient, as stored in ``notification_deliveries.channel``."""

    EMAIL = "email"
    INBOX = "inbox"


class Notification(Base):
    """What happened, written in the transaction of its cause; never carries an arm.

    ``recipient`` names the audience it was addressed to (for example ``monitor``, or
    ``investigator@site 3``); the people it reached are its deliveries.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    link: Mapped[str | None] = mapped_column(String(300))


class Delivery(Base):
    """One notification to one user by one channel: an e-mail to send, or an inbox entry.

    Unique per notification, user and channel: a recipient gets each notification once.
    E-mails are claimed by a worker (``claim_token`` until ``claimed_until``), sent, then
    stamped ``sent_at``; a failure sets ``next_attempt_at`` after a back-off and keeps the
    error. Inbox entries are there from the cause's commit; ``read_at`` marks them read.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "user_id", "channel"),
        Index("ix_notification_deliveries_due", "channel", "sent_at", "next_attempt_at"),
        Index("ix_notification_deliveries_inbox", "user_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
