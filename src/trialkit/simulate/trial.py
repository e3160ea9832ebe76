"""The per-trial kernel: one simulated trial from its draws to its statistics at every look.

One source for every compiled backend. The functions here are plain Python registered with
:func:`numba.extending.register_jitable`, so numba compiles them into whichever target calls
them: :func:`native_batch` (``numba.cfunc``, one trial after another, each drawing its
own stream, on buffers its caller allocates), :func:`cpu_batch` (``numba.njit``, on draws
read from host arrays) and the CUDA kernel of :mod:`trialkit.simulate.backends.cuda`
(``numba.cuda.jit``, one thread per trial, the scratch arrays in local memory). The trial
body allocates nothing: its caller passes every array.

Per trial (:func:`simulate_trial`): entry times, allocation, PFS and dropout times from the
draws (drawn in place from the trial's ``xoroshiro128+`` stream of
:mod:`trialkit.simulate.streams`, or read from host arrays holding the same values), the
calendar time of each look (the ``D``-th event, by a bucket selection), then per look one
bucket sort of the follow-up times and one walk over the tie groups giving the log-rank
components and the sufficient statistics of the Cox model (Efron or Breslow ties), fitted by
Newton-Raphson over the distinct event times. The formulas are those of the numpy reference,
:mod:`trialkit.simulate.kernels`.

Indices computed from data (a bucket read from an array, a running count) are cast to
``uint64`` where they index an array: numba wraps a negative signed index around, a compare
and a conditional move on every such access, and takes an unsigned one as it is (the kernel
7-10% faster on SOR, measured; indices from ``range`` need no cast, LLVM sees them >= 0).

The CPU drivers live in this file because numba's on-disk cache is invalidated only by a
change to the file of the cached function: a CPU driver in another file would keep running
a stale copy of the trial body after it changes.

References
----------
Lam S.K., Pitrou A. and Seibert S. (2015). Numba: a LLVM-based Python JIT compiler.
*Proc. Second Workshop on the LLVM Compiler Infrastructure in HPC*, 1-6.

Blackman D. and Vigna S. (2021). Scrambled linear pseudorandom number generators.
*ACM Transactions on Mathematical Software* 47(4), 36.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, uint32, uint64
from numba.extending import register_jitable
from numba.np.numpy_support import carray

from trialkit.simulate import model as flat
from trialkit.simulate.streams import SPLITMIX, ZIGGURAT_R

__all__ = [
    "NATIVE_SIGNATURE",
    "SPLITMIX",
    "cpu_batch",
    "native_batch",
    "simulate_trial",
    "splitmix_word",
    "thread_state",
]

_NEWTON_TOL = 1e-11
_NEWTON_MAX = 40
_MAX_STEP = 2.0
_MONOTONE = 20.0
_INF = math.inf
_UNIT = 1.0 / 2.0**53  # 53 random bits to [0, 1), as numba's uint64_to_unit_float64
_GOLDEN, _MIX1, _MIX2 = SPLITMIX

# numba is untyped for mypy: the jitted functions below are typed Any where they are called


@register_jitable
def _smaller(a: Any, b: Any) -> Any:  # pragma: no cover - compiled
    """``min(a, b)``: numba's CUDA target fails to type the builtin on two scalars."""
    return a if a <= b else b


@register_jitable
def _larger(a: Any, b: Any) -> Any:  # pragma: no cover - compiled
    """``max(a, b)``, as :func:`_smaller`."""
    return a if a >= b else b


@register_jitable
def _invert(level: float, starts: Any, knots: Any, slopes: Any) -> float:  # pragma: no cover
    """Invert a piecewise-linear cumulative function (``generate.invert_piecewise_linear``)."""
    k = 0
    while k + 1 < knots.size and knots[k + 1] <= level:  # searchsorted(side="right") - 1
        k += 1
    return float(starts[k] + (level - knots[k]) / slopes[k])


@register_jitable
def _rotl(x: Any, k: Any) -> Any:  # pragma: no cover - compiled
    x = uint64(x)
    k = uint32(k)
    return (x << k) | (x >> uint32(64 - k))


@register_jitable
def _step(s0: Any, s1: Any) -> tuple[Any, Any, Any]:  # pragma: no cover - compiled
    """One xoroshiro128+ step on a state held in registers: ``(64-bit output, s0, s1)``.

    The arithmetic of ``numba.cuda.random.xoroshiro128p_next``, bit for bit, without a
    state array in memory.
    """
    result = uint64(s0 + s1)
    s1 = uint64(s1 ^ s0)
    n0 = uint64(_rotl(s0, uint32(55))) ^ s1 ^ uint64(s1 << uint32(14))
    n1 = uint64(_rotl(s1, uint32(36)))
    return result, n0, n1


@register_jitable
def _uniform(s0: Any, s1: Any) -> tuple[float, Any, Any]:  # pragma: no cover - compiled
    """A uniform in ``[0, 1)`` from the top 53 bits (numba's ``uint64_to_unit_float64``)."""
    bits, s0, s1 = _step(s0, s1)
    return float(bits >> uint32(11)) * _UNIT, s0, s1


@register_jitable
def _exponential(
    s0: Any, s1: Any, zk: Any, zw: Any, zf: Any
) -> tuple[float, Any, Any]:  # pragma: no cover - compiled
    """A unit exponential by the ziggurat and the advanced state.

    The tables ``zk, zw, zf`` are :func:`trialkit.simulate.streams.ziggurat_tables`; the
    host stream (:mod:`trialkit.simulate.streams`) draws the same values.

    NumPy's layout of the 64-bit word: the 3 lowest bits dropped (xoroshiro128+'s
    weakest), the next 8 pick the layer, the top 53 are the value. About 99% of draws
    take one word, a multiplication and one comparison; the rest are decided by the
    density (or, in layer 0, drawn from the tail beyond ``r``). Against ``-log1p(-u)``
    this made the CPU kernel with its own draws twice as fast (measured).
    """
    while True:
        bits, s0, s1 = _step(s0, s1)
        bits = bits >> uint32(3)
        layer = bits & uint64(0xFF)
        bits = bits >> uint32(8)
        x = float(bits) * zw[layer]
        if bits < zk[layer]:  # inside the layer's rectangle under the density
            return x, s0, s1
        u, s0, s1 = _uniform(s0, s1)
        if layer == 0:  # the tail beyond r: r plus a unit exponential (memorylessness)
            return ZIGGURAT_R - math.log1p(-u), s0, s1
        if (zf[layer - 1] - zf[layer]) * u + zf[layer] < math.exp(-x):
            return x, s0, s1


@register_jitable
def splitmix_word(base: Any, k: Any) -> Any:  # pragma: no cover - compiled
    """Output ``k`` (from 1) of splitmix64 started at ``base`` (Steele, Lea and Flood 2014)."""
    z = uint64(base + uint64(k) * _GOLDEN)
    z = uint64((z ^ (z >> uint32(30))) * _MIX1)
    z = uint64((z ^ (z >> uint32(27))) * _MIX2)
    return z ^ (z >> uint32(31))


@register_jitable
def thread_state(seeds: Any, starts: Any, r: int) -> tuple[Any, Any]:  # pragma: no cover
    """The ``xoroshiro128+`` state of launch row ``r``: words ``2i + 1``, ``2i + 2`` of its seed.

    ``starts[b]`` is the first row of the launch's logical batch ``b``, whose seed is
    ``seeds[b]``; row ``r`` is trial ``i = r - starts[b]`` of it.
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
    return splitmix_word(seeds[lo], k + 1), splitmix_word(seeds[lo], k + 2)


@register_jitable(inline="always")
def _bucket_select(
    cal: Any, finite: int, hi: float, looks: Any, counts: Any, bucket: Any, tmp: Any, out: Any
) -> None:  # pragma: no cover - compiled
    """The ``looks[k]``-th smallest of the event times ``cal`` for every look (``inf`` beyond).

    ``finite`` is the number of events and ``hi`` the latest (counted as the times are
    made: no pass here). Each event goes to one of ``n`` equal buckets over
    ``[0, hi]``; the bucket index is monotone in the time, so the ``j``-th smallest lies
    in the bucket where the running count passes ``j`` and only that bucket (about one
    value) is sorted. Exact, O(n) and with predictable branches (a quickselect on SOR's
    220 times spent twice as long in branch mispredictions, measured).
    """
    n = cal.size
    scale = n / hi if hi > 0.0 else 0.0
    for b in range(n + 1):
        counts[b] = 0
    for i in range(n):
        c = cal[i]
        if c < _INF:
            b = _smaller(int(c * scale), n - 1)
            bucket[i] = b
            counts[uint64(b)] += 1
        else:
            bucket[i] = n
    b = 0
    below = 0  # events in the buckets before b
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
                v = cal[i]
                q = m
                while q > 0 and tmp[q - 1] > v:
                    tmp[q] = tmp[q - 1]
                    q -= 1
                tmp[q] = v
                m += 1
        out[k] = tmp[j - below]


@register_jitable(inline="always")
def _sorted_follow_up(
    entry: Any, obs: Any, status: Any, cal: Any, tau: float,
    counts: Any, bucket: Any, ys: Any, fs: Any,
) -> tuple[int, int]:  # fmt: skip  # pragma: no cover - compiled
    """The follow-up times at calendar ``tau`` in ascending order, with their flags.

    Patients with ``entry < tau`` are in the analysis, followed for ``min(obs, tau -
    entry)``, flag ``2 * event + treated``. ``n`` buckets of equal width over ``[0, tau]``,
    then one insertion pass over the nearly sorted result: expected O(m) for the smooth follow-up
    distributions simulated here, and exact whatever the values. The buckets are filled from
    the last patient to the first: entry rises with the index, so the patients censored at the
    cut (follow-up ``tau - entry``) land in ascending order within their bucket (33 instead of
    55 out-of-order places per SOR trial, each a mispredicted branch in the insertion pass).
    Returns ``(m, m1)``: patients in the analysis, of them treated.
    """
    n = entry.size
    m = 0
    m1 = 0
    scale = n / tau if tau > 0.0 else 0.0  # n buckets over [0, tau]: one counting pass
    for b in range(n + 1):
        counts[b] = 0
    for i in range(n):
        if entry[i] < tau:
            b = _smaller(int(_smaller(obs[i], tau - entry[i]) * scale), n - 1)
            bucket[i] = b
            counts[uint64(b + 1)] += 1
            m += 1
            m1 += int(status[i] & 1)
    for b in range(n):
        counts[b + 1] += counts[b]
    for i in range(n - 1, -1, -1):  # entry rises with i: the censored come in order
        if entry[i] < tau:
            b = uint64(bucket[i])
            pos = uint64(counts[b])
            counts[b] = pos + uint64(1)
            ys[pos] = _smaller(obs[i], tau - entry[i])
            # event: PFS first (status bit 1) and by the cut, without a branch
            fs[pos] = 2 * int(cal[i] <= tau) + int(status[i] & 1)
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


@register_jitable(inline="always")
def _logrank_walk(
    ys: Any, fs: Any, m: int, m1: int, g_n0: Any, g_n1: Any, g_d0: Any, g_d1: Any
) -> tuple[float, float, float, int]:  # pragma: no cover - compiled
    """Log-rank ``O, E, V`` and the tie groups' risk sets and events, in one walk.

    Fills ``g_*`` (at risk and events by arm, one entry per distinct event time) and
    returns ``(O, E, V, groups)``.
    """
    o = 0.0
    e = 0.0
    v = 0.0
    groups = 0
    before = 0
    before1 = 0
    i = 0
    while i < m:
        t_i = ys[i]
        if i + 1 == m or ys[i + 1] != t_i:  # no tie: the common case, one patient
            # without a branch on the event (half the patients, unpredictable): a censored
            # patient adds zeros and writes a group slot that the next event overwrites
            fl = int(fs[i])
            ev = fl >> 1
            x = fl & 1
            at = m - before
            at1 = m1 - before1
            frac = at1 / at
            o += ev * x
            e += ev * frac
            v += ev * (frac * (1.0 - frac))
            g = uint64(groups)
            g_n0[g] = at - at1
            g_n1[g] = at1
            g_d0[g] = 1 - x
            g_d1[g] = x
            groups += ev
            before += 1
            before1 += x
            i += 1
            continue
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
    return o, e, v, groups


@register_jitable(inline="always")
def _cox(
    o: float, e: float, v: float, groups: int, g_n0: Any, g_n1: Any, g_d0: Any, g_d1: Any,
    efron: bool,
) -> float:  # pragma: no cover - compiled  # fmt: skip
    """Cox log HR (treatment vs control) by Newton-Raphson over the tie groups.

    Started at the clipped first step ``(O - E) / V``; NaN when ``V`` is 0; ``-inf`` or
    ``+inf`` for a monotone likelihood (not converged, or beyond ``|log HR| = 20``).
    """
    beta = math.nan
    if not v > 0.0:
        return beta
    b = _smaller(_larger((o - e) / v, -_MAX_STEP), _MAX_STEP)
    for _ in range(_NEWTON_MAX):
        theta = math.exp(b)
        score = o
        info = 0.0
        for g in range(groups):
            n0 = float(g_n0[g])
            n1 = float(g_n1[g])
            d0 = float(g_d0[g])
            d1 = float(g_d1[g])
            dg = d0 + d1
            if efron and dg > 1.0:
                for kk in range(int(dg)):
                    f = kk / dg
                    s1 = theta * (n1 - f * d1)
                    s0 = n0 + theta * n1 - f * (d0 + theta * d1)
                    q = s1 / s0 if s0 > 0.0 else 0.0
                    score -= q
                    info += q * (1.0 - q)
            else:
                q = theta * n1 / (n0 + theta * n1)
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
    return beta


@register_jitable(inline="always")  # into each driver: no per-trial call with 40 arrays
def simulate_trial(
    r: int, host: bool, s0: Any, s1: Any, draws: Any, model: Any, scratch: Any, out: Any
) -> None:  # pragma: no cover - compiled
    """Simulate and analyse trial ``r``; write its row of the six ``(trials, looks)`` outputs.

    Draws: with ``host`` row ``r`` of the host arrays ``draws`` (as :class:`DrawArrays`,
    the draws of :func:`trialkit.simulate.generate.draw`), else from the ``xoroshiro128+``
    state ``(s0, s1)``: entry spacings, one per block, then each patient's PFS and dropout.
    ``model`` is a :class:`ModelArrays`; ``scratch`` thirteen arrays of ``n`` entries
    (``counts``: ``n + 1``, ``taus``: looks), ``entry.size`` being ``n``; ``out`` the six
    outputs in :class:`~trialkit.simulate.looks.LookStatistics` order.
    """
    spacings, allocation, uniforms, pfs_unit, drop_unit = draws
    random_entry, simple, share, patterns, drop_hazard = model[:5]
    acc_starts, acc_knots, acc_rates, pfs_starts, knots_c, h_c, knots_t, h_t = model[5:13]
    looks, efron = model[13], model[14]
    zk, zw, zf = model[15], model[16], model[17]
    entry, obs, status, cal, ys, fs, bucket, counts, taus, g_n0, g_n1, g_d0, g_d1 = scratch
    out_time, out_events, out_o, out_e, out_v, out_beta = out
    n = entry.size
    one_rate = acc_rates.size == 1
    one_piece = h_c.size == 1
    has_dropout = drop_hazard > 0.0
    if random_entry:
        total = 0.0
        for i in range(n):
            if host:
                x = spacings[r, i]
            else:
                x, s0, s1 = _exponential(s0, s1, zk, zw, zf)
            total += x
            entry[i] = total
        if host:
            x = spacings[r, n]
        else:
            x, s0, s1 = _exponential(s0, s1, zk, zw, zf)
        total += x
        c = n / total
        if one_rate:
            for i in range(n):
                entry[i] = entry[i] * c / acc_rates[0]
        else:
            for i in range(n):
                entry[i] = _invert(entry[i] * c, acc_starts, acc_knots, acc_rates)
    elif one_rate:  # fixed entry, one rate: patient i enters when i + 1 have accrued
        for i in range(n):
            entry[i] = (i + 1) / acc_rates[0]
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
        n_patterns = patterns.shape[0]
        size = patterns.shape[1]
        i = 0
        for blk in range((n + size - 1) // size):
            if host:
                pick = allocation[r, blk]
            else:
                u, s0, s1 = _uniform(s0, s1)
                pick = _smaller(int(u * n_patterns), n_patterns - 1)
            for j in range(size):
                if i < n:
                    status[i] = 1 if patterns[pick, j] else 0
                    i += 1
    finite = 0  # events, and the latest of their calendar times
    hi = 0.0
    for i in range(n):  # patient i's PFS, then its dropout (device draws: in that order)
        if host:
            unit = pfs_unit[r, i]
        else:
            unit, s0, s1 = _exponential(s0, s1, zk, zw, zf)
        if one_piece:
            pfs = unit / (h_t[0] if status[i] else h_c[0])
        elif status[i]:
            pfs = _invert(unit, pfs_starts, knots_t, h_t)
        else:
            pfs = _invert(unit, pfs_starts, knots_c, h_c)
        drop = _INF
        if has_dropout:
            if host:
                unit = drop_unit[r, i]
            else:
                unit, s0, s1 = _exponential(s0, s1, zk, zw, zf)
            drop = unit / drop_hazard
        if pfs <= drop:  # the PFS event comes first: calendar time entry + PFS
            status[i] = status[i] | 2
            obs[i] = pfs
            t_cal = entry[i] + pfs
            cal[i] = t_cal
            finite += 1
            hi = _larger(hi, t_cal)
        else:
            obs[i] = drop
            cal[i] = _INF
    _bucket_select(cal, finite, hi, looks, counts, bucket, ys, taus)
    for k in range(looks.size):
        tau = taus[k]
        n_ev = looks[k]
        if not tau < _INF:  # fewer events than the look needs: the last event, or the end
            n_ev = finite
            last = -_INF
            for i in range(n):
                if cal[i] < _INF:
                    last = _larger(last, cal[i])
            if finite == 0:
                for i in range(n):
                    last = _larger(last, entry[i] + obs[i])
            tau = last
        out_time[r, k] = tau
        out_events[r, k] = n_ev
        m, m1 = _sorted_follow_up(entry, obs, status, cal, tau, counts, bucket, ys, fs)
        o, e, v, groups = _logrank_walk(ys, fs, m, m1, g_n0, g_n1, g_d0, g_d1)
        out_o[r, k] = o
        out_e[r, k] = e
        out_v[r, k] = v
        out_beta[r, k] = _cox(o, e, v, groups, g_n0, g_n1, g_d0, g_d1, efron)


@register_jitable(inline="always")
def _scratch(n: int, looks: int) -> Any:  # pragma: no cover - compiled
    """The thirteen scratch arrays of :func:`simulate_trial` on the CPU, for ``n`` patients.

    Risk sets in float64 here (no conversion in the Newton loop); the GPU keeps int16.
    """
    i64 = np.int64
    return (
        np.empty(n), np.empty(n), np.zeros(n, i64), np.empty(n), np.empty(n), np.zeros(n, i64),
        np.zeros(n, i64), np.zeros(n + 1, i64), np.empty(looks),
        np.empty(n), np.empty(n), np.empty(n), np.empty(n),
    )  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def cpu_batch(draws: Any, model: Any, out: Any) -> None:  # pragma: no cover - compiled
    """Every trial (row) of a batch of host draws through :func:`simulate_trial`, in turn.

    ``draws``, ``model`` and ``out`` as :func:`simulate_trial` takes them; the scratch
    arrays are allocated once here, for the whole batch. ``error_model="numpy"`` (the CUDA
    target's own): a division by zero gives inf or NaN instead of raising, so no division
    carries a check and a branch; the kernel guards its divisions itself, and without the
    checks the entry times' scaling loop is vectorised (7% of the kernel on SOR, measured).
    """
    scratch = _scratch(draws[3].shape[1], model[13].size)
    for r in range(draws[3].shape[0]):
        simulate_trial(r, True, uint64(0), uint64(0), draws, model, scratch, out)


_F8 = "CPointer(float64)"
_I8 = "CPointer(int64)"
#: the C signature of :func:`native_batch`: ``void (uint64 base, int64 trials, int64 *ints,
#: double *floats, uint64 *zig_k, uint8 *patterns, double *float_scratch, int64
#: *int_scratch, double *time, int64 *events, double *o, double *e, double *v, double *beta)``
NATIVE_SIGNATURE = (
    f"void(uint64, int64, {_I8}, {_F8}, CPointer(uint64), CPointer(uint8), {_F8}, {_I8}, "
    f"{_F8}, {_I8}, {_F8}, {_F8}, {_F8}, {_F8})"
)


def native_batch(
    base: Any, trials: Any, ints: Any, floats: Any, zig_k: Any, patterns: Any,
    float_scratch: Any, int_scratch: Any,
    time: Any, events: Any, o: Any, e: Any, v: Any, beta: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Every trial of a logical batch, each drawing its own stream: a C function of buffers.

    Trial ``r`` starts ``xoroshiro128+`` at words ``2r + 1``, ``2r + 2`` of splitmix64
    seeded with ``base`` (the batch's :func:`~trialkit.simulate.streams.batch_seed`): the
    CUDA kernel's seeding (:func:`thread_state`), so both targets simulate the same
    trials. The draws never leave the registers: no arrays to fill and read back (the
    whole trial about 20% faster than numpy's draws and the kernel on them, measured on SOR).

    Compiled by ``numba.cfunc`` (:data:`NATIVE_SIGNATURE`) in :mod:`trialkit.simulate.native`,
    which keeps its object code so that a run loads it without importing numba. The
    buffers are those of :func:`trialkit.simulate.model.flat_model` and
    :func:`~trialkit.simulate.model.flat_scratch`; the outputs ``(trials, looks)`` arrays.
    """
    head = carray(ints, (flat.FLAT_HEADER,))
    n = head[flat.PATIENTS]
    nl = head[flat.LOOKS]
    na = head[flat.ACCRUAL_PIECES]
    npc = head[flat.PFS_PIECES]
    layers = flat.ZIGGURAT_LAYERS
    fl = carray(floats, (2 + 3 * na + 5 * npc + 2 * layers,))
    a1 = 2 + na  # the ends of the accrual starts, knots and rates; then of the PFS pieces
    a2 = a1 + na
    a3 = a2 + na
    p1 = a3 + npc
    p2 = p1 + npc
    p3 = p2 + npc
    p4 = p3 + npc
    p5 = p4 + npc
    model = (
        head[flat.RANDOM_ENTRY] != 0, head[flat.SIMPLE] != 0, fl[0],
        carray(patterns, (head[flat.PATTERN_ROWS], head[flat.PATTERN_COLUMNS])), fl[1],
        fl[2:a1], fl[a1:a2], fl[a2:a3], fl[a3:p1], fl[p1:p2], fl[p2:p3], fl[p3:p4], fl[p4:p5],
        carray(ints, (flat.FLAT_HEADER + nl,))[flat.FLAT_HEADER:], head[flat.EFRON] != 0,
        carray(zig_k, (layers,)), fl[p5:p5 + layers], fl[p5 + layers:p5 + 2 * layers],
    )  # fmt: skip
    sf = carray(float_scratch, (flat.SCRATCH_FLOATS * n + nl,))
    si = carray(int_scratch, (flat.SCRATCH_INTS * n + 1,))
    scratch = (
        sf[0:n], sf[n:2 * n], si[0:n], sf[2 * n:3 * n], sf[3 * n:4 * n], si[n:2 * n],
        si[2 * n:3 * n], si[3 * n:4 * n + 1], sf[8 * n:8 * n + nl],
        sf[4 * n:5 * n], sf[5 * n:6 * n], sf[6 * n:7 * n], sf[7 * n:8 * n],
    )  # fmt: skip  # the slices of model.SCRATCH_FLOATS and model.SCRATCH_INTS
    shape = (trials, nl)
    out = (
        carray(time, shape), carray(events, shape), carray(o, shape), carray(e, shape),
        carray(v, shape), carray(beta, shape),
    )  # fmt: skip
    fd = carray(float_scratch, (1, 1))  # the host draws, unread
    draws = (fd, carray(int_scratch, (1, 1)), fd, fd, fd)
    for r in range(trials):
        k = uint64(2 * r)
        s0 = splitmix_word(base, k + uint64(1))
        s1 = splitmix_word(base, k + uint64(2))
        simulate_trial(r, False, s0, s1, draws, model, scratch, out)
