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

References
----------
Salmon J.K., Moraes M.A., Dror R.O. and Shaw D.E. (2011). Parallel random numbers: as
easy as 1, 2, 3. *Proc. SC11*, article 16 (Philox).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trialkit.errors import DesignInputError
from trialkit.simulate.arrays import array_batch, array_statistics, to_host
from trialkit.simulate.engine import (
    LOGICAL_BATCH,
    batch_generator,
    check_run,
    summarise,
    tally_batch,
)
from trialkit.simulate.generate import RawDraws, TrialBatch, draw
from trialkit.simulate.results import SimulationResult, Tally
from trialkit.simulate.scenario import Scenario

__all__ = [
    "GPU_INSTALL",
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


def _tally_chunk(
    scenario: Scenario, indices: list[int], sizes: list[int], stats: list[NDArray[Any]]
) -> Tally:
    """The tally of one device chunk, logical batch by logical batch (host arrays)."""
    part = Tally(looks=len(scenario.look_events))
    row = 0
    for index, size in zip(indices, sizes, strict=True):
        rows = tuple(s[row : row + size] for s in stats)
        tally_batch(scenario, index, rows, part)  # type: ignore[arg-type]
        row += size
    return part


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

    def collect(done: Future[Tally]) -> None:
        part = done.result()
        tally.add(part)
        if progress is not None:
            progress(part.trials)

    # the host tallies chunk k in a thread while the device works on chunk k + 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[Tally] | None = None
        for first in range(0, n_batches, step):
            indices = range(first, min(first + step, n_batches))
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
            stats = [to_host(a) for a in array_statistics(scenario, batch, xp)]
            submitted = pool.submit(_tally_chunk, scenario, list(indices), sizes, stats)
            if pending is not None:
                collect(pending)
            pending = submitted
        if pending is not None:
            collect(pending)
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
