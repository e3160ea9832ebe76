"""Benchmark: in-process time of every list page of the seeded demo, per demo user.

The server (API and pages) runs in this process over a demo database seeded beforehand
(``trialkit db upgrade && trialkit demo seed`` with ``TRIALKIT_DATABASE_URL`` set), with the
calendar pinned to the demo's data cut-off as ``make run`` does; each page is fetched through
Starlette's TestClient (no network) ``-n`` times after one warm-up, and the median and worst
are printed against the issue's budget of 500 ms.

    .venv/bin/python benchmarks/bench_list_pages.py --database sqlite:////tmp/demo.db [-n 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from fastapi.testclient import TestClient

from trialkit.config import load_settings
from trialkit.service.demo import DEMO_USERS
from trialkit.service.platform.pages.deps import COOKIE_NAME, LOGIN_CSRF_COOKIE
from trialkit.service.server import create_server

BUDGET_MS = 500.0
PAGES = {
    "investigator": ["/home", "/patients", "/patients?status=on_treatment", "/queries"],
    "pharmacist": ["/home", "/pharmacy", "/pharmacy/kits", "/pharmacy/kits?status=dispensed"],
    "monitor": [
        "/home",
        "/queries",
        "/queries?status=closed",
        "/queries?form=adverse_event&sort=-opened_at",
        "/monitor",
        "/monitor/data",
    ],
    "statistician": ["/home"],
    "dsmb": ["/home"],
    "admin": [
        "/home",
        "/admin/audit",
        "/admin/audit?patient=IT01-001",
        "/admin/audit?entity=screening_record&page=20",
        "/admin/audit?date_from=2009-01-01&date_to=2009-01-31",
        "/admin/users",
        "/admin/sites",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="URL of the seeded demo database")
    parser.add_argument("-n", type=int, default=3, help="timed fetches per page")
    parser.add_argument("--cutoff", default="2010-03-12", help="the demo's data cut-off")
    args = parser.parse_args()
    settings = load_settings(
        database_url=args.database,
        demo=True,
        calendar_date=dt.date.fromisoformat(args.cutoff),
    )
    passwords = {u.username: u.password for u in DEMO_USERS}
    worst = 0.0
    with TestClient(create_server(settings), base_url="http://127.0.0.1") as client:
        for user, paths in PAGES.items():
            client.cookies.clear()
            client.get("/login")
            login = client.post(
                "/login",
                data={
                    "csrf_token": client.cookies.get(LOGIN_CSRF_COOKIE) or "",
                    "username": user,
                    "password": passwords[user],
                },
                follow_redirects=False,
            )
            assert login.status_code == 303, (user, login.status_code)
            assert client.cookies.get(COOKIE_NAME)
            for path in paths:
                first = client.get(path)
                assert first.status_code == 200, (user, path, first.status_code)
                times = []
                for _ in range(args.n):
                    start = time.perf_counter()
                    client.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                median, top = statistics.median(times), max(times)
                worst = max(worst, median)
                flag = "" if median <= BUDGET_MS else "  OVER BUDGET"
                print(f"{user:14} {path:55} median {median:7.1f} ms  max {top:7.1f} ms{flag}")
    print(f"worst median {worst:.1f} ms against the budget of {BUDGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
