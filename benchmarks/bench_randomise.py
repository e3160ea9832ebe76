"""Benchmark: 32 concurrent HTTP clients randomising patients on the running service (PostgreSQL).

Creates a fresh PostgreSQL database (dropped afterwards), seals SOR's lists, stocks
four sites (DE, IT, PL, RU) with kits, and loads eligible, consented patients in bulk
through the service (not over HTTP). Then ``trialkit``'s API (uvicorn on 127.0.0.1)
is driven by concurrent clients, each an investigator randomising its own site's
patients. Reports randomisations per second and latency percentiles beside the
same server's ``GET /health`` floor measured in the same run, then checks the
result in the database: no duplicate slot, number or kit, no gap in any
stratum, every completed block balanced, and the audit chain intact.

    .venv/bin/python benchmarks/bench_randomise.py [--clients 32] [--randomisations 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import yaml
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import (
    PASSWORD,
    create_bench_database,
    drop_bench_database,
    logged_in_client,
    start_server,
    wait_healthy,
)

from trialkit.config import load_settings
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import verify_chain
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation import allocation, supply
from trialkit.service.randomisation.tables.randomisation import AllocationSlot, Randomisation
from trialkit.service.randomisation.tables.supply import Dispensing
from trialkit.service.screening import patients
from trialkit.service.trials import trials, users
from trialkit.service.trials.tables import Site

HOST = "127.0.0.1"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sor" / "01_endocrine_bone_only.json"
SOR_FILE = Path(__file__).resolve().parents[1] / "src/trialkit/protocol/protocols/sor.yaml"
CALENDAR_DATE = "2008-03-03"
COUNTRIES = ("DE", "IT", "PL", "RU")
BATCH = 250


def uncapped_sor(total: int) -> str:
    """SOR with its enrolment cap raised to ``total`` (the load randomises far more patients
    than the protocol's cap of 242, past which randomisation is refused): a protocol file's path."""
    data = yaml.safe_load(SOR_FILE.read_text(encoding="utf-8"))
    data["enrolment"]["cap"] = max(int(data["enrolment"]["cap"]), total)
    path = Path(tempfile.mkdtemp(prefix="bench-randomise-")) / "sor-uncapped.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


def seed(url: str, clients: int, total: int) -> dict[int, list[int]]:
    """Trial, sealed lists, stocked sites, investigators and eligible patients; by site id."""
    import datetime as dt

    on_date = dt.date.fromisoformat(CALENDAR_DATE)
    settings = load_settings(database_url=url, secret_key="x" * 40, argon2_time_cost=1)
    security = Security.from_settings(settings)
    database = create_database(url, pool_size=2)
    upgrade(database.engine)
    actor = Principal.system(request_id="bench-seed")
    per_site = -(-total // len(COUNTRIES))
    per_arm = per_site // 2 + 64  # block imbalance and resupply margin
    record = json.loads(EXAMPLE.read_text())
    with transaction(database) as session:
        trial = trials.create_trial(session=session, actor=actor, protocol_name=uncapped_sor(total))
        sites = []
        for country in COUNTRIES:
            site = trials.add_site(
                session=session,
                actor=actor,
                trial_id=trial.id,
                code=f"{country}01",
                name=country,
                city=country,
                country=country,
            )
            trials.record_ethics_approval(
                session=session,
                actor=actor,
                site_id=site.id,
                committee="EC",
                approval_date=dt.date(2007, 6, 20),
                protocol_version=trial.protocol_version,
            )
            sites.append(trials.activate_site(session=session, actor=actor, site_id=site.id))
        allocation.seal(
            session=session,
            actor=actor,
            trial_id=trial.id,
            kits=2 * per_arm * len(COUNTRIES) + 400,
            # never fewer than the protocol's own per-stratum length (264 for SOR)
            slots_per_stratum=max(
                per_site + 200, load_protocol("sor").allocation.slots_per_stratum
            ),
        )
        for site in sites:
            row = session.get(Site, site.id)
            assert row is not None
            request = supply.raise_resupply(
                session,
                trial_id=trial.id,
                site=row,
                on_date=on_date,
                threshold=2 * per_arm,  # a total above one arm's target (the supply rules)
                target=per_arm,
            )
            assert request is not None
            shipment = supply.ship_resupply(
                session=session, actor=actor, request_id=request.id, today=on_date
            )
            receiver = Principal(None, "bench", (Grant(Role.PHARMACIST, trial.id, site.id),))
            supply.receive_shipment(
                session=session, actor=receiver, shipment_id=shipment.id, today=on_date
            )
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
                site_id=sites[i % len(sites)].id,
            )
    by_site: dict[int, list[int]] = defaultdict(list)
    for start in range(0, total, BATCH):
        with transaction(database) as session:
            for n in range(start, min(total, start + BATCH)):
                site = sites[n % len(sites)]
                investigator = Principal(
                    None, "bench-seed", (Grant(Role.INVESTIGATOR, trial.id, site.id),)
                )
                patient = patients.register_patient(
                    session=session,
                    actor=investigator,
                    site_id=site.id,
                    screening_number=f"B-{n}",
                )
                patients.submit_screening_record(
                    session=session, actor=investigator, patient_id=patient.id, data=record
                )
                patients.evaluate_eligibility(
                    session=session, actor=investigator, patient_id=patient.id
                )
                patients.record_consent(
                    session=session,
                    actor=investigator,
                    patient_id=patient.id,
                    consent_date=on_date,
                    information_sheet_version="1.0",
                )
                by_site[site.id].append(patient.id)
    database.dispose()
    return dict(by_site)


def percentile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def checks(url: str) -> dict[str, object]:
    """Duplicates, gaps and block balance over every randomisation, and the audit chain."""
    database = create_database(url, pool_size=2)
    with database.sessions() as session:
        rows = session.execute(
            select(
                Randomisation.stratum,
                Randomisation.sequence,
                Randomisation.randomisation_number,
                Randomisation.slot_id,
                AllocationSlot.block,
                AllocationSlot.block_size,
                AllocationSlot.arm,
            ).join(AllocationSlot, AllocationSlot.id == Randomisation.slot_id)
        ).all()
        kits = session.scalar(select(func.count(func.distinct(Dispensing.kit_id))))
        dispensings = session.scalar(select(func.count(Dispensing.id)))
        chain = verify_chain(session)
    database.dispose()
    numbers = Counter(r.randomisation_number for r in rows)
    slots = Counter(r.slot_id for r in rows)
    sequences: dict[str, list[int]] = defaultdict(list)
    blocks: dict[tuple[str, int], list[str]] = defaultdict(list)
    sizes: dict[tuple[str, int], int] = {}
    for r in rows:
        sequences[r.stratum].append(r.sequence)
        blocks[(r.stratum, r.block)].append(r.arm)
        sizes[(r.stratum, r.block)] = r.block_size
    gaps = sum(sorted(s) != list(range(1, len(s) + 1)) for s in sequences.values())
    complete = [k for k, arms in blocks.items() if len(arms) == sizes[k]]
    unbalanced = sum(len(set(Counter(blocks[k]).values())) != 1 for k in complete)
    return {
        "randomisations": len(rows),
        "duplicate_numbers": sum(n - 1 for n in numbers.values()),
        "duplicate_slots": sum(n - 1 for n in slots.values()),
        "duplicate_kits": int(dispensings or 0) - int(kits or 0),
        "strata_with_gaps": gaps,
        "complete_blocks": len(complete),
        "unbalanced_complete_blocks": unbalanced,
        "audit_chain": chain.summary(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--randomisations", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TRIALKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
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
        "TRIALKIT_CALENDAR_DATE": CALENDAR_DATE,
        "TRIALKIT_DB_POOL_SIZE": str(max(20, args.clients)),
    }
    server = None
    try:
        started = time.perf_counter()
        by_site = seed(url, args.clients, args.randomisations)
        seed_seconds = time.perf_counter() - started
        server = start_server(args.port, env, workers=args.workers)
        wait_healthy(base, server)
        sites = sorted(by_site)
        clients, queues = [], []
        for i in range(args.clients):
            client = logged_in_client(base, f"bench-{i}", timeout=60)
            clients.append(client)
            site = sites[i % len(sites)]
            same_site = [j for j in range(args.clients) if sites[j % len(sites)] == site]
            queues.append(by_site[site][same_site.index(i) :: len(same_site)])

        def floor(index: int) -> list[float]:
            out = []
            for _ in range(50):
                t = time.perf_counter()
                clients[index].get("/health")
                out.append((time.perf_counter() - t) * 1000)
            return out

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            health = [x for lat in pool.map(floor, range(args.clients)) for x in lat]

        def work(index: int) -> tuple[list[float], int]:
            latencies, errors = [], 0
            for patient_id in queues[index]:
                t = time.perf_counter()
                try:
                    ok = clients[index].post(f"/api/patients/{patient_id}/randomisation")
                    errors += ok.status_code != 201
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - t) * 1000)
            return latencies, errors

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            outcomes = list(pool.map(work, range(args.clients)))
        seconds = time.perf_counter() - started
        for client in clients:
            client.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    try:
        result_checks = checks(url)
    finally:
        drop_bench_database(args.postgres, url)
    latencies = [x for lat, _ in outcomes for x in lat]
    summary = {
        "clients": args.clients,
        "workers": args.workers,
        "database": "postgresql",
        "seed_seconds": round(seed_seconds, 1),
        "requests": len(latencies),
        "errors": sum(e for _, e in outcomes),
        "seconds": round(seconds, 1),
        "randomisations_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "health_floor_p50_ms": round(percentile(health, 50), 1),
        "health_floor_p95_ms": round(percentile(health, 95), 1),
        "target_randomisations_per_s": 200,
        "checks": result_checks,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
