"""Trials per second of trialkit's simulation against rpact's getSimulationSurvival, same run.

Usage::

    .venv/bin/python benchmarks/bench_simulate.py [--trials 1000000] [--rpact-trials 20000]
        [--workers 2] [--seed 1] [--backend numba|numpy|gpu|cuda] [--entry fixed,random]
        [--threads-per-block 64] [--max-registers 64] [--skip-rpact] [--ptxas]

``--backend gpu`` (on a machine with an NVIDIA GPU and ``pip install 'trialkit[gpu]'``)
times the CuPy backend instead of the CPU threads: one device, chunks sized from its
free memory; use ``--trials 20000000`` or more there, the GPU needs big runs to fill.
``--backend cuda`` times the numba.cuda kernel (one thread per trial,
:mod:`trialkit.simulate.cuda_kernel`; 256 logical batches per launch, tallied on the
device); each entry model is warmed up (compiled) before it is timed. Variants for a
device check: ``--threads-per-block`` and ``--max-registers`` (the simulation kernel's
launch shape and register cap). ``--ptxas`` needs no GPU, only the CUDA toolkit: it
compiles the SOR kernels to PTX for sm_90, runs ``ptxas -arch=sm_90 -v`` on them and
prints registers, stack frame (local memory per thread) and spills, then exits.
``--skip-rpact`` leaves rpact out (machines without R).

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


PTX_SCRIPT = """
import numba.cuda.dispatcher as dispatcher
from numba import cuda, types
from trialkit.simulate.cuda_kernel import make_kernel

class Hopper:  # no device needed: compiling device functions only asks its compute capability
    compute_capability = (9, 0)

dispatcher.get_current_device = lambda: Hopper()
f2, i2, b2 = types.float64[:, :], types.int64[:, :], types.boolean[:, :]
f1, i1, u1 = types.float64[:], types.int64[:], types.uint64[:]
sig = (u1, i1, f2, i2, f2, f2, f2, types.float64, b2, types.float64,
       f1, f1, f1, f1, f1, f1, f1, f1, i1, f2, i2, f2, f2, f2, f2)
# SOR: 220 patients, one look, blocks of 4 (55 blocks, 6 patterns), random entry, one rate,
# exponential PFS, no dropout; device draws and host draws
for name, host in (("device draws", False), ("host draws", True)):
    kernel = make_kernel(220, 1, 4, 55, 6, True, False, True, True, False, host)
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    with open({out!r} + "." + str(int(host)) + ".ptx", "w") as f:
        f.write(ptx)
"""


def ptxas_report(max_registers: int | None) -> None:
    """Registers, stack frame and spills of the SOR kernels for sm_90 (``ptxas -v``)."""
    import re
    import tempfile

    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    ptxas = shutil.which("ptxas") or os.path.join(home, "bin", "ptxas")
    if not os.path.exists(ptxas):
        sys.exit("bench_simulate: no ptxas (set CUDA_HOME to the CUDA toolkit)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sor")
        env = dict(os.environ, CUDA_HOME=home)
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        code = PTX_SCRIPT.format(out=out)  # the cap is ptxas's (numba passes it at link)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        for host, name in ((0, "device draws"), (1, "host draws")):
            cap = [] if max_registers is None else [f"-maxrregcount={max_registers}"]
            proc = subprocess.run(
                [ptxas, "-arch=sm_90", "-v", *cap, f"{out}.{host}.ptx", "-o", os.devnull],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            regs = re.search(r"Used (\d+) registers", proc.stderr)
            frame = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                              r"(\d+) bytes spill loads", proc.stderr)  # fmt: skip
            if regs is None or frame is None:
                sys.exit(f"bench_simulate: unexpected ptxas output:\n{proc.stderr}")
            print(
                f"SOR kernel, {name}, sm_90 (max registers {max_registers}): "
                f"{regs[1]} registers, {frame[1]} bytes stack frame, "
                f"{frame[2]} bytes spill stores, {frame[3]} bytes spill loads"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500_000)
    parser.add_argument("--rpact-trials", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("numba", "numpy", "gpu", "cuda"), default="numba")
    parser.add_argument("--entry", default="fixed,random", help="entry models to time")
    parser.add_argument("--threads-per-block", type=int, help="cuda: simulation kernel block")
    parser.add_argument("--max-registers", type=int, help="cuda: register cap per thread")
    parser.add_argument("--skip-rpact", action="store_true")
    parser.add_argument("--ptxas", action="store_true", help="print ptxas -v for sm_90, exit")
    args = parser.parse_args()
    if args.ptxas:
        ptxas_report(args.max_registers)
        return
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
        from trialkit.simulate import cuda_kernel

        if args.threads_per_block:
            cuda_kernel.THREADS_PER_BLOCK = args.threads_per_block
        if args.max_registers:
            cuda_kernel.MAX_REGISTERS = args.max_registers
        name = cuda.get_current_device().name
        print(
            f"GPU: {name.decode() if isinstance(name, bytes) else name}; threads per block "
            f"{cuda_kernel.THREADS_PER_BLOCK}, max registers {cuda_kernel.MAX_REGISTERS}"
        )

    protocol = load_protocol("sor")
    print(f"load average before: {os.getloadavg()}")
    # rpact before and after trialkit: the machine is shared, so its speed drifts
    accrual = scenario_from_protocol(protocol).accrual_time
    first = None if args.skip_rpact else run_rpact(args.rpact_trials, args.seed, accrual)
    # warm-up: numba's kernel loads from its cache, CuPy compiles its kernels
    simulate(scenario_from_protocol(protocol), 4096, args.seed, workers=1, backend=backend)
    print(f"peak RSS after warm-up: {peak_rss_mb():.0f} MB")
    rates = {}
    # entry "fixed" is rpact's model (like for like); "random" is trialkit's default
    for entry in args.entry.split(","):
        scenario = scenario_from_protocol(protocol, entry=entry)
        on_device = backend in ("gpu", "cuda")
        if on_device:  # each entry model is its own kernel: compile it before timing
            simulate(scenario, 4096, args.seed, workers=1, backend=backend)
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
