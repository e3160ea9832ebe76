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
kernel per shape ``(n, looks, block size, blocks)`` and per model switches.

Random numbers: with ``host=True`` the kernel reads the draws of
:func:`trialkit.simulate.generate.draw` (a check: the trials are the CPU's); otherwise
each thread draws its own from a ``xoroshiro128p`` state of
:mod:`numba.cuda.random`, the states seeded through splitmix64 from the logical batch's
spawned ``SeedSequence`` (see :func:`batch_seed` and :func:`_states`). That stream
differs from the CPU's PCG64 stream: a device run agrees with a CPU run of the same seed
within Monte Carlo error, not trial for trial; two device runs of one seed are identical.

Status: tested under the CUDA simulator and compiled to PTX for sm_90; not yet run on a
real GPU.

References
----------
Steele G.L., Lea D. and Flood C.H. (2014). Fast splittable pseudorandom number
generators. *OOPSLA 2014*, 453-472 (splitmix64).

Blackman D. and Vigna S. (2021). Scrambled linear pseudorandom number generators.
*ACM Transactions on Mathematical Software* 47(4), 36.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar, cast

import numpy as np
from numba import cuda as _cuda
from numba.cuda import random as _random
from numpy.typing import NDArray

from trialkit.errors import DesignInputError
from trialkit.simulate.generate import RawDraws, block_patterns
from trialkit.simulate.scenario import Scenario

__all__ = [
    "NO_CUDA",
    "THREADS_PER_BLOCK",
    "batch_seed",
    "cuda_batches",
    "cuda_statistics",
    "make_kernel",
    "require_cuda",
]

FloatArray = NDArray[np.float64]
# numba.cuda is untyped (and partly generated at run time): typed as Any for mypy
cuda: Any = _cuda
xoroshiro128p_uniform_float64: Any = _random.xoroshiro128p_uniform_float64
THREADS_PER_BLOCK = 64
_F = TypeVar("_F", bound=Callable[..., Any])


def _device(fn: _F) -> _F:
    """``cuda.jit(device=True)``, keeping the function's type for mypy."""
    return cast(_F, cuda.jit(device=True)(fn))


_NEWTON_TOL = 1e-11
_NEWTON_MAX = 40
_MAX_STEP = 2.0
_MONOTONE = 20.0
_INF = math.inf
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
def _invert(level: float, starts: Any, knots: Any, slopes: Any) -> float:  # pragma: no cover
    k = 0
    while k + 1 < knots.size and knots[k + 1] <= level:  # searchsorted(side="right") - 1
        k += 1
    return float(starts[k] + (level - knots[k]) / slopes[k])


@_device
def _unit_exponential(states: Any, r: int) -> float:  # pragma: no cover
    return -math.log1p(-xoroshiro128p_uniform_float64(states, r))


@_device
def _bucket_select(
    cal: Any, looks: Any, counts: Any, bucket: Any, tmp: Any, out: Any
) -> None:  # pragma: no cover
    """As :func:`trialkit.simulate.fused._bucket_select`."""
    n = cal.size
    hi = 0.0
    finite = 0
    for i in range(n):
        if cal[i] < _INF:
            finite += 1
            hi = _larger(hi, cal[i])
    scale = n / hi if hi > 0.0 else 0.0
    for b in range(n + 1):
        counts[b] = 0
    for i in range(n):
        if cal[i] < _INF:
            b = _smaller(int(cal[i] * scale), n - 1)
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
        while below + counts[b] <= j:
            below += counts[b]
            b += 1
        m = 0
        for i in range(n):
            if bucket[i] == b:
                v = cal[i]
                q = m
                while q > 0 and tmp[q - 1] > v:
                    tmp[q] = tmp[q - 1]
                    q -= 1
                tmp[q] = v
                m += 1
        out[k] = tmp[j - below]


@_device
def _bucket_sort(
    y: Any, flag: Any, m: int, top: float, counts: Any, bucket: Any, ys: Any, fs: Any
) -> None:  # pragma: no cover
    """As :func:`trialkit.simulate.fused._bucket_sort`."""
    scale = m / top if top > 0.0 else 0.0
    for b in range(m + 1):
        counts[b] = 0
    for i in range(m):
        b = _smaller(int(y[i] * scale), m - 1)
        bucket[i] = b
        counts[b + 1] += 1
    for b in range(m):
        counts[b + 1] += counts[b]
    for i in range(m):
        b = bucket[i]
        pos = counts[b]
        counts[b] = pos + 1
        ys[pos] = y[i]
        fs[pos] = flag[i]
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
) -> Any:
    """The kernel for ``n`` patients, ``n_looks`` looks and these model switches.

    Every argument is a compile-time constant of the returned kernel (local array sizes,
    branches); ``host`` selects host-supplied draws (the arrays of :class:`RawDraws`)
    instead of the thread's own ``xoroshiro128p`` stream.
    """
    n1 = n + 1

    @cuda.jit
    def kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - runs on the device
        states,
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
        pfs = cuda.local.array(n, np.float64)
        drop = cuda.local.array(n, np.float64)
        cal = cuda.local.array(n, np.float64)
        treated = cuda.local.array(n, np.int64)
        y = cuda.local.array(n, np.float64)
        ys = cuda.local.array(n, np.float64)
        srt = cuda.local.array(n, np.float64)
        taus = cuda.local.array(n_looks, np.float64)
        flag = cuda.local.array(n, np.int64)
        fs = cuda.local.array(n, np.int64)
        counts = cuda.local.array(n1, np.int64)
        bucket = cuda.local.array(n, np.int64)
        g_n0 = cuda.local.array(n, np.float64)
        g_n1 = cuda.local.array(n, np.float64)
        g_d0 = cuda.local.array(n, np.float64)
        g_d1 = cuda.local.array(n, np.float64)
        # draws, in the order of generate.draw: entry, allocation, PFS, dropout
        if random_entry:
            total = 0.0
            for i in range(n):
                total += spacings[r, i] if host else _unit_exponential(states, r)
                entry[i] = total
            total += spacings[r, n] if host else _unit_exponential(states, r)
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
                u = uniforms[r, i] if host else xoroshiro128p_uniform_float64(states, r)
                treated[i] = 1 if u < share else 0
        else:
            i = 0
            for blk in range(blocks):
                if host:
                    pick = allocation[r, blk]
                else:
                    pick = _smaller(
                        int(xoroshiro128p_uniform_float64(states, r) * n_patterns), n_patterns - 1
                    )
                for j in range(size):
                    if i < n:
                        treated[i] = 1 if patterns[pick, j] else 0
                        i += 1
        for i in range(n):
            unit = pfs_unit[r, i] if host else _unit_exponential(states, r)
            if one_piece:
                pfs[i] = unit / (h_t[0] if treated[i] else h_c[0])
            elif treated[i]:
                pfs[i] = _invert(unit, pfs_starts, knots_t, h_t)
            else:
                pfs[i] = _invert(unit, pfs_starts, knots_c, h_c)
        for i in range(n):
            if has_dropout:
                drop[i] = (drop_unit[r, i] if host else _unit_exponential(states, r)) / drop_hazard
            else:
                drop[i] = _INF
            cal[i] = entry[i] + pfs[i] if pfs[i] <= drop[i] else _INF
        _bucket_select(cal, looks, counts, bucket, srt, taus)
        for k in range(n_looks):
            tau = taus[k]
            n_ev = looks[k]
            if not tau < _INF:
                n_ev = 0
                last = -_INF
                for i in range(n):
                    if cal[i] < _INF:
                        n_ev += 1
                        last = _larger(last, cal[i])
                if n_ev == 0:
                    for i in range(n):
                        last = _larger(last, entry[i] + _smaller(pfs[i], drop[i]))
                tau = last
            out_time[r, k] = tau
            out_events[r, k] = n_ev
            m = 0
            m1 = 0
            for i in range(n):
                if entry[i] < tau:
                    y[m] = _smaller(_smaller(pfs[i], drop[i]), tau - entry[i])
                    x_i = treated[i]
                    flag[m] = 2 * (1 if cal[i] <= tau else 0) + x_i
                    m1 += x_i
                    m += 1
            _bucket_sort(y, flag, m, tau, counts, bucket, ys, fs)
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
                    fl = fs[j]
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
                        dg = g_d0[g] + g_d1[g]
                        if dg > 1.0:  # Efron, as the CPU kernel
                            nd = int(dg)
                            for kk in range(nd):
                                f = kk / dg
                                s1 = theta * (g_n1[g] - f * g_d1[g])
                                s0 = g_n0[g] + theta * g_n1[g] - f * (g_d0[g] + theta * g_d1[g])
                                q = s1 / s0 if s0 > 0.0 else 0.0
                                score -= q
                                info += q * (1.0 - q)
                        else:
                            s0 = g_n0[g] + theta * g_n1[g]
                            q = theta * g_n1[g] / s0
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


def _knots(starts: FloatArray, slopes: FloatArray) -> FloatArray:
    knots: FloatArray = np.concatenate(([0.0], np.cumsum(slopes[:-1] * np.diff(starts))))
    return knots


def batch_seed(seed: int, index: int) -> int:
    """The ``xoroshiro128p`` seed of logical batch ``index``: 63 bits of its SeedSequence."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return int(state) >> 1  # 63 bits: numba's state initialisation takes a signed 64-bit int


Stats = tuple[FloatArray, NDArray[np.int64], FloatArray, FloatArray, FloatArray, FloatArray]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


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

    Trial ``i`` of a batch takes words ``2i`` and ``2i + 1`` of the splitmix64 stream
    seeded with the batch's seed (:func:`batch_seed`): the seeding Blackman and Vigna
    recommend, vectorised (a few ms for 262,144 trials, against 54 ms for numba's
    jump-ahead initialisation, which would cap a GPU run near 5 million trials/s).
    The streams are not provably disjoint as jump-ahead ones are; with a period of
    2**128 - 1, an overlap within a run is negligible.
    """
    parts = []
    for index, size in batches:
        words = _splitmix64(batch_seed(seed, index), 2 * size)
        part = np.empty(size, dtype=_random.xoroshiro128p_dtype)
        part["s0"] = words[0::2]
        part["s1"] = words[1::2]
        parts.append(part)
    return np.concatenate(parts)


def cuda_statistics(
    scenario: Scenario, trials: int, *, seed: int = 0, index: int = 0, raw: RawDraws | None = None
) -> Stats:
    """Time, events, log-rank O, E, V and Cox log HR at every look of ``trials`` trials.

    Draws on the device from logical batch ``index`` of ``seed`` (:func:`batch_seed`),
    or, with ``raw``, reads those host draws (the trials of the CPU kernel). Returns host
    arrays of shape ``(trials, looks)``, as :func:`trialkit.simulate.fused.fused_statistics`.
    """
    return _launch(
        scenario, trials, raw=raw, states=None if raw else _states(seed, [(index, trials)])
    )


def cuda_batches(scenario: Scenario, seed: int, batches: Sequence[tuple[int, int]]) -> list[Stats]:
    """The statistics of several logical batches ``(index, size)`` in one kernel launch.

    Each batch keeps its own stream (:func:`batch_seed`), so the result per batch does
    not depend on which batches share a launch; one launch of many batches fills the
    device (a batch of 4096 trials is 64 blocks, far fewer than a GPU's SMs can hold).
    """
    total = sum(size for _, size in batches)
    stats = _launch(scenario, total, raw=None, states=_states(seed, batches))
    out: list[Stats] = []
    start = 0
    t, ev, o, e, v, beta = stats
    for _, size in batches:
        rows = slice(start, start + size)
        out.append((t[rows], ev[rows], o[rows], e[rows], v[rows], beta[rows]))
        start += size
    return out


def _launch(scenario: Scenario, trials: int, *, raw: RawDraws | None, states: Any) -> Stats:
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
    )
    dummy = np.zeros((1, 1))
    if raw is not None:
        states = np.zeros(1, dtype=_random.xoroshiro128p_dtype)  # unused; typed as drawn
        spacings = dummy if raw.spacings is None else np.ascontiguousarray(raw.spacings)
        allocation = np.zeros((1, 1), np.int64) if simple else np.asarray(raw.allocation, np.int64)
        uniforms = np.asarray(raw.allocation, np.float64) if simple else dummy
        pfs_unit = np.ascontiguousarray(raw.pfs)
        drop_unit = dummy if raw.dropout is None else np.ascontiguousarray(raw.dropout)
    else:
        spacings, uniforms, pfs_unit, drop_unit = dummy, dummy, dummy, dummy
        allocation = np.zeros((1, 1), np.int64)
    shape = (trials, int(looks.size))
    outs = [cuda.device_array(shape, np.float64) for _ in range(6)]
    outs[1] = cuda.device_array(shape, np.int64)
    grid = -(-trials // THREADS_PER_BLOCK)
    kernel[grid, THREADS_PER_BLOCK](
        cuda.to_device(states),
        cuda.to_device(spacings),
        cuda.to_device(allocation),
        cuda.to_device(uniforms),
        cuda.to_device(pfs_unit),
        cuda.to_device(drop_unit),
        a / (a + b),
        cuda.to_device(patterns),
        float(scenario.dropout_hazard),
        cuda.to_device(acc_starts),
        cuda.to_device(_knots(acc_starts, acc_rates)),
        cuda.to_device(acc_rates),
        cuda.to_device(pfs_starts),
        cuda.to_device(_knots(pfs_starts, h_c)),
        cuda.to_device(h_c),
        cuda.to_device(_knots(pfs_starts, h_t)),
        cuda.to_device(h_t),
        cuda.to_device(looks),
        *outs,
    )
    t, ev, o, e, v, beta = (x.copy_to_host() for x in outs)
    return t, ev, o, e, v, beta
