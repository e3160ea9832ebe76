"""Trials per second of ``trialkit simulate`` against rpact's getSimulationSurvival, same run.

Usage::

    .venv/bin/python benchmarks/bench_simulate.py [--trials 1000000] [--rpact-trials 100000]
        [--workers 2] [--seed 1] [--backend numba|numpy|cuda] [--entry fixed,random]
        [--skip-rpact] [--skip-process] [--skip-profile] [--profile-trials 20480]
        [--startup-runs 7]
        [--threads-per-block 64] [--max-registers 64] [--ptxas]

Scenario: SOR (220 patients, uniform accrual over 15.708 months, exponential PFS with
medians 7.9 and 12.2 months, analysis at the 120th event, one-sided log-rank at 0.025;
trialkit also fits the Cox HR per trial). Three comparisons, all from the same run:

* **whole process**: the wall time of the command a user types, ``trialkit simulate
  --protocol sor --trials N --json`` (start-up, imports, the kernel's object code loaded
  from its cache, filled by one untimed run first, the run, the JSON), against the wall time of
  ``Rscript`` running rpact's ``getSimulationSurvival`` for ``--rpact-trials`` (R's
  start-up and ``library(rpact)`` included); beside it the trials per CPU second (user +
  system) of both processes, which others' jobs on a shared machine depress much less than
  the wall time (trialkit's spread over the workers' cores, rpact's on one);
* **start-up**: the same command with ``--trials 1000``, ``--startup-runs`` times (median,
  minimum and maximum of the wall and CPU seconds): what a run pays before its trials;
* **kernel alone**: :func:`trialkit.simulate.engine.simulate` in this process after a
  warm-up, against the ``system.time`` of the ``getSimulationSurvival`` call inside R;
* **per-part profile** (one thread, its own CPU time): the per-trial cost of the trial's
  random draws alone (the floor: the kernel's own generator, nothing else; beside it
  numpy's PCG64 drawing as many into arrays, the host draws before 2026-12-07), then of the
  kernel stopped after each part (draws and the times from them, analysis cut, sort of the
  follow-up times, log-rank walk, Cox fit), and of the tally. The stopped
  kernels are built from :mod:`trialkit.simulate.trial`'s own source with one call cut
  each; the benchmark stops if a cut no longer matches the source.

rpact runs before and after trialkit (the machine is shared; its speed drifts) and the
ratios use the mean. ``--backend cuda`` times the CUDA backend in process (one device;
``--threads-per-block``, ``--max-registers``: launch shape and register cap); ``--ptxas``
needs only the CUDA toolkit: the SOR kernels compiled for sm_90 and ``ptxas -v``'s
registers, stack frame and spills. The load average is printed before and after, and the
share of CPU time the hypervisor stole (``/proc/stat``) during the whole-process runs and the
whole benchmark: on a shared machine the figures are depressed. Not a test: tests never
assert on wall-clock time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from trialkit.errors import DesignInputError
from trialkit.protocol import load_protocol
from trialkit.simulate.engine import simulate
from trialkit.simulate.generate import batch_generator, draw
from trialkit.simulate.looks import LookStatistics, tally_statistics
from trialkit.simulate.results import Tally
from trialkit.simulate.scenario import Scenario, scenario_from_protocol

R_SCRIPT = """
suppressMessages(library(rpact))
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
t <- system.time(s <- getSimulationSurvival(d, median1 = 12.2, median2 = 7.9,
  directionUpper = FALSE, accrualTime = c(0, {accrual!r}), maxNumberOfSubjects = 220,
  plannedEvents = 120, maxNumberOfIterations = {trials}, seed = {seed}))[["elapsed"]]
cat(t, s$overallReject, s$analysisTime[1], "\\n")
"""


def run_rpact(
    trials: int, seed: int, accrual: float
) -> tuple[float, float, float, float, float] | None:
    """(whole-process seconds, call seconds, power, mean analysis time, whole-process CPU
    seconds), or None without R."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("rpact: skipped (Rscript is not on the PATH)")
        return None
    code = R_SCRIPT.format(trials=trials, seed=seed, accrual=accrual)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [rscript, "-e", code], capture_output=True, text=True, check=False, timeout=3600
    )
    whole = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        print(f"rpact: skipped (R failed: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    seconds, power, analysis = (float(v) for v in proc.stdout.split())
    return whole, seconds, power, analysis, cpu


def _timed_process(trials: int, seed: int, entry: str) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU (user + system) seconds, and the JSON, of ``trialkit simulate``."""
    exe = Path(sys.executable).with_name("trialkit")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "trialkit.cli.main"]
    argv += ["simulate", "--protocol", "sor", "--trials", str(trials), "--seed", str(seed)]
    argv += ["--json"] + (["--entry", entry] if entry != "random" else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=3600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, json.loads(proc.stdout)


def startup(seed: int, runs: int) -> None:
    """``trialkit simulate --trials 1000 --json`` (the kernel cached), ``runs`` times."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, _ = _timed_process(1000, seed, "random")
        walls.append(wall)
        cpus.append(cpu)
    walls.sort()
    cpus.sort()
    print(
        f"start-up, trialkit simulate --trials 1000 --json ({runs} runs): wall median "
        f"{walls[runs // 2]:.2f} s (min {walls[0]:.2f}, max {walls[-1]:.2f}); CPU median "
        f"{cpus[runs // 2]:.2f} s (min {cpus[0]:.2f}, max {cpus[-1]:.2f})"
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# the kernel stopped after each part: (part, line of trial.py, what replaces it)
_CUTS = [
    ("Cox fit", "out_beta[r, k] = _cox(o, e, v, groups, g_n0, g_n1, g_d0, g_d1, efron)",
     "out_beta[r, k] = 0.0"),
    ("log-rank walk", "o, e, v, groups = _logrank_walk(ys, fs, m, m1, g_n0, g_n1, g_d0, g_d1)",
     "o, e, v, groups = ys[0], float(fs[m // 2]), float(m1), 0"),
    ("sort of the follow-up times",
     "m, m1 = _sorted_follow_up(entry, obs, status, cal, tau, counts, bucket, ys, fs)",
     "m, m1 = n, int(status[0])"),
    ("analysis cut", "_bucket_select(cal, finite, hi, looks, counts, bucket, ys, taus)",
     "for k in range(looks.size):\n        taus[k] = cal[k]"),
]  # fmt: skip


def _stopped_kernels() -> list[tuple[str, Any]]:
    """The CPU kernel (its own draws; the object code a run loads), then stopped before each part.

    The stopped copies are compiled here by ``numba.cfunc`` and loaded as object code, as the
    run's kernel is (:func:`trialkit.simulate.native.object_kernel`): numba's in-process
    copy of the same function runs up to about 10% faster or slower.
    """
    from numba import cfunc

    import trialkit.simulate.trial as trial
    from trialkit.simulate import native

    source = Path(trial.__file__).read_text(encoding="utf-8")
    kernels: list[tuple[str, Any]] = [("whole kernel", native.kernel())]
    folder = Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    for k, (part, line, stub) in enumerate(_CUTS):
        if line not in source:
            sys.exit(f"bench_simulate: the profile's cut for {part!r} no longer matches trial.py")
        source = source.replace(line, stub)
        path = folder / f"stopped_{k}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"stopped_{k}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        compiled = cfunc(module.NATIVE_SIGNATURE, error_model="numpy")(module.native_batch)
        kernels.append((f"without {part}", native.object_kernel(compiled)))
    return kernels


def _draws_alone() -> Any:
    """A compiled loop taking each trial's draws from its stream and nothing else: the floor.

    The same calls as the kernel (:func:`trialkit.simulate.trial.simulate_trial`'s draws, in
    registers), their sum kept so that the compiler cannot drop them.
    """
    from numba import njit, uint64

    from trialkit.simulate.trial import _exponential, _uniform, splitmix_word

    @njit(nogil=True)  # type: ignore[untyped-decorator]
    def floor(base, n, blocks, model, out):  # type: ignore[no-untyped-def]
        random_entry, simple, has_dropout = model[0], model[1], model[4] > 0.0
        zk, zw, zf = model[15], model[16], model[17]
        for r in range(out.size):
            s0 = splitmix_word(base, uint64(2 * r) + uint64(1))
            s1 = splitmix_word(base, uint64(2 * r) + uint64(2))
            total = 0.0
            if random_entry:
                for _ in range(n + 1):
                    x, s0, s1 = _exponential(s0, s1, zk, zw, zf)
                    total += x
            for _ in range(n if simple else blocks):
                x, s0, s1 = _uniform(s0, s1)
                total += x
            for _ in range(n):
                x, s0, s1 = _exponential(s0, s1, zk, zw, zf)
                total += x
                if has_dropout:
                    x, s0, s1 = _exponential(s0, s1, zk, zw, zf)
                    total += x
            out[r] = total

    return floor


def profile(scenario: Scenario, trials: int, seed: int) -> None:
    """Per-trial cost of each part (one thread, best of several repeats)."""
    from trialkit.simulate.generate import block_patterns
    from trialkit.simulate.model import flat_model, model_arrays
    from trialkit.simulate.streams import batch_seed

    size = 4096
    batches = max(1, trials // size)
    bases = [batch_seed(seed, i) for i in range(batches)]
    shape = (size, len(scenario.look_events))
    model = model_arrays(scenario)
    flat = flat_model(scenario)
    n = scenario.n
    blocks = -(-n // block_patterns(*scenario.allocation_ratio).shape[1])

    def outs() -> LookStatistics:
        out: list[Any] = [np.empty(shape) for _ in range(6)]
        out[1] = np.empty(shape, np.int64)
        return LookStatistics(*out)

    def best(run: Any, repeats: int = 5) -> float:  # this thread's CPU time: others' load aside
        times = []
        for _ in range(repeats):
            start = time.thread_time()
            run()
            times.append(time.thread_time() - start)
        return min(times) / (batches * size) * 1e9  # ns per trial

    sums = np.empty(size)
    drawer = _draws_alone()
    drawer(np.uint64(bases[0]), n, blocks, model, sums)  # compile
    floor = best(lambda: [drawer(np.uint64(b), n, blocks, model, sums) for b in bases])
    numpy_floor = best(
        lambda: [draw(scenario, batch_generator(seed, i), size) for i in range(batches)]
    )
    kernels = _stopped_kernels()
    costs = []
    for name, kernel in kernels:
        kernel(bases[0], flat, outs())
        costs.append((name, best(lambda k=kernel: [k(b, flat, outs()) for b in bases])))
    stats = outs()
    kernels[0][1](bases[0], flat, stats)
    total = Tally(looks=shape[1])

    def tally() -> None:  # as the engine: one Tally per task of 4 batches, merged into the run's
        for first in range(0, batches, 4):
            part = Tally(looks=shape[1])
            for i in range(first, min(first + 4, batches)):
                tally_statistics(scenario, i, stats, part)
            total.add(part)

    tally_cost = best(tally)
    print(f"per-trial cost, one thread ({scenario.entry} entry, {batches * size} trials):")
    print(f"  the trial's random draws alone (in registers; the floor): {floor:8.0f} ns")
    print(f"  (the same number of draws by numpy's PCG64 into arrays:   {numpy_floor:8.0f} ns)")
    whole = costs[0][1]
    parts = [*(c[0] for c in costs[1:]), "draws and the times from them"]
    values = [costs[k][1] - costs[k + 1][1] for k in range(len(costs) - 1)] + [costs[-1][1]]
    for part, value in zip(reversed(parts), reversed(values), strict=True):
        label = part.removeprefix("without ")
        print(f"  {label:<46} {value:8.0f} ns")
    print(f"  {'kernel (all parts, draws included)':<46} {whole:8.0f} ns")
    print(f"  {'tally of the statistics':<46} {tally_cost:8.0f} ns")
    every = whole + tally_cost
    print(f"  kernel + tally: {every:.0f} ns = {every / floor:.1f} x the floor")


PTX_SCRIPT = """
import numba.cuda.dispatcher as dispatcher
from numba import cuda, types
from trialkit.simulate.backends.cuda import make_kernel

class Hopper:  # no device needed: compiling device functions only asks its compute capability
    compute_capability = (9, 0)

dispatcher.get_current_device = lambda: Hopper()
f2, i2, b2 = types.float64[:, :], types.int64[:, :], types.boolean[:, :]
f1, i1, u1 = types.float64[:], types.int64[:], types.uint64[:]
flag, real = types.boolean, types.float64
sig = (u1, i1, f2, i2, f2, f2, f2, flag, flag, real, b2, real,
       f1, f1, f1, f1, f1, f1, f1, f1, i1, flag, u1, f1, f1, f2, i2, f2, f2, f2, f2)
# SOR: 220 patients, one look, random entry, permuted blocks; device draws and host draws
for host in (False, True):
    kernel = make_kernel(220, 1, True, False, host)
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    with open({out!r} + "." + str(int(host)) + ".ptx", "w") as f:
        f.write(ptx)
"""


def ptxas_report(max_registers: int | None) -> None:
    """Registers, stack frame and spills of the SOR kernels for sm_90 (``ptxas -v``)."""
    import re

    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    ptxas = shutil.which("ptxas") or os.path.join(home, "bin", "ptxas")
    if not os.path.exists(ptxas):
        sys.exit("bench_simulate: no ptxas (set CUDA_HOME to the CUDA toolkit)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sor")
        env = dict(os.environ, CUDA_HOME=home)
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        subprocess.run([sys.executable, "-c", PTX_SCRIPT.format(out=out)], check=True, env=env)
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


def _cuda_setup(args: argparse.Namespace) -> None:
    from trialkit.simulate.backends import cuda as backend

    try:
        backend.require_cuda()
    except DesignInputError as exc:
        sys.exit(f"bench_simulate: {exc}")
    if args.threads_per_block:
        backend.THREADS_PER_BLOCK = args.threads_per_block
    if args.max_registers:
        backend.MAX_REGISTERS = args.max_registers
    name = backend.cuda.get_current_device().name
    print(
        f"GPU: {name.decode() if isinstance(name, bytes) else name}; threads per block "
        f"{backend.THREADS_PER_BLOCK}, max registers {backend.MAX_REGISTERS}"
    )


def host_steal() -> tuple[int, int] | None:
    """(stolen, all) CPU ticks of the machine so far (``/proc/stat``), or None off Linux.

    Stolen time is what the hypervisor gave other guests while this machine's vCPUs wanted
    to run: a run with steal was not on a quiet machine, whatever the load average says.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (fields[7], sum(fields)) if len(fields) == 8 else None


def steal_share(before: tuple[int, int] | None) -> str:
    """The share of CPU time stolen by the host since ``before``, as printed."""
    after = host_steal()
    if before is None or after is None or after[1] == before[1]:
        return "not known (no /proc/stat)"
    return f"{100 * (after[0] - before[0]) / (after[1] - before[1]):.1f}% of CPU time"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--rpact-trials", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("numba", "numpy", "cuda"), default="numba")
    parser.add_argument("--entry", default="fixed,random", help="entry models to time")
    parser.add_argument("--profile-trials", type=int, default=20_480)
    parser.add_argument("--threads-per-block", type=int, help="cuda: simulation kernel block")
    parser.add_argument("--max-registers", type=int, help="cuda: register cap per thread")
    parser.add_argument("--skip-rpact", action="store_true")
    parser.add_argument("--skip-process", action="store_true", help="no whole-process runs")
    parser.add_argument("--skip-profile", action="store_true", help="no per-part profile")
    parser.add_argument("--startup-runs", type=int, default=7, help="start-up runs (0: none)")
    parser.add_argument("--ptxas", action="store_true", help="print ptxas -v for sm_90, exit")
    args = parser.parse_args()
    if args.ptxas:
        ptxas_report(args.max_registers)
        return
    backend = args.backend
    on_device = backend == "cuda"
    if on_device:
        _cuda_setup(args)
    protocol = load_protocol("sor")
    print(f"load average before: {os.getloadavg()}")
    start_steal = host_steal()
    accrual = scenario_from_protocol(protocol).accrual_time
    first = None if args.skip_rpact else run_rpact(args.rpact_trials, args.seed, accrual)
    entries = args.entry.split(",")
    process: dict[str, float] = {}
    process_cpu: dict[str, float] = {}
    if not args.skip_process and backend == "numba":
        for entry in entries:  # once untimed: the kernel compiled into its cache
            _timed_process(1, args.seed, entry)
        if args.startup_runs > 0:
            startup(args.seed, args.startup_runs)
        process_steal = host_steal()
        for entry in entries:  # the command a user types, in a fresh process
            wall, cpu, out = _timed_process(args.trials, args.seed, entry)
            process[entry] = args.trials / wall
            process_cpu[entry] = args.trials / cpu
            print(
                f"trialkit simulate --trials {args.trials} ({entry} entry), whole process: "
                f"{wall:.2f} s = {args.trials / wall:,.0f} trials/s ({cpu:.2f} CPU s = "
                f"{args.trials / cpu:,.0f} trials per CPU second); log-rank power "
                f"{out['logrank_reject_rate']:.4f}, mean analysis time "
                f"{out['mean_analysis_time']:.3f}"
            )
        print(f"stolen by the host during the whole-process runs: {steal_share(process_steal)}")
    rates: dict[tuple[str, int], float] = {}
    if backend == "numba":
        from trialkit.simulate import native

        status = native.status()
        print(f"CPU kernel: {status.path} ({status.detail})")
    for entry in entries:
        scenario = scenario_from_protocol(protocol, entry=entry)
        simulate(scenario, 4096, args.seed, workers=1, backend=backend)  # load or compile
        for workers in [1] if on_device else sorted({1, args.workers}):
            n = args.trials if workers == args.workers or on_device else args.trials // 4
            result = simulate(scenario, n, args.seed, workers=workers, backend=backend)
            rates[(entry, workers)] = n / result.elapsed_seconds
            where = "1 GPU" if on_device else f"{workers} worker{'s' if workers > 1 else ''}"
            print(
                f"trialkit {backend} in process ({entry} entry, {where}): {n} trials in "
                f"{result.elapsed_seconds:.2f} s = {n / result.elapsed_seconds:,.0f} trials/s; "
                f"log-rank power {result.logrank_reject_rate:.4f}, mean analysis time "
                f"{result.mean_analysis_time:.3f}; peak RSS {peak_rss_mb():.0f} MB"
            )
    if not args.skip_profile and backend == "numba":
        for entry in entries:
            profile(scenario_from_protocol(protocol, entry=entry), args.profile_trials, args.seed)
    second = run_rpact(args.rpact_trials, args.seed, accrual) if first is not None else None
    if first is not None and second is not None:
        for label, (whole, seconds, power, analysis, cpu) in (
            ("before", first),
            ("after", second),
        ):
            print(
                f"rpact 3.3.4 (1 core, {label} trialkit): {args.rpact_trials} trials, whole "
                f"process {whole:.2f} s = {args.rpact_trials / whole:,.0f} trials/s ({cpu:.2f} "
                f"CPU s), the call "
                f"alone {seconds:.2f} s = {args.rpact_trials / seconds:,.0f} trials/s; power "
                f"{power:.4f}, mean analysis time {analysis:.3f}"
            )
        r_whole = 2 * args.rpact_trials / (first[0] + second[0])
        r_call = 2 * args.rpact_trials / (first[1] + second[1])
        r_cpu = 2 * args.rpact_trials / (first[4] + second[4])
        print(
            f"rpact mean of both runs: whole process {r_whole:,.0f}/s, call {r_call:,.0f}/s, "
            f"{r_cpu:,.0f} trials per CPU second"
        )
        for entry, rate in process.items():
            print(
                f"ratio, whole process: trialkit simulate --trials {args.trials} ({entry} "
                f"entry) / rpact's Rscript run of {args.rpact_trials}: {rate / r_whole:.1f}x "
                f"wall; per CPU second {process_cpu[entry] / r_cpu:.1f}x"
            )
        for (entry, workers), rate in rates.items():
            print(
                f"ratio, kernel alone: trialkit {backend} ({entry} entry, {workers} worker(s)) "
                f"/ rpact's getSimulationSurvival call: {rate / r_call:.1f}x"
            )
    print(f"load average after: {os.getloadavg()}")
    print(f"stolen by the host during the whole benchmark: {steal_share(start_steal)}")


if __name__ == "__main__":
    main()
