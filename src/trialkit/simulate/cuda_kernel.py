"""Fused CUDA kernel: one CUDA thread simulates and analyses one whole trial (numba.cuda).

Why by hand: no library turns a trial-level Monte Carlo (draws, D-th event cut,
log-rank with ties, Efron Cox fit) into one GPU thread per trial; the array backend of
:mod:`trialkit.simulate.arrays` on CuPy makes dozens of passes over global memory and
sorts, while here a thread keeps its trial's patients in fixed-size local arrays, as the
fused CPU kernel (:mod:`trialkit.simulate.fused`) keeps them in L1 cache. The body
mirrors the CPU kernel line for line (same bucket selection, bucket sort, tie walk and
Newton iteration); numba's CUDA target cannot call the CPU kernel's helpers (they use
``np.searchsorted`` and allocate), so they are repeated here as device functions, and
equality with the CPU kernel is tested under numba's CUDA simulator
(``tests/simulate/test_cuda_kernel.py``).

Local arrays need compile-time sizes, so :func:`make_kernel` builds (and caches) one
kernel per shape ``(n, looks, block size, blocks)`` and per model switches. They are
kept small (see :func:`make_kernel`): times in float64, flags in bytes, indices and
counts in 16-bit integers, and nothing stored that a pass can recompute.

Tally on the device: :func:`cuda_tally` runs :func:`make_tally_kernel` on the
device-resident per-trial outputs (block reductions, integer atomics into the
histograms) and copies back a few numbers per 128 trials plus the occupied histogram
range, instead of every trial's outputs; :func:`cuda_statistics` and
:func:`cuda_batches` keep the per-trial path (``--dump-trial``, trial-for-trial checks).

Random numbers: with ``host=True`` the kernel reads the draws of
:func:`trialkit.simulate.generate.draw` (a check: the trials are the CPU's); otherwise
each thread draws its own from a ``xoroshiro128p`` stream (the generator of
:mod:`numba.cuda.random`, its state held in registers), seeded in the thread through
splitmix64 from the logical batch's spawned ``SeedSequence`` (see :func:`batch_seed`
and :func:`_states`). That stream differs from the CPU's PCG64 stream: a device run
agrees with a CPU run of the same seed within Monte Carlo error, not trial for trial;
two device runs of one seed are identical.

Status: tested under the CUDA simulator and compiled to PTX and sm_90 machine code
(``ptxas``); **not yet run on a real GPU** (``benchmarks/device_check.sh`` is the
prepared check).

References
----------
Steele G.L., Lea D. and Flood C.H. (2014). Fast splittable pseudorandom number
generators. *OOPSLA 2014*, 453-472 (splitmix64).

Blackman D. and Vigna S. (2021). Scrambled linear pseudorandom number generators.
*ACM Transactions on Mathematical Software* 47(4), 36.

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
from trialkit.simulate.generate import RawDraws, block_patterns
from trialkit.simulate.results import HR_BIN, HR_BINS, HR_LIMIT, TIME_BIN, TIME_BINS, Tally
from trialkit.simulate.scenario import Scenario

__all__ = [
    "NO_CUDA",
    "TALLY_THREADS",
    "THREADS_PER_BLOCK",
    "batch_seed",
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

FloatArray = NDArray[np.float64]
# numba.cuda is untyped (and partly generated at run time): typed as Any for mypy
cuda: Any = _cuda
uint64: Any = numba.uint64
uint32: Any = numba.uint32
float64: Any = numba.float64
#: threads per block of the simulation kernel (see benchmarks/RESULTS.md for the reasoning)
THREADS_PER_BLOCK = 64
#: register cap per thread of the simulation kernel (None: the compiler's choice, 70 for SOR
#: on sm_90); ``benchmarks/bench_simulate.py --max-registers`` times the alternatives
MAX_REGISTERS: int | None = None
#: threads per block of the tally kernel (a power of two: tree reductions)
TALLY_THREADS = 128
_FIELDS = 8  # tally fields reduced per pass: 128 x 8 x 24 bytes = 24 KB of shared memory
_F = TypeVar("_F", bound=Callable[..., Any])


def _device(fn: _F) -> _F:
    """``cuda.jit(device=True)``, keeping the function's type for mypy."""
    return cast(_F, cuda.jit(device=True)(fn))


_NEWTON_TOL = 1e-11
_NEWTON_MAX = 40
_MAX_STEP = 2.0
_MONOTONE = 20.0
_INF = math.inf
_UNIT = 1.0 / 2.0**53  # 53 random bits to [0, 1), as numba's uint64_to_unit_float64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
NO_CUDA = (
    "--backend cuda needs an NVIDIA GPU, its driver and the CUDA toolkit for numba "
    "(e.g. pip install 'numba-cuda[cu12]'); none was found: use --backend numba"
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
        raise DesignInputError(NO_CUDA)


@_device
def _smaller(a: Any, b: Any) -> Any:  # pragma: no cover
    """``min(a, b)``: numba's CUDA target (0.68) fails to type the builtin on two scalars."""
    return a if a <= b else b


@_device
def _larger(a: Any, b: Any) -> Any:  # pragma: no cover
    """``max(a, b)``, as :func:`_smaller`."""
    return a if a >= b else b


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


@_device
def _invert(level: float, starts: Any, knots: Any, slopes: Any) -> float:  # pragma: no cover
    k = 0
    while k + 1 < knots.size and knots[k + 1] <= level:  # searchsorted(side="right") - 1
        k += 1
    return float(starts[k] + (level - knots[k]) / slopes[k])


@_device
def _rotl(x: Any, k: Any) -> Any:  # pragma: no cover
    """``x`` rotated left by ``k`` bits (as ``numba.cuda.random.rotl``)."""
    x = uint64(x)
    k = uint32(k)
    return (x << k) | (x >> uint32(64 - k))


@_device
def _uniform(s0: Any, s1: Any) -> tuple[float, Any, Any]:  # pragma: no cover
    """One xoroshiro128+ step on a state held in registers: ``(uniform in [0, 1), s0, s1)``.

    The arithmetic of ``numba.cuda.random.xoroshiro128p_next`` and
    ``uint64_to_unit_float64``, bit for bit; numba's functions read and write the state
    in a global-memory array at every draw (two 16-byte round trips per number).
    """
    result = s0 + s1
    s1 ^= s0
    n0 = uint64(_rotl(s0, uint32(55))) ^ s1 ^ (s1 << uint32(14))
    n1 = uint64(_rotl(s1, uint32(36)))
    return float64(result >> uint32(11)) * _UNIT, n0, n1


@_device
def _exponential(s0: Any, s1: Any) -> tuple[float, Any, Any]:  # pragma: no cover
    """A unit exponential ``-log1p(-u)`` and the advanced state."""
    u, s0, s1 = _uniform(s0, s1)
    return -math.log1p(-u), s0, s1


@_device
def _splitmix_word(base: Any, k: Any) -> Any:  # pragma: no cover
    """Output ``k`` (from 1) of splitmix64 started at ``base``: :func:`_splitmix64`, one word."""
    z = uint64(base + uint64(k) * _GOLDEN)
    z = uint64((z ^ (z >> uint32(30))) * _MIX1)
    z = uint64((z ^ (z >> uint32(27))) * _MIX2)
    return z ^ (z >> uint32(31))


@_device
def _thread_state(seeds: Any, starts: Any, r: int) -> tuple[Any, Any]:  # pragma: no cover
    """The initial state of launch row ``r``: words ``2i + 1``, ``2i + 2`` of its batch's seed.

    ``starts[b]`` is the first row of the launch's batch ``b``; row ``r`` is trial
    ``i = r - starts[b]`` of it. The same words as the host's :func:`_states`.
    """
    lo = 0
    hi = seeds.size - 1
    while lo < hi:  # the last batch starting at or before r
        mid = (lo + hi + 1) // 2
        if starts[mid] <= r:
            lo = mid
        else:
            hi = mid - 1
    k = 2 * (r - starts[lo])
    return _splitmix_word(seeds[lo], k + 1), _splitmix_word(seeds[lo], k + 2)


@_device
def _cal(entry: Any, obs: Any, status: Any, i: int) -> float:  # pragma: no cover
    """Calendar time of patient ``i``'s event (``inf`` if dropout came first)."""
    return entry[i] + obs[i] if status[i] >= 2 else _INF


@_device
def _bucket_select(
    entry: Any, obs: Any, status: Any, looks: Any, counts: Any, bucket: Any, tmp: Any, out: Any
) -> None:  # pragma: no cover
    """As :func:`trialkit.simulate.fused._bucket_select`, the calendar times recomputed."""
    n = entry.size
    hi = 0.0
    finite = 0
    for i in range(n):
        c = _cal(entry, obs, status, i)
        if c < _INF:
            finite += 1
            hi = _larger(hi, c)
    scale = n / hi if hi > 0.0 else 0.0
    for b in range(n + 1):
        counts[b] = 0
    for i in range(n):
        c = _cal(entry, obs, status, i)
        if c < _INF:
            b = _smaller(int(c * scale), n - 1)
            bucket[i] = b
            counts[b] += 1
        else:
            bucket[i] = n
    b = 0
    below = 0
    for k in range(looks.size):
        j = looks[k] - 1
        if j >= finite:
            out[k] = _INF
            continue
        while below + int(counts[b]) <= j:
            below += int(counts[b])
            b += 1
        m = 0
        for i in range(n):
            if bucket[i] == b:
                v = _cal(entry, obs, status, i)
                q = m
                while q > 0 and tmp[q - 1] > v:
                    tmp[q] = tmp[q - 1]
                    q -= 1
                tmp[q] = v
                m += 1
        out[k] = tmp[j - below]


@_device
def _sorted_follow_up(
    entry: Any, obs: Any, status: Any, tau: float, counts: Any, bucket: Any, ys: Any, fs: Any
) -> tuple[int, int]:  # pragma: no cover
    """The follow-up times at ``tau`` in ascending order, as the CPU kernel's bucket sort.

    Patients with ``entry < tau`` are at risk; follow-up ``min(obs, tau - entry)``;
    flag ``2 * event + treated`` (``fs``). The follow-up times are recomputed in each
    pass rather than stored (the same bits each time), and patients are taken in index
    order, so ``ys``, ``fs`` equal :func:`trialkit.simulate.fused._bucket_sort`'s output.
    Returns ``(m, m1)``: patients at risk, of them treated.
    """
    n = entry.size
    m = 0
    m1 = 0
    for i in range(n):
        if entry[i] < tau:
            m += 1
            m1 += int(status[i] & 1)
    scale = m / tau if tau > 0.0 else 0.0
    for b in range(m + 1):
        counts[b] = 0
    for i in range(n):
        if entry[i] < tau:
            b = _smaller(int(_smaller(obs[i], tau - entry[i]) * scale), m - 1)
            bucket[i] = b
            counts[b + 1] += 1
    for b in range(m):
        counts[b + 1] += counts[b]
    for i in range(n):
        if entry[i] < tau:
            b = bucket[i]
            pos = counts[b]
            counts[b] = pos + 1
            ys[pos] = _smaller(obs[i], tau - entry[i])
            st = int(status[i])
            event = 1 if st >= 2 and entry[i] + obs[i] <= tau else 0
            fs[pos] = 2 * event + (st & 1)
    for i in range(1, m):
        v = ys[i]
        if v < ys[i - 1]:
            f = fs[i]
            j = i - 1
            while j >= 0 and ys[j] > v:
                ys[j + 1] = ys[j]
                fs[j + 1] = fs[j]
                j -= 1
            ys[j + 1] = v
            fs[j + 1] = f
    return m, m1


def index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """Narrowest signed integer that holds ``0..n + 1`` (bucket numbers, counts, risk sets)."""
    return np.int16 if n + 1 <= np.iinfo(np.int16).max else np.int32


@lru_cache(maxsize=32)
def make_kernel(
    n: int,
    n_looks: int,
    size: int,
    blocks: int,
    n_patterns: int,
    random_entry: bool,
    simple: bool,
    one_rate: bool,
    one_piece: bool,
    has_dropout: bool,
    host: bool,
    max_registers: int | None = None,
) -> Any:
    """The kernel for ``n`` patients, ``n_looks`` looks and these model switches.

    Every argument is a compile-time constant of the returned kernel (local array sizes,
    branches); ``host`` selects host-supplied draws (the arrays of :class:`RawDraws`)
    instead of the thread's own ``xoroshiro128p`` stream, seeded in the thread from
    ``seeds`` (one per logical batch of the launch) and ``starts`` (their first rows).

    Per-thread local memory (the ``stack frame`` of ``ptxas -v``; it lives in device
    memory, cached in L1/L2): entry and follow-up times, sorted follow-up times
    (float64: the log-rank and Cox statistics depend on their order and ties), one
    status byte (treated, event before dropout) and one sorted flag byte per patient,
    bucket numbers, counts and per-tie-group risk sets in :func:`index_dtype`. The
    calendar event times and the follow-up at each look are recomputed from entry and
    follow-up times instead of being stored: for SOR, 9.1 KB per thread instead of
    28.2 KB (``benchmarks/RESULTS.md``).
    """
    n1 = n + 1
    idx = index_dtype(n)

    @cuda.jit(**({} if max_registers is None else {"max_registers": max_registers}))
    def kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - runs on the device
        seeds,
        starts,
        spacings,
        allocation,
        uniforms,
        pfs_unit,
        drop_unit,
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
        out_time,
        out_events,
        out_o,
        out_e,
        out_v,
        out_beta,
    ):
        r = cuda.grid(1)
        if r >= out_time.shape[0]:
            return
        entry = cuda.local.array(n, np.float64)
        obs = cuda.local.array(n, np.float64)  # follow-up: min(PFS, dropout)
        status = cuda.local.array(n, np.uint8)  # bit 0 treated, bit 1 PFS event first
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
            s0, s1 = _thread_state(seeds, starts, r)
        # draws, in the order of generate.draw: entry, allocation, PFS, dropout
        if random_entry:
            total = 0.0
            for i in range(n):
                if host:
                    x = spacings[r, i]
                else:
                    x, s0, s1 = _exponential(s0, s1)
                total += x
                entry[i] = total
            if host:
                x = spacings[r, n]
            else:
                x, s0, s1 = _exponential(s0, s1)
            total += x
            c = n / total
            if one_rate:
                for i in range(n):
                    entry[i] = entry[i] * c / acc_rates[0]
            else:
                for i in range(n):
                    entry[i] = _invert(entry[i] * c, acc_starts, acc_knots, acc_rates)
        else:
            for i in range(n):
                entry[i] = _invert(float(i + 1), acc_starts, acc_knots, acc_rates)
        if simple:
            for i in range(n):
                if host:
                    u = uniforms[r, i]
                else:
                    u, s0, s1 = _uniform(s0, s1)
                status[i] = 1 if u < share else 0
        else:
            i = 0
            for blk in range(blocks):
                if host:
                    pick = allocation[r, blk]
                else:
                    u, s0, s1 = _uniform(s0, s1)
                    pick = _smaller(int(u * n_patterns), n_patterns - 1)
                for j in range(size):
                    if i < n:
                        status[i] = 1 if patterns[pick, j] else 0
                        i += 1
        for i in range(n):
            if host:
                unit = pfs_unit[r, i]
            else:
                unit, s0, s1 = _exponential(s0, s1)
            if one_piece:
                obs[i] = unit / (h_t[0] if status[i] else h_c[0])
            elif status[i]:
                obs[i] = _invert(unit, pfs_starts, knots_t, h_t)
            else:
                obs[i] = _invert(unit, pfs_starts, knots_c, h_c)
        for i in range(n):
            if has_dropout:
                if host:
                    unit = drop_unit[r, i]
                else:
                    unit, s0, s1 = _exponential(s0, s1)
                drop = unit / drop_hazard
            else:
                drop = _INF
            if obs[i] <= drop:  # the PFS event comes first: calendar time entry + PFS
                status[i] = status[i] | 2
            else:
                obs[i] = drop
        _bucket_select(entry, obs, status, looks, counts, bucket, ys, taus)
        for k in range(n_looks):
            tau = taus[k]
            n_ev = looks[k]
            if not tau < _INF:
                n_ev = 0
                last = -_INF
                for i in range(n):
                    c = _cal(entry, obs, status, i)
                    if c < _INF:
                        n_ev += 1
                        last = _larger(last, c)
                if n_ev == 0:
                    for i in range(n):
                        last = _larger(last, entry[i] + obs[i])
                tau = last
            out_time[r, k] = tau
            out_events[r, k] = n_ev
            m, m1 = _sorted_follow_up(entry, obs, status, tau, counts, bucket, ys, fs)
            o = 0.0
            e = 0.0
            v = 0.0
            groups = 0
            before = 0
            before1 = 0
            i = 0
            while i < m:
                t_i = ys[i]
                j = i
                d = 0
                d1 = 0
                x1 = 0
                while j < m and ys[j] == t_i:
                    fl = int(fs[j])
                    if fl >= 2:
                        d += 1
                        d1 += fl & 1
                    x1 += fl & 1
                    j += 1
                if d > 0:
                    at = m - before
                    at1 = m1 - before1
                    frac = at1 / at
                    o += d1
                    e += d * frac
                    if d == 1:
                        v += frac * (1.0 - frac)
                    elif at > 1:
                        v += d * frac * (1.0 - frac) * (at - d) / (at - 1.0)
                    g_n0[groups] = at - at1
                    g_n1[groups] = at1
                    g_d0[groups] = d - d1
                    g_d1[groups] = d1
                    groups += 1
                before += j - i
                before1 += x1
                i = j
            out_o[r, k] = o
            out_e[r, k] = e
            out_v[r, k] = v
            beta = math.nan
            if v > 0.0:
                b = _smaller(_larger((o - e) / v, -_MAX_STEP), _MAX_STEP)
                for _ in range(_NEWTON_MAX):
                    theta = math.exp(b)
                    score = o
                    info = 0.0
                    for g in range(groups):
                        n0 = float(g_n0[g])
                        n1g = float(g_n1[g])
                        d0 = float(g_d0[g])
                        d1g = float(g_d1[g])
                        dg = d0 + d1g
                        if dg > 1.0:  # Efron, as the CPU kernel
                            nd = int(dg)
                            for kk in range(nd):
                                f = kk / dg
                                s1f = theta * (n1g - f * d1g)
                                s0f = n0 + theta * n1g - f * (d0 + theta * d1g)
                                q = s1f / s0f if s0f > 0.0 else 0.0
                                score -= q
                                info += q * (1.0 - q)
                        else:
                            s0f = n0 + theta * n1g
                            q = theta * n1g / s0f
                            score -= dg * q
                            info += dg * q * (1.0 - q)
                    if info <= 0.0:
                        b = math.nan
                        break
                    step = _smaller(_larger(score / info, -_MAX_STEP), _MAX_STEP)
                    b += step
                    if abs(step) <= _NEWTON_TOL:
                        beta = b
                        break
                if not abs(beta) <= _MONOTONE:
                    beta = -_INF if o < e else _INF
            out_beta[r, k] = beta

    return kernel


@cuda.jit
def _seed_kernel(seeds, starts, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Each row's initial state (``out[r] = s0, s1``): the seeding of the kernel, for tests."""
    r = cuda.grid(1)
    if r < out.shape[0]:
        s0, s1 = _thread_state(seeds, starts, r)
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

    The per-trial arithmetic is :func:`trialkit.simulate.engine.tally_batch`'s (the same
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
            width = _smaller(_FIELDS, n_int - first)
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
            width = _smaller(_FIELDS, n_flt - first)
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


def _knots(starts: FloatArray, slopes: FloatArray) -> FloatArray:
    knots: FloatArray = np.concatenate(([0.0], np.cumsum(slopes[:-1] * np.diff(starts))))
    return knots


def batch_seed(seed: int, index: int) -> int:
    """The ``xoroshiro128p`` seed of logical batch ``index``: 63 bits of its SeedSequence."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return int(state) >> 1  # 63 bits: numba's state initialisation takes a signed 64-bit int


Stats = tuple[FloatArray, NDArray[np.int64], FloatArray, FloatArray, FloatArray, FloatArray]


def _splitmix64(base: int, count: int) -> NDArray[np.uint64]:
    """Outputs ``1..count`` of the splitmix64 generator started at ``base`` (vectorised)."""
    steps = np.arange(1, count + 1, dtype=np.uint64)
    z = np.uint64(base) + steps * _GOLDEN  # uint64 arrays wrap modulo 2**64, as in C
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    out: NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return out


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
        words = _splitmix64(batch_seed(seed, index), 2 * size)
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
) -> Stats:
    """Time, events, log-rank O, E, V and Cox log HR at every look of ``trials`` trials.

    Draws on the device from logical batch ``index`` of ``seed`` (:func:`batch_seed`),
    or, with ``raw``, reads those host draws (the trials of the CPU kernel). Returns host
    arrays of shape ``(trials, looks)``, as :func:`trialkit.simulate.fused.fused_statistics`:
    the per-trial path (``--dump-trial``, trial-for-trial checks).
    """
    outs = _launch(scenario, [(index, trials)], seed=seed, raw=raw)
    t, ev, o, e, v, beta = (x.copy_to_host() for x in outs)
    return t, ev, o, e, v, beta


def cuda_batches(scenario: Scenario, seed: int, batches: Sequence[tuple[int, int]]) -> list[Stats]:
    """The per-trial statistics of several logical batches ``(index, size)``, one launch.

    Each batch keeps its own stream (:func:`batch_seed`), so the result per batch does
    not depend on which batches share a launch.
    """
    t, ev, o, e, v, beta = (x.copy_to_host() for x in _launch(scenario, batches, seed=seed))
    out: list[Stats] = []
    start = 0
    for _, size in batches:
        rows = slice(start, start + size)
        out.append((t[rows], ev[rows], o[rows], e[rows], v[rows], beta[rows]))
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
    :func:`trialkit.simulate.engine.tally_batch` on the same outputs (counts and
    histograms exactly, float sums to rounding), and independent of how the batches
    are grouped into launches (each block lies within one batch).
    """
    if raw is not None and len(batches) != 1:
        raise ValueError("host draws are those of a single logical batch")
    outs = _launch(scenario, batches, seed=seed, raw=raw)
    return tally_on_device(scenario, batches, outs)


def tally_on_device(
    scenario: Scenario, batches: Sequence[tuple[int, int]], outs: Sequence[Any]
) -> Tally:
    """Tally per-trial outputs already on the device (``time, events, O, E, V, log HR``).

    ``outs`` are device arrays (or host arrays, copied first) of shape
    ``(trials, looks)``, the rows of the logical ``batches`` one after the other.
    """
    looks = len(scenario.look_events)
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
            cuda.to_device(np.asarray(row0, np.int64)),
            cuda.to_device(np.asarray(rows, np.int64)),
            *outs,
            cuda.to_device(np.asarray(scenario.efficacy_z, np.float64)),
            math.log(scenario.decision_hr),
            p_int,
            p_hi,
            p_lo,
            time_hist,
            hr_hist,
            spans,
        )
    ints, his, los = p_int.copy_to_host(), p_hi.copy_to_host(), p_lo.copy_to_host()
    lo_t, hi_t, lo_h, hi_h = (int(x) for x in spans.copy_to_host())
    if hi_t >= lo_t:
        tally.time_hist[lo_t : hi_t + 1] += time_hist[lo_t : hi_t + 1].copy_to_host()
    if hi_h >= lo_h:
        tally.hr_hist[lo_h : hi_h + 1] += hr_hist[lo_h : hi_h + 1].copy_to_host()
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
    n = scenario.n
    looks = np.asarray(scenario.look_events, dtype=np.int64)
    a, b = scenario.allocation_ratio
    patterns = block_patterns(a, b)
    size = patterns.shape[1]
    blocks = -(-n // size)
    simple = scenario.allocation == "simple"
    acc_starts = np.asarray(scenario.accrual_starts, dtype=np.float64)
    acc_rates = np.asarray(scenario.accrual_rates, dtype=np.float64)
    pfs_starts = np.asarray((0.0, *scenario.pfs_breaks), dtype=np.float64)
    h_c = np.asarray(scenario.hazards_control, dtype=np.float64)
    h_t = np.asarray(scenario.hazards_treatment, dtype=np.float64)
    host = raw is not None
    kernel = make_kernel(
        n,
        int(looks.size),
        int(size),
        int(blocks),
        int(patterns.shape[0]),
        scenario.entry == "random",
        simple,
        acc_rates.size == 1,
        h_c.size == 1,
        scenario.dropout_hazard > 0.0,
        host,
        MAX_REGISTERS,
    )
    dummy = np.zeros((1, 1))
    if raw is not None:
        seeds, starts = np.zeros(1, np.uint64), np.zeros(2, np.int64)  # unused, typed as used
        spacings = dummy if raw.spacings is None else np.ascontiguousarray(raw.spacings)
        allocation = np.zeros((1, 1), np.int64) if simple else np.asarray(raw.allocation, np.int64)
        uniforms = np.asarray(raw.allocation, np.float64) if simple else dummy
        pfs_unit = np.ascontiguousarray(raw.pfs)
        drop_unit = dummy if raw.dropout is None else np.ascontiguousarray(raw.dropout)
    else:
        seeds, starts = _seeds(seed, batches)
        spacings, uniforms, pfs_unit, drop_unit = dummy, dummy, dummy, dummy
        allocation = np.zeros((1, 1), np.int64)
    shape = (trials, int(looks.size))
    outs = [cuda.device_array(shape, np.float64) for _ in range(6)]
    outs[1] = cuda.device_array(shape, np.int64)
    grid = -(-trials // THREADS_PER_BLOCK)
    if grid == 0:
        return outs
    with _quiet():
        kernel[grid, THREADS_PER_BLOCK](
            *_device_args(
                seeds,
                starts,
                spacings,
                allocation,
                uniforms,
                pfs_unit,
                drop_unit,
                a / (a + b),
                patterns,
                float(scenario.dropout_hazard),
                acc_starts,
                _knots(acc_starts, acc_rates),
                acc_rates,
                pfs_starts,
                _knots(pfs_starts, h_c),
                h_c,
                _knots(pfs_starts, h_t),
                h_t,
                looks,
            ),
            *outs,
        )
    return outs


def _device_args(*args: Any) -> list[Any]:
    """Host arrays copied to the device; scalars as they are."""
    return [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numba's under-utilisation warning for small launches (a few trials are fine).

    Matched by message: numba and numba-cuda define the warning class in different modules.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Grid size .* under-utilization")
        yield
