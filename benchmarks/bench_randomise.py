"""Benchmark: 32 concurrent HTTP clients randomising patients on the running service (PostgreSQL).

Creates a fresh PostgreSQL database (dropped afterwards), seals SOR's lists, stocks
four sites (DE, IT, PL, RU) as the resupply rules give it (each arm to 10 kits; a
request when a site's total falls below 16), and loads eligible, consented patients of
the three background therapies (three strata per site) in bulk through the service (not
over HTTP). Then ``trialkit``'s API (uvicorn on 127.0.0.1)
is driven by concurrent clients, each an investigator randomising its own site's
patients, while the depot ships every resupply request as it comes and each site's
pharmacist receives every shipment, over HTTP too. A randomisation refused because the
site is short of a kit (409, until the shipment is received) is sent again after the
site's next receipt.
Reports randomisations per second and latency percentiles beside the same server's
``GET /health`` floor measured in the same run, every answer by status (the bar: no
5xx and no dropped connection), then checks the result in the database: no duplicate
slot, number or kit, no gap in any stratum, every completed block balanced, and the
audit chain intact.

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
import threading
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import yaml
from sqlalchemy import func, select, text

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
EXAMPLES = [  # one eligible patient of each background therapy: three strata per site
    Path(__file__).resolve().parents[1] / "examples" / "sor" / name
    for name in (
        "01_endocrine_bone_only.json",
        "02_chemo_then_endocrine_liver_alt_4x.json",
        "03_chemotherapy_triple_negative.json",
    )
]
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


@dataclass(frozen=True)
class Seeded:
    trial_id: int
    patients: dict[int, list[int]]  # by site id
    pharmacists: dict[int, str]  # site id -> username


def seed(url: str, clients: int, total: int) -> Seeded:
    """Trial, sealed lists, sites stocked by the resupply rules, users, eligible patients."""
    import datetime as dt

    on_date = dt.date.fromisoformat(CALENDAR_DATE)
    settings = load_settings(database_url=url, secret_key="x" * 40, argon2_time_cost=1)
    security = Security.from_settings(settings)
    database = create_database(url, pool_size=2)
    upgrade(database.engine)
    actor = Principal.system(request_id="bench-seed")
    records = [json.loads(path.read_text()) for path in EXAMPLES]
    per_site = -(-total // len(COUNTRIES))
    pharmacists: dict[int, str] = {}
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
            # every randomisation's kit, each site's stock and the depot's reserve for any arm mix
            kits=total + len(COUNTRIES) * 2 * supply.RESUPPLY_TARGET * 3 + 200,
            # never fewer than the protocol's own per-stratum length (264 for SOR)
            slots_per_stratum=max(
                per_site + 200, load_protocol("sor").allocation.slots_per_stratum
            ),
        )
        for site in sites:
            row = session.get(Site, site.id)
            assert row is not None
            request = supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=on_date)
            assert request is not None
            shipment = supply.ship_resupply(
                session=session, actor=actor, request_id=request.id, today=on_date
            )
            receiver = Principal(None, "bench", (Grant(Role.PHARMACIST, trial.id, site.id),))
            supply.receive_shipment(
                session=session, actor=receiver, shipment_id=shipment.id, today=on_date
            )
        accounts = [
            (f"bench-{i}", Role.INVESTIGATOR, sites[i % len(sites)].id) for i in range(clients)
        ]
        accounts += [(f"pharmacist-{s.id}", Role.PHARMACIST, s.id) for s in sites]
        accounts.append(("depot", Role.ADMINISTRATOR, None))
        for username, role, site_id in accounts:
            user = users.create_user(
                session=session,
                security=security,
                actor=actor,
                username=username,
                full_name=username,
                password=PASSWORD,
            )
            users.grant_role(
                session=session,
                actor=actor,
                user_id=user.id,
                trial_id=trial.id,
                role=role,
                site_id=site_id,
            )
            if role is Role.PHARMACIST and site_id is not None:
                pharmacists[site_id] = username
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
                    session=session,
                    actor=investigator,
                    patient_id=patient.id,
                    data=records[n // len(sites) % len(records)],
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
    return Seeded(trial.id, dict(by_site), pharmacists)


class Receipts:
    """How many shipments each site has received so far; a refused client waits for the next."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.counts: Counter[int] = Counter()

    def received(self, site_id: int) -> None:
        with self.changed:
            self.counts[site_id] += 1
            self.changed.notify_all()

    def wait_after(self, site_id: int, seen: int, timeout: float = 2.0) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.counts[site_id] > seen, timeout=timeout)


class Tally:
    """Every answer of the run by status (``"dropped"``: no answer, the connection failed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

        self.examples: dict[str, str] = {}  # one answer of each kind that is not a success

    def add(self, what: str, status: int | str, text: str = "") -> None:
        with self.lock:
            self.counts[f"{what} {status}"] += 1
            if text:
                self.examples.setdefault(f"{what} {status}", text[:300])

    def server_errors(self) -> int:
        return sum(n for key, n in self.counts.items() if key.split()[-1][0] in "5d")


def _unless_ok(answer: httpx.Response) -> str:
    return "" if answer.is_success else answer.text


def supply_chain(
    base: str, seeded: Seeded, done: threading.Event, tally: Tally, receipts: Receipts
) -> None:
    """The depot ships each request as it comes; each site's pharmacist receives each shipment."""
    depot = logged_in_client(base, "depot", timeout=60)
    pharmacy = {
        site: logged_in_client(base, name, timeout=60) for site, name in seeded.pharmacists.items()
    }
    received: set[int] = set()
    try:
        while True:
            finished = done.is_set()  # one more round after the last randomisation
            try:
                listed = depot.get(f"/api/trials/{seeded.trial_id}/resupply-requests")
                tally.add("list", listed.status_code)
                for request in listed.json() if listed.status_code == 200 else []:
                    shipment = request["shipment_id"]
                    if shipment is None:
                        shipped = depot.post(f"/api/resupply-requests/{request['id']}/shipment")
                        tally.add("ship", shipped.status_code, _unless_ok(shipped))
                        if shipped.status_code != 201:
                            continue  # the depot is short: tried again next round
                        shipment = shipped.json()["id"]
                    if shipment not in received:
                        answer = pharmacy[request["site_id"]].post(
                            f"/api/shipments/{shipment}/receipt", json={"damaged": []}
                        )
                        if answer.status_code == 200:
                            received.add(shipment)
                            tally.add("receive", 200)
                            receipts.received(request["site_id"])
                        elif "received already" in answer.text:  # the seed's first shipments
                            received.add(shipment)
                        else:
                            tally.add("receive", answer.status_code, answer.text)
            except httpx.HTTPError:
                tally.add("supply", "dropped")
            if finished:
                return
            time.sleep(0.05)
    finally:
        depot.close()
        for client in pharmacy.values():
            client.close()


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
        deadlocks = session.scalar(  # PostgreSQL's count, retried or not
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
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
        "deadlocks_detected": deadlocks,
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
        seeded = seed(url, args.clients, args.randomisations)
        seed_seconds = time.perf_counter() - started
        server = start_server(args.port, env, workers=args.workers)
        wait_healthy(base, server)
        sites = sorted(seeded.patients)
        clients, queues = [], []
        for i in range(args.clients):
            client = logged_in_client(base, f"bench-{i}", timeout=60)
            clients.append(client)
            site = sites[i % len(sites)]
            same_site = [j for j in range(args.clients) if sites[j % len(sites)] == site]
            queues.append(seeded.patients[site][same_site.index(i) :: len(same_site)])

        def floor(index: int) -> list[float]:
            out = []
            for _ in range(50):
                t = time.perf_counter()
                clients[index].get("/health")
                out.append((time.perf_counter() - t) * 1000)
            return out

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            health = [x for lat in pool.map(floor, range(args.clients)) for x in lat]

        tally = Tally()
        receipts = Receipts()

        def work(index: int) -> list[float]:
            """Randomise the client's queue; a patient refused for supply goes to its end."""
            latencies: list[float] = []
            site = sites[index % len(sites)]
            queue = deque(queues[index])
            refused: Counter[int] = Counter()
            while queue:
                patient_id = queue.popleft()
                if refused[patient_id] > 100:  # no receipt in many rounds: the depot is empty
                    tally.add("randomise", "given up")
                    continue
                t = time.perf_counter()
                seen = receipts.counts[site]
                try:
                    answer = clients[index].post(f"/api/patients/{patient_id}/randomisation")
                except httpx.HTTPError:
                    tally.add("randomise", "dropped")
                    continue
                tally.add("randomise", answer.status_code, _unless_ok(answer))
                if answer.status_code == 201:
                    latencies.append((time.perf_counter() - t) * 1000)
                elif answer.status_code == 409 and "cannot dispense a kit" in answer.text:
                    refused[patient_id] += 1
                    queue.append(patient_id)  # after the site's next receipt
                    receipts.wait_after(site, seen)
            return latencies

        done = threading.Event()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients + 1) as pool:
            chain = pool.submit(supply_chain, base, seeded, done, tally, receipts)
            outcomes = list(pool.map(work, range(args.clients)))
            seconds = time.perf_counter() - started
            done.set()
            chain.result()
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
    latencies = [x for lat in outcomes for x in lat]
    summary = {
        "clients": args.clients,
        "workers": args.workers,
        "database": "postgresql",
        "seed_seconds": round(seed_seconds, 1),
        "randomised": len(latencies),
        "server_errors": tally.server_errors(),
        "answers": dict(sorted(tally.counts.items())),
        "answer_examples": tally.examples,
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
