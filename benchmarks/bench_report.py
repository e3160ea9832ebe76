"""Time the whole SOR trial report for 220 patients (HTML and PDF) against the 5 s target.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--patients 220] [--seed 1] [--repeats 3]

Builds a synthetic SOR-like trial (``trialkit.report.synthetic``: exponential PFS with the
protocol's medians, CTCAE-graded AEs, screening failures), then times, for the unblinded and
the blinded report: every statistic and figure (``build_trial_report``), the HTML
(``render_html``) and the PDF (``render_pdf``, WeasyPrint). Each figure is the best of
``--repeats``. The database read is not included (``benchmarks/bench_service.py`` covers the
service). No peer computes this report, so the figure is read against the issue's target.
Not a test: tests never assert on wall-clock time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trialkit.report.html import render_html
from trialkit.report.pdf import render_pdf
from trialkit.report.synthetic import synthetic_inputs
from trialkit.report.trial_report import build_trial_report

TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=220)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    render_pdf("<p>warm-up</p>")  # load fonts and WeasyPrint once, as a server would have
    print(f"SOR report, {args.patients} patients, best of {args.repeats} (target {TARGET_S} s)")
    print(f"{'report':<10} {'compute':>8} {'html':>8} {'pdf':>8} {'total':>8}  {'PDF kB':>7}")
    for blinded in (False, True):
        inputs = synthetic_inputs(
            np.random.default_rng(args.seed), patients=args.patients, blinded=blinded
        )
        best = (np.inf, np.inf, np.inf)
        size = 0
        for _ in range(args.repeats):
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
        total = sum(best)
        kind = "blinded" if blinded else "unblinded"
        print(
            f"{kind:<10} {best[0]:8.2f} {best[1]:8.2f} {best[2]:8.2f} {total:8.2f}  {size:7d}"
            f"  ({total / TARGET_S:.2f} of the target)"
        )


if __name__ == "__main__":
    main()
