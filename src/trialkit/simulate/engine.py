"""Run many simulated trials: logical batches, their seeds, backends and aggregation.

Reproducibility does not depend on how the work is executed. Trials are cut into
logical batches of :data:`LOGICAL_BATCH` trials; batch ``i`` draws from its own
stream, ``numpy.random.SeedSequence(seed).spawn(...)[i]`` (built directly as
``SeedSequence(seed, spawn_key=(i,))``), and its trials are always generated together,
in one fixed order. Workers (threads here, Dask processes in
:mod:`trialkit.simulate.cluster`) take chunks of batch indices and return a
:class:`~trialkit.simulate.results.Tally`; tallies merge exactly. So the result
for a seed is the same for any chunk size, number of workers or runner.

Backends: ``"numba"`` (default: the fused compiled kernel of
:mod:`trialkit.simulate.fused`), ``"numpy"`` (the array kernels of
:mod:`trialkit.simulate.kernels`, the reference), ``"gpu"`` (the array-namespace
kernel of :mod:`trialkit.simulate.arrays` on CuPy, run by :mod:`trialkit.simulate.gpu`;
its random stream differs, see there), ``"cuda"`` (one CUDA thread per trial, the fused
kernel of :mod:`trialkit.simulate.cuda_kernel` compiled by numba.cuda, tallied on the
device; its own ``xoroshiro128p`` stream, see there; not yet run on a real GPU). The
numba and numpy backends consume the same draws and give the same trials; the statistics
agree to rounding (about 1e-12), so decisions can differ only for a statistic within that
distance of its threshold.

References
----------
O'Neill M.E. (2014). PCG: a family of simple fast space-efficient statistically good
algorithms for random number generation. Harvey Mudd College, HMC-CS-2014-0905.

NumPy documentation, "Parallel random number generation" (``SeedSequence.spawn``).
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from trialkit.errors import DesignInputError
from trialkit.simulate.generate import TrialBatch, draw, generate_batch, to_batch
from trialkit.simulate.kernels import analysis_cut, observed_at, two_arm_statistics
from trialkit.simulate.results import (
    HR_BIN,
    HR_BINS,
    HR_LIMIT,
    QUANTILES,
    TIME_BIN,
    TIME_BINS,
    LookResult,
    SimulationResult,
    Tally,
    histogram_quantile,
)
from trialkit.simulate.scenario import Scenario

__all__ = [
    "CUDA_CHUNK_BATCHES",
    "LOGICAL_BATCH",
    "Backend",
    "LookStatistics",
    "Runner",
    "batch_generator",
    "batch_statistics",
    "check_run",
    "simulate",
    "simulate_batches",
    "summarise",
    "tally_batch",
    "thread_runner",
    "trial_data",
]

LOGICAL_BATCH = 4096
#: logical batches per kernel launch of the cuda backend (at least): 1,048,576 trials, about
#: nine waves of the 118,000 threads an H100/H200 holds at once (benchmarks/RESULTS.md)
CUDA_CHUNK_BATCHES = 256
Backend = Literal["numba", "numpy", "gpu", "cuda"]
BACKENDS: tuple[str, ...] = ("numba", "numpy", "gpu", "cuda")

FloatArray = NDArray[np.float64]
LookStatistics = tuple[
    FloatArray, NDArray[np.int64], FloatArray, FloatArray, FloatArray, FloatArray
]
#: maps a function over chunks of batch indices, yielding each chunk's tally as it is done
Runner = Callable[[Callable[[list[int]], Tally], list[list[int]]], Iterable[Tally]]


def batch_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of logical batch ``index``: child ``index`` of ``SeedSequence(seed)``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


def _batch_size(trials: int, index: int) -> int:
    return min(LOGICAL_BATCH, trials - index * LOGICAL_BATCH)


def batch_statistics(
    scenario: Scenario,
    seed: int,
    index: int,
    size: int,
    backend: Backend = "numba",
    *,
    host_draws: bool = False,
) -> LookStatistics:
    """Time, events, log-rank O, E, V and Cox log HR at every look for one logical batch."""
    if backend == "gpu":  # the device's own stream (CuPy imported there, only now)
        from trialkit.simulate.gpu import device_trial_batch

        _, stats = device_trial_batch(scenario, seed, index, size, on_host=host_draws)
        return cast(LookStatistics, stats)
    if backend == "cuda":  # numba.cuda imported only now
        from trialkit.simulate.cuda_kernel import cuda_statistics

        raw = draw(scenario, batch_generator(seed, index), size) if host_draws else None
        return cuda_statistics(scenario, size, seed=seed, index=index, raw=raw)
    rng = batch_generator(seed, index)
    raw = draw(scenario, rng, size)
    if backend == "numba":
        from trialkit.simulate.fused import fused_statistics

        return fused_statistics(scenario, raw)
    batch = to_batch(scenario, raw)
    cut = analysis_cut(batch, scenario.look_events)
    cols = [
        two_arm_statistics(*observed_at(batch, cut.time[:, k]), batch.treated)
        for k in range(cut.time.shape[1])
    ]
    return (
        cut.time,
        cut.events,
        np.stack([c.observed for c in cols], axis=1),
        np.stack([c.expected for c in cols], axis=1),
        np.stack([c.variance for c in cols], axis=1),
        np.stack([c.log_hr for c in cols], axis=1),
    )


def tally_batch(scenario: Scenario, index: int, stats: LookStatistics, into: Tally) -> None:
    """Add the statistics of logical batch ``index`` to ``into`` (decisions, sums, histograms)."""
    times, events, o, e, v, log_hr = stats
    size, looks = times.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, (e - o) / np.sqrt(v), np.nan)  # positive favours treatment
    cross = z >= np.asarray(scenario.efficacy_z)[None, :]
    crossed = cross.any(axis=1)
    stop = np.where(crossed, np.argmax(cross, axis=1), looks - 1)
    rows = np.arange(size)
    t_stop = times[rows, stop]
    ev_stop = events[rows, stop]
    hr_stop = log_hr[rows, stop]
    early = crossed & (stop < looks - 1)
    decision = early | (log_hr[:, -1] <= math.log(scenario.decision_hr))
    into.trials += size
    into.decision += int(decision.sum())
    into.logrank += int(crossed.sum())
    into.stopped += np.bincount(stop[crossed], minlength=looks)
    # look k is reached by trials that did not stop before it
    reached = stop[:, None] >= np.arange(looks)[None, :]
    into.reached += reached.sum(axis=0)
    look_time = np.where(reached, times, 0.0).sum(axis=0)
    look_events = np.where(reached, events, 0).sum(axis=0)
    into.sums[index] = (
        float(t_stop.sum()),
        float((t_stop * t_stop).sum()),
        float(ev_stop.sum()),
        *(float(x) for x in look_time),
        *(float(x) for x in look_events),
    )
    t_bin = np.minimum((t_stop / TIME_BIN).astype(np.int64), TIME_BINS - 1)
    np.add.at(into.time_hist, t_bin, 1)
    ok = ~np.isnan(hr_stop)  # +-inf (monotone likelihood) land in the end bins
    into.hr_missing += int((~ok).sum())
    h_bin = np.clip((hr_stop[ok] + HR_LIMIT) / HR_BIN, 0, HR_BINS - 1).astype(np.int64)
    np.add.at(into.hr_hist, h_bin, 1)


def simulate_batches(
    scenario: Scenario,
    trials: int,
    seed: int,
    indices: Sequence[int],
    backend: Backend,
    host_draws: bool = False,
) -> Tally:
    """The tally of the logical batches ``indices`` of a run of ``trials`` trials."""
    if backend == "cuda":  # simulated and tallied on the device; numba.cuda imported only now
        from trialkit.simulate.cuda_kernel import cuda_tally

        sizes = [(index, _batch_size(trials, index)) for index in indices]
        if not host_draws:  # one kernel launch for all the batches
            return cuda_tally(scenario, seed, sizes)
        tally = Tally(looks=len(scenario.look_events))
        for index, size in sizes:
            raw = draw(scenario, batch_generator(seed, index), size)
            tally.add(cuda_tally(scenario, seed, [(index, size)], raw=raw))
        return tally
    tally = Tally(looks=len(scenario.look_events))
    for index in indices:
        size = _batch_size(trials, index)
        stats = batch_statistics(scenario, seed, index, size, backend, host_draws=host_draws)
        tally_batch(scenario, index, stats, tally)
    return tally


def thread_runner(workers: int) -> Runner:
    """Run chunks in ``workers`` threads (the kernels release the GIL).

    At most ``2 * workers`` chunks are in flight, so memory stays bounded however many
    trials are asked for.
    """

    def run(task: Callable[[list[int]], Tally], chunks: list[list[int]]) -> Iterable[Tally]:
        if workers <= 1:
            yield from map(task, chunks)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque[Future[Tally]] = deque()
            for chunk in chunks:
                pending.append(pool.submit(task, chunk))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    return run


def check_run(trials: int, seed: int, backend: str) -> None:
    """Refuse a run that cannot be done, saying what to change."""
    if trials < 1:
        raise DesignInputError(f"--trials must be at least 1; you gave {trials}")
    if seed < 0:
        raise DesignInputError(f"--seed must be a non-negative integer; you gave {seed}")
    if backend not in BACKENDS:
        raise DesignInputError(f"backend must be one of {', '.join(BACKENDS)}; you gave {backend}")


def simulate(
    scenario: Scenario,
    trials: int,
    seed: int,
    *,
    backend: Backend = "numba",
    workers: int | None = None,
    chunk_batches: int = 4,
    runner: Runner | None = None,
    progress: Callable[[int], None] | None = None,
    host_draws: bool = False,
) -> SimulationResult:
    """Simulate ``trials`` trials of ``scenario`` from ``seed``.

    Parameters
    ----------
    scenario
        The trial (:func:`~trialkit.simulate.scenario.scenario_from_protocol`).
    trials, seed
        Number of trials and the seed of the whole run.
    backend
        ``"numba"`` (fused compiled kernel), ``"numpy"`` (array kernels), ``"gpu"``
        (the array kernel of :mod:`trialkit.simulate.arrays` on CuPy, one device;
        ``workers``, ``chunk_batches`` and ``runner`` do not apply) or ``"cuda"`` (one
        CUDA thread per trial, :mod:`trialkit.simulate.cuda_kernel`; logical batches in
        turn on one device, ``workers`` does not apply).
    workers
        Threads for the default runner (default: the CPUs available).
    chunk_batches
        Logical batches per task; affects speed and memory, never the result.
    runner
        Executes the tasks (default: a thread pool); see :data:`Runner`.
    progress
        Called with the number of trials finished after each task.
    host_draws
        ``"gpu"`` and ``"cuda"`` only: draw on the host with the CPU's generators, so
        that the trials are the CPU backends' (a check of the device; slower).
    """
    check_run(trials, seed, backend)
    if backend == "gpu":  # CuPy is imported there, only now
        from trialkit.simulate.gpu import simulate_on_device

        return simulate_on_device(scenario, trials, seed, progress=progress, on_host=host_draws)
    start = time.perf_counter()
    n_batches = -(-trials // LOGICAL_BATCH)
    step = max(1, chunk_batches)
    if backend == "cuda" and not host_draws:
        step = max(step, CUDA_CHUNK_BATCHES)
    chunks = [list(range(i, min(i + step, n_batches))) for i in range(0, n_batches, step)]
    if backend == "cuda":
        from trialkit.simulate.cuda_kernel import require_cuda

        require_cuda()
        runner = runner or thread_runner(1)  # one device, batches in turn
    if runner is None:
        runner = thread_runner(workers or len(os.sched_getaffinity(0)))

    def task(indices: list[int]) -> Tally:
        return simulate_batches(scenario, trials, seed, indices, backend, host_draws)

    tally = Tally(looks=len(scenario.look_events))
    for part in runner(task, chunks):
        tally.add(part)
        if progress is not None:
            progress(part.trials)
    return summarise(scenario, tally, seed, backend, time.perf_counter() - start)


def summarise(
    scenario: Scenario, tally: Tally, seed: int, backend: str, elapsed: float
) -> SimulationResult:
    """Turn a complete tally into the reported result."""
    n = tally.trials
    looks = len(scenario.look_events)
    reject = tally.decision / n
    logrank = tally.logrank / n
    mean_t = tally.total(0) / n
    var_t = max(tally.total(1) / n - mean_t * mean_t, 0.0)
    look_results = []
    cumulative = 0
    for k in range(looks):
        cumulative += int(tally.stopped[k])
        reached = int(tally.reached[k])
        look_results.append(
            LookResult(
                events=scenario.look_events[k],
                information_rate=scenario.information_rates[k],
                efficacy_z=scenario.efficacy_z[k],
                reject_rate=int(tally.stopped[k]) / n,
                cumulative_reject_rate=cumulative / n,
                trials_reached=reached,
                mean_analysis_time=tally.total(3 + k) / reached if reached else float("nan"),
                mean_events=tally.total(3 + looks + k) / reached if reached else float("nan"),
            )
        )
    labels = ("2.5", "50", "97.5")
    time_q = {
        label: histogram_quantile(tally.time_hist, q, 0.0, TIME_BIN)
        for label, q in zip(labels, QUANTILES, strict=False)
    }
    hr_q = {
        label: math.exp(histogram_quantile(tally.hr_hist, q, -HR_LIMIT, HR_BIN))
        for label, q in zip(labels, QUANTILES, strict=False)
    }
    return SimulationResult(
        trials=n,
        seed=seed,
        backend=backend,
        reject_rate=reject,
        logrank_reject_rate=logrank,
        mc_standard_error={
            "reject_rate": math.sqrt(reject * (1 - reject) / n),
            "logrank_reject_rate": math.sqrt(logrank * (1 - logrank) / n),
            "mean_analysis_time": math.sqrt(var_t / n),
        },
        mean_analysis_time=mean_t,
        analysis_time_quantiles=time_q,
        hr_quantiles=hr_q,
        mean_events=tally.total(2) / n,
        trials_without_hr=tally.hr_missing,
        elapsed_seconds=elapsed,
        looks=tuple(look_results),
        scenario=scenario_dict(scenario),
    )


def scenario_dict(scenario: Scenario) -> dict[str, object]:
    """The scenario as plain JSON-ready data."""
    return {
        "n": scenario.n,
        "events": scenario.events,
        "hazard_ratio": scenario.hazard_ratio,
        "hazards_control": list(scenario.hazards_control),
        "hazards_treatment": list(scenario.hazards_treatment),
        "pfs_breaks": list(scenario.pfs_breaks),
        "accrual_time": scenario.accrual_time,
        "accrual_starts": list(scenario.accrual_starts),
        "accrual_rates": list(scenario.accrual_rates),
        "dropout_hazard": scenario.dropout_hazard,
        "allocation": scenario.allocation,
        "allocation_ratio": list(scenario.allocation_ratio),
        "entry": scenario.entry,
        "decision_hr": scenario.decision_hr,
        "alpha": scenario.alpha,
        "information_rates": list(scenario.information_rates),
        "spending": scenario.spending,
        "efficacy_z": list(scenario.efficacy_z),
        "look_events": list(scenario.look_events),
        "fixed_design_z": float(norm.isf(scenario.alpha)),
    }


def trial_data(
    scenario: Scenario, trials: int, seed: int, trial: int
) -> tuple[TrialBatch, float, int]:
    """Patient-level data of trial ``trial`` (0-based) of a run of ``trials``, at its end.

    Regenerates the trial's logical batch from its stream; returns a one-row batch, the
    calendar time of the final analysis and the events then.
    """
    if not 0 <= trial < trials:
        raise DesignInputError(
            f"the trial to dump must be between 0 and {trials - 1} (0-based); you gave {trial}"
        )
    index, row = divmod(trial, LOGICAL_BATCH)
    size = _batch_size(trials, index)
    batch = generate_batch(scenario, batch_generator(seed, index), size)
    one = TrialBatch(
        entry=batch.entry[row : row + 1],
        pfs=batch.pfs[row : row + 1],
        dropout=batch.dropout[row : row + 1],
        treated=batch.treated[row : row + 1],
    )
    cut = analysis_cut(one, scenario.look_events)
    return one, float(cut.time[0, -1]), int(cut.events[0, -1])
