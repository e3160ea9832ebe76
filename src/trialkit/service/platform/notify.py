"""Notifications: written in the transaction of their cause, read in each user's inbox.

:func:`notify` writes one notification and its deliveries (an inbox entry for every
recipient, an e-mail for those with an address) in the caller's transaction; the
worker in :mod:`.delivery` sends the e-mails. How to call it: docs/notifications.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, column, func, select, table, update
from sqlalchemy.orm import Session

from trialkit.errors import InputError, NotFoundError, TrialkitError
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.base import real_utcnow, utcnow
from trialkit.service.platform.listing import Listing, ListPage, list_page
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.tables.notifications import Channel, Delivery, Notification
from trialkit.service.platform.tables.people import Role, RoleAssignment, User

__all__ = [
    "ARM_WITHHELD",
    "INBOX_SHOW",
    "InboxItemView",
    "Kind",
    "Message",
    "To",
    "emergency_unblinding_message",
    "inbox",
    "inbox_page",
    "mark_all_read",
    "mark_read",
    "notify",
    "query_opened_message",
    "recipients_of",
    "resupply_request_message",
    "sae_overdue_message",
    "sae_received_message",
    "signature_needed_message",
    "susar_clock_message",
    "unread_count",
    "withhold_arms",
]

ARM_WITHHELD = "[arm withheld]"


class Kind(StrEnum):
    """What a notification is about, as stored in ``notifications.kind``."""

    EMERGENCY_UNBLINDING = "emergency_unblinding"
    RESUPPLY_REQUEST = "resupply_request"
    QUERY_OPENED = "query_opened"
    SAE_RECEIVED = "sae_received"
    SAE_OVERDUE = "sae_overdue"
    SUSAR_CLOCK = "susar_clock"
    SIGNATURE_NEEDED = "signature_needed"


@dataclass(frozen=True)
class To:
    """An audience: the holders of a role in the trial (at one site, or trial-wide), or a user.

    ``To.role("monitor")``: every monitor of the trial; ``To.role("investigator", site_id=3)``:
    the investigators of site 3 (and those holding the role for all sites);
    ``To.user(7)``: user 7.
    """

    role_name: str | None = None
    site_id: int | None = None
    user_id: int | None = None

    @classmethod
    def role(cls, role: Role | str, *, site_id: int | None = None) -> To:
        return cls(role_name=str(role), site_id=site_id)

    @classmethod
    def user(cls, user_id: int) -> To:
        return cls(user_id=user_id)

    def describe(self) -> str:
        if self.user_id is not None:
            return f"user {self.user_id}"
        where = "" if self.site_id is None else f"@site {self.site_id}"
        return f"{self.role_name}{where}"


@dataclass(frozen=True)
class Message:
    """A notification's text: a subject line and a plain-text body (no arm, ever).

    The subject is one line: line breaks in it become spaces when it is written.
    """

    subject: str
    body: str


class InboxItemView(BaseModel):
    """One notification in a user's inbox."""

    model_config = ConfigDict(frozen=True)

    id: int
    notification_id: int
    trial_id: int
    kind: str
    subject: str
    body: str
    link: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


# --- keeping arms out -------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _arm_pattern(protocol_name: str) -> re.Pattern[str] | None:
    try:
        protocol = load_protocol(protocol_name)
    except TrialkitError:
        return None
    words: set[str] = set()
    for arm in protocol.arms:
        words.add(re.escape(arm.label))
        if arm.product:
            words.add(re.escape(arm.product))
        words.add(rf"arm[\s\"':=]*(?-i:{re.escape(arm.id)})")  # "arm A", not "arm a day"
    return re.compile(r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b", re.I)


_LINK = re.compile(r"/(?!/)[A-Za-z0-9/_\-.?=&%]{0,299}")
_TRIALS = table("trials", column("id"), column("protocol_name"))
_JOINED = re.compile(r"\b(\w+)\s*(?:/|\bor\b)\s*(\w+)\b", re.I)


def withhold_arms(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every word naming an arm replaced by ``[arm withheld]``.

    The blinded name of the study drug ("sorafenib/placebo", "placebo or sorafenib") names
    no arm and stays.
    """
    if pattern is None:
        return text
    kept: dict[str, str] = {}

    def _keep(match: re.Match[str]) -> str:
        if pattern.fullmatch(match.group(1)) and pattern.fullmatch(match.group(2)):
            key = f"\x00{len(kept)}\x00"
            kept[key] = match.group(0)
            return key
        return match.group(0)

    masked = pattern.sub(ARM_WITHHELD, _JOINED.sub(_keep, text))
    for key, original in kept.items():
        masked = masked.replace(key, original)
    return masked


def _trial_arm_pattern(session: Session, trial_id: int) -> re.Pattern[str] | None:
    name = session.execute(
        select(_TRIALS.c.protocol_name).where(_TRIALS.c.id == trial_id)
    ).scalar_one_or_none()
    if name is None:
        raise NotFoundError(f"trial {trial_id} not found")
    return _arm_pattern(str(name))


# --- writing ----------------------------------------------------------------------------------


def _recipients(session: Session, trial_id: int, audience: To) -> list[tuple[int, str | None]]:
    """The active users an audience names: (user id, e-mail address)."""
    query = select(User.id, User.email).where(User.is_active.is_(True))
    if audience.user_id is not None:
        query = query.where(User.id == audience.user_id)
    else:
        if not audience.role_name:
            raise InputError("a notification's audience needs a role or a user", location="to")
        query = query.join(RoleAssignment, RoleAssignment.user_id == User.id).where(
            RoleAssignment.trial_id == trial_id,
            RoleAssignment.role == audience.role_name,
            RoleAssignment.revoked_at.is_(None),
        )
        if audience.site_id is not None:
            query = query.where(
                (RoleAssignment.site_id == audience.site_id) | RoleAssignment.site_id.is_(None)
            )
    return [(int(uid), email) for uid, email in session.execute(query.distinct()).all()]


def notify(
    session: Session,
    *,
    trial_id: int,
    kind: Kind,
    to: To | Sequence[To],
    message: Message,
    site_id: int | None = None,
    link: str | None = None,
) -> Notification:
    """Write a notification and its deliveries in the caller's transaction (nothing is sent here).

    Every recipient gets an inbox entry, and an e-mail if they have an address; a user named
    by several audiences gets it once. Words naming one of the trial's arms are withheld from
    the subject and body (:func:`withhold_arms`), whoever the recipients are. ``link``: a
    path in the service (``/patients/12``) where the reader's own permissions decide what
    they see. With no recipient at all the notification is still written (the audit of what
    was due to be told).
    """
    audiences = (to,) if isinstance(to, To) else tuple(to)
    if link is not None and not _LINK.fullmatch(link):
        raise InputError(
            f"a notification's link is a path in the service, not {link!r}", location="link"
        )
    if not audiences:
        raise InputError("a notification needs an audience", location="to")
    pattern = _trial_arm_pattern(session, trial_id)
    now = utcnow()
    row = Notification(
        trial_id=trial_id,
        recipient=", ".join(a.describe() for a in audiences)[:32],
        kind=Kind(kind).value,
        subject=withhold_arms(" ".join(message.subject.split()), pattern)[:200],
        body=withhold_arms(message.body.strip(), pattern),
        created_at=now,
        site_id=site_id,
        link=link,
    )
    session.add(row)
    session.flush()
    people: dict[int, str | None] = {}
    for audience in audiences:
        for user_id, email in _recipients(session, trial_id, audience):
            people[user_id] = email
    due = real_utcnow()
    for user_id, email in sorted(people.items()):
        session.add(
            Delivery(
                notification_id=row.id,
                user_id=user_id,
                channel=Channel.INBOX,
                created_at=now,
                attempts=0,
            )
        )
        if email:
            session.add(
                Delivery(
                    notification_id=row.id,
                    user_id=user_id,
                    channel=Channel.EMAIL,
                    address=email,
                    created_at=now,
                    attempts=0,
                    next_attempt_at=due,
                )
            )
    session.flush()
    return row


# --- the inbox --------------------------------------------------------------------------------


def _own_user(actor: Principal) -> int:
    if actor.user_id is None:
        raise NotFoundError("the command-line operator has no inbox")
    return actor.user_id


def _item(delivery: Delivery, note: Notification) -> InboxItemView:
    return InboxItemView(
        id=delivery.id,
        notification_id=note.id,
        trial_id=note.trial_id,
        kind=note.kind,
        subject=note.subject,
        body=note.body,
        link=note.link,
        created_at=note.created_at,
        read_at=delivery.read_at,
    )


_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])


def _own_inbox(query: _Q, actor: Principal) -> _Q:
    """``query`` (of deliveries) narrowed to the actor's own inbox entries, with their
    notifications joined: the one reading of an inbox, for the API's list and the page's."""
    return query.join(Notification, Notification.id == Delivery.notification_id).where(
        Delivery.user_id == _own_user(actor), Delivery.channel == Channel.INBOX
    )


def inbox(
    *, session: Session, actor: Principal, unread_only: bool = False, limit: int = 100
) -> list[InboxItemView]:
    """The actor's own notifications, newest first."""
    query = _own_inbox(select(Delivery, Notification), actor)
    if unread_only:
        query = query.where(Delivery.read_at.is_(None))
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit)).all()
    return [_item(d, n) for d, n in rows]


INBOX_SHOW = ("unread", "all")
"""The inbox page's choices: its unread notifications (the default) or all of them."""


def inbox_page(*, session: Session, actor: Principal, listing: Listing) -> ListPage[InboxItemView]:
    """One page of the actor's own notifications, newest first: unread only unless the
    listing's ``show`` filter is ``all``; ``kind`` narrows to one kind of notification.
    """
    query = _own_inbox(select(Delivery), actor)
    show = listing.filters.get("show", INBOX_SHOW[0])
    if show not in INBOX_SHOW:
        raise InputError(f"show: choose {' or '.join(INBOX_SHOW)}, not {show!r}", location="show")
    if show == "unread":
        query = query.where(Delivery.read_at.is_(None))
    kind = listing.filters.get("kind")
    if kind is not None:
        if kind not in {k.value for k in Kind}:
            raise InputError(
                f"kind: {kind!r} is not a kind of notification; choose one of "
                f"{', '.join(k.value for k in Kind)}",
                location="kind",
            )
        query = query.where(Notification.kind == kind)
    found = list_page(
        session,
        query,
        listing,
        sort_columns={"created_at": Notification.created_at},
        tiebreak=Delivery.id,
    )
    notes = {
        n.id: n
        for n in session.scalars(
            select(Notification).where(
                Notification.id.in_({d.notification_id for d in found.items})
            )
        )
    }
    return ListPage(
        items=[_item(d, notes[d.notification_id]) for d in found.items],
        total=found.total,
        listing=found.listing,
    )


def unread_count(*, session: Session, actor: Principal) -> int:
    """How many of the actor's notifications are unread (0 for the command-line operator)."""
    if actor.user_id is None:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.user_id == actor.user_id,
                Delivery.channel == Channel.INBOX,
                Delivery.read_at.is_(None),
            )
        )
        or 0
    )


def mark_read(*, session: Session, actor: Principal, item_id: int) -> InboxItemView:
    """Mark one of the actor's own notifications read (another user's: not found)."""
    found = session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Delivery.id == item_id,
            Delivery.user_id == _own_user(actor),
            Delivery.channel == Channel.INBOX,
        )
    ).first()
    if found is None:
        raise NotFoundError(f"notification {item_id} is not in your inbox", location="item_id")
    delivery, note = found
    if delivery.read_at is None:
        delivery.read_at = real_utcnow()
        session.flush()
    return _item(delivery, note)


def mark_all_read(*, session: Session, actor: Principal) -> int:
    """Mark all the actor's notifications read; returns how many were unread."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.user_id == _own_user(actor),
            Delivery.channel == Channel.INBOX,
            Delivery.read_at.is_(None),
        )
        .values(read_at=real_utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def settle_past_inboxes(
    *, session: Session, trial_id: int, kinds: Iterable[str], raised_before: dt.datetime,
    read_after: dt.timedelta,
) -> int:  # fmt: skip
    """Mark a trial's unread inbox entries of ``kinds`` raised before ``raised_before`` read,
    ``read_after`` after each was raised: a replayed past (the demo), not a person's reading
    (:func:`mark_read`). Returns how many."""
    old = session.execute(
        select(Delivery.id, Notification.created_at)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(
            Notification.trial_id == trial_id,
            Notification.kind.in_(list(kinds)),
            Notification.created_at < raised_before,
            Delivery.channel == Channel.INBOX,
            Delivery.read_at.is_(None),
        )
    ).all()
    if old:
        session.execute(
            update(Delivery),
            [{"id": id_, "read_at": raised + read_after} for id_, raised in old],
        )
    return len(old)


def recipients_of(session: Session, notification_id: int) -> list[int]:
    """The users a notification reached (its inbox entries)."""
    return list(
        session.scalars(
            select(Delivery.user_id).where(
                Delivery.notification_id == notification_id, Delivery.channel == Channel.INBOX
            )
        ).all()
    )


# --- the kinds' messages (each names the case, never an arm) ------------------------------------


def _stamp(when: dt.datetime | dt.date) -> str:
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return when.isoformat()


def emergency_unblinding_message(
    *,
    trial: str,
    username: str,
    screening_number: str,
    randomisation_number: int,
    site_code: str,
    when: dt.datetime,
    reason: str,
) -> Message:
    """:attr:`Kind.EMERGENCY_UNBLINDING`: who unblinded which patient, when and why."""
    return Message(
        f"{trial}: emergency unblinding of randomisation number {randomisation_number}",
        f"{username} unblinded patient {screening_number} (randomisation number "
        f"{randomisation_number}) at site {site_code} on {_stamp(when)}.\nReason: {reason}",
    )


def resupply_request_message(
    *, trial: str, site_code: str, kits: int, waiting_for_depot: bool
) -> Message:
    """:attr:`Kind.RESUPPLY_REQUEST`: a site's stock fell low (the number of kits, no arms)."""
    what = (
        "waits for depot stock"
        if waiting_for_depot
        else f"reserves {kits} kit(s) at the depot for shipment"
    )
    return Message(
        f"{trial}: resupply request for site {site_code}",
        f"The usable kit stock at site {site_code} fell below its threshold. "
        f"A resupply request was raised; it {what}.",
    )


def query_opened_message(
    *, trial: str, screening_number: str, form: str, field: str, message: str
) -> Message:
    """:attr:`Kind.QUERY_OPENED`: a data query on a patient of the recipient's site."""
    return Message(
        f"{trial}: query on patient {screening_number} ({form})",
        f"A query was opened on patient {screening_number}, form {form}, field {field}:\n"
        f"{message}\nPlease answer it on the patient's page.",
    )


def sae_received_message(
    *,
    trial: str,
    site_code: str,
    screening_number: str,
    term: str,
    aware_at: dt.datetime,
    due_at: dt.datetime,
) -> Message:
    """:attr:`Kind.SAE_RECEIVED`: a serious adverse event reported by a site."""
    return Message(
        f"{trial}: serious adverse event at site {site_code} ({term})",
        f"Site {site_code} reported a serious adverse event for patient {screening_number}: "
        f"{term}. The site became aware on {_stamp(aware_at)}; the report is due by "
        f"{_stamp(due_at)}.",
    )


def sae_overdue_message(
    *, trial: str, site_code: str, screening_number: str, term: str, due_at: dt.datetime
) -> Message:
    """:attr:`Kind.SAE_OVERDUE`: an SAE report past its 24-hour deadline."""
    return Message(
        f"{trial}: SAE report overdue at site {site_code} ({term})",
        f"The serious adverse event report for patient {screening_number} ({term}) was due by "
        f"{_stamp(due_at)} and has not been completed.",
    )


def susar_clock_message(
    *, trial: str, case: str, days: int, aware_on: dt.date, due_on: dt.date
) -> Message:
    """:attr:`Kind.SUSAR_CLOCK`: a SUSAR's reporting clock (7 or 15 days); the arm stays out."""
    return Message(
        f"{trial}: SUSAR {case} due to the authorities by {_stamp(due_on)}",
        f"Case {case} was assessed as a suspected unexpected serious adverse reaction. "
        f"The {days}-day reporting clock started on {_stamp(aware_on)}; the report is due by "
        f"{_stamp(due_on)}. Open the case for its details.",
    )


def signature_needed_message(
    *, trial: str, screening_number: str, what: str, site_code: str
) -> Message:
    """:attr:`Kind.SIGNATURE_NEEDED`: records that wait for the investigator's signature."""
    return Message(
        f"{trial}: signature needed for patient {screening_number}",
        f"{what} for patient {screening_number} at site {site_code} await your signature.",
    )
