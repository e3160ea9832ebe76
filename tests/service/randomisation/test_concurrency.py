"""Concurrency and faults against a real server: uvicorn in a subprocess on 127.0.0.1, parallel
HTTP clients, on SQLite and PostgreSQL. No slot or kit is used twice, no slot is skipped, and a
server killed (SIGKILL) mid-randomisation leaves whole randomisations or none."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import (
    TEST_SECRET,
    create_postgres_database,
    drop_postgres_database,
    example,
)
from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    SYSTEM,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from trialkit.config import load_settings
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent, verify_chain
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation import supply
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSlot,
    Randomisation,
    StratumCounter,
)
from trialkit.service.randomisation.tables.supply import Dispensing, InventoryKit, ResupplyRequest
from trialkit.service.trials.tables import Site

PATIENTS = 28  # 12 for the concurrency test, 16 for the crash test
CONCURRENT = 12
CLIENTS = 8


@dataclass(frozen=True)
class Live:
    url: str
    username: str
    patients: list[int]
    trial_id: int


def servers_security(url: str) -> Security:
    """The password hashing and secret the servers of these tests run with (cheap hashing)."""
    settings = load_settings(
        database_url=url,
        secret_key=TEST_SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    return Security.from_settings(settings)


def _seed(url: str) -> Live:
    security = servers_security(url)
    database = create_database(url, pool_size=2)
    upgrade(database.engine)
    with transaction(database) as session:
        trial = make_trial(session)
        site = make_site(session, trial, country="PL")
        seal_trial(session, trial, kits=120)
        row = session.get(Site, site.id)
        assert row is not None
        request = supply.raise_resupply(
            session, trial_id=trial.id, site=row, on_date=ENROLMENT_DAY, threshold=80, target=40
        )
        assert request is not None
        shipment = supply.ship_resupply(
            session=session, actor=SYSTEM, request_id=request.id, today=ENROLMENT_DAY
        )
        pharmacist = make_user(session, security, trial, Role.PHARMACIST, site=site)
        supply.receive_shipment(
            session=session,
            actor=principal(session, security, pharmacist),
            shipment_id=shipment.id,
            today=ENROLMENT_DAY,
        )
        user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        investigator = principal(session, security, user)
        patients = [make_eligible_patient(session, investigator, site).id for _ in range(PATIENTS)]
    database.dispose()
    return Live(url, user.username, patients, trial.id)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One seeded database per backend for both tests; each randomises its own patients."""
    if request.param == "sqlite":
        yield _seed(f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}")
        return
    url = create_postgres_database("trialkit_live")
    try:
        yield _seed(url)
    finally:
        drop_postgres_database(url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str


def _start(url: str) -> Server:
    port = _free_port()
    env = {
        **os.environ,
        "TRIALKIT_DATABASE_URL": url,
        "TRIALKIT_SECRET_KEY": TEST_SECRET,
        "TRIALKIT_DEMO": "0",
        "TRIALKIT_CALENDAR_DATE": ENROLMENT_DAY.isoformat(),
        "TRIALKIT_ARGON2_TIME_COST": "1",
        "TRIALKIT_ARGON2_MEMORY_KIB": "8",
        "TRIALKIT_ARGON2_PARALLELISM": "1",
    }
    process = subprocess.Popen(
        # uvicorn on the API factory, as 'trialkit serve' runs it (without the CLI's imports)
        [
            sys.executable,
            "-m",
            "uvicorn",
            "trialkit.service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return Server(process, base)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("the server did not start within 30 s")


def _token(server: Server, username: str) -> str:
    response = httpx.post(
        f"{server.base}/api/auth/token",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    token: str = response.json()["access_token"]
    return token


def _randomise_all(server: Server, token: str, patients: list[int]) -> list[httpx.Response | None]:
    def one(patient_id: int) -> httpx.Response | None:
        try:
            return httpx.post(
                f"{server.base}/api/patients/{patient_id}/randomisation",
                headers={"Authorization": f"Bearer {token}"},
                timeout=20,
            )
        except httpx.HTTPError:
            return None  # the server was killed under this request

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(one, patients))


def _check_consistency(database: Database, trial_id: int) -> int:
    """Every randomisation is whole, slots are used once each and in order; returns the count."""
    with database.sessions() as session:
        rows = session.scalars(
            select(Randomisation).where(Randomisation.trial_id == trial_id)
        ).all()
        by_stratum: dict[str, list[int]] = {}
        for row in rows:
            by_stratum.setdefault(row.stratum, []).append(row.sequence)
            slot = session.get(AllocationSlot, row.slot_id)
            assert slot is not None
            assert (slot.stratum, slot.sequence) == (row.stratum, row.sequence)
            assert slot.randomisation_number == row.randomisation_number
            kits = session.execute(
                select(InventoryKit.status)
                .join(Dispensing, Dispensing.kit_id == InventoryKit.id)
                .where(Dispensing.patient_id == row.patient_id, Dispensing.cycle == 1)
            ).all()
            assert [k[0] for k in kits] == ["dispensed"]  # a kit with every randomisation
            audited = session.scalar(
                select(func.count()).where(
                    AuditEvent.entity == "randomisation", AuditEvent.entity_id == str(row.id)
                )
            )
            assert audited  # and its audit events
        for stratum, sequences in by_stratum.items():
            assert sorted(sequences) == list(range(1, len(sequences) + 1)), stratum  # no gap
            counter = session.get(StratumCounter, (trial_id, stratum))
            assert counter is not None
            assert counter.used == len(sequences)
        dispensed = session.scalar(select(func.count()).where(InventoryKit.status == "dispensed"))
        assert dispensed == len(rows) == session.scalar(select(func.count(Dispensing.id)))
        assert verify_chain(session).intact
        return len(rows)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def test_no_duplicate_or_skipped_slot_or_kit_under_concurrency(live: Live) -> None:
    """Parallel clients randomise every patient: distinct numbers and kits, slots 1..n in order."""
    server = _start(live.url)
    try:
        mine = live.patients[:CONCURRENT]
        responses = _randomise_all(server, _token(server, live.username), mine)
    finally:
        _stop(server)
    assert all(r is not None and r.status_code == 201 for r in responses), [
        r.text if r is not None else None for r in responses if r is None or r.status_code != 201
    ]
    bodies = [r.json() for r in responses if r is not None]
    numbers = [b["randomisation_number"] for b in bodies]
    kits = [b["kit_number"] for b in bodies]
    assert len(set(numbers)) == len(numbers) == CONCURRENT
    assert len(set(kits)) == len(kits) == CONCURRENT
    assert all("arm" not in b for b in bodies)
    database = create_database(live.url, pool_size=2)
    try:
        assert _check_consistency(database, live.trial_id) >= CONCURRENT
    finally:
        database.dispose()


def test_crash_leaves_no_half_randomised_patient(live: Live) -> None:
    """SIGKILL the server mid-burst: each patient is wholly randomised or not at all, and a
    restarted server randomises the rest with no slot skipped."""
    mine = live.patients[CONCURRENT:]
    server = _start(live.url)
    token = _token(server, live.username)
    database = create_database(live.url, pool_size=2)
    watcher = create_engine(live.url)  # plain reads: no BEGIN IMMEDIATE that would block writers
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            with watcher.connect() as connection:
                before = connection.scalar(select(func.count(Randomisation.id))) or 0
            burst = pool.submit(_randomise_all, server, token, mine)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # kill once some, not all, are through
                with watcher.connect() as connection:
                    done = connection.scalar(select(func.count(Randomisation.id)))
                if done and done >= before + 3:
                    break
                time.sleep(0.01)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            burst.result()
        survived = _check_consistency(database, live.trial_id)
        assert before < survived <= before + len(mine)

        restarted = _start(live.url)
        try:
            token = _token(restarted, live.username)
            with Session(database.engine) as session:
                done_ids = set(session.scalars(select(Randomisation.patient_id)))
            rest = [p for p in mine if p not in done_ids]
            responses = _randomise_all(restarted, token, rest)
        finally:
            _stop(restarted)
        assert all(r is not None and r.status_code == 201 for r in responses)
        assert _check_consistency(database, live.trial_id) == before + len(mine)
    finally:
        _stop(server)
        database.dispose()
        watcher.dispose()


# Randomising while the depot ships and the sites receive their resupply: sites stocked as
# the supply rules give it (each arm to 10, resupplied below 16 kits), two sites sharing the
# Polish strata and one German site, patients of three strata at each, 12 clients on their
# own keep-alive connections.
SUPPLIED_SITES = ("PL", "PL", "DE")
SUPPLIED_RECORDS = (  # one patient of each background therapy: three strata at each site
    "01_endocrine_bone_only",
    "02_chemo_then_endocrine_liver_alt_4x",
    "03_chemotherapy_triple_negative",
)
SUPPLY_CLIENTS_PER_SITE = 4
SUPPLY_PATIENTS_PER_CLIENT = 3


@dataclass(frozen=True)
class Supplied:
    url: str
    trial_id: int
    investigators: dict[int, str]  # site id -> username
    pharmacists: dict[int, str]
    administrator: str
    patients: dict[int, list[int]]  # site id -> patients


def _seed_supplied(url: str) -> Supplied:
    security = servers_security(url)
    database = create_database(url, pool_size=2)
    upgrade(database.engine)
    records = [example(name) for name in SUPPLIED_RECORDS]
    with transaction(database) as session:
        trial = make_trial(session)
        sites = [make_site(session, trial, country=country) for country in SUPPLIED_SITES]
        seal_trial(session, trial, kits=400)
        investigators, pharmacists, by_site = {}, {}, {}
        for site in sites:
            stock_site(session, trial, site)  # the first request, shipped and received
            user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
            investigators[site.id] = user.username
            pharmacists[site.id] = make_user(
                session, security, trial, Role.PHARMACIST, site=site
            ).username
            actor = principal(session, security, user)
            count = SUPPLY_CLIENTS_PER_SITE * SUPPLY_PATIENTS_PER_CLIENT
            by_site[site.id] = [
                make_eligible_patient(session, actor, site, record=records[n % len(records)]).id
                for n in range(count)
            ]
        administrator = make_user(session, security, trial, Role.ADMINISTRATOR).username
    database.dispose()
    return Supplied(url, trial.id, investigators, pharmacists, administrator, by_site)


@pytest.fixture(params=["sqlite", "postgresql"])
def supplied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supplied]:
    if request.param == "sqlite":
        yield _seed_supplied(f"sqlite:///{tmp_path_factory.mktemp('supplied') / 'live.db'}")
        return
    url = create_postgres_database("trialkit_supplied")
    try:
        yield _seed_supplied(url)
    finally:
        drop_postgres_database(url)


def _client(server: Server, username: str) -> httpx.Client:
    """A keep-alive connection of its own, logged in as ``username``."""
    client = httpx.Client(base_url=server.base, timeout=30)
    client.headers["Authorization"] = f"Bearer {_token(server, username)}"
    return client


def test_randomising_while_resupply_is_shipped_and_received_gives_no_server_error(
    supplied: Supplied,
) -> None:
    """Concurrent randomisations at sites whose stock runs down and is resupplied meanwhile
    (the depot ships each request as it comes, the pharmacists receive each shipment): every
    answer is a randomisation or a supply refusal (never a 5xx or a dropped connection),
    every patient is randomised in the end, and the trial is consistent: slots used once
    each and in order, one kit per randomisation, distinct numbers, the audit chain intact."""
    server = _start(supplied.url)
    statuses: list[int] = []  # every answer, of every client
    failures: list[str] = []
    randomised: list[dict[str, object]] = []
    done = threading.Event()
    refusal = "cannot dispense a kit for whichever treatment"

    def randomiser(site_id: int, patients: list[int]) -> None:
        with _client(server, supplied.investigators[site_id]) as client:
            for patient_id in patients:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        answer = client.post(f"/api/patients/{patient_id}/randomisation")
                    except httpx.HTTPError as exc:
                        failures.append(f"patient {patient_id}: {exc!r}")
                        break
                    statuses.append(answer.status_code)
                    if answer.status_code == 201:
                        randomised.append(answer.json())
                        break
                    if answer.status_code != 409 or refusal not in answer.text:
                        failures.append(f"patient {patient_id}: {answer.status_code} {answer.text}")
                        break
                    if time.monotonic() > deadline:
                        failures.append(f"patient {patient_id}: still refused after 60 s")
                        break
                    time.sleep(0.05)  # the pharmacist is receiving the shipment

    def depot_and_pharmacists() -> None:
        clients = {site: _client(server, name) for site, name in supplied.pharmacists.items()}
        depot = _client(server, supplied.administrator)
        received: set[int] = set()
        try:
            while True:
                finished = done.is_set()  # one more round after the last randomisation
                listed = depot.get(f"/api/trials/{supplied.trial_id}/resupply-requests")
                statuses.append(listed.status_code)
                for request in listed.json() if listed.status_code == 200 else []:
                    shipment = request["shipment_id"]
                    if shipment is None:
                        shipped = depot.post(f"/api/resupply-requests/{request['id']}/shipment")
                        statuses.append(shipped.status_code)
                        if shipped.status_code != 201:
                            continue  # waiting for depot stock (409): tried again next round
                        shipment = shipped.json()["id"]
                    if shipment not in received:
                        answer = clients[request["site_id"]].post(
                            f"/api/shipments/{shipment}/receipt", json={"damaged": []}
                        )
                        statuses.append(answer.status_code)
                        if answer.status_code == 200:
                            received.add(shipment)
                if finished:
                    return
                time.sleep(0.02)
        except httpx.HTTPError as exc:
            failures.append(f"depot or pharmacist: {exc!r}")
        finally:
            depot.close()
            for client in clients.values():
                client.close()

    try:
        with ThreadPoolExecutor(
            max_workers=len(supplied.patients) * SUPPLY_CLIENTS_PER_SITE + 1
        ) as pool:
            supply_loop = pool.submit(depot_and_pharmacists)
            work = [
                pool.submit(randomiser, site_id, patients[i::SUPPLY_CLIENTS_PER_SITE])
                for site_id, patients in supplied.patients.items()
                for i in range(SUPPLY_CLIENTS_PER_SITE)
            ]
            for future in work:
                future.result()
            done.set()
            supply_loop.result()
    finally:
        _stop(server)
    assert failures == []
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    everyone = [p for patients in supplied.patients.values() for p in patients]
    assert sorted(int(str(b["patient_id"])) for b in randomised) == sorted(everyone)
    numbers = [b["randomisation_number"] for b in randomised]
    assert len(set(numbers)) == len(numbers)
    assert all("arm" not in b for b in randomised)
    database = create_database(supplied.url, pool_size=2)
    try:
        assert _check_consistency(database, supplied.trial_id) == len(everyone)
        with database.sessions() as session:  # kits came and went only through the rules
            shipped = session.scalar(
                select(func.count())
                .select_from(ResupplyRequest)
                .where(
                    ResupplyRequest.trial_id == supplied.trial_id,
                    ResupplyRequest.shipment_id.is_not(None),
                )
            )
        assert (shipped or 0) > len(supplied.patients)  # resupplied during the run
    finally:
        database.dispose()
