"""Benchmark: 20 concurrent clients submitting screening records to the running service.

Starts ``trialkit serve`` on 127.0.0.1 against a fresh PostgreSQL database (created
and dropped here), logs in over HTTP, and drives it with a bounded number of
requests from concurrent clients; each client corrects its own patient's record
(every submission is a new version with a reason, one transaction with its audit
events). Reports throughput and p50/p95/p99 latency, beside the same server's
floor (``GET /health`` under the same load) measured in the same run.

    .venv/bin/python benchmarks/bench_service.py [--clients 20] [--requests 2000]

Loopback only; it stops by itself (bounded request count, per-request timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trialkit.config import load_settings
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction
from trialkit.service.trials import trials, users

HOST = "127.0.0.1"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sor" / "01_endocrine_bone_only.json"
PASSWORD = "benchmark password 0123"


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))]

    def row(self) -> dict[str, float | int | str]:
        return {
            "case": self.name,
            "requests": self.requests,
            "errors": self.errors,
            "throughput_rps": round(self.requests / self.seconds, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 1),
        }


def create_bench_database(server_url: str) -> str:
    server = make_url(server_url)
    name = f"trialkit_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_bench_database(server_url: str, url: str) -> None:
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, clients: int) -> None:
    """Schema, the SOR trial, an active site and one investigator per client."""
    settings = load_settings(database_url=url, secret_key="x" * 40)
    database = create_database(url, pool_size=2)
    upgrade(database.engine)
    actor = Principal.system(request_id="bench-seed")
    security = Security.from_settings(settings)
    with transaction(database) as session:
        trial = trials.create_trial(session=session, actor=actor, protocol_name="sor")
        site = trials.add_site(
            session=session,
            actor=actor,
            trial_id=trial.id,
            code="IT01",
            name="Milano",
            city="Milano",
            country="IT",
            coordinating=True,
        )
        trials.record_ethics_approval(
            session=session,
            actor=actor,
            site_id=site.id,
            committee="EC",
            approval_date=trial.first_enrolment.replace(month=6, day=20),
            protocol_version=trial.protocol_version,
        )
        trials.activate_site(session=session, actor=actor, site_id=site.id)
        for i in range(clients):
            user = users.create_user(
                session=session,
                security=security,
                actor=actor,
                username=f"bench-{i}",
                full_name=f"Bench {i}",
                password=PASSWORD,
            )
            users.grant_role(
                session=session,
                actor=actor,
                user_id=user.id,
                trial_id=trial.id,
                role=Role.INVESTIGATOR,
                site_id=site.id,
            )
    database.dispose()


def start_server(port: int, env: dict[str, str], *, workers: int = 1) -> subprocess.Popen[bytes]:
    """``trialkit serve`` on the loopback interface, in its own process."""
    command = [sys.executable, "-m", "trialkit.cli.main", "serve", "--host", HOST]
    command += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def logged_in_client(base: str, username: str, *, timeout: float) -> httpx.Client:
    """An HTTP client holding a bearer token for ``username`` (the benchmark password)."""
    client = httpx.Client(base_url=base, timeout=timeout)
    token = client.post(
        "/api/auth/token", json={"username": username, "password": PASSWORD}
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy in time")


def drive(
    name: str,
    clients: list[httpx.Client],
    total: int,
    call: Callable[[httpx.Client, int, int], httpx.Response],
) -> Result:
    per_client = max(1, total // len(clients))

    def work(index: int) -> tuple[list[float], int]:
        client, latencies, errors = clients[index], [], 0
        for n in range(per_client):
            start = time.perf_counter()
            try:
                ok = call(client, index, n).status_code < 400
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok
        return latencies, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        outcomes = list(pool.map(work, range(len(clients))))
    seconds = time.perf_counter() - start
    latencies = [x for lat, _ in outcomes for x in lat]
    return Result(name, len(latencies), sum(e for _, e in outcomes), seconds, latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="Screening submissions in all.")
    parser.add_argument("--evaluations", type=int, default=100, help="Eligibility evaluations.")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TRIALKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (a database is created there and dropped afterwards).",
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()

    url = create_bench_database(args.postgres)
    base = f"http://{HOST}:{args.port}"
    env = {
        **os.environ,
        "TRIALKIT_DATABASE_URL": url,
        "TRIALKIT_SECRET_KEY": secrets.token_urlsafe(32),
        "TRIALKIT_DEMO": "0",
    }
    server = None
    try:
        seed(url, args.clients)
        server = start_server(args.port, env, workers=args.workers)
        wait_healthy(base, server)
        record = json.loads(EXAMPLE.read_text())
        clients, patients = [], []
        for i in range(args.clients):
            client = logged_in_client(base, f"bench-{i}", timeout=30)
            patient = client.post(
                "/api/sites/1/patients", json={"screening_number": f"B-{i}"}
            ).json()
            client.post(f"/api/patients/{patient['id']}/screening-records", json={"data": record})
            clients.append(client)
            patients.append(patient["id"])

        def submit(client: httpx.Client, index: int, n: int) -> httpx.Response:
            return client.post(
                f"/api/patients/{patients[index]}/screening-records",
                json={"data": record, "reason": f"benchmark correction {n}"},
            )

        def evaluate(client: httpx.Client, index: int, n: int) -> httpx.Response:
            return client.post(f"/api/patients/{patients[index]}/eligibility")

        drive("warm-up", clients, args.clients * 5, submit)
        results = [
            drive("GET /health (floor)", clients, args.requests, lambda c, i, n: c.get("/health")),
            drive("POST screening-records", clients, args.requests, submit),
            drive("POST eligibility (evaluate)", clients, args.evaluations, evaluate),
        ]
        verify = subprocess.run(
            [sys.executable, "-m", "trialkit.cli.main", "audit", "verify"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for client in clients:
            client.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_bench_database(args.postgres, url)

    rows = [r.row() for r in results]
    floor, submit_row = rows[0], rows[1]
    summary = {
        "clients": args.clients,
        "workers": args.workers,
        "database": "postgresql",
        "results": rows,
        "screening_p95_target_ms": 50,
        "screening_p95_met": float(submit_row["p95_ms"]) < 50,
        "screening_p50_vs_health_p50": round(
            float(submit_row["p50_ms"]) / max(float(floor["p50_ms"]), 0.001), 1
        ),
        "audit_verify": verify.stdout.strip() or verify.stderr.strip(),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{args.clients} concurrent clients, PostgreSQL, {args.workers} worker(s) on {base}")
    header = ("requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(f"{'case':<30}" + "".join(f"{h:>9}" for h in header))
    for row in rows:
        print(
            f"{row['case']:<30}{row['requests']:>9}{row['errors']:>8}{row['throughput_rps']:>9}"
            f"{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}"
        )
    print(
        f"screening p95 < 50 ms: {summary['screening_p95_met']}; "
        f"p50 is {summary['screening_p50_vs_health_p50']}x the /health floor"
    )
    print(summary["audit_verify"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
