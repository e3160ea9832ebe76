"""Benchmark: in-process service time of a screening submission and of a randomisation.

No HTTP and no concurrency: the two use cases behind ``POST .../screening-records`` and
``POST /api/patients/{id}/randomisation``, each in its own transaction exactly as the API
opens one (:func:`trialkit.service.platform.transaction`), timed one after another in this process
on SQLite (a file in a temporary folder) and on PostgreSQL (a fresh database on the server at
``--postgres``, dropped afterwards). Seeding (SOR sealed, a stocked site, patients registered,
screened, evaluated and consented through the service) is not timed.

Reported per operation: wall time (mean, p50, p95), CPU time of this process
(``time.process_time``) and SQL statements sent (a SQLAlchemy ``before_cursor_execute``
counter, SAVEPOINTs included). Peer, measured in the same run on the same database: the
database's own cost of one bare ``INSERT`` + ``COMMIT`` transaction through the same engine
(the floor of any audited write), and the ratio of each operation to it. ``--profile`` adds a
cProfile summary (cumulative time) of each timed loop (``BENCH_PROFILE_FILTER=trialkit``:
only the project's functions). ``--analyze`` runs ``ANALYZE`` after seeding, as autovacuum
would a minute later; without it the freshly filled tables have no statistics, as right after
a trial's lists are sealed.

    .venv/bin/python benchmarks/bench_service_time.py [-n 200] [--backends sqlite,postgresql]
        [--postgres URL] [--profile] [--analyze]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import create_bench_database, drop_bench_database

from trialkit.config import load_settings
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import verify_chain
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation import allocation, randomisation, supply
from trialkit.service.randomisation.tables.supply import ResupplyRequest
from trialkit.service.screening import patients
from trialkit.service.trials import trials, users
from trialkit.service.trials.tables import Site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sor" / "01_endocrine_bone_only.json"
ON_DATE = dt.date(2008, 3, 3)
DEFAULT_POSTGRES = os.environ.get(
    "TRIALKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class StatementCounter:
    """Counts the statements an engine sends (every ``cursor.execute``, SAVEPOINTs included)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


@dataclass(frozen=True)
class Timing:
    case: str
    n: int
    wall_ms: list[float]
    cpu_ms: float  # mean per operation
    statements: float  # mean per operation

    def row(self, floor_ms: float | None) -> str:
        mean = statistics.fmean(self.wall_ms)
        ratio = f"{mean / floor_ms:.1f}x" if floor_ms else "-"
        return (
            f"| {self.case} | {self.n} | {mean:.2f} | {percentile(self.wall_ms, 50):.2f} | "
            f"{percentile(self.wall_ms, 95):.2f} | {self.cpu_ms:.2f} | {self.statements:.1f} | "
            f"{ratio} |"
        )


def percentile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def profiled(enabled: bool, title: str) -> Iterator[cProfile.Profile | None]:
    if not enabled:
        yield None
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield profiler
    finally:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(
            os.environ.get("BENCH_PROFILE_FILTER", ""), 35
        )
        print(f"\n--- profile: {title} ---")
        print("\n".join(out.getvalue().splitlines()[:60]))


def timed(
    case: str,
    operations: list[Callable[[], object]],
    counter: StatementCounter,
    *,
    profile: bool,
    between: Callable[[], object] | None = None,
) -> Timing:
    """Run the operations one by one; ``between`` runs after each, neither timed nor counted."""
    walls: list[float] = []
    cpu = 0.0
    statements = 0
    with profiled(profile, case) as profiler:
        for operation in operations:
            statements_before = counter.count
            cpu_start = time.process_time()
            start = time.perf_counter()
            operation()
            walls.append((time.perf_counter() - start) * 1000)
            cpu += (time.process_time() - cpu_start) * 1000
            statements += counter.count - statements_before
            if between is not None:
                if profiler is not None:
                    profiler.disable()
                between()
                if profiler is not None:
                    profiler.enable()
    n = len(operations)
    return Timing(case, n, walls, cpu / n, statements / n)


@dataclass
class Seeded:
    screening: list[tuple[Principal, int]]  # (investigator, patient with one record version)
    ready: list[tuple[Principal, int]]  # eligible, consented, not randomised
    restock: Callable[[], None]  # ship and receive the site's pending resupply requests


def seed(database: Database, n: int) -> Seeded:
    """SOR sealed, one Italian site, an investigator, 2n screened patients.

    The site holds the stock the supply rules give it (resupplied below 16 kits, each arm
    to 10), as a site does: its kit queries then read a site's real handful of kits.
    Between timed randomisations, :attr:`Seeded.restock` ships and receives what the
    randomisations' resupply checks requested (untimed: the depot's and pharmacist's work).
    """
    settings = load_settings(database_url=database.url, secret_key="x" * 40, argon2_time_cost=1)
    security = Security.from_settings(settings)
    system = Principal.system(request_id="bench-seed")
    per_arm = n + 64
    with transaction(database) as session:
        trial = trials.create_trial(session=session, actor=system, protocol_name="sor")
        site = trials.add_site(
            session=session,
            actor=system,
            trial_id=trial.id,
            code="IT01",
            name="Milano",
            city="Milano",
            country="IT",
        )
        trials.record_ethics_approval(
            session=session,
            actor=system,
            site_id=site.id,
            committee="EC",
            approval_date=dt.date(2007, 6, 20),
            protocol_version=trial.protocol_version,
        )
        trials.activate_site(session=session, actor=system, site_id=site.id)
        allocation.seal(
            session=session,
            actor=system,
            trial_id=trial.id,
            kits=2 * per_arm + 400,
            slots_per_stratum=max(n + 200, 264),
        )
        row = session.get(Site, site.id)
        assert row is not None
        assert supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=ON_DATE)
        user = users.create_user(
            session=session,
            security=security,
            actor=system,
            username="bench-investigator",
            full_name="Bench Investigator",
            password="bench-password-0123456789",
        )
        assignment = users.grant_role(
            session=session,
            actor=system,
            user_id=user.id,
            trial_id=trial.id,
            role=Role.INVESTIGATOR,
            site_id=site.id,
        )
    investigator = Principal(
        user.id,
        user.username,
        (Grant(Role.INVESTIGATOR, trial.id, site.id, assignment.id),),
        request_id="bench",
    )
    record = json.loads(EXAMPLE.read_text())
    pharmacist = Principal(None, "bench", (Grant(Role.PHARMACIST, trial.id, site.id),))

    def restock() -> None:
        with transaction(database) as session:
            pending = session.scalars(
                select(ResupplyRequest.id).where(
                    ResupplyRequest.site_id == site.id, ResupplyRequest.shipment_id.is_(None)
                )
            ).all()
            for request_id in pending:
                shipment = supply.ship_resupply(
                    session=session, actor=system, request_id=request_id, today=ON_DATE
                )
                supply.receive_shipment(
                    session=session, actor=pharmacist, shipment_id=shipment.id, today=ON_DATE
                )

    restock()
    seeded = Seeded([], [], restock)
    with transaction(database) as session:
        for i in range(2 * n):
            patient = patients.register_patient(
                session=session, actor=investigator, site_id=site.id, screening_number=f"B-{i}"
            )
            patients.submit_screening_record(
                session=session, actor=investigator, patient_id=patient.id, data=record
            )
            if i < n:
                seeded.screening.append((investigator, patient.id))
                continue
            patients.evaluate_eligibility(
                session=session, actor=investigator, patient_id=patient.id
            )
            patients.record_consent(
                session=session,
                actor=investigator,
                patient_id=patient.id,
                consent_date=ON_DATE,
                information_sheet_version="1.0",
                today=ON_DATE,
            )
            seeded.ready.append((investigator, patient.id))
    return seeded


def floor(database: Database, n: int, counter: StatementCounter) -> Timing:
    """The database's own cost of one bare INSERT + COMMIT transaction (the peer)."""
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, v TEXT)"))

    def insert(i: int) -> Callable[[], object]:
        def run() -> None:
            with database.engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO bench_floor (id, v) VALUES (:i, :v)"), {"i": i, "v": "x"}
                )

        return run

    return timed(
        "bare INSERT + COMMIT (floor)", [insert(i) for i in range(n)], counter, profile=False
    )


def run_backend(name: str, url: str, n: int, *, profile: bool, analyze: bool) -> list[Timing]:
    database = create_database(url, pool_size=2)
    try:
        upgrade(database.engine)
        seeded = seed(database, n)
        if analyze:  # statistics as autovacuum would gather them a minute after seeding
            with database.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        counter = StatementCounter(database.engine)
        record = json.loads(EXAMPLE.read_text())
        record_changed = {**record, "ecog": 0} if "ecog" in record else dict(record)

        def submit(actor: Principal, patient_id: int) -> Callable[[], object]:
            def run() -> object:
                with transaction(database) as session:
                    return patients.submit_screening_record(
                        session=session,
                        actor=actor,
                        patient_id=patient_id,
                        data=record_changed,
                        reason="bench: corrected after source data verification",
                    )

            return run

        def randomise(actor: Principal, patient_id: int) -> Callable[[], object]:
            def run() -> object:
                with transaction(database) as session:
                    return randomisation.randomise(
                        session=session, actor=actor, patient_id=patient_id, on_date=ON_DATE
                    )

            return run

        results = [
            floor(database, n, counter),
            timed(
                "submit_screening_record",
                [submit(a, p) for a, p in seeded.screening],
                counter,
                profile=profile,
            ),
            timed(
                "randomise",
                [randomise(a, p) for a, p in seeded.ready],
                counter,
                profile=profile,
                between=seeded.restock,
            ),
        ]
        with database.sessions() as session:
            report = verify_chain(session)
        if not report.intact:
            raise SystemExit(f"{name}: {report.summary()}")
        print(f"{name}: {report.summary()}", file=sys.stderr)
        return results
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=200, help="operations of each kind (default 200)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--profile", action="store_true", help="cProfile each timed loop")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the database after seeding (else fresh tables have no statistics)",
    )
    args = parser.parse_args(argv)
    print(
        f"# bench_service_time: n={args.n}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    header = (
        "| backend | case | n | wall mean ms | p50 ms | p95 ms | CPU ms/op | statements/op | "
        "x floor |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    rows: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                results = run_backend(
                    backend,
                    f"sqlite:///{folder}/bench.db",
                    args.n,
                    profile=args.profile,
                    analyze=args.analyze,
                )
        elif backend == "postgresql":
            url = create_bench_database(args.postgres)
            try:
                results = run_backend(
                    backend, url, args.n, profile=args.profile, analyze=args.analyze
                )
            finally:
                drop_bench_database(args.postgres, url)
        else:
            parser.error(f"unknown backend {backend!r} (sqlite, postgresql)")
        floor_ms = statistics.fmean(results[0].wall_ms)
        rows.extend(f"| {backend} " + r.row(None if r is results[0] else floor_ms) for r in results)
    print(header)
    print("\n".join(rows))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
