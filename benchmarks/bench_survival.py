"""Speed of trialkit's KM, log-rank and Cox against R survival, measured in the same run.

Usage::

    .venv/bin/python benchmarks/bench_survival.py [--sizes 100000 1000000] [--seed 1]

Simulates a two-arm trial (exponential times, HR 0.8, uniform censoring), times
``kaplan_meier`` (one curve over all subjects), ``logrank_test`` and ``coxph_two_groups``
(Efron ties), then runs the same three calls in R (``survfit``, ``survdiff``, ``coxph``)
through ``Rscript`` on the same data (written to a temporary CSV; reading it is not
timed). Each figure is the best of ``--repeats`` runs. When ``Rscript`` is not on the
PATH, R is skipped and said so. Not a test: tests never assert on wall-clock time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trialkit.analysis import coxph_two_groups, kaplan_meier, logrank_test

R_SCRIPT = """
suppressPackageStartupMessages(library(survival))
d <- read.csv("{csv}")
best <- function(f) min(sapply(1:{repeats}, function(i) system.time(f())[["elapsed"]]))
km <- best(function() survfit(Surv(time, event) ~ 1, data = d))
lr <- best(function() survdiff(Surv(time, event) ~ group, data = d))
cx <- best(function() coxph(Surv(time, event) ~ group, data = d, ties = "efron"))
cat(km, lr, cx, "\\n")
cat(coef(coxph(Surv(time, event) ~ group, data = d)),
    survdiff(Surv(time, event) ~ group, data = d)$chisq, "\\n")
"""


def simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arm = rng.integers(0, 2, n)
    rate = np.log(2) / 7.9 * np.where(arm == 1, 0.8, 1.0)
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(0, 30, n)
    # Times recorded in days, as trial data are: this gives realistic ties.
    time_days = np.ceil(np.minimum(t_event, t_cens) * 30.4375)
    return time_days, (t_event <= t_cens).astype(float), np.where(arm == 1, "trt", "ctl")


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_trialkit(t: np.ndarray, e: np.ndarray, g: np.ndarray, repeats: int) -> dict[str, float]:
    return {
        "km": best_of(repeats, lambda: kaplan_meier(t, e)),
        "logrank": best_of(repeats, lambda: logrank_test(t, e, g, "ctl")),
        "cox": best_of(repeats, lambda: coxph_two_groups(t, e, g, "ctl")),
    }


def run_r(time_days: np.ndarray, event: np.ndarray, group: np.ndarray, repeats: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        with csv.open("w") as fh:
            fh.write("time,event,group\n")
            for t, e, g in zip(time_days.tolist(), event.tolist(), group.tolist(), strict=True):
                fh.write(f"{t:g},{int(e)},{g}\n")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(csv=csv.as_posix(), repeats=repeats))
        out = subprocess.run(
            ["Rscript", str(script)], capture_output=True, text=True, check=True
        ).stdout
    return out.strip().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found on PATH: timing trialkit only, no R comparison.")
    rng = np.random.default_rng(args.seed)
    print(f"{'n':>9} {'method':<10} {'trialkit s':>11} {'R s':>9} {'ratio':>7}")
    for n in args.sizes:
        t, e, g = simulate(n, rng)
        ours = time_trialkit(t, e, g, args.repeats)
        theirs: dict[str, float] = {}
        if rscript is not None:
            lines = run_r(t, e, g, args.repeats)
            theirs = dict(zip(ours, map(float, lines[0].split()), strict=True))
            r_coef, r_chisq = map(float, lines[1].split())
            fit = coxph_two_groups(t, e, g, "ctl")
            lr = logrank_test(t, e, g, "ctl")
            print(
                f"{n:>9} check: coef rel diff {abs(fit.coef[0] / r_coef - 1):.1e}, "
                f"chisq rel diff {abs(lr.chisq / r_chisq - 1):.1e}"
            )
        for method, secs in ours.items():
            r = theirs.get(method)
            ratio = f"{secs / r:7.2f}" if r else "      -"
            r_txt = f"{r:9.3f}" if r is not None else "        -"
            print(f"{n:>9} {method:<10} {secs:>11.3f} {r_txt} {ratio}")


if __name__ == "__main__":
    main()
