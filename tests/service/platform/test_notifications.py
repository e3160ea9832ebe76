"""Notifications (issue 21 §3): written with their cause, e-mailed once, never lost, no arm."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import create_postgres_database, drop_postgres_database, test_settings
from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    SYSTEM,
    TestUser,
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.service.platform.smtp_server import SmtpServer
from trialkit.config import Settings
from trialkit.errors import InputError, NotFoundError
from trialkit.service.capture import queries
from trialkit.service.platform import delivery, notify
from trialkit.service.platform.db.base import real_utcnow
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import UNBLINDED_ROLES, Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.notifications import Channel, Delivery, Notification
from trialkit.service.platform.tables.people import RoleAssignment, User
from trialkit.service.platform.transaction import transaction
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.randomisation import randomisation, supply
from trialkit.service.screening.tables import Patient
from trialkit.service.trials import users
from trialkit.service.trials.tables import Site

ARM_TEXT = re.compile(r"\b(sorafenib|placebo)\b|\barm\s*[:=]?\s*[AB]\b", re.I)
"""What would reveal an arm of SOR: its labels (= products) alone, or an arm's code."""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def smtp_settings(database_url: str, server: SmtpServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_from": "trialkit@sor.example",
        "smtp_timeout_seconds": 5.0,
        "notify_retry_seconds": 0.05,
        "notify_retry_max_seconds": 0.2,
        "notify_poll_seconds": 0.02,
    }
    values.update(overrides)
    return test_settings(database_url, **values)


@dataclass(frozen=True)
class People:
    trial: TrialView
    site_a: SiteView
    site_b: SiteView
    investigator_a: TestUser
    investigator_b: TestUser
    pharmacist_a: TestUser
    monitor: TestUser
    statistician: TestUser
    dsmb: TestUser


def make_people(session: Session, security: Security) -> People:
    trial = make_trial(session)
    site_a, site_b = make_site(session, trial), make_site(session, trial)

    def user(role: Role, site: SiteView | None = None) -> TestUser:
        return make_user(
            session,
            security,
            trial,
            role,
            site=site,
            email=f"{role.value}-{site.id if site else 0}@sor.example",
        )

    return People(
        trial,
        site_a,
        site_b,
        user(Role.INVESTIGATOR, site_a),
        user(Role.INVESTIGATOR, site_b),
        user(Role.PHARMACIST, site_a),
        user(Role.MONITOR),
        user(Role.STATISTICIAN),
        user(Role.DSMB_MEMBER),
    )


@pytest.fixture
def people(session: Session, security: Security) -> People:
    return make_people(session, security)


def actor_of(user: TestUser, trial: TrialView) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, grants=(Grant(user.role, trial.id, user.site_id),)
    )


def hello(session: Session, people: People, to: notify.To | tuple[notify.To, ...]) -> Notification:
    return notify.notify(
        session,
        trial_id=people.trial.id,
        kind=notify.Kind.SIGNATURE_NEEDED,
        to=to,
        message=notify.Message("Sign, please", "Three forms await your signature."),
    )


def deliveries(session: Session, note: Notification, channel: str) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.notification_id == note.id, Delivery.channel == channel)
            .order_by(Delivery.user_id)
        )
    )


# --- writing: audiences, once per recipient, same transaction --------------------------------


def test_a_site_role_reaches_that_sites_holders_only(session: Session, people: People) -> None:
    note = hello(session, people, notify.To.role(Role.INVESTIGATOR, site_id=people.site_a.id))
    assert set(notify.recipients_of(session, note.id)) == {people.investigator_a.id}
    [mail] = deliveries(session, note, Channel.EMAIL)
    assert mail.address == f"investigator-{people.site_a.id}@sor.example"
    assert mail.sent_at is None
    assert mail.next_attempt_at is not None


def test_a_user_named_twice_gets_it_once_and_a_user_without_address_the_inbox_only(
    session: Session, security: Security, people: People
) -> None:
    quiet = make_user(session, security, people.trial, Role.MONITOR)  # no e-mail address
    note = hello(session, people, (notify.To.role(Role.MONITOR), notify.To.user(people.monitor.id)))
    assert sorted(notify.recipients_of(session, note.id)) == sorted([people.monitor.id, quiet.id])
    assert [d.user_id for d in deliveries(session, note, Channel.EMAIL)] == [people.monitor.id]


def test_a_revoked_role_is_not_notified_and_no_holder_still_writes_the_notification(
    session: Session, people: People
) -> None:
    note = hello(session, people, notify.To.role(Role.UNBLINDED_STATISTICIAN))
    assert session.get(Notification, note.id) is not None
    assert list(notify.recipients_of(session, note.id)) == []


def test_a_notification_is_written_in_its_causes_transaction(db: Database, people: People) -> None:
    def failing_cause() -> None:
        with transaction(db) as session:
            hello(session, people, notify.To.role(Role.MONITOR))
            raise RuntimeError("the cause failed")

    with pytest.raises(RuntimeError):
        failing_cause()
    with transaction(db) as session:
        assert session.scalars(select(Notification.id)).all() == []
        hello(session, people, notify.To.role(Role.MONITOR))
    with transaction(db) as session:
        assert len(session.scalars(select(Notification.id)).all()) == 1


# --- blinding ----------------------------------------------------------------------------------


def test_words_naming_an_arm_are_withheld_and_the_blinded_drug_name_stays() -> None:
    pattern = notify._arm_pattern("sor")
    assert notify.withhold_arms("Arm A, on Sorafenib; arm: B is placebo", pattern) == (
        "[arm withheld], on [arm withheld]; [arm withheld] is [arm withheld]"
    )
    kept = "Hand-foot skin reaction, related to sorafenib/placebo (or placebo or sorafenib)."
    assert notify.withhold_arms(kept, pattern) == kept
    assert notify.withhold_arms("Armando at Berlin", pattern) == "Armando at Berlin"
    pain = "Pain in the left arm a day after the infusion, at the farm B"
    assert notify.withhold_arms(pain, pattern) == pain
    assert notify.withhold_arms('{"arm": "B"}', pattern) == '{"[arm withheld]"}'


def test_a_subject_is_one_line(session: Session, people: People) -> None:
    note = notify.notify(
        session,
        trial_id=people.trial.id,
        kind=notify.Kind.SIGNATURE_NEEDED,
        to=notify.To.role(Role.MONITOR),
        message=notify.Message("Sign\r\nBcc: someone@evil.example", "Body\nkept"),
    )
    assert note.subject == "Sign Bcc: someone@evil.example"
    assert note.body == "Body\nkept"


def test_a_link_is_a_path_in_the_service(session: Session, people: People) -> None:
    for link in ("https://evil.example/", "//evil.example", "javascript:alert(1)", "/a b"):
        with pytest.raises(InputError):
            notify.notify(
                session,
                trial_id=people.trial.id,
                kind=notify.Kind.SIGNATURE_NEEDED,
                to=notify.To.role(Role.MONITOR),
                message=notify.Message("s", "b"),
                link=link,
            )


def every_kind(people: People) -> dict[notify.Kind, notify.Message]:
    """Each kind, rendered with arguments that try their best to carry an arm."""
    when = dt.datetime(2009, 5, 4, 10, 30, tzinfo=dt.UTC)
    return {
        notify.Kind.EMERGENCY_UNBLINDING: notify.emergency_unblinding_message(
            trial="SOR",
            username="investigator",
            screening_number="IT01-007",
            randomisation_number=17,
            site_code="IT01",
            when=when,
            reason="suspected overdose; is she on sorafenib or on placebo? Arm A?",
        ),
        notify.Kind.RESUPPLY_REQUEST: notify.resupply_request_message(
            trial="SOR", site_code="IT01", kits=6, waiting_for_depot=False
        ),
        notify.Kind.QUERY_OPENED: notify.query_opened_message(
            trial="SOR",
            screening_number="IT01-007",
            form="adverse_events",
            field="causality",
            message="causality to Sorafenib given but the patient is on placebo arm B?",
        ),
        notify.Kind.SAE_RECEIVED: notify.sae_received_message(
            trial="SOR",
            site_code="IT01",
            screening_number="IT01-007",
            term="Febrile neutropenia (sorafenib)",
            aware_at=when,
            due_at=when + dt.timedelta(hours=24),
        ),
        notify.Kind.SAE_OVERDUE: notify.sae_overdue_message(
            trial="SOR",
            site_code="IT01",
            screening_number="IT01-007",
            term="Hypertension",
            due_at=when,
        ),
        notify.Kind.SUSAR_CLOCK: notify.susar_clock_message(
            trial="SOR", case="SOR-IT01-007-1", days=7, aware_on=when.date(), due_on=when.date()
        ),
        notify.Kind.SIGNATURE_NEEDED: notify.signature_needed_message(
            trial="SOR", screening_number="IT01-007", what="3 forms", site_code="IT01"
        ),
    }


def test_no_kind_carries_an_arm_to_a_blinded_role_in_the_inbox_or_the_e_mail(
    db: Database, database_url: str, people: People, smtp: SmtpServer
) -> None:
    smtp.start()
    blinded = [
        u
        for u in (
            people.investigator_a,
            people.pharmacist_a,
            people.monitor,
            people.statistician,
        )
        if u.role not in UNBLINDED_ROLES
    ]
    kinds = every_kind(people)
    assert set(kinds) == set(notify.Kind)
    with transaction(db) as session:
        for kind, message in kinds.items():
            notify.notify(
                session,
                trial_id=people.trial.id,
                kind=kind,
                to=tuple(notify.To.user(u.id) for u in blinded),
                message=message,
            )
    delivery.run_worker(db, smtp_settings(database_url, smtp), once=True)
    mails = smtp.messages()
    assert len(mails) == len(kinds) * len(blinded)
    for _address, mail in mails:
        text = f"{mail['Subject']}\n{mail.get_payload()}"
        assert not ARM_TEXT.search(text), text
    with transaction(db) as session:
        for user in blinded:
            items = notify.inbox(session=session, actor=actor_of(user, people.trial))
            assert {i.kind for i in items} == set(notify.Kind)
            for item in items:
                text = f"{item.subject}\n{item.body}"
                assert not ARM_TEXT.search(text), text


# --- delivery: SMTP, back-off, never lost, never twice ------------------------------------------


def test_backoff_doubles_up_to_its_cap(database_url: str) -> None:
    settings = test_settings(database_url, notify_retry_seconds=30, notify_retry_max_seconds=200)
    assert [delivery.backoff_seconds(settings, n) for n in (1, 2, 3, 4, 5)] == [
        30,
        60,
        120,
        200,
        200,
    ]


def test_an_e_mail_is_sent_once_with_its_subject_body_link_and_a_stable_message_id(
    db: Database, database_url: str, people: People, smtp: SmtpServer
) -> None:
    smtp.start()
    with transaction(db) as session:
        note = notify.notify(
            session,
            trial_id=people.trial.id,
            kind=notify.Kind.QUERY_OPENED,
            to=notify.To.role(Role.INVESTIGATOR, site_id=people.site_a.id),
            message=notify.Message("SOR: query", "Please answer."),
            link="/patients/1",
        )
    settings = smtp_settings(database_url, smtp, public_url="https://sor.example/trialkit/")
    report = delivery.deliver_due(db, settings)
    assert (report.sent, report.failed) == (1, 0)
    assert delivery.deliver_due(db, settings).claimed == 0  # nothing is due twice
    [(address, mail)] = smtp.messages()
    assert address == f"investigator-{people.site_a.id}@sor.example"
    assert mail["Subject"] == "SOR: query"
    assert mail["From"] == "trialkit@sor.example"
    assert mail["Message-ID"] == f"<notification-{note.id}-{people.investigator_a.id}@sor.example>"
    assert "Please answer." in mail.get_payload()
    assert "https://sor.example/trialkit/patients/1" in mail.get_payload()
    with transaction(db) as session:
        [sent] = deliveries(session, session.get(Notification, note.id), Channel.EMAIL)  # type: ignore[arg-type]
        assert sent.sent_at is not None
        assert sent.attempts == 0
        assert sent.claim_token is not None


def test_a_server_down_for_a_while_loses_nothing_and_the_recovery_sends_each_once(
    db: Database, database_url: str, people: People, smtp: SmtpServer
) -> None:
    settings = smtp_settings(
        database_url, smtp, notify_retry_seconds=0.3, notify_retry_max_seconds=1.2
    )
    everyone = (notify.To.role(Role.MONITOR), notify.To.role(Role.INVESTIGATOR))
    with transaction(db) as session:
        notes = [hello(session, people, everyone).id for _ in range(5)]
    # down: every attempt fails, is kept, and waits longer each time (0.3 s, 0.6 s, 1.2 s)
    for attempt in (1, 2, 3):
        before = real_utcnow()
        report = delivery.deliver_due(db, settings)
        assert (report.sent, report.failed) == (0, 15), report
        assert "cannot reach the SMTP server" in report.errors[0]
        wait = dt.timedelta(seconds=delivery.backoff_seconds(settings, attempt))
        with transaction(db) as session:
            rows = session.scalars(select(Delivery).where(Delivery.channel == Channel.EMAIL)).all()
        assert {r.attempts for r in rows} == {attempt}
        assert all(r.sent_at is None for r in rows)
        assert all(
            r.next_attempt_at is not None and r.next_attempt_at >= before + wait for r in rows
        )
        assert all("cannot reach" in (r.last_error or "") for r in rows)
        assert delivery.deliver_due(db, settings).claimed == 0  # backing off
        time.sleep(wait.total_seconds() + 0.05)
    assert smtp.messages() == []
    # back: the worker's next cycles send everything, once
    smtp.start()
    stop = threading.Event()
    worker = threading.Thread(
        target=delivery.run_worker, args=(db, settings), kwargs={"stop": stop}
    )
    worker.start()
    deadline = time.monotonic() + 10
    while len(smtp.messages()) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a few more cycles: nothing is sent again
    stop.set()
    worker.join()
    sent = Counter((m["Message-ID"], address) for address, m in smtp.messages())
    assert len(sent) == 15
    assert set(sent.values()) == {1}
    assert {int(mid.split("-")[1]) for mid, _ in sent} == set(notes)
    with transaction(db) as session:
        rows = session.scalars(select(Delivery).where(Delivery.channel == Channel.EMAIL)).all()
        assert all(r.sent_at is not None for r in rows)


def test_without_an_smtp_host_the_e_mails_wait_in_the_outbox(
    db: Database, database_url: str, people: People
) -> None:
    with transaction(db) as session:
        hello(session, people, notify.To.role(Role.MONITOR))
    report = delivery.deliver_due(db, test_settings(database_url))
    assert report.claimed == 0
    with transaction(db) as session:
        [row] = session.scalars(select(Delivery).where(Delivery.channel == Channel.EMAIL)).all()
        assert row.sent_at is None
        assert row.attempts == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database of the test's own, where two workers commit for real."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('workers') / 'trialkit.db'}"
    else:
        url = create_postgres_database("trialkit_notify")
    database = create_database(url, pool_size=4)
    upgrade(database.engine)
    yield database
    database.dispose()
    if request.param == "postgresql":
        drop_postgres_database(url)


def test_two_workers_side_by_side_send_each_e_mail_once(
    own_database: Database, smtp: SmtpServer
) -> None:
    smtp.start()
    url = own_database.engine.url.render_as_string(hide_password=False)
    settings = smtp_settings(url, smtp)
    with transaction(own_database) as session:
        people = make_people(session, Security.from_settings(settings))
        for _ in range(30):
            hello(
                session, people, (notify.To.role(Role.MONITOR), notify.To.role(Role.INVESTIGATOR))
            )
    expected = 30 * 3
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=delivery.run_worker, args=(own_database, settings), kwargs={"stop": stop}
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 30
    while len(smtp.messages()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for worker in workers:
        worker.join()
    sent = Counter(m["Message-ID"] for _address, m in smtp.messages())
    assert len(sent) == expected
    assert set(sent.values()) == {1}
    with transaction(own_database) as session:
        tokens = session.scalars(
            select(Delivery.claim_token).where(Delivery.channel == Channel.EMAIL)
        ).all()
    assert None not in tokens


# --- the inbox ---------------------------------------------------------------------------------


def test_the_inbox_lists_counts_and_marks_read_only_ones_own(
    session: Session, people: People
) -> None:
    first = hello(session, people, notify.To.role(Role.MONITOR))
    hello(session, people, notify.To.role(Role.MONITOR))
    monitor = actor_of(people.monitor, people.trial)
    other = actor_of(people.statistician, people.trial)
    items = notify.inbox(session=session, actor=monitor)
    assert [i.notification_id for i in items][-1] == first.id  # newest first
    assert notify.unread_count(session=session, actor=monitor) == 2
    assert notify.unread_count(session=session, actor=other) == 0
    with pytest.raises(NotFoundError):
        notify.mark_read(session=session, actor=other, item_id=items[0].id)
    read = notify.mark_read(session=session, actor=monitor, item_id=items[0].id)
    assert read.read_at is not None
    assert notify.unread_count(session=session, actor=monitor) == 1
    assert [i.id for i in notify.inbox(session=session, actor=monitor, unread_only=True)] == [
        items[1].id
    ]
    assert notify.mark_all_read(session=session, actor=monitor) == 1
    assert notify.unread_count(session=session, actor=monitor) == 0


# --- the causes --------------------------------------------------------------------------------


def test_a_query_opened_on_a_site_notifies_that_sites_investigators(
    session: Session, people: People
) -> None:
    patient = make_patient(session, actor_of(people.investigator_a, people.trial), people.site_a)
    row = session.get(Patient, patient.id)
    assert row is not None
    queries.open_query(
        session,
        actor=SYSTEM,
        grant=None,
        patient=row,
        form="adverse_events",
        record_key="1",
        field="grade",
        code="manual",
        message="Grade missing",
        source="manual",
    )
    note = session.scalars(select(Notification).where(Notification.kind == "query_opened")).one()
    assert set(notify.recipients_of(session, note.id)) == {people.investigator_a.id}
    assert "Grade missing" in note.body
    assert note.link == f"/patients/{patient.id}"


def test_a_resupply_request_notifies_the_sites_pharmacists_and_the_depot(
    session: Session, security: Security, people: People
) -> None:
    depot = make_user(session, security, people.trial, Role.ADMINISTRATOR)
    seal_trial(session, people.trial)
    site = session.get(Site, people.site_a.id)
    assert site is not None
    request = supply.raise_resupply(
        session, trial_id=people.trial.id, site=site, on_date=dt.date(2008, 3, 3)
    )
    assert request is not None
    note = session.scalars(
        select(Notification).where(Notification.kind == "resupply_request")
    ).one()
    assert set(notify.recipients_of(session, note.id)) == {people.pharmacist_a.id, depot.id}
    assert not ARM_TEXT.search(note.body)


@pytest.mark.parametrize("monitors", [True, False])
def test_an_emergency_unblinding_notifies_the_monitors_and_says_whether_anyone_was(
    session: Session, security: Security, people: People, monitors: bool
) -> None:
    seal_trial(session, people.trial)
    stock_site(session, people.trial, people.site_a)
    investigator = principal(session, security, people.investigator_a)
    patient = randomise_patient(session, investigator, people.site_a, ENROLMENT_DAY)
    if not monitors:
        assignment = session.scalars(
            select(RoleAssignment.id).where(RoleAssignment.user_id == people.monitor.id)
        ).one()
        users.revoke_role(session=session, actor=SYSTEM, assignment_id=assignment, reason="left")
    shown = randomisation.emergency_unblind(
        session=session,
        security=security,
        actor=investigator,
        patient_id=patient.id,
        password=PASSWORD,
        reason="anaphylaxis; is it the placebo?",
    )
    note = session.scalars(
        select(Notification).where(Notification.kind == "emergency_unblinding")
    ).one()
    assert shown.sponsor_notified is monitors
    assert notify.recipients_of(session, note.id) == ([people.monitor.id] if monitors else [])
    assert shown.arm_label not in note.body
    assert "[arm withheld]" in note.body
    assert note.link == f"/patients/{patient.id}"


def test_a_deactivated_accounts_e_mails_wait_and_go_when_it_is_active_again(
    db: Database, database_url: str, people: People, smtp: SmtpServer
) -> None:
    smtp.start()
    settings = smtp_settings(database_url, smtp)
    with transaction(db) as session:
        hello(session, people, notify.To.user(people.monitor.id))
        session.get(User, people.monitor.id).is_active = False  # type: ignore[union-attr]
    assert delivery.deliver_due(db, settings).claimed == 0
    with transaction(db) as session:
        session.get(User, people.monitor.id).is_active = True  # type: ignore[union-attr]
    assert delivery.deliver_due(db, settings).sent == 1
    assert [address for address, _ in smtp.messages()] == ["monitor-0@sor.example"]
