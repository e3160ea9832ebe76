"""The GPU backend: whole chunks of logical batches through the array kernel on one device.

``trialkit simulate --backend gpu`` runs :mod:`trialkit.simulate.arrays` with
``xp = cupy`` (the optional ``gpu`` extra: ``pip install 'trialkit[gpu]'``, which needs
an NVIDIA GPU and CUDA 12). CuPy is imported here and only when the GPU backend is
asked for; the CPU path never imports it. The very same runner works with
``xp = numpy``, which is how the test suite checks it on machines without a GPU.

Random numbers and reproducibility. Trials are cut into the same logical batches of
:data:`~trialkit.simulate.engine.LOGICAL_BATCH` trials as on the CPU, and batch ``i``
draws from its own generator seeded from ``SeedSequence(seed, spawn_key=(i,))``, in
the fixed order of :func:`trialkit.simulate.generate.draw`. Several logical batches
are concatenated into one device chunk (as many as the free device memory allows);
rows never interact, so the result does not depend on the chunk size. With numpy the
generator is the CPU's PCG64 and the trials are the CPU's, bit for bit. On a GPU it
is CuPy's Philox4x32-10 keyed from the same seed sequence: a different stream, so a
GPU run agrees with a CPU run of the same seed within Monte Carlo error, not
bit-exactly; two GPU runs of the same seed give the same trials whatever the chunk
size.

Tally: each chunk's statistics stay on the device; :func:`array_tally` reduces them
there (one set of sums per logical batch, histograms by ``bincount`` over their
occupied range) and copies back a few numbers per 4,096 trials, instead of every
trial's statistics (the host tally capped the runner near 5 million trials/s).

References
----------
Salmon J.K., Moraes M.A., Dror R.O. and Shaw D.E. (2011). Parallel random numbers: as
easy as 1, 2, 3. *Proc. SC11*, article 16 (Philox).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trialkit.errors import DesignInputError
from trialkit.simulate.arrays import array_batch, array_statistics, to_host
from trialkit.simulate.engine import LOGICAL_BATCH, batch_generator, check_run, summarise
from trialkit.simulate.generate import RawDraws, TrialBatch, draw
from trialkit.simulate.results import (
    HR_BIN,
    HR_BINS,
    HR_LIMIT,
    TIME_BIN,
    TIME_BINS,
    SimulationResult,
    Tally,
)
from trialkit.simulate.scenario import Scenario

__all__ = [
    "GPU_INSTALL",
    "array_tally",
    "chunk_batches_for_memory",
    "device_generator",
    "device_trial_batch",
    "host_draws",
    "load_cupy",
    "simulate_on_device",
]

GPU_INSTALL = (
    "--backend gpu needs CuPy and a CUDA device (an NVIDIA GPU with CUDA 12): install it "
    "with pip install 'trialkit[gpu]' on such a machine, or use --backend numba (the default)"
)
#: device bytes per simulated patient at the kernel's peak: measured 296-304 B with numpy
#: (tracemalloc, SOR with and without dropout and two looks), plus a margin for CuPy's pool
BYTES_PER_PATIENT = 48 * 8
#: the largest chunk, in logical batches (about a million trials)
MAX_CHUNK_BATCHES = 256


def load_cupy() -> ModuleType:
    """CuPy with at least one CUDA device, or a :class:`DesignInputError` saying how to get it."""
    try:
        import cupy
    except ImportError:
        raise DesignInputError(GPU_INSTALL) from None
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # CUDA driver missing or broken: CuPy raises its own error types
        count = 0
    if count < 1:
        raise DesignInputError("no CUDA device found; " + GPU_INSTALL)
    module: ModuleType = cupy
    return module


def device_generator(xp: ModuleType, seed: int, index: int) -> Any:
    """The generator of logical batch ``index`` in namespace ``xp``.

    numpy: the CPU's own (:func:`~trialkit.simulate.engine.batch_generator`), so the
    trials are the CPU's. CuPy: Philox4x32-10 keyed by 63 bits of
    ``SeedSequence(seed, spawn_key=(index,))``.
    """
    if xp is np:
        return batch_generator(seed, index)
    sequence = np.random.SeedSequence(seed, spawn_key=(index,))
    key = int(sequence.generate_state(1, np.uint64)[0]) >> 1
    return xp.random.Generator(xp.random.Philox4x3210(key))


def host_draws(scenario: Scenario, seed: int, index: int, size: int, xp: ModuleType) -> RawDraws:
    """The CPU's draws of logical batch ``index``, copied to the device.

    Slower (the host generates every number) but the trials are the CPU's, so a GPU
    run equals a CPU run of the same seed to rounding: a check of the device kernel.
    """
    raw = draw(scenario, batch_generator(seed, index), size)

    def put(a: Any) -> Any:
        return None if a is None else xp.asarray(a)

    return RawDraws(
        spacings=put(raw.spacings),
        allocation=put(raw.allocation),
        pfs=put(raw.pfs),
        dropout=put(raw.dropout),
    )


def chunk_batches_for_memory(free_bytes: int, n: int) -> int:
    """Logical batches per device chunk using at most half of ``free_bytes``."""
    per_batch = LOGICAL_BATCH * (n + 2) * BYTES_PER_PATIENT
    return max(1, min(MAX_CHUNK_BATCHES, (free_bytes // 2) // per_batch))


def _default_chunk(xp: ModuleType, n: int) -> int:
    if xp is np:
        return 4
    free, _total = xp.cuda.runtime.memGetInfo()
    return chunk_batches_for_memory(int(free), n)


def _concatenate(xp: ModuleType, parts: list[RawDraws]) -> RawDraws:
    def cat(values: list[Any]) -> Any:
        return None if values[0] is None else xp.concatenate(values, axis=0)

    return RawDraws(
        spacings=cat([p.spacings for p in parts]),
        allocation=cat([p.allocation for p in parts]),
        pfs=cat([p.pfs for p in parts]),
        dropout=cat([p.dropout for p in parts]),
    )


def array_tally(
    scenario: Scenario, indices: list[int], sizes: list[int], stats: Sequence[Any], xp: ModuleType
) -> Tally:
    """The tally of one chunk from its statistics in namespace ``xp``, reduced where they are.

    The arithmetic of :func:`~trialkit.simulate.engine.tally_batch`, row-wise on the
    whole chunk, then one set of reductions per logical batch; the host receives a few
    numbers per batch and the occupied range of the two histograms, not the per-trial
    statistics. With numpy every figure equals ``tally_batch``'s bit for bit (the same
    operations on the same slices); with CuPy, counts and histograms are equal and the
    float sums differ only by CuPy's summation order (about 1e-16 relative).
    """
    times, events, o, e, v, log_hr = stats
    rows, looks = times.shape
    tally = Tally(looks=looks)
    if rows == 0:
        return tally
    positive = v > 0
    z = xp.where(positive, (e - o) / xp.sqrt(xp.where(positive, v, 1.0)), xp.nan)
    cross = z >= xp.asarray(scenario.efficacy_z, dtype=xp.float64)[None, :]
    crossed = cross.any(axis=1)
    stop = xp.where(crossed, xp.argmax(cross.astype(xp.int8), axis=1), looks - 1)
    every = xp.arange(rows)
    t_stop = times[every, stop]
    ev_stop = events[every, stop]
    hr_stop = log_hr[every, stop]
    early = crossed & (stop < looks - 1)
    decision = early | (log_hr[:, -1] <= math.log(scenario.decision_hr))
    ok = ~xp.isnan(hr_stop)
    look = xp.arange(looks)[None, :]
    reached = stop[:, None] >= look
    counts = xp.concatenate(
        [
            xp.stack([decision, crossed, ~ok], axis=1).astype(xp.int64),
            ev_stop[:, None].astype(xp.int64),
            (crossed[:, None] & (stop[:, None] == look)).astype(xp.int64),
            reached.astype(xp.int64),
            xp.where(reached, events, 0).astype(xp.int64),
        ],
        axis=1,
    )
    squares = t_stop * t_stop
    look_time = xp.where(reached, times, 0.0)
    ints = xp.empty((len(sizes), counts.shape[1]), dtype=xp.int64)
    floats = xp.empty((len(sizes), 2 + looks), dtype=xp.float64)
    start = 0
    for k, size in enumerate(sizes):  # the slices tally_batch sums, batch by batch
        rows_k = slice(start, start + size)
        ints[k] = counts[rows_k].sum(axis=0)
        floats[k, 0] = t_stop[rows_k].sum()
        floats[k, 1] = squares[rows_k].sum()
        floats[k, 2:] = look_time[rows_k].sum(axis=0)
        start += size
    t_bin = xp.minimum((t_stop / TIME_BIN).astype(xp.int64), TIME_BINS - 1)
    h_bin = xp.clip((hr_stop[ok] + HR_LIMIT) / HR_BIN, 0, HR_BINS - 1).astype(xp.int64)
    for hist, bins in ((tally.time_hist, t_bin), (tally.hr_hist, h_bin)):
        if bins.size:
            low, high = (int(x) for x in to_host(xp.stack([bins.min(), bins.max()])))
            hist[low : high + 1] += to_host(xp.bincount(bins - low, minlength=high - low + 1))
    ints_h, floats_h = to_host(ints), to_host(floats)
    for k, (index, size) in enumerate(zip(indices, sizes, strict=True)):
        c = ints_h[k]
        tally.trials += size
        tally.decision += int(c[0])
        tally.logrank += int(c[1])
        tally.hr_missing += int(c[2])
        tally.stopped += c[4 : 4 + looks]
        tally.reached += c[4 + looks : 4 + 2 * looks]
        tally.sums[index] = (
            float(floats_h[k, 0]),
            float(floats_h[k, 1]),
            float(c[3]),
            *(float(x) for x in floats_h[k, 2:]),
            *(float(x) for x in c[4 + 2 * looks :]),
        )
    return tally


def simulate_on_device(
    scenario: Scenario,
    trials: int,
    seed: int,
    *,
    xp: ModuleType | None = None,
    chunk_batches: int | None = None,
    generator: Callable[[ModuleType, int, int], Any] | None = None,
    on_host: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate ``trials`` trials of ``scenario`` from ``seed`` with the array kernel.

    Parameters
    ----------
    scenario, trials, seed
        As :func:`trialkit.simulate.engine.simulate`.
    xp
        ``cupy`` (default: loaded with :func:`load_cupy`) or ``numpy``.
    chunk_batches
        Logical batches per device chunk (default: from the free device memory);
        affects speed and memory, never the result.
    generator
        ``(xp, seed, index) -> generator`` of logical batch ``index``
        (default: :func:`device_generator`).
    on_host
        Draw on the host with the CPU's generators (:func:`host_draws`): the CPU's
        trials, for checking a device against the CPU backends.
    progress
        Called with the number of trials finished after each chunk.
    """
    backend = "gpu" if xp is None or xp is not np else "array"
    check_run(trials, seed, "gpu")
    if xp is None:
        xp = load_cupy()
    make = generator or device_generator
    start = time.perf_counter()
    n_batches = -(-trials // LOGICAL_BATCH)
    step = max(1, chunk_batches or _default_chunk(xp, scenario.n))
    tally = Tally(looks=len(scenario.look_events))
    for first in range(0, n_batches, step):
        indices = list(range(first, min(first + step, n_batches)))
        sizes = [min(LOGICAL_BATCH, trials - i * LOGICAL_BATCH) for i in indices]
        raw = _concatenate(
            xp,
            [
                host_draws(scenario, seed, i, s, xp)
                if on_host
                else draw(scenario, make(xp, seed, i), s)
                for i, s in zip(indices, sizes, strict=True)
            ],
        )
        batch = array_batch(scenario, raw, xp)
        part = array_tally(scenario, indices, sizes, array_statistics(scenario, batch, xp), xp)
        tally.add(part)
        if progress is not None:
            progress(part.trials)
    return summarise(scenario, tally, seed, backend, time.perf_counter() - start)


def device_trial_batch(
    scenario: Scenario,
    seed: int,
    index: int,
    size: int,
    xp: ModuleType | None = None,
    *,
    on_host: bool = False,
) -> tuple[TrialBatch, tuple[NDArray[Any], ...]]:
    """Patient data (on the host) and look statistics of logical batch ``index``.

    What ``--dump-trial`` needs for a run of the array backend: the batch regenerated
    from its own stream, exactly as :func:`simulate_on_device` generated it.
    """
    if xp is None:
        xp = load_cupy()
    if on_host:
        raw = host_draws(scenario, seed, index, size, xp)
    else:
        raw = draw(scenario, device_generator(xp, seed, index), size)
    batch = array_batch(scenario, raw, xp)
    stats = tuple(to_host(a) for a in array_statistics(scenario, batch, xp))
    entry, pfs, dropout, treated = (to_host(a) for a in batch)
    host = TrialBatch(
        entry=np.ascontiguousarray(entry),
        pfs=pfs,
        dropout=np.ascontiguousarray(dropout),
        treated=treated.astype(bool),
    )
    return host, stats
