"""Two servers on one database, as behind a load balancer: uvicorn twice in subprocesses on
127.0.0.1, each with its own memory. Randomising, dispensing and failed logins sent to both at
once: no duplicate randomisation or kit, no failed password left uncounted, and what one server
wrote is what the other shows on its very next request, its cached trial report included (a
login on the other server leaves that cache, a randomisation there empties it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import PASSWORD, SYSTEM, make_user
from tests.service.randomisation.test_concurrency import (
    CONCURRENT,
    Live,
    Server,
    _check_consistency,
    _seed,
    _start,
    _stop,
    _token,
    servers_security,
)
from trialkit.service.platform import audit
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import RoleAssignment, User
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation.tables.supply import Dispensing
from trialkit.service.trials import trials

MAX_FAILED_LOGINS = 5  # the settings' default, which the servers run with


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Live, Server, Server]]:
    """One seeded database and two servers on it."""
    if request.param == "sqlite":
        live = _seed(f"sqlite:///{tmp_path_factory.mktemp('shared') / 'shared.db'}")
        url = None
    else:
        url = create_postgres_database("trialkit_shared")
        live = _seed(url)
    first = _start(live.url)
    try:
        second = _start(live.url)
        try:
            yield live, first, second
        finally:
            _stop(second)
    finally:
        _stop(first)
        if url is not None:
            drop_postgres_database(url)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _pharmacist(url: str) -> str:
    database = create_database(url, pool_size=1)
    try:
        with database.sessions() as session:
            name = session.scalar(
                select(User.username)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(RoleAssignment.role == Role.PHARMACIST.value)
            )
    finally:
        database.dispose()
    assert name is not None
    return name


def test_randomise_and_dispense_across_two_servers(shared: tuple[Live, Server, Server]) -> None:
    """Patients randomised through both servers at once, each read back from the other server
    at once; then each patient's next kit asked of both servers at once: one kit each."""
    live, first, second = shared
    servers = (first, second)
    tokens = [_token(server, live.username) for server in servers]
    mine = live.patients[:CONCURRENT]

    def randomise(index: int) -> tuple[int, dict[str, object] | None]:
        server = index % 2
        answer = httpx.post(
            f"{servers[server].base}/api/patients/{mine[index]}/randomisation",
            headers=_bearer(tokens[server]),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        # the other server, on its next request: the randomisation is there (no stale read)
        other = 1 - server
        shown = httpx.get(
            f"{servers[other].base}/api/patients/{mine[index]}/randomisation",
            headers=_bearer(tokens[other]),
            timeout=30,
        )
        assert shown.status_code == 200, shown.text
        return answer.json()["randomisation_number"], shown.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(randomise, range(len(mine))))
    numbers = [number for number, _ in outcomes]
    assert len(set(numbers)) == len(mine)
    assert all(
        shown is not None and shown["randomisation_number"] == number for number, shown in outcomes
    )
    database = create_database(live.url, pool_size=2)
    try:
        assert _check_consistency(database, live.trial_id) == len(mine)
    finally:
        database.dispose()

    pharmacist = _pharmacist(live.url)
    kits_tokens = [_token(server, pharmacist) for server in servers]

    def dispense(job: tuple[int, int]) -> int:
        patient, server = job
        return httpx.post(
            f"{servers[server].base}/api/patients/{patient}/dispensings",
            headers=_bearer(kits_tokens[server]),
            json={"cycle": 2, "override_reason": "two-server test: both servers asked at once"},
            timeout=30,
        ).status_code

    jobs = [(patient, server) for patient in mine for server in (0, 1)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(dispense, jobs))
    for index in range(len(mine)):  # one server dispensed the kit, the other refused
        assert sorted(statuses[2 * index : 2 * index + 2]) == [201, 409], statuses

    database = create_database(live.url, pool_size=2)
    try:
        with database.sessions() as session:
            second_kits = session.scalars(
                select(Dispensing.kit_id).where(
                    Dispensing.patient_id.in_(mine), Dispensing.cycle == 2
                )
            ).all()
        assert len(second_kits) == len(set(second_kits)) == len(mine)
    finally:
        database.dispose()


def test_failed_logins_on_both_servers_all_count(shared: tuple[Live, Server, Server]) -> None:
    """Wrong passwords sent to both servers at once each count; the lock-out that follows
    holds on both, for the right password too."""
    live, first, second = shared
    username = _pharmacist(live.url)
    servers = (first, second)
    wrong = MAX_FAILED_LOGINS - 1

    def fail(index: int) -> int:
        return httpx.post(
            f"{servers[index % 2].base}/api/auth/token",
            json={"username": username, "password": "not the password"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=wrong) as pool:
        assert list(pool.map(fail, range(wrong))) == [401] * wrong

    database = create_database(live.url, pool_size=1)
    try:
        with database.sessions() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            assert user.failed_logins == wrong  # none lost between the two servers
            assert user.locked_until is None
        assert fail(wrong) == 401  # the last allowed failure locks the account
        with database.sessions() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            assert user.locked_until is not None
            counted = session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "login_failed",
                    AuditEvent.entity_id == str(user.id),
                    AuditEvent.reason == "wrong password",
                )
            )
            assert counted == MAX_FAILED_LOGINS
    finally:
        database.dispose()
    for server in servers:  # locked on both: the right password is refused too
        answer = httpx.post(
            f"{server.base}/api/auth/token",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        assert answer.status_code == 401
        assert "locked" in answer.json()["detail"]


def _statistician(url: str, trial_id: int) -> str:
    database = create_database(url, pool_size=1)
    try:
        with transaction(database) as session:
            trial = trials.get_trial(session=session, actor=SYSTEM, trial_id=trial_id)
            user = make_user(session, servers_security(url), trial, Role.STATISTICIAN)
    finally:
        database.dispose()
    return user.username


def _data_version(url: str) -> str:
    database = create_database(url, pool_size=1)
    try:
        with database.sessions() as session:
            return audit.data_version(session)
    finally:
        database.dispose()


def test_a_cached_report_follows_a_write_on_the_other_server(
    shared: tuple[Live, Server, Server],
) -> None:
    """The first server's report, built once and served again from its cache, shows a patient
    randomised through the second server on its very next request; a login there did not
    empty the cache (the data version stayed), the randomisation did."""
    live, first, second = shared
    token = _token(first, _statistician(live.url, live.trial_id))

    def snapshot() -> str:
        answer = httpx.get(
            f"{first.base}/api/trials/{live.trial_id}/report", headers=_bearer(token), timeout=60
        )
        assert answer.status_code == 200, answer.text
        found = re.search(r"<code>([0-9a-f]{64})</code>", answer.text)
        assert found is not None
        return found.group(1)

    before = snapshot()
    version = _data_version(live.url)
    other = _token(second, live.username)  # a login on the other server
    assert _data_version(live.url) == version
    assert snapshot() == before

    patient = live.patients[-1]  # not one the other tests randomise
    answer = httpx.post(
        f"{second.base}/api/patients/{patient}/randomisation", headers=_bearer(other), timeout=30
    )
    assert answer.status_code == 201, answer.text
    assert _data_version(live.url) != version
    assert snapshot() != before  # one more patient in the ITT population: a new snapshot
