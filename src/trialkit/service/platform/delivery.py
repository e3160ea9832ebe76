"""The delivery worker: sends the outbox's e-mails over SMTP, retried with back-off.

Claim (a short transaction), send (no transaction), stamp (a transaction per e-mail).
Details and reasoning: docs/notifications.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from trialkit.config import Settings
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.tables.notifications import Channel, Delivery, Notification
from trialkit.service.platform.tables.people import User
from trialkit.service.platform.transaction import transaction

__all__ = ["DeliveryReport", "backoff_seconds", "deliver_due", "run_worker", "start_background"]

log = logging.getLogger(__name__)
BATCH = 50
KEPT_ERRORS = 20


@dataclass
class DeliveryReport:
    """What one cycle of the worker did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "failed": self.failed,
            "errors": self.errors,
        }

    def summary(self) -> str:
        text = f"{self.sent} e-mail(s) sent, {self.failed} failed (to be retried)"
        return text + (f": {self.errors[0]}" if self.errors else "")


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the ``attempts``-th failure: doubling from the base, up to the cap."""
    return float(
        min(
            settings.notify_retry_seconds * 2 ** max(attempts - 1, 0),
            settings.notify_retry_max_seconds,
        )
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    notification_id: int
    user_id: int
    address: str
    subject: str
    body: str
    link: str | None


def _due(now: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        Delivery.channel == Channel.EMAIL,
        Delivery.sent_at.is_(None),
        Delivery.next_attempt_at <= now,
        Delivery.claimed_until.is_(None) | (Delivery.claimed_until < now),
    ]


def _claim(session: Session, settings: Settings, token: str, limit: int) -> list[_Claimed]:
    """Claim up to ``limit`` due e-mails for this worker until its lease ends.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two workers take different rows without
    waiting; SQLite (one writer at a time): each row taken by a conditional UPDATE that
    repeats the due test, so a row another worker took meanwhile is not taken again.
    """
    now = real_utcnow()
    until = now + dt.timedelta(seconds=settings.notify_lease_seconds)
    query = (
        select(Delivery.id)
        .join(User, User.id == Delivery.user_id)
        .where(*_due(now), User.is_active.is_(True))  # a deactivated account's wait
        .order_by(Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    taken: list[int] = []
    for delivery_id in session.scalars(query).all():
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, *_due(now))
            .values(claim_token=token, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            taken.append(delivery_id)
    if not taken:
        return []
    rows = session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.id.in_(taken))
        .order_by(Delivery.id)
    ).all()
    return [
        _Claimed(d.id, n.id, d.user_id, d.address or "", n.subject, n.body, n.link) for d, n in rows
    ]


def _message(settings: Settings, item: _Claimed) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = item.address
    message["Subject"] = item.subject
    message["Date"] = format_datetime(real_utcnow())
    # one Message-ID per notification and recipient: a receiver can drop a resent copy
    domain = settings.smtp_from.rpartition("@")[2] or "trialkit"
    message["Message-ID"] = f"<notification-{item.notification_id}-{item.user_id}@{domain}>"
    message["X-Trialkit-Notification"] = str(item.notification_id)
    body = item.body
    if item.link:
        body += f"\n\n{(settings.public_url or '').rstrip('/')}{item.link}"
    message.set_content(body + "\n")
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    client = smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    )
    try:
        if settings.smtp_starttls:
            client.starttls()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            client.login(settings.smtp_user, password)
    except BaseException:
        client.close()
        raise
    return client


def _stamp_sent(database: Database, item: _Claimed, token: str) -> bool:
    with transaction(database) as session:
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == item.id, Delivery.claim_token == token, Delivery.sent_at.is_(None)
            )
            .values(sent_at=real_utcnow(), claimed_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


def _stamp_failed(
    database: Database, settings: Settings, item: _Claimed, token: str, error: str
) -> None:
    with transaction(database) as session:
        delivery = session.get(Delivery, item.id, with_for_update=True)
        if delivery is None or delivery.claim_token != token or delivery.sent_at is not None:
            return
        delivery.attempts += 1
        delivery.last_error = error[:2000]
        delivery.claimed_until = None
        delivery.next_attempt_at = real_utcnow() + dt.timedelta(
            seconds=backoff_seconds(settings, delivery.attempts)
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def deliver_due(database: Database, settings: Settings, *, limit: int = BATCH) -> DeliveryReport:
    """One cycle: claim the due e-mails, send each over one SMTP connection, stamp each.

    An e-mail is stamped sent right after the server accepted it; a failure (server down,
    recipient refused) schedules its next attempt after :func:`backoff_seconds`. Nothing
    is dropped: an e-mail is retried until it is sent. Without ``TRIALKIT_SMTP_HOST`` the
    e-mails wait in the outbox.
    """
    report = DeliveryReport()
    if not settings.smtp_host:
        return report
    token = uuid.uuid4().hex
    with transaction(database) as session:
        claimed = _claim(session, settings, token, limit)
    report.claimed = len(claimed)
    if not claimed:
        return report
    client: smtplib.SMTP | None = None
    try:
        client = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"cannot reach the SMTP server {settings.smtp_host}:{settings.smtp_port}: "
        error += _describe(exc)
        report.errors.append(error)
        for item in claimed:
            _stamp_failed(database, settings, item, token, error)
        report.failed = len(claimed)
        log.warning("notification e-mails: %s", error)
        return report
    try:
        for item in claimed:
            try:
                client.send_message(_message(settings, item))
            except (OSError, ValueError, smtplib.SMTPException) as exc:
                error = _describe(exc)
                report.errors.append(error)
                report.failed += 1
                _stamp_failed(database, settings, item, token, error)
                if isinstance(exc, OSError | smtplib.SMTPServerDisconnected):
                    client = None
                    rest = claimed[claimed.index(item) + 1 :]
                    for other in rest:
                        _stamp_failed(database, settings, other, token, error)
                    report.failed += len(rest)
                    break
                continue
            if _stamp_sent(database, item, token):
                report.sent += 1
            else:
                log.warning("notification e-mail %s: lease lost while sending", item.id)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
    return report


def run_worker(
    database: Database,
    settings: Settings,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Deliver until ``stop`` is set (``once``: one cycle, or until nothing more is due)."""
    stop = stop or threading.Event()
    total = DeliveryReport()
    while not stop.is_set():
        try:
            report = deliver_due(database, settings)
        except Exception:  # the worker outlives a database hiccup; the rows wait
            log.exception("notification delivery cycle failed")
            report = DeliveryReport()
        total.claimed += report.claimed
        total.sent += report.sent
        total.failed += report.failed
        total.errors = (total.errors + report.errors)[-KEPT_ERRORS:]  # a long run keeps the last
        if once and (report.claimed < BATCH or report.failed):
            break
        if report.claimed < BATCH:
            stop.wait(settings.notify_poll_seconds)
    return total


def start_background(settings: Settings, database: Database) -> threading.Event:
    """Run the worker in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(database, settings),
        kwargs={"stop": stop},
        name="trialkit-notifications",
        daemon=True,
    )
    thread.start()
    return stop
