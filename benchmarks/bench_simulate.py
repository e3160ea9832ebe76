"""Trials per second of trialkit's simulation against rpact's getSimulationSurvival, same run.

Usage::

    .venv/bin/python benchmarks/bench_simulate.py [--trials 1000000] [--rpact-trials 20000]
        [--workers 2] [--seed 1] [--backend numba|numpy|gpu|cuda]

``--backend gpu`` (on a machine with an NVIDIA GPU and ``pip install 'trialkit[gpu]'``)
times the CuPy backend instead of the CPU threads: one device, chunks sized from its
free memory; use ``--trials 20000000`` or more there, the GPU needs big runs to fill.
``--backend cuda`` times the numba.cuda kernel (one thread per trial,
:mod:`trialkit.simulate.cuda_kernel`; 64 logical batches per launch); the warm-up
call includes its compilation.

Scenario: SOR (220 patients, uniform accrual over 15.708 months, exponential PFS with
medians 7.9 and 12.2 months, analysis at the 120th event, one-sided log-rank at 0.025;
trialkit also fits the Cox HR per trial). rpact runs through ``Rscript``; only the
``getSimulationSurvival`` call is timed (``system.time`` inside R: R start-up and package
loading excluded). trialkit is timed after a warm-up call (numba's compiled kernel is
loaded from its cache then). Peak resident memory (``ru_maxrss``) is reported after each
trialkit run, to show that it does not grow with the number of trials (streamed batches).
When ``Rscript`` or rpact is missing, rpact is skipped and said so. Not a test: tests
never assert on wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys

from trialkit.errors import DesignInputError
from trialkit.protocol import load_protocol
from trialkit.simulate.engine import simulate
from trialkit.simulate.gpu import load_cupy
from trialkit.simulate.scenario import scenario_from_protocol

R_SCRIPT = """
suppressMessages(library(rpact))
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
t <- system.time(s <- getSimulationSurvival(d, median1 = 12.2, median2 = 7.9,
  directionUpper = FALSE, accrualTime = c(0, {accrual!r}), maxNumberOfSubjects = 220,
  plannedEvents = 120, maxNumberOfIterations = {trials}, seed = {seed}))[["elapsed"]]
cat(t, s$overallReject, s$analysisTime[1], "\\n")
"""


def run_rpact(trials: int, seed: int, accrual: float) -> tuple[float, float, float] | None:
    """(seconds, power, mean analysis time) from rpact, or None without R/rpact."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("rpact: skipped (Rscript is not on the PATH)")
        return None
    code = R_SCRIPT.format(trials=trials, seed=seed, accrual=accrual)
    proc = subprocess.run(
        [rscript, "-e", code], capture_output=True, text=True, check=False, timeout=3600
    )
    if proc.returncode != 0:
        print(f"rpact: skipped (R failed: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    seconds, power, analysis = (float(v) for v in proc.stdout.split())
    return seconds, power, analysis


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500_000)
    parser.add_argument("--rpact-trials", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("numba", "numpy", "gpu", "cuda"), default="numba")
    args = parser.parse_args()
    backend = args.backend
    if backend == "gpu":
        try:
            cupy = load_cupy()
        except DesignInputError as exc:
            sys.exit(f"bench_simulate: {exc}")
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        print(f"GPU: {name.decode() if isinstance(name, bytes) else name}")
    if backend == "cuda":
        from trialkit.simulate.cuda_kernel import cuda, require_cuda

        try:
            require_cuda()
        except DesignInputError as exc:
            sys.exit(f"bench_simulate: {exc}")
        print(f"GPU: {cuda.get_current_device().name}")

    protocol = load_protocol("sor")
    print(f"load average before: {os.getloadavg()}")
    # rpact before and after trialkit: the machine is shared, so its speed drifts
    accrual = scenario_from_protocol(protocol).accrual_time
    first = run_rpact(args.rpact_trials, args.seed, accrual)
    # warm-up: numba's kernel loads from its cache, CuPy compiles its kernels
    simulate(scenario_from_protocol(protocol), 4096, args.seed, workers=1, backend=backend)
    print(f"peak RSS after warm-up: {peak_rss_mb():.0f} MB")
    rates = {}
    # entry "fixed" is rpact's model (like for like); "random" is trialkit's default
    for entry in ("fixed", "random"):
        scenario = scenario_from_protocol(protocol, entry=entry)
        on_device = backend in ("gpu", "cuda")
        for workers in sorted({1, args.workers}) if not on_device else [1]:
            n = args.trials if workers == args.workers else max(args.trials // 4, 4096)
            n = args.trials if on_device else n
            result = simulate(scenario, n, args.seed, workers=workers, backend=backend)
            rates[(entry, workers)] = n / result.elapsed_seconds
            where = "1 GPU" if on_device else f"{workers} worker{'s' if workers > 1 else ''}"
            print(
                f"trialkit {backend} ({entry} entry, {where}): {n} "
                f"trials in {result.elapsed_seconds:.2f} s = {n / result.elapsed_seconds:,.0f} "
                f"trials/s; log-rank power {result.logrank_reject_rate:.4f}, mean analysis "
                f"time {result.mean_analysis_time:.3f}; peak RSS {peak_rss_mb():.0f} MB"
            )
    second = run_rpact(args.rpact_trials, args.seed, accrual) if first is not None else None
    if first is not None and second is not None:
        for label, (seconds, power, analysis) in (("before", first), ("after", second)):
            print(
                f"rpact 3.3.4 (1 core, {label} trialkit): {args.rpact_trials} trials in "
                f"{seconds:.2f} s = {args.rpact_trials / seconds:,.0f} trials/s; power "
                f"{power:.4f}, mean analysis time {analysis:.3f}"
            )
        rpact_rate = 2 * args.rpact_trials / (first[0] + second[0])
        print(f"rpact mean of both runs: {rpact_rate:,.0f} trials/s")
        for (entry, workers), rate in rates.items():
            print(
                f"ratio trialkit {backend} ({entry} entry, {workers} worker(s)) / rpact: "
                f"{rate / rpact_rate:.1f}x"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
