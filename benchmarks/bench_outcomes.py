"""SQL statements and time of the readers of all patients' outcomes, on a seeded database.

Usage::

    .venv/bin/python benchmarks/bench_outcomes.py --database sqlite:////tmp/demo.db \
        [--trial SOR] [--repeats 3]

On the demo (``trialkit demo seed``) it counts, with a SQLAlchemy ``before_cursor_execute``
listener, the statements each reader sends and times it (best of ``--repeats``, each in a fresh
session): the forecast's blinded table (the monitor page, ``/forecast``, ``trialkit predict
events``), the analysis datasets (``trialkit endpoints derive --unblinded``), the SDTM domains
and the ODM document (``trialkit export``). The principals are built in memory (no login), and
each transaction is rolled back. Not a test: tests never assert on wall-clock time
(``tests/service/oversight/test_report_queries.py`` holds the statement counts fixed).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from trialkit.service.capture.outcomes import derive_datasets
from trialkit.service.oversight.exports import odm_xml, sdtm_domains
from trialkit.service.oversight.forecast import blinded_table
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.trials.trials import find_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL of a seeded database")
    parser.add_argument("--trial", default="SOR")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    database = create_database(args.database, pool_size=1)
    seen: list[str] = []

    def count(*params: object) -> None:
        seen.append(str(params[2]))

    event.listen(database.engine, "before_cursor_execute", count)

    def who(role: Role, trial_id: int) -> Principal:
        return Principal(user_id=None, username=role.value, grants=(Grant(role, trial_id, None),))

    readers: dict[str, Callable[[Session, int], object]] = {
        "blinded_table": lambda s, t: blinded_table(
            session=s, actor=who(Role.MONITOR, t), trial_id=t
        ),
        "derive_datasets (unblinded)": lambda s, t: derive_datasets(
            session=s, actor=who(Role.UNBLINDED_STATISTICIAN, t), trial_id=t, unblinded=True
        ),
        "sdtm_domains": lambda s, t: sdtm_domains(
            session=s, actor=who(Role.STATISTICIAN, t), trial_id=t
        ),
        "odm_xml": lambda s, t: odm_xml(session=s, actor=who(Role.STATISTICIAN, t), trial_id=t),
    }
    print(f"{'reader':<28} {'statements':>10} {'best s':>7}")
    for name, read in readers.items():
        best, statements = float("inf"), 0
        for _ in range(args.repeats):
            with database.sessions() as session:
                trial_id = find_trial(session, args.trial).id
                seen.clear()
                start = time.perf_counter()
                read(session, trial_id)
                best = min(best, time.perf_counter() - start)
                statements = len(seen)
                session.rollback()
        print(f"{name:<28} {statements:>10} {best:>7.2f}")
    database.dispose()


if __name__ == "__main__":
    main()
