"""Benchmark: every role's main pages on the seeded demo, in process and under 32 clients.

Seeds the demo trial (``trialkit serve --demo``'s data: 240 women screened, 221 randomised)
into a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a database created
on the server at ``--postgres`` and dropped afterwards); seeding is not timed, and the demo
users' passwords are hashed at the lowest argon2 cost (logins are not what is measured, and
96 of them open each run). Then:

1. In process, one request after another (no HTTP server, no concurrency): each role's main
   pages through the whole application (starlette's test client), with the service time
   (mean, p50, p95 of ``--repeat`` requests) and the SQL statements each sends (a SQLAlchemy
   ``before_cursor_execute`` counter).
2. Over HTTP: ``trialkit serve --workers N`` on 127.0.0.1 and ``--clients`` concurrent clients
   (threads, each with its own login session and connection, closed loop, no think time)
   requesting one page each for ``--seconds``; per page requests/s, p50, p95, errors, and
   requests/s as a ratio to ``GET /health`` (the floor) measured in the same run, and the
   machine's load average (1 minute) before and after each run: the figures mean little on a
   machine that other work shares.

Ends with one compact table of every run. With the defaults (SQLite, 1, 2 and 4 workers,
6 s per page) a run takes about 3 minutes on a database seeded already (``--database URL``,
e.g. ``sqlite:////tmp/demo.db`` after ``trialkit db upgrade && trialkit demo seed``; its users
then log in at the full argon2 cost), and the seeding of a fresh one 1.5 minutes more.

    .venv/bin/python benchmarks/bench_pages.py [--database sqlite|postgresql|URL[,...]]
        [--workers 1,2,4] [--clients 32] [--seconds 6] [--repeat 5] [--skip-http]
        [--skip-in-process] [--json]

Loopback only; it stops by itself (bounded time, per-request timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, make_url, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import create_bench_database, drop_bench_database

from trialkit.config import load_settings
from trialkit.service.demo import DEMO_USERS, demo_cutoff, seed_demo
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction
from trialkit.service.server import create_server
from trialkit.service.trials.tables import Trial

HOST = "127.0.0.1"
DEFAULT_POSTGRES = os.environ.get(
    "TRIALKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORDS = {u.username: u.password for u in DEMO_USERS}

LOADED_PAGES = (
    ("investigator", "/patients"),
    ("investigator", "/patients/{patient}"),
    ("monitor", "/monitor"),
    ("pharmacist", "/pharmacy"),
)
"""The pages driven by concurrent clients (the issue's table); ``{patient}``: a Milano one."""

MAIN_PAGES = (
    ("investigator", "/home"),
    ("investigator", "/patients"),
    ("investigator", "/patients/{patient}"),
    ("investigator", "/patients/{patient}/screening"),
    ("investigator", "/patients/{patient}/forms/tumour_assessment"),
    ("investigator", "/queries"),
    ("pharmacist", "/home"),
    ("pharmacist", "/pharmacy"),
    ("monitor", "/home"),
    ("monitor", "/monitor"),
    ("monitor", "/monitor/data"),
    ("monitor", "/queries"),
    ("statistician", "/home"),
    ("statistician", "/forecast"),
    ("statistician", "/design"),
    ("unblinded", "/home"),
    ("unblinded", "/reports"),
    ("dsmb", "/home"),
    ("admin", "/home"),
)
"""Each role's main pages, measured in process (with the two largest forms generated from the
protocol's definitions: the screening form and a tumour assessment)."""


class StatementCounter:
    """Counts the statements an engine sends (every ``cursor.execute``)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


def percentile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def seeded_cutoff(url: str) -> str:
    """The data cut-off of the demo already seeded in ``url`` (``--database URL``)."""
    database = create_database(url, pool_size=1)
    try:
        with database.sessions() as session:
            trial = session.scalars(select(Trial.id).order_by(Trial.id)).first()
            cutoff = None if trial is None else demo_cutoff(session, trial)
    finally:
        database.dispose()
    if cutoff is None:
        raise SystemExit(
            f"--database {url}: no seeded demo there; run 'trialkit db upgrade && trialkit demo "
            "seed' with TRIALKIT_DATABASE_URL set to it, or give sqlite or postgresql"
        )
    return cutoff.isoformat()


@contextmanager
def bench_database(backend: str, postgres: str) -> Iterator[str]:
    """A fresh, empty database of ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="trialkit-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'trialkit.db'}"
        return
    url = create_bench_database(postgres)
    try:
        yield url
    finally:
        drop_bench_database(postgres, url)


def seed(url: str, secret: str) -> str:
    """The demo trial in ``url``; its data cut-off (the service's calendar date)."""
    settings = load_settings(
        database_url=url,
        secret_key=secret,
        demo=True,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    database = create_database(url, pool_size=2)
    try:
        upgrade(database.engine)
        with transaction(database) as session:
            outcome = seed_demo(session=session, security=Security.from_settings(settings))
    finally:
        database.dispose()
    assert outcome.cutoff is not None
    return outcome.cutoff.isoformat()


def environment(url: str, secret: str, cutoff: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRIALKIT_DATABASE_URL": url,
        "TRIALKIT_SECRET_KEY": secret,
        "TRIALKIT_DEMO": "1",
        "TRIALKIT_CALENDAR_DATE": cutoff,
    }


def first_patient(get: Any) -> int:
    """The first patient of the investigator's site (from the API, as the investigator)."""
    trial = get("/api/trials").json()[0]
    site = next(s for s in get(f"/api/trials/{trial['id']}/sites").json() if s["code"] == "IT01")
    listed = get(f"/api/sites/{site['id']}/patients").json()
    return min(p["id"] for p in listed)


@dataclass(frozen=True)
class InProcess:
    role: str
    path: str
    status: int
    statements: int
    mean_ms: float
    p50_ms: float
    p95_ms: float

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


def in_process(url: str, secret: str, cutoff: str, repeat: int) -> list[InProcess]:
    """Each main page, ``repeat`` times one after another, through the whole application."""
    saved = dict(os.environ)
    os.environ.update(environment(url, secret, cutoff))
    try:
        settings = load_settings()
        database = create_database(url, pool_size=4)
        counter = StatementCounter(database.engine)
        results: list[InProcess] = []
        with TestClient(create_server(settings, database=database)) as client:
            patient: int | None = None
            for role in dict.fromkeys(role for role, _ in MAIN_PAGES):
                client.cookies.clear()
                login = client.post(
                    "/api/auth/session", json={"username": role, "password": PASSWORDS[role]}
                )
                login.raise_for_status()
                if patient is None:
                    patient = first_patient(client.get)
                for page_role, template in MAIN_PAGES:
                    if page_role != role:
                        continue
                    path = template.format(patient=patient)
                    client.get(path)  # warm: templates, caches per data snapshot
                    times, counts, status = [], [], 0
                    for _ in range(repeat):
                        before = counter.count
                        start = time.perf_counter()
                        status = client.get(path, follow_redirects=False).status_code
                        times.append((time.perf_counter() - start) * 1000)
                        counts.append(counter.count - before)
                    results.append(
                        InProcess(
                            role=role,
                            path=path,
                            status=status,
                            statements=max(counts),
                            mean_ms=round(statistics.fmean(times), 1),
                            p50_ms=round(percentile(times, 50), 1),
                            p95_ms=round(percentile(times, 95), 1),
                        )
                    )
        database.dispose()
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True)
class Loaded:
    role: str
    path: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    def row(self, floor: float | None) -> dict[str, Any]:
        rps = self.requests / self.seconds
        return {
            "role": self.role,
            "path": self.path,
            "requests": self.requests,
            "errors": self.errors,
            "rps": round(rps, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p95_ms": round(percentile(self.latencies_ms, 95), 1),
            "ratio_to_floor": round(rps / floor, 3) if floor else 1.0,
            "error_statuses": {str(k): v for k, v in self.statuses.items() if k >= 400 or k == 0},
        }


def start_server(port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "trialkit.cli.main", "serve", "--host", HOST]
    command += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise SystemExit(f"the server exited with code {server.returncode}: {stderr[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy in time")


def logged_in(base: str, role: str) -> httpx.Cookies:
    """A new login session of ``role``: its cookies."""
    with httpx.Client(base_url=base, timeout=60) as client:
        answer = client.post(
            "/api/auth/session", json={"username": role, "password": PASSWORDS[role]}
        )
        answer.raise_for_status()
        return httpx.Cookies(client.cookies)


Jar = dict[str, list[httpx.Cookies]]
"""Each role's login sessions (cookies), opened once per database and used by every run."""


def drive(clients: list[httpx.Client], role: str, path: str, seconds: float) -> Loaded:
    """Every client requests ``path`` in a closed loop for ``seconds``."""
    deadline = time.perf_counter() + seconds

    def work(client: httpx.Client) -> tuple[list[float], dict[int, int]]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                status = client.get(path, follow_redirects=False).status_code
            except httpx.HTTPError:
                status = 0
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        return latencies, statuses

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        outcomes = list(pool.map(work, clients))
    elapsed = time.perf_counter() - start
    latencies = [x for lat, _ in outcomes for x in lat]
    statuses: dict[int, int] = {}
    for _, counted in outcomes:
        for status, n in counted.items():
            statuses[status] = statuses.get(status, 0) + n
    errors = sum(n for status, n in statuses.items() if status >= 400 or status == 0)
    return Loaded(role, path, len(latencies), errors, elapsed, latencies, statuses)


def load_average() -> float:
    """The machine's load average over the last minute."""
    return round(os.getloadavg()[0], 2)


def under_load(
    env: dict[str, str], *, port: int, workers: int, clients: int, seconds: float, jar: Jar
) -> tuple[list[dict[str, Any]], tuple[float, float]]:
    """Each loaded page's row (the floor first), and the load average before and after.

    The login sessions are opened on the first run (in parallel: the password hash is the
    slow part) and kept in ``jar`` for the next runs, which start a server on the same
    database.
    """
    base = f"http://{HOST}:{port}"
    server = start_server(port, env, workers)
    opened: list[httpx.Client] = []
    try:
        wait_healthy(base, server)
        roles = list(dict.fromkeys(role for role, _ in LOADED_PAGES))
        if not jar:
            with ThreadPoolExecutor(max_workers=8) as pool:
                for role in roles:
                    jar[role] = list(pool.map(logged_in, [base] * clients, [role] * clients))
        sessions: dict[str, list[httpx.Client]] = {}
        for role in roles:
            sessions[role] = [
                httpx.Client(base_url=base, timeout=60, cookies=cookies) for cookies in jar[role]
            ]
            opened += sessions[role]
        patient = first_patient(sessions["investigator"][0].get)
        for role, template in LOADED_PAGES:  # warm every worker's caches and templates
            drive(sessions[role], role, template.format(patient=patient), 1)
        before = load_average()
        floor = drive(sessions["investigator"], "-", "/health", seconds)
        floor_rps = floor.requests / floor.seconds
        rows = [floor.row(None)]
        for role, template in LOADED_PAGES:
            path = template.format(patient=patient)
            rows.append(drive(sessions[role], role, path, seconds).row(floor_rps))
        return rows, (before, load_average())
    finally:
        for client in opened:
            client.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database",
        "--backends",
        dest="backends",
        default="sqlite",
        help="sqlite and/or postgresql (a fresh database seeded with the demo, dropped after), or "
        "the URL of a database seeded already (trialkit demo seed), comma-separated.",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=6, help="Seconds per loaded page.")
    parser.add_argument("--workers", default="1,2,4", help="Comma-separated worker counts.")
    parser.add_argument("--repeat", type=int, default=5, help="In-process requests per page.")
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(b for b in set(backends) - {"sqlite", "postgresql"} if "://" not in b)
    if unknown or not backends:
        parser.error(
            f"--database: give sqlite, postgresql or a seeded database's URL, not {args.backends!r}"
        )
    try:
        counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers: give worker counts such as 1,2,4, not {args.workers!r}")
    if any(w < 1 for w in counts):
        parser.error(f"--workers: each count must be 1 or more, not {args.workers!r}")
    report: dict[str, Any] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "backends": {},
    }
    for backend in backends:
        secret = secrets.token_urlsafe(32)
        seeded = "://" in backend
        with nullcontext(backend) if seeded else bench_database(backend, args.postgres) as url:
            started = time.perf_counter()
            cutoff = seeded_cutoff(url) if seeded else seed(url, secret)
            entry: dict[str, Any] = {
                "database": make_url(url).get_backend_name(),
                "seed_s": round(time.perf_counter() - started, 1),
            }
            if not args.skip_in_process:
                entry["in_process"] = [
                    r.row() for r in in_process(url, secret, cutoff, args.repeat)
                ]
                if not args.json:
                    print(f"{backend}: seeded in {entry['seed_s']} s, in process done", flush=True)
            if not args.skip_http:
                env = environment(url, secret, cutoff)
                entry["http"] = {}
                jar: Jar = {}
                for workers in counts:
                    rows, (load_before, load_after) = under_load(
                        env,
                        port=args.port,
                        workers=workers,
                        clients=args.clients,
                        seconds=args.seconds,
                        jar=jar,
                    )
                    entry["http"][str(workers)] = {
                        "load_average": [load_before, load_after],
                        "pages": rows,
                    }
                    if not args.json:
                        print(
                            f"{backend}, {workers} worker(s): done (load average "
                            f"{load_before} -> {load_after})",
                            flush=True,
                        )
            report["backends"][backend] = entry
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 0


def print_table(report: dict[str, Any]) -> None:
    """Every run in one table: in process, then under load with the load average."""
    print(f"\n{report['clients']} clients, {report['seconds']} s per page, {report['cpus']} CPUs")
    print(
        f"{'database':<10} {'role':<13} {'page':<14} {'HTTP':>4} {'stmts':>5} {'p50 ms':>8} "
        f"{'p95 ms':>8}"
    )
    for entry in report["backends"].values():
        for row in entry.get("in_process", []):
            print(
                f"{entry['database']:<10} {row['role']:<13} {row['path']:<14} {row['status']:>4} "
                f"{row['statements']:>5} "
                f"{row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}"
            )
    print(
        f"\n{'database':<10} {'w':>1} {'load':>9} {'role':<13} {'page':<12} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'err':>4} {'x floor':>7}"
    )
    for entry in report["backends"].values():
        for workers, run in entry.get("http", {}).items():
            load = "{:.1f}-{:.1f}".format(*run["load_average"])
            for row in run["pages"]:
                errors = f"{row['errors']}" + (
                    f" {row['error_statuses']}" if row["error_statuses"] else ""
                )
                print(
                    f"{entry['database']:<10} {workers:>1} {load:>9} {row['role']:<13} "
                    f"{row['path']:<12} "
                    f"{row['rps']:>7.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
                    f"{errors:>4} {row['ratio_to_floor']:>7.3f}"
                )


if __name__ == "__main__":
    raise SystemExit(main())
