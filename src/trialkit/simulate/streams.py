"""The random streams of a run: one ``xoroshiro128+`` stream per trial, drawn on the host.

Batch ``index`` of a run is seeded by child ``index`` of ``SeedSequence(seed)``
(:func:`batch_seed`); its trial ``i`` starts at outputs ``2i + 1``, ``2i + 2`` of splitmix64
from that seed. Each trial takes ``n + 1`` entry spacings (random entry), its allocation,
then each patient's PFS and dropout exponentials (a ziggurat, NumPy's word layout). The
compiled kernels draw these values in registers; :func:`stream_draws` draws the same values
with numpy for the reference, ``--dump-trial`` and host-draw checks (a test holds the two
equal). Hand-written: no library offers per-trial streams with an exponential ziggurat both
on the host and inside numba kernels. Details: ``docs/statistics.md``.

References
----------
Blackman D. and Vigna S. (2021). Scrambled linear pseudorandom number generators.
*ACM Transactions on Mathematical Software* 47(4), 36.

Marsaglia G. and Tsang W.W. (2000). The ziggurat method for generating random variables.
*Journal of Statistical Software* 5(8), 1-7.

Steele G.L., Lea D. and Flood C.H. (2014). Fast splittable pseudorandom number
generators. *OOPSLA 2014*, 453-472 (splitmix64).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.generate import RawDraws, block_patterns
from trialkit.simulate.scenario import Scenario

__all__ = [
    "SPLITMIX",
    "STREAMS",
    "ZIGGURAT_R",
    "ZIGGURAT_TABLES",
    "batch_seed",
    "splitmix64",
    "stream_draws",
    "ziggurat_tables",
]

#: which random streams a run drew (``random_streams`` in ``trialkit simulate --json``): the
#: same seed gives the same trials only under the same streams
STREAMS = "xoroshiro128+ per trial from SeedSequence batch seeds, ziggurat exponentials (2026-12)"
#: splitmix64's increment and two multipliers (Steele, Lea and Flood 2014)
SPLITMIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
)
#: the exponential ziggurat's rightmost layer edge for 256 layers (NumPy's ``ziggurat_exp_r``)
ZIGGURAT_R = 7.6971174701310497140446280481
_ZIGGURAT_V = 3.9496598225815571993e-3  # each layer's area
_UNIT = 1.0 / 2.0**53
_U64 = np.uint64


def batch_seed(seed: int, index: int) -> int:
    """The seed of logical batch ``index``: 63 bits of child ``index`` of ``SeedSequence(seed)``.

    63 bits: numba's CUDA state initialisation takes a signed 64-bit integer.
    """
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return int(state) >> 1


def splitmix64(base: int, count: int) -> NDArray[np.uint64]:
    """Outputs ``1..count`` of the splitmix64 generator started at ``base`` (vectorised)."""
    golden, mix1, mix2 = SPLITMIX
    steps = np.arange(1, count + 1, dtype=np.uint64)
    z = np.uint64(base) + steps * golden  # uint64 arrays wrap modulo 2**64, as in C
    z = (z ^ (z >> _U64(30))) * mix1
    z = (z ^ (z >> _U64(27))) * mix2
    out: NDArray[np.uint64] = z ^ (z >> _U64(31))
    return out


def ziggurat_tables() -> tuple[NDArray[np.uint64], NDArray[np.float64], NDArray[np.float64]]:
    """The exponential ziggurat's 256 layers ``(k, w, f)`` for 53-bit values.

    Marsaglia and Tsang's set-up (``zigset``, exponential part): ``w[i]`` turns a 53-bit
    integer into a point of layer ``i``, inside the density without a test when the integer
    is below ``k[i]``; ``f[i]`` is the density at the layer's right edge. Within 1e-13 of
    NumPy's own tables (a test compares); the host stream and the kernels use these.
    """
    m = 2.0**53
    de = ZIGGURAT_R
    te = de
    q = _ZIGGURAT_V / math.exp(-de)
    k = np.zeros(256, np.uint64)
    w = np.zeros(256)
    f = np.zeros(256)
    k[0] = np.uint64(int(de / q * m))
    w[0] = q / m
    w[255] = de / m
    f[0] = 1.0
    f[255] = math.exp(-de)
    for i in range(254, 0, -1):
        de = -math.log(_ZIGGURAT_V / de + math.exp(-de))
        k[i + 1] = np.uint64(int(de / te * m))
        te = de
        f[i] = math.exp(-de)
        w[i] = de / m
    return k, w, f


#: :func:`ziggurat_tables`, computed once: the host stream's and the kernels' tables
ZIGGURAT_TABLES = ziggurat_tables()
_ZK, _ZW, _ZF = ZIGGURAT_TABLES


def _rotl(x: NDArray[np.uint64], k: int) -> NDArray[np.uint64]:
    out: NDArray[np.uint64] = (x << _U64(k)) | (x >> _U64(64 - k))
    return out


class _Lanes:
    """The ``xoroshiro128+`` states of a batch's trials, advanced lane by lane."""

    def __init__(self, base: int, size: int) -> None:
        words = splitmix64(base, 2 * size)
        self.s0 = words[0::2].copy()
        self.s1 = words[1::2].copy()
        self.size = size

    def step(self, rows: NDArray[np.intp]) -> NDArray[np.uint64]:
        """One step of the trials ``rows``: their 64-bit outputs."""
        s0 = self.s0[rows]
        s1 = self.s1[rows]
        result: NDArray[np.uint64] = s0 + s1
        s1 = s1 ^ s0
        self.s0[rows] = _rotl(s0, 55) ^ s1 ^ (s1 << _U64(14))
        self.s1[rows] = _rotl(s1, 36)
        return result

    def uniform(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """A uniform in ``[0, 1)`` per trial of ``rows`` (the top 53 bits)."""
        out: NDArray[np.float64] = (self.step(rows) >> _U64(11)).astype(np.float64) * _UNIT
        return out

    def exponential(self) -> NDArray[np.float64]:
        """A unit exponential per trial, by the ziggurat (each lane retries on its own)."""
        out = np.empty(self.size)
        todo = np.arange(self.size)
        while todo.size:
            bits = self.step(todo) >> _U64(3)
            layer = (bits & _U64(0xFF)).astype(np.intp)
            bits = bits >> _U64(8)
            x = bits.astype(np.float64) * _ZW[layer]
            inside = bits < _ZK[layer]
            out[todo[inside]] = x[inside]
            rows = todo[~inside]
            u = self.uniform(rows)
            again = []
            # rare (about 1% of draws): decided one by one with the C library's exp and
            # log1p, the functions the compiled kernel calls, so the values match it bit for bit
            for row, lay, xv, uv in zip(rows, layer[~inside], x[~inside], u, strict=True):
                if lay == 0:  # the tail beyond r: r plus a unit exponential
                    out[row] = ZIGGURAT_R - math.log1p(-float(uv))
                elif (_ZF[lay - 1] - _ZF[lay]) * uv + _ZF[lay] < math.exp(-float(xv)):
                    out[row] = xv
                else:
                    again.append(row)
            todo = np.asarray(again, dtype=np.intp)
        return out


def stream_draws(scenario: Scenario, seed: int, index: int, size: int) -> RawDraws:
    """The draws of the ``size`` trials of logical batch ``index`` of ``seed``.

    The values the compiled kernels draw for these trials, as host arrays in the layout
    of :func:`trialkit.simulate.generate.draw` (one row per trial).
    """
    n = scenario.n
    lanes = _Lanes(batch_seed(seed, index), size)
    every = np.arange(size)
    spacings = None
    if scenario.entry == "random":
        spacings = np.stack([lanes.exponential() for _ in range(n + 1)], axis=1)
    allocation: NDArray[np.int64] | NDArray[np.float64]
    if scenario.allocation == "simple":
        allocation = np.stack([lanes.uniform(every) for _ in range(n)], axis=1)
    else:
        count, width = block_patterns(*scenario.allocation_ratio).shape
        picks = [
            np.minimum((lanes.uniform(every) * count).astype(np.int64), count - 1)
            for _ in range(-(-n // width))
        ]
        allocation = np.stack(picks, axis=1)
    pfs = np.empty((size, n))
    dropout = np.empty((size, n)) if scenario.dropout_hazard > 0.0 else None
    for i in range(n):
        pfs[:, i] = lanes.exponential()
        if dropout is not None:
            dropout[:, i] = lanes.exponential()
    return RawDraws(spacings=spacings, allocation=allocation, pfs=pfs, dropout=dropout)
