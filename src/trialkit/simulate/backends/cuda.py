"""``cuda``: the per-trial kernel on an NVIDIA GPU, one thread per trial (numba.cuda).

The trial body is :func:`trialkit.simulate.trial.simulate_trial`, the CPU backend's own
source, compiled here by ``numba.cuda.jit`` into a kernel whose thread keeps its trial's
patients in fixed-size local arrays (:func:`make_kernel`: one kernel per ``n``, looks and
draw switches). What differs from the CPU lives here: the local arrays, the seeding of each
thread's stream and the tally on the device.

Tally on the device: :func:`cuda_tally` runs :func:`make_tally_kernel` on the
device-resident per-trial outputs (block reductions, integer atomics into the histograms)
and copies back a few numbers per 128 trials plus the occupied histogram range.

Random numbers: each thread draws from its own ``xoroshiro128+`` stream, seeded through
splitmix64 from the logical batch's spawned ``SeedSequence``
(:func:`~trialkit.simulate.streams.batch_seed`, :func:`_states`), exactly as the CPU
kernel seeds each trial: a device run simulates the CPU's trials for the same seed, its
statistics equal to rounding (the GPU's fused multiply-adds round differently). With
host draws the kernel reads those values from host arrays
(:func:`trialkit.simulate.streams.stream_draws`): a check of the device path itself.

Status: tested under numba's CUDA simulator and compiled to PTX for sm_90; not yet run on
a real GPU (``benchmarks/device_check.sh`` is the prepared check).

References
----------
Steele G.L., Lea D. and Flood C.H. (2014). Fast splittable pseudorandom number
generators. *OOPSLA 2014*, 453-472 (splitmix64).

Knuth D.E. (1997). *The Art of Computer Programming*, vol. 2, 3rd ed., section 4.2.2
(TwoSum: the exact error of a floating-point addition).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numba import cuda as _cuda
from numba.cuda import random as _random
from numpy.typing import NDArray

from trialkit.errors import DesignInputError
from trialkit.simulate.generate import RawDraws
from trialkit.simulate.looks import Batches, LookStatistics
from trialkit.simulate.model import draw_arrays, model_arrays
from trialkit.simulate.results import HR_BIN, HR_BINS, HR_LIMIT, TIME_BIN, TIME_BINS, Tally
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.streams import batch_seed, splitmix64, stream_draws
from trialkit.simulate.trial import simulate_trial, thread_state

__all__ = [
    "BACKEND",
    "CHUNK_BATCHES",
    "NO_CUDA",
    "TALLY_THREADS",
    "THREADS_PER_BLOCK",
    "CudaBackend",
    "cuda_batches",
    "cuda_statistics",
    "cuda_tally",
    "index_dtype",
    "make_kernel",
    "make_tally_kernel",
    "require_cuda",
    "tally_on_device",
    "thread_states",
]

# numba.cuda is untyped (and partly generated at run time): typed as Any for mypy
cuda: Any = _cuda
uint64: Any = numba.uint64
#: threads per block of the simulation kernel (see docs/performance.md for the reasoning)
THREADS_PER_BLOCK = 64
#: register cap per thread of the simulation kernel (None: the compiler's choice);
#: ``benchmarks/bench_simulate.py --max-registers`` times the alternatives
MAX_REGISTERS: int | None = None
#: threads per block of the tally kernel (a power of two: tree reductions)
TALLY_THREADS = 128
#: logical batches per kernel launch (at least): 1,048,576 trials, about nine waves of the
#: 118,000 threads an H100/H200 holds at once (docs/performance.md)
CHUNK_BATCHES = 256
_FIELDS = 8  # tally fields reduced per pass: 128 x 8 x 24 bytes = 24 KB of shared memory
_F = TypeVar("_F", bound=Callable[..., Any])


def _device(fn: _F) -> _F:
    """``cuda.jit(device=True)``, keeping the function's type for mypy."""
    return cast(_F, cuda.jit(device=True)(fn))


NO_CUDA = (
    "backend cuda needs an NVIDIA GPU, its driver and the CUDA toolkit for numba "
    "(e.g. pip install 'numba-cuda[cu12]'); none was found: use backend numba"
)


def _cuda_simulated() -> bool:
    from numba import config

    return bool(getattr(config, "ENABLE_CUDASIM", False))


def require_cuda() -> None:
    """Raise :class:`DesignInputError` (one line) unless numba sees a usable CUDA device."""
    try:
        from numba.cuda.cudadrv import nvvm  # the compiler: a device alone is not enough

        compiler: Any = nvvm.is_available
        ok = bool(cuda.is_available()) and (_cuda_simulated() or bool(compiler()))
    except Exception:  # broken driver or libraries: numba raises its own error types
        ok = False
    if not ok:
        raise DesignInputError(NO_CUDA, location="backend")


@_device
def _count_in(hist: Any, spans: Any, slot: int, x: float) -> None:  # pragma: no cover
    """Count ``x`` (a position in bin widths) in ``hist``: bin ``int(x)``, clamped to the first
    and last bin (NaN to the last), and widen the occupied range ``spans[slot:slot + 2]``."""
    last = hist.size - 1
    if x <= 0.0:
        b = 0
    elif x < last:
        b = int(x)
    else:
        b = last
    cuda.atomic.add(hist, b, 1)
    cuda.atomic.min(spans, slot, b)
    cuda.atomic.max(spans, slot + 1, b)


def index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """Narrowest signed integer that holds ``0..n + 1`` (bucket numbers, counts, risk sets)."""
    return np.int16 if n + 1 <= np.iinfo(np.int16).max else np.int32


@lru_cache(maxsize=32)
def make_kernel(
    n: int,
    n_looks: int,
    random_entry: bool,
    simple: bool,
    host: bool,
    max_registers: int | None = None,
) -> Any:
    """The kernel for ``n`` patients and ``n_looks`` looks: one thread per trial.

    ``n`` and ``n_looks`` size the thread's local arrays (compile-time constants);
    ``random_entry``, ``simple`` and ``host`` are constants too, so the compiler drops the
    draws a scenario never takes. ``host`` selects host-supplied draws (the arrays of
    :class:`~trialkit.simulate.model.DrawArrays`) instead of the thread's own
    ``xoroshiro128+`` stream, seeded in the thread from ``seeds`` (one per logical batch
    of the launch) and ``starts`` (their first rows). The body is
    :func:`trialkit.simulate.trial.simulate_trial`, the CPU's.

    Per-thread local memory (the ``stack frame`` of ``ptxas -v``; device memory cached in
    L1/L2): entry, follow-up, calendar event and sorted follow-up times (float64: the
    statistics depend on their order and ties), one status byte and one sorted flag byte
    per patient, bucket numbers, counts and per-tie-group risk sets in
    :func:`index_dtype`: 10,160 bytes for SOR on sm_90. Storing the calendar times
    (1,760 bytes) rather than recomputing them made the CPU kernel about 10% faster; its
    effect on a GPU is still to be measured (``benchmarks/device_check.sh``).
    """
    n1 = n + 1
    idx = index_dtype(n)

    @cuda.jit(**({} if max_registers is None else {"max_registers": max_registers}))
    def kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - runs on the device
        seeds, starts, spacings, allocation, uniforms, pfs_unit, drop_unit,
        _random_entry, _simple, share, patterns, drop_hazard,
        acc_starts, acc_knots, acc_rates, pfs_starts, knots_c, h_c, knots_t, h_t,
        looks, efron, zig_k, zig_w, zig_f, out_time, out_events, out_o, out_e, out_v, out_beta,
    ):  # fmt: skip  # the two switches arrive as constants (closure), not arguments
        r = cuda.grid(1)
        if r >= out_time.shape[0]:
            return
        entry = cuda.local.array(n, np.float64)
        obs = cuda.local.array(n, np.float64)  # follow-up: min(PFS, dropout)
        status = cuda.local.array(n, np.uint8)  # bit 0 treated, bit 1 PFS event first
        cal = cuda.local.array(n, np.float64)  # calendar time of the event (inf: dropout)
        ys = cuda.local.array(n, np.float64)  # sorted follow-up (and selection scratch)
        fs = cuda.local.array(n, np.uint8)
        bucket = cuda.local.array(n, idx)
        counts = cuda.local.array(n1, idx)
        taus = cuda.local.array(n_looks, np.float64)
        g_n0 = cuda.local.array(n, idx)
        g_n1 = cuda.local.array(n, idx)
        g_d0 = cuda.local.array(n, idx)
        g_d1 = cuda.local.array(n, idx)
        s0 = uint64(0)
        s1 = uint64(0)
        if not host:
            s0, s1 = thread_state(seeds, starts, r)
        draws = (spacings, allocation, uniforms, pfs_unit, drop_unit)
        model = (
            random_entry,
            simple,
            share,
            patterns,
            drop_hazard,
            acc_starts,
            acc_knots,
            acc_rates,
            pfs_starts,
            knots_c,
            h_c,
            knots_t,
            h_t,
            looks,
            efron,
            zig_k,
            zig_w,
            zig_f,
        )
        scratch = (entry, obs, status, cal, ys, fs, bucket, counts, taus, g_n0, g_n1, g_d0, g_d1)
        out = (out_time, out_events, out_o, out_e, out_v, out_beta)
        simulate_trial(r, host, s0, s1, draws, model, scratch, out)  # fmt: skip

    return kernel


@cuda.jit
def _seed_kernel(seeds, starts, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Each row's initial state (``out[r] = s0, s1``): the seeding of the kernel, for tests."""
    r = cuda.grid(1)
    if r < out.shape[0]:
        s0, s1 = thread_state(seeds, starts, r)
        out[r, 0] = s0
        out[r, 1] = s1


@lru_cache(maxsize=8)
def make_tally_kernel(n_looks: int) -> Any:
    """The on-device tally of ``n_looks`` looks: one thread per trial, one block per 128 rows.

    Each block covers :data:`TALLY_THREADS` consecutive trials of one logical batch
    (``row0``, ``rows``) and writes its partial counts and integer sums (``p_int``) and
    its float sums as unevaluated pairs ``hi + lo`` (``p_hi``, ``p_lo``: a fixed tree
    of error-free TwoSum additions in shared memory, so the partials do not depend on
    thread timing); the host adds a batch's partials (integers exactly, floats with
    :func:`math.fsum`). Histogram bins are added with integer atomics (exact in any
    order) and their occupied range is kept in ``spans`` (lowest and highest time bin,
    lowest and highest HR bin), so the host copies only that range.

    The per-trial arithmetic is :func:`trialkit.simulate.looks.tally_statistics`'s (the same
    IEEE operations: ``(E - O) / sqrt(V)``, the bin divisions), so counts and
    histograms equal the host tally of the same outputs; the float sums agree to
    rounding (both about 1e-16 relative; tested to 1e-12).
    """
    looks = n_looks
    last = looks - 1
    n_int = 4 + 3 * looks  # decision, log-rank, no HR, events; stopped, reached, look events
    n_flt = 2 + looks  # time, time squared; look times
    tpb = TALLY_THREADS

    @cuda.jit
    def tally(  # type: ignore[no-untyped-def]  # pragma: no cover - runs on the device
        row0,
        rows,
        times,
        events,
        out_o,
        out_e,
        out_v,
        out_beta,
        efficacy_z,
        log_decision,
        p_int,
        p_hi,
        p_lo,
        time_hist,
        hr_hist,
        spans,
    ):
        blk = cuda.blockIdx.x
        t = cuda.threadIdx.x
        ints = cuda.local.array(n_int, np.int64)
        flts = cuda.local.array(n_flt, np.float64)
        for f in range(n_int):
            ints[f] = 0
        for f in range(n_flt):
            flts[f] = 0.0
        if t < rows[blk]:
            r = row0[blk] + t
            stop = last
            crossed = False
            for k in range(looks):
                vk = out_v[r, k]
                if vk > 0.0 and (out_e[r, k] - out_o[r, k]) / math.sqrt(vk) >= efficacy_z[k]:
                    stop = k
                    crossed = True
                    break
            t_stop = times[r, stop]
            hr_stop = out_beta[r, stop]
            early = crossed and stop < last
            ints[0] = 1 if early or out_beta[r, last] <= log_decision else 0
            ints[1] = 1 if crossed else 0
            ints[3] = events[r, stop]
            if crossed:
                ints[4 + stop] = 1
            for k in range(stop + 1):  # look k is reached unless the trial stopped before
                ints[4 + looks + k] = 1
                ints[4 + 2 * looks + k] = events[r, k]
                flts[2 + k] = times[r, k]
            flts[0] = t_stop
            flts[1] = t_stop * t_stop
            _count_in(time_hist, spans, 0, t_stop / TIME_BIN)
            if math.isnan(hr_stop):
                ints[2] = 1
            else:
                _count_in(hr_hist, spans, 2, (hr_stop + HR_LIMIT) / HR_BIN)
        # fixed-shape tree reductions, _FIELDS fields at a time (bounded shared memory)
        sh_i = cuda.shared.array((tpb, _FIELDS), np.int64)
        sh_hi = cuda.shared.array((tpb, _FIELDS), np.float64)
        sh_lo = cuda.shared.array((tpb, _FIELDS), np.float64)
        for first in range(0, n_int, _FIELDS):
            width = _FIELDS if n_int - first > _FIELDS else n_int - first
            for f in range(width):
                sh_i[t, f] = ints[first + f]
            cuda.syncthreads()
            s = tpb // 2
            while s > 0:
                if t < s:
                    for f in range(width):
                        sh_i[t, f] += sh_i[t + s, f]
                cuda.syncthreads()
                s //= 2
            if t == 0:
                for f in range(width):
                    p_int[blk, first + f] = sh_i[0, f]
            cuda.syncthreads()
        for first in range(0, n_flt, _FIELDS):
            width = _FIELDS if n_flt - first > _FIELDS else n_flt - first
            for f in range(width):
                sh_hi[t, f] = flts[first + f]
                sh_lo[t, f] = 0.0
            cuda.syncthreads()
            s = tpb // 2
            while s > 0:
                if t < s:
                    for f in range(width):
                        a = sh_hi[t, f]
                        b = sh_hi[t + s, f]
                        total = a + b  # TwoSum (Knuth): total + err == a + b exactly
                        bb = total - a
                        err = (a - (total - bb)) + (b - bb)
                        sh_lo[t, f] = sh_lo[t, f] + sh_lo[t + s, f] + err
                        sh_hi[t, f] = total
                cuda.syncthreads()
                s //= 2
            if t == 0:
                for f in range(width):
                    p_hi[blk, first + f] = sh_hi[0, f]
                    p_lo[blk, first + f] = sh_lo[0, f]
            cuda.syncthreads()

    return tally


def _states(seed: int, batches: Sequence[tuple[int, int]]) -> Any:
    """Host ``xoroshiro128p`` states, one per trial, for the logical batches ``(index, size)``.

    Trial ``i`` of a batch takes words ``2i + 1`` and ``2i + 2`` (from 1) of the
    splitmix64 stream seeded with the batch's seed (:func:`batch_seed`): the seeding
    Blackman and Vigna recommend. The kernel computes the same words in each thread
    (:func:`_thread_state`), so no state array is built or copied; this host version
    is the reference the tests hold the device seeding to. The streams are not provably
    disjoint as jump-ahead ones are; with a period of 2**128 - 1, an overlap within a
    run is negligible.
    """
    parts = []
    for index, size in batches:
        words = splitmix64(batch_seed(seed, index), 2 * size)
        part = np.empty(size, dtype=_random.xoroshiro128p_dtype)
        part["s0"] = words[0::2]
        part["s1"] = words[1::2]
        parts.append(part)
    return np.concatenate(parts)


def _seeds(seed: int, batches: Sequence[tuple[int, int]]) -> tuple[Any, Any]:
    """Per-batch seeds and first rows of a launch (``starts`` has one more: the total)."""
    seeds = np.array([batch_seed(seed, index) for index, _ in batches], dtype=np.uint64)
    starts = np.concatenate(([0], np.cumsum([size for _, size in batches]))).astype(np.int64)
    return seeds, starts


def thread_states(seed: int, batches: Sequence[tuple[int, int]]) -> NDArray[np.uint64]:
    """The initial ``(s0, s1)`` of every row of a launch, as the device computes them."""
    seeds, starts = _seeds(seed, batches)
    out = cuda.device_array((int(starts[-1]), 2), np.uint64)
    with _quiet():
        _seed_kernel[-(-int(starts[-1]) // 128), 128](
            cuda.to_device(seeds), cuda.to_device(starts), out
        )
    states: NDArray[np.uint64] = out.copy_to_host()
    return states


def cuda_statistics(
    scenario: Scenario, trials: int, *, seed: int = 0, index: int = 0, raw: RawDraws | None = None
) -> LookStatistics:
    """Every trial's statistics at every look, copied back to the host.

    Draws on the device from logical batch ``index`` of ``seed`` (:func:`batch_seed`), or,
    with ``raw``, reads those host draws (the trials of the CPU backends): the per-trial
    path (``--dump-trial``, trial-for-trial checks).
    """
    outs = _launch(scenario, [(index, trials)], seed=seed, raw=raw)
    return LookStatistics(*(x.copy_to_host() for x in outs))


def cuda_batches(
    scenario: Scenario, seed: int, batches: Sequence[tuple[int, int]]
) -> list[LookStatistics]:
    """The per-trial statistics of several logical batches ``(index, size)``, one launch.

    Each batch keeps its own stream (:func:`batch_seed`), so the result per batch does
    not depend on which batches share a launch.
    """
    every = LookStatistics(*(x.copy_to_host() for x in _launch(scenario, batches, seed=seed)))
    out: list[LookStatistics] = []
    start = 0
    for _, size in batches:
        out.append(every.rows(start, start + size))
        start += size
    return out


def cuda_tally(
    scenario: Scenario,
    seed: int,
    batches: Sequence[tuple[int, int]],
    *,
    raw: RawDraws | None = None,
) -> Tally:
    """The :class:`Tally` of the logical batches ``(index, size)``, simulated and tallied on device.

    One simulation launch for all the batches (their own streams, or ``raw``: the host
    draws of the one batch given), then :func:`make_tally_kernel`'s launch on the
    device-resident outputs: the host receives a few numbers per 128 trials and the
    occupied range of the two histograms, never the per-trial outputs. Equal to
    :func:`trialkit.simulate.looks.tally_statistics` on the same outputs (counts and
    histograms exactly, float sums to rounding), and independent of how the batches
    are grouped into launches (each block lies within one batch).
    """
    if raw is not None and len(batches) != 1:
        raise ValueError("host draws are those of a single logical batch")
    outs = _launch(scenario, batches, seed=seed, raw=raw)
    return tally_on_device(scenario, batches, outs)


def tally_on_device(
    scenario: Scenario,
    batches: Sequence[tuple[int, int]],
    outs: LookStatistics | Sequence[Any],
) -> Tally:
    """Tally per-trial outputs already on the device (``time, events, O, E, V, log HR``).

    ``outs`` are device arrays (or host arrays, copied first) of shape
    ``(trials, looks)``, the rows of the logical ``batches`` one after the other.
    """
    looks = len(scenario.look_events)
    if isinstance(outs, LookStatistics):
        outs = outs.arrays()
    outs = [
        cuda.to_device(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x for x in outs
    ]
    row0: list[int] = []
    rows: list[int] = []
    per_batch: list[int] = []
    start = 0
    for _, size in batches:
        first = len(row0)
        for offset in range(0, size, TALLY_THREADS):
            row0.append(start + offset)
            rows.append(min(TALLY_THREADS, size - offset))
        per_batch.append(len(row0) - first)
        start += size
    n_blocks = len(row0)
    tally = Tally(looks=looks)
    if n_blocks == 0:
        return tally
    n_int, n_flt = 4 + 3 * looks, 2 + looks
    p_int = cuda.device_array((n_blocks, n_int), np.int64)
    p_hi = cuda.device_array((n_blocks, n_flt), np.float64)
    p_lo = cuda.device_array((n_blocks, n_flt), np.float64)
    # zeroed by a copy (4.6 MB, a fraction of a millisecond against a launch of ~10^6 trials)
    time_hist = cuda.to_device(np.zeros(TIME_BINS, np.int32))
    hr_hist = cuda.to_device(np.zeros(HR_BINS, np.int32))
    big = np.iinfo(np.int32).max
    spans = cuda.to_device(np.array([big, -1, big, -1], np.int32))
    with _quiet():
        make_tally_kernel(looks)[n_blocks, TALLY_THREADS](
            cuda.to_device(np.asarray(row0, np.int64)), cuda.to_device(np.asarray(rows, np.int64)),
            *outs, cuda.to_device(np.asarray(scenario.efficacy_z, np.float64)),
            math.log(scenario.decision_hr), p_int, p_hi, p_lo, time_hist, hr_hist, spans,
        )  # fmt: skip
    ints, his, los = p_int.copy_to_host(), p_hi.copy_to_host(), p_lo.copy_to_host()
    lo_t, hi_t, lo_h, hi_h = (int(x) for x in spans.copy_to_host())
    if hi_t >= lo_t:
        tally.time_hist[lo_t : hi_t + 1] += time_hist[lo_t : hi_t + 1].copy_to_host()
        tally.time_span = (lo_t, hi_t)
    if hi_h >= lo_h:
        tally.hr_hist[lo_h : hi_h + 1] += hr_hist[lo_h : hi_h + 1].copy_to_host()
        tally.hr_span = (lo_h, hi_h)
    first = 0
    for (index, size), count in zip(batches, per_batch, strict=True):
        block = slice(first, first + count)
        first += count
        total = ints[block].sum(axis=0)
        tally.trials += size
        tally.decision += int(total[0])
        tally.logrank += int(total[1])
        tally.hr_missing += int(total[2])
        tally.stopped += total[4 : 4 + looks]
        tally.reached += total[4 + looks : 4 + 2 * looks]
        floats = [math.fsum([*his[block, f], *los[block, f]]) for f in range(n_flt)]
        tally.sums[index] = (
            floats[0],
            floats[1],
            float(total[3]),
            *floats[2:],
            *(float(x) for x in total[4 + 2 * looks :]),
        )
    return tally


def _launch(
    scenario: Scenario,
    batches: Sequence[tuple[int, int]],
    *,
    seed: int,
    raw: RawDraws | None = None,
) -> list[Any]:
    """Run the simulation kernel; its six device output arrays ``(trials, looks)``."""
    trials = sum(size for _, size in batches)
    model = model_arrays(scenario)
    kernel = make_kernel(
        scenario.n,
        len(scenario.look_events),
        model.random_entry,
        model.simple,
        raw is not None,
        MAX_REGISTERS,
    )
    if raw is None:
        seeds, starts = _seeds(seed, batches)
    else:  # unused by the kernel, typed as when used
        seeds, starts = np.zeros(1, np.uint64), np.zeros(2, np.int64)
    shape = (trials, len(scenario.look_events))
    outs = [cuda.device_array(shape, np.float64) for _ in range(6)]
    outs[1] = cuda.device_array(shape, np.int64)
    grid = -(-trials // THREADS_PER_BLOCK)
    if grid == 0:
        return outs
    with _quiet():
        kernel[grid, THREADS_PER_BLOCK](
            *_device_args(seeds, starts, *draw_arrays(raw), *model), *outs
        )
    return outs


def _device_args(*args: Any) -> list[Any]:
    """Host arrays copied to the device; scalars as they are."""
    return [
        cuda.to_device(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a for a in args
    ]


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numba's under-utilisation warning for small launches (a few trials are fine).

    Matched by message: numba and numba-cuda define the warning class in different modules.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Grid size .* under-utilization")
        yield


class CudaBackend:
    """The per-trial kernel on one NVIDIA GPU, tallied on the device."""

    name = "cuda"
    devices = 1
    launch_batches = CHUNK_BATCHES

    def require(self, *, host_draws: bool) -> None:
        """A usable CUDA device and compiler (:func:`require_cuda`)."""
        require_cuda()

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Logical batch ``index``: its own device stream, or the CPU's draws (``host_draws``)."""
        raw = stream_draws(scenario, seed, index, size) if host_draws else None
        return cuda_statistics(scenario, size, seed=seed, index=index, raw=raw)

    def tally(
        self, scenario: Scenario, seed: int, batches: Batches, *, host_draws: bool = False
    ) -> Tally:
        """One launch for all the batches; with host draws, one launch per batch."""
        if not host_draws:
            return cuda_tally(scenario, seed, batches)
        tally = Tally(looks=len(scenario.look_events))
        for index, size in batches:
            raw = stream_draws(scenario, seed, index, size)
            tally.add(cuda_tally(scenario, seed, [(index, size)], raw=raw))
        return tally


BACKEND = CudaBackend()
