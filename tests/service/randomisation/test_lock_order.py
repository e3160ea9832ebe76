"""The lock order and the request boundary on the real PostgreSQL server.

Each test seeds a fresh database (committed, as a server sees it), runs randomisations
through the API application in this process, and uses a second connection to hold a
lock at a chosen moment: while a randomisation waits for its stratum counter, what it
holds must not stop another randomisation; a deadlock it meets is run again whole,
randomising once; a kit that runs out after the draw is refused as before the draw; a
request shipped twice at once is shipped once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, func, select, text, update
from sqlalchemy.engine import Engine

from tests.conftest import create_postgres_database, drop_postgres_database, test_settings
from tests.factories import (
    ENROLMENT_DAY,
    login,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from trialkit.service.app import create_app
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import verify_chain
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation import supply
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSlot,
    Randomisation,
    StratumCounter,
)
from trialkit.service.randomisation.tables.supply import (
    Dispensing,
    InventoryKit,
    KitListEntry,
    Shipment,
)
from trialkit.service.trials.tables import Site

PATIENTS = 3


@dataclass(frozen=True)
class Seeded:
    url: str
    trial_id: int
    site_id: int
    token: str
    patients: list[int]
    administrator: str  # a token


@pytest.fixture
def seeded() -> Iterator[Seeded]:
    """A sealed trial, one Polish site stocked by the resupply rules, eligible patients."""
    url = create_postgres_database("trialkit_locks")
    try:
        settings = test_settings(url)
        security = Security.from_settings(settings)
        database = create_database(url, pool_size=2)
        upgrade(database.engine)
        with transaction(database) as session:
            trial = make_trial(session)
            site = make_site(session, trial, country="PL")
            seal_trial(session, trial)
            stock_site(session, trial, site)
            user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
            token = login(session, security, user)
            actor = principal(session, security, user)
            patients = [make_eligible_patient(session, actor, site).id for _ in range(PATIENTS)]
            administrator = login(
                session, security, make_user(session, security, trial, Role.ADMINISTRATOR)
            )
        database.dispose()
        yield Seeded(url, trial.id, site.id, token, patients, administrator)
    finally:
        drop_postgres_database(url)


@pytest.fixture
def api(seeded: Seeded) -> Iterator[Callable[[int], httpx.Response]]:
    """``randomise(patient_id)`` through the API application, from any thread."""
    app = create_app(test_settings(seeded.url, calendar_date=ENROLMENT_DAY))
    headers = {"Authorization": f"Bearer {seeded.token}", "X-Request-ID": "same-request"}

    def randomise(patient_id: int) -> httpx.Response:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            return client.post(f"/api/patients/{patient_id}/randomisation", headers=headers)

    yield randomise
    app.state.database.dispose()


@pytest.fixture
def engine(seeded: Seeded) -> Iterator[Engine]:
    """Plain connections beside the application's: the other transaction of each test."""
    engine = create_engine(seeded.url)
    yield engine
    engine.dispose()


def _waiting_on_a_lock(engine: Engine, statement: str, *, timeout: float = 15) -> None:
    """Until a backend of the test database waits for a lock in ``statement`` (a prefix)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE :statement"
                ),
                {"statement": statement + "%"},
            )
            if waiting:
                return
            connection.rollback()  # the activity view is read once per transaction
            time.sleep(0.02)
        activity = connection.execute(
            text(
                "SELECT wait_event_type, state, left(query, 40) FROM pg_stat_activity"
                " WHERE datname = current_database()"
            )
        ).all()
    pytest.fail(f"no transaction waited for a lock in {statement!r} within {timeout} s: {activity}")


def _hold_every_counter(connection: Connection, trial_id: int) -> None:
    """Lock the trial's stratum counters, as a randomisation of another site would."""
    connection.execute(
        update(StratumCounter)
        .where(StratumCounter.trial_id == trial_id)
        .values(used=StratumCounter.used)
    )


def _one_randomisation_each(engine: Engine, seeded: Seeded) -> None:
    with engine.connect() as connection:
        per_patient = connection.execute(
            select(Randomisation.patient_id, func.count()).group_by(Randomisation.patient_id)
        ).all()
        assert all(n == 1 for _, n in per_patient), per_patient
        kits = connection.scalar(select(func.count(Dispensing.id)))
        used = connection.scalar(
            select(func.sum(StratumCounter.used)).where(StratumCounter.trial_id == seeded.trial_id)
        )
        assert kits == used == len(per_patient)
    database = create_database(seeded.url, pool_size=1)
    try:
        with database.sessions() as session:
            assert verify_chain(session).intact
    finally:
        database.dispose()


def test_a_randomisation_waiting_for_its_stratum_holds_neither_the_site_row_nor_the_audit_head(
    seeded: Seeded, api: Callable[[int], httpx.Response], engine: Engine
) -> None:
    """Lock order: the site's supply lock is not the sites row (which the foreign keys of
    every randomisation at the site check), and the audit head comes last. A site whose
    stock is below the resupply threshold makes the randomisation's supply check raise a
    request; while the randomisation then waits for its stratum counter, another one's
    foreign-key check on the site, and any transaction's audit append, go through."""
    with engine.begin() as connection:  # five kits damaged: 15 left, below the threshold (16)
        damaged = select(InventoryKit.id).where(
            InventoryKit.site_id == seeded.site_id, InventoryKit.status == "available"
        )
        ids = connection.scalars(damaged.order_by(InventoryKit.number).limit(5)).all()
        connection.execute(
            update(InventoryKit).where(InventoryKit.id.in_(ids)).values(status="damaged")
        )
    with ThreadPoolExecutor(max_workers=1) as pool, engine.connect() as holder:
        holder.begin()
        _hold_every_counter(holder, seeded.trial_id)
        answer = pool.submit(api, seeded.patients[0])
        try:
            _waiting_on_a_lock(engine, "UPDATE stratum_counters")
            with engine.connect() as other:
                other.begin()
                other.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting = holding them
                other.execute(text("SELECT id FROM sites WHERE id = :site FOR KEY SHARE"),
                              {"site": seeded.site_id})  # fmt: skip
                other.execute(text("SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE"))
                other.rollback()
        finally:
            holder.rollback()
        response = answer.result(timeout=30)
    assert response.status_code == 201, response.text
    _one_randomisation_each(engine, seeded)


def test_a_randomisation_aborted_by_a_deadlock_is_run_again_and_randomises_once(
    seeded: Seeded, api: Callable[[int], httpx.Response], engine: Engine
) -> None:
    """Retry at the request boundary: a randomisation waiting for its stratum counter while
    holding its login session's activity row meets a transaction that holds the counter and
    wants that row. PostgreSQL aborts the randomisation to break the deadlock; it is run
    again, whole, and the patient is randomised once, with one kit and one slot."""
    with engine.begin() as connection:  # the session's activity is written by the next request
        connection.execute(
            text("UPDATE login_sessions SET last_seen_at = last_seen_at - interval '2 minutes'")
        )
    with ThreadPoolExecutor(max_workers=2) as pool, engine.connect() as holder:
        holder.begin()
        holder.execute(text("SET LOCAL deadlock_timeout = '10s'"))  # the randomisation: victim
        _hold_every_counter(holder, seeded.trial_id)
        answer = pool.submit(api, seeded.patients[0])
        try:
            _waiting_on_a_lock(engine, "UPDATE stratum_counters")
            blocked: Future[object] = pool.submit(
                holder.execute, text("SELECT id FROM login_sessions FOR UPDATE")
            )
            blocked.result(timeout=30)  # granted once the randomisation was aborted
            # its second attempt skips the activity row the holder has (a page view never
            # waits for it) and waits for the counter again
            _waiting_on_a_lock(engine, "UPDATE stratum_counters")
        finally:
            holder.rollback()
        response = answer.result(timeout=30)
    assert response.status_code == 201, response.text
    _one_randomisation_each(engine, seeded)


def test_a_refusal_after_the_draw_is_the_refusal_before_it_byte_for_byte(
    seeded: Seeded, api: Callable[[int], httpx.Response], engine: Engine
) -> None:
    """One refusal path: the drawn arm's last kit is taken by another transaction while the
    randomisation draws (here: held, then found damaged). The answer is the one the check
    before the draw gives once the kit is gone, whatever the arm: same status, same words,
    same headers, byte for byte; and nothing of the refused attempt is kept."""
    first = api(seeded.patients[0])
    assert first.status_code == 201, first.text
    with engine.begin() as connection:  # the next slot's arm keeps one kit at the site
        stratum, used = connection.execute(
            select(Randomisation.stratum, StratumCounter.used).join(
                StratumCounter, StratumCounter.stratum == Randomisation.stratum
            )
        ).one()
        arm = connection.scalar(
            select(AllocationSlot.arm).where(
                AllocationSlot.trial_id == seeded.trial_id,
                AllocationSlot.stratum == stratum,
                AllocationSlot.sequence == used + 1,
            )
        )
        of_arm = (
            select(InventoryKit.id)
            .join(KitListEntry, KitListEntry.number == InventoryKit.number)
            .where(
                InventoryKit.site_id == seeded.site_id,
                InventoryKit.status == "available",
                KitListEntry.trial_id == seeded.trial_id,
                KitListEntry.arm == arm,
            )
            .order_by(InventoryKit.number)
        )
        kits = connection.scalars(of_arm).all()
        connection.execute(
            update(InventoryKit).where(InventoryKit.id.in_(kits[1:])).values(status="damaged")
        )
    last = kits[0]
    with ThreadPoolExecutor(max_workers=1) as pool, engine.connect() as holder:
        holder.begin()
        holder.execute(select(InventoryKit.id).where(InventoryKit.id == last).with_for_update())
        answer = pool.submit(api, seeded.patients[1])
        try:
            _waiting_on_a_lock(engine, "SELECT kits.id")  # drawn, then kept waiting
        finally:
            holder.execute(
                update(InventoryKit).where(InventoryKit.id == last).values(status="damaged")
            )
            holder.commit()
        after_draw = answer.result(timeout=30)
    before_draw = api(seeded.patients[1])
    assert after_draw.status_code == before_draw.status_code == 409
    assert after_draw.content == before_draw.content
    assert "can be randomised" in before_draw.text
    assert after_draw.headers.items() == before_draw.headers.items()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count(Randomisation.id))) == 1
        assert (
            connection.scalar(select(StratumCounter.used).where(StratumCounter.stratum == stratum))
            == used
        )


def test_a_request_shipped_twice_at_once_is_shipped_once(seeded: Seeded, engine: Engine) -> None:
    """Shipping serialises on the site's supply lock and reads the request under it: of two
    shipments of one request sent at once, one ships its kits and the other is refused
    (409), instead of a second, empty shipment that takes the request over."""
    with engine.begin() as connection:  # five kits damaged: the site is below its threshold
        ids = connection.scalars(
            select(InventoryKit.id)
            .where(InventoryKit.site_id == seeded.site_id, InventoryKit.status == "available")
            .order_by(InventoryKit.number)
            .limit(5)
        ).all()
        connection.execute(
            update(InventoryKit).where(InventoryKit.id.in_(ids)).values(status="damaged")
        )
    database = create_database(seeded.url, pool_size=1)
    try:
        with transaction(database) as session:
            site = session.get(Site, seeded.site_id)
            assert site is not None
            request = supply.raise_resupply(
                session, trial_id=seeded.trial_id, site=site, on_date=ENROLMENT_DAY
            )
            assert request is not None
            reserved = sorted(int(n) for n in request.kit_numbers)
    finally:
        database.dispose()
    app = create_app(test_settings(seeded.url, calendar_date=ENROLMENT_DAY))
    headers = {"Authorization": f"Bearer {seeded.administrator}"}

    def ship() -> httpx.Response:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            return client.post(f"/api/resupply-requests/{request.id}/shipment", headers=headers)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool, engine.connect() as holder:
            holder.begin()  # one of the request's kits held: the first shipment waits for it
            holder.execute(
                select(InventoryKit.id).where(InventoryKit.number == reserved[0]).with_for_update()
            )
            answers = [pool.submit(ship), pool.submit(ship)]
            try:
                _waiting_on_a_lock(engine, "UPDATE kits")
                time.sleep(0.5)  # the other one is waiting too, wherever it waits
            finally:
                holder.rollback()
            results = sorted((a.result(timeout=30) for a in answers), key=lambda r: r.status_code)
    finally:
        app.state.database.dispose()
    assert [r.status_code for r in results] == [201, 409], [r.text for r in results]
    assert results[0].json()["kit_numbers"] == reserved
    assert "shipped already" in results[1].text
    with engine.connect() as connection:
        assert connection.scalar(select(func.count(Shipment.id))) == 2  # the seed's and this one
