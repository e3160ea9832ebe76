"""Run many simulated trials: logical batches, their seeds, backends and aggregation.

Reproducibility does not depend on how the work is executed. Trials are cut into
logical batches of :data:`~trialkit.simulate.generate.LOGICAL_BATCH` trials; batch ``i``
is seeded by child ``i`` of ``numpy.random.SeedSequence(seed)``
(:func:`~trialkit.simulate.streams.batch_seed`) and each of its trials draws its own
``xoroshiro128+`` stream from that seed, in one fixed order
(:mod:`trialkit.simulate.streams`). Workers (threads here, Dask processes in
:mod:`trialkit.simulate.cluster`) take chunks of batch indices and return a
:class:`~trialkit.simulate.results.Tally`; tallies merge exactly. So the result for a
seed is the same for any chunk size, number of workers or runner.

The backend comes from :mod:`trialkit.simulate.backends.registry` by name and is the
only one imported. Every backend simulates the same trials for a seed (``numba`` and
``cuda`` draw them inside the kernel, ``numpy`` reads the same values from host arrays),
their statistics agreeing to rounding (about 1e-12).

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
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from statistics import NormalDist

from trialkit.errors import DesignInputError
from trialkit.simulate.backends.registry import DEFAULT_BACKEND, get_backend
from trialkit.simulate.generate import LOGICAL_BATCH, TrialBatch, to_batch
from trialkit.simulate.kernels import analysis_cut
from trialkit.simulate.results import (
    HR_BIN,
    HR_LIMIT,
    QUANTILES,
    TIME_BIN,
    LookResult,
    SimulationResult,
    Tally,
    histogram_quantile,
)
from trialkit.simulate.scenario import Scenario, check_run
from trialkit.simulate.streams import stream_draws

__all__ = [
    "LOGICAL_BATCH",
    "Runner",
    "scenario_dict",
    "simulate",
    "summarise",
    "thread_runner",
    "trial_data",
]

#: maps a function over chunks of batch indices, yielding each chunk's tally as it is done
Runner = Callable[[Callable[[list[int]], Tally], list[list[int]]], Iterable[Tally]]


def _batch_size(trials: int, index: int) -> int:
    return min(LOGICAL_BATCH, trials - index * LOGICAL_BATCH)


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


def simulate(
    scenario: Scenario,
    trials: int,
    seed: int,
    *,
    backend: str = DEFAULT_BACKEND,
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
        A name from :func:`~trialkit.simulate.backends.registry.backend_names`:
        ``"numba"`` (the compiled per-trial kernel on the CPU), ``"numpy"`` (the
        reference) or ``"cuda"`` (the same kernel on one NVIDIA GPU; ``workers`` does not
        apply).
    workers
        Threads for the default runner (default: the CPUs available).
    chunk_batches
        Logical batches per task (at least the backend's launch size); affects speed and
        memory, never the result.
    runner
        Executes the tasks (default: a thread pool); see :data:`Runner`.
    progress
        Called with the number of trials finished after each task.
    host_draws
        GPU backends only: draw on the host with the CPU's generators, so that the trials
        are the CPU backends' (a check of the device; slower).

    Raises
    ------
    DesignInputError
        ``location`` names the parameter: ``trials``, ``seed``, ``backend`` or
        ``host_draws``.
    """
    check_run(trials, seed)
    engine = get_backend(backend)
    if runner is not None and engine.devices:
        raise DesignInputError(
            f"a runner spreads the CPU backends over workers; backend {backend} runs on one device",
            location="runner",
        )
    engine.require(host_draws=host_draws)
    start = time.perf_counter()
    n_batches = -(-trials // LOGICAL_BATCH)
    step = max(1, chunk_batches)
    if not host_draws:
        step = max(step, engine.launch_batches)
    chunks = [list(range(i, min(i + step, n_batches))) for i in range(0, n_batches, step)]
    if runner is None:
        count = 1 if engine.devices else workers or len(os.sched_getaffinity(0))
        runner = thread_runner(count)

    def task(indices: list[int]) -> Tally:
        batches = [(index, _batch_size(trials, index)) for index in indices]
        return engine.tally(scenario, seed, batches, host_draws=host_draws)

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
        "fixed_design_z": NormalDist().inv_cdf(1.0 - scenario.alpha),
        "ties": scenario.ties,
    }


def trial_data(
    scenario: Scenario, trials: int, seed: int, trial: int
) -> tuple[TrialBatch, float, int]:
    """Patient-level data of trial ``trial`` (0-based) of a run of ``trials``, at its end.

    Regenerates the trial's logical batch from its streams; returns a one-row batch, the
    calendar time of the final analysis and the events then.
    """
    if not 0 <= trial < trials:
        raise DesignInputError(
            f"the trial to dump must be between 0 and {trials - 1} (0-based); you gave {trial}"
        )
    index, row = divmod(trial, LOGICAL_BATCH)
    size = _batch_size(trials, index)
    batch = to_batch(scenario, stream_draws(scenario, seed, index, size))
    one = TrialBatch(
        entry=batch.entry[row : row + 1],
        pfs=batch.pfs[row : row + 1],
        dropout=batch.dropout[row : row + 1],
        treated=batch.treated[row : row + 1],
    )
    cut = analysis_cut(one, scenario.look_events)
    return one, float(cut.time[0, -1]), int(cut.events[0, -1])
