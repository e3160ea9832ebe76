"""Time the whole SOR trial report for 220 patients (HTML and PDF) against the 5 s target.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--patients 220] [--seed 1] [--repeats 3]
    .venv/bin/python benchmarks/bench_report.py --database sqlite:////tmp/demo.db \
        [--cutoff 2010-02-22] [--trial SOR] [--repeats 3]

Builds a synthetic SOR-like trial (``trialkit.report.synthetic``: exponential PFS with the
protocol's medians, CTCAE-graded AEs, screening failures), then times, for the unblinded and
the blinded report: every statistic and figure (``build_trial_report``), the HTML
(``render_html``) and the PDF (``render_pdf``, WeasyPrint). Each figure is the best of
``--repeats``. The database read is not included (``benchmarks/bench_service.py`` covers the
service). No peer computes this report, so the figure is read against the issue's target.
Not a test: tests never assert on wall-clock time.

With ``--database URL`` (e.g. the seeded demo, ``trialkit demo seed``) it times the path the CLI,
the pages and the API take instead: the read from the database at the cut-off
(:func:`trialkit.service.oversight.trial_report.report_inputs`, as an unblinded and as a blinded
statistician), then the same three steps. The transaction is rolled back: nothing (not even the
audit event of a view) is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np

from trialkit.report.html import render_html
from trialkit.report.inputs import ReportInputs
from trialkit.report.pdf import render_pdf
from trialkit.report.synthetic import synthetic_inputs
from trialkit.report.trial_report import build_trial_report
from trialkit.service.oversight.trial_report import report_inputs
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.trials.trials import find_trial

TARGET_S = 5.0


def _time(inputs: ReportInputs, repeats: int) -> tuple[tuple[float, float, float], int]:
    """The best (compute, html, pdf) seconds of ``repeats`` and the PDF's size in kB."""
    best = (np.inf, np.inf, np.inf)
    size = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        document = build_trial_report(inputs)
        t1 = time.perf_counter()
        html = render_html(document)
        t2 = time.perf_counter()
        pdf = render_pdf(html)
        t3 = time.perf_counter()
        size = len(pdf) // 1024
        if t3 - t0 < sum(best):
            best = (t1 - t0, t2 - t1, t3 - t2)
    return best, size


def _from_database(url: str, trial: str, cutoff: dt.date, repeats: int) -> None:
    database = create_database(url, pool_size=1)
    print(f"{trial} report from {url} at the {cutoff} cut-off, best of {repeats}")
    print(
        f"{'report':<10} {'patients':>8} {'read':>8} {'compute':>8} {'html':>8} {'pdf':>8} "
        f"{'total':>8}  {'PDF kB':>7}"
    )
    with database.sessions() as session:
        trial_id = find_trial(session, trial).id
        for unblinded in (True, False):
            role = Role.UNBLINDED_STATISTICIAN if unblinded else Role.STATISTICIAN
            actor = Principal(None, "bench", (Grant(role, trial_id, None),), "bench")
            read = np.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                inputs = report_inputs(
                    session=session,
                    actor=actor,
                    trial_id=trial_id,
                    unblinded=unblinded,
                    cutoff=cutoff,
                )
                read = min(read, time.perf_counter() - t0)
                session.expire_all()  # read again, not from the identity map
            best, size = _time(inputs, repeats)
            total = read + sum(best)
            kind = "unblinded" if unblinded else "blinded"
            print(
                f"{kind:<10} {len(inputs.adsl):8d} {read:8.2f} {best[0]:8.2f} {best[1]:8.2f} "
                f"{best[2]:8.2f} {total:8.2f}  {size:7d}  ({total / TARGET_S:.2f} of the target)"
            )
        session.rollback()
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=220)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", help="Time the report read from this database URL.")
    parser.add_argument("--trial", default="SOR", help="Trial acronym (with --database).")
    parser.add_argument(
        "--cutoff",
        type=dt.date.fromisoformat,
        default=dt.date(2010, 2, 22),
        help="Data cut-off YYYY-MM-DD (with --database; default: the demo's, 2010-02-22).",
    )
    args = parser.parse_args()
    render_pdf("<p>warm-up</p>")  # load fonts and WeasyPrint once, as a server would have
    if args.database:
        _from_database(args.database, args.trial, args.cutoff, args.repeats)
        return
    print(f"SOR report, {args.patients} patients, best of {args.repeats} (target {TARGET_S} s)")
    print(f"{'report':<10} {'compute':>8} {'html':>8} {'pdf':>8} {'total':>8}  {'PDF kB':>7}")
    for blinded in (False, True):
        inputs = synthetic_inputs(
            np.random.default_rng(args.seed), patients=args.patients, blinded=blinded
        )
        best, size = _time(inputs, args.repeats)
        total = sum(best)
        kind = "blinded" if blinded else "unblinded"
        print(
            f"{kind:<10} {best[0]:8.2f} {best[1]:8.2f} {best[2]:8.2f} {total:8.2f}  {size:7d}"
            f"  ({total / TARGET_S:.2f} of the target)"
        )


if __name__ == "__main__":
    main()
