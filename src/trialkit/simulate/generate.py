"""Random generation of a batch of simulated trials, as (trials x patients) arrays.

Every draw comes from the :class:`numpy.random.Generator` passed in, in a fixed order
(entry, allocation, PFS, dropout), so a batch is a pure function of its generator
state and its size. Times come from inverting a piecewise-linear cumulative function
(cumulative hazard for PFS, cumulative accrual for entry), which covers the
exponential and piecewise-exponential models and uniform and piecewise-constant
accrual with one code path.

References
----------
Devroye L. (1986). *Non-Uniform Random Variate Generation*. Springer, ch. V.2
(uniform order statistics from normalised exponential spacings) and ch. II.2
(inversion of the cumulative hazard).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.scenario import Scenario

__all__ = [
    "LOGICAL_BATCH",
    "RawDraws",
    "TrialBatch",
    "batch_generator",
    "block_patterns",
    "draw",
    "generate_batch",
    "invert_piecewise_linear",
    "to_batch",
]

FloatArray = NDArray[np.float64]

#: trials per logical batch: the unit of the random streams (see :func:`batch_generator`)
LOGICAL_BATCH = 4096


def batch_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of logical batch ``index``: child ``index`` of ``SeedSequence(seed)``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


@dataclass(frozen=True)
class TrialBatch:
    """Patient-level data of ``trials`` simulated trials, one row per trial.

    Attributes
    ----------
    entry
        Calendar time of randomisation (months from the first patient in), increasing
        along each row.
    pfs, dropout
        Time from randomisation to PFS event and to dropout (``inf`` without dropout);
        the patient is censored at dropout when it comes first.
    treated
        True for the treatment (sorafenib) arm.
    """

    entry: FloatArray
    pfs: FloatArray
    dropout: FloatArray
    treated: NDArray[np.bool_]

    @property
    def trials(self) -> int:
        """Number of trials (rows)."""
        return int(self.entry.shape[0])


def invert_piecewise_linear(
    level: FloatArray, starts: FloatArray, slopes: FloatArray
) -> FloatArray:
    """Invert :math:`F(t) = F(s_k) + r_k (t - s_k)` on :math:`[s_k, s_{k+1})`, ``F(0) = 0``.

    With ``slopes`` the hazards this turns unit-exponential draws into
    piecewise-exponential times; with accrual rates it turns patient counts into
    calendar entry times. The last piece extends to infinity.
    """
    if slopes.size == 1:
        out: FloatArray = np.asarray(level / slopes[0], dtype=np.float64)
        return out
    widths = np.diff(starts)
    knots = np.concatenate(([0.0], np.cumsum(slopes[:-1] * widths)))
    piece = np.searchsorted(knots, level, side="right") - 1
    result: FloatArray = starts[piece] + (level - knots[piece]) / slopes[piece]
    return result


@dataclass(frozen=True)
class RawDraws:
    """The random draws of a batch, before they are turned into times.

    Kept apart from :class:`TrialBatch` so that the compiled kernel
    (:mod:`trialkit.simulate.trial`) consumes exactly the draws the numpy path
    transforms: both give the same trials from the same stream.

    Attributes
    ----------
    spacings
        ``(trials, n + 1)`` unit exponentials whose normalised partial sums are the
        sorted uniform entry fractions; ``None`` for fixed entry.
    allocation
        ``"blocks"``: ``(trials, blocks)`` indices into :func:`block_patterns`;
        ``"simple"``: ``(trials, n)`` uniforms, treatment when below the treatment share.
    pfs
        ``(trials, n)`` unit exponentials, inverted through each arm's cumulative hazard.
    dropout
        ``(trials, n)`` unit exponentials divided by the dropout hazard; ``None`` without
        dropout.
    """

    spacings: FloatArray | None
    allocation: NDArray[np.int64] | FloatArray
    pfs: FloatArray
    dropout: FloatArray | None


def block_patterns(treatment: int, control: int) -> NDArray[np.bool_]:
    """Every arrangement of one permuted block of ``2 * (treatment + control)`` patients."""
    size = 2 * (treatment + control)
    rows = []
    for chosen in combinations(range(size), 2 * treatment):
        row = np.zeros(size, dtype=bool)
        row[list(chosen)] = True
        rows.append(row)
    return np.array(rows)


def draw(
    scenario: Scenario, rng: np.random.Generator, trials: int, reuse: RawDraws | None = None
) -> RawDraws:
    """Take the draws of ``trials`` trials from ``rng``, always in the same order.

    Entry spacings (random entry only), allocation, PFS, dropout (with dropout only).
    ``reuse``: an earlier batch's draws, done with, whose arrays of the right shape are
    refilled in place (the same values as new arrays; a thread drawing batch after batch
    then does not fault in fresh memory for each).
    """
    n = scenario.n
    spare = (None, None, None) if reuse is None else (reuse.spacings, reuse.pfs, reuse.dropout)

    def exponential(shape: tuple[int, int], old: FloatArray | None) -> FloatArray:
        if old is not None and old.shape == shape:
            return rng.standard_exponential(out=old)
        return rng.standard_exponential(shape)

    spacings = exponential((trials, n + 1), spare[0]) if scenario.entry == "random" else None
    allocation: NDArray[np.int64] | FloatArray
    if scenario.allocation == "simple":
        allocation = rng.random((trials, n))
    else:
        a, b = scenario.allocation_ratio
        patterns = block_patterns(a, b)
        blocks = -(-n // patterns.shape[1])
        # one draw per block picks its arrangement: equally likely permuted blocks
        allocation = rng.integers(0, patterns.shape[0], size=(trials, blocks), dtype=np.int64)
    pfs = exponential((trials, n), spare[1])
    dropout = exponential((trials, n), spare[2]) if scenario.dropout_hazard > 0.0 else None
    return RawDraws(spacings=spacings, allocation=allocation, pfs=pfs, dropout=dropout)


def to_batch(scenario: Scenario, raw: RawDraws) -> TrialBatch:
    """Turn the draws into entry, PFS and dropout times and arms."""
    n = scenario.n
    trials = raw.pfs.shape[0]
    if raw.spacings is None:
        counts = np.broadcast_to(np.arange(1, n + 1, dtype=np.float64), (trials, n))
    else:
        cum = np.cumsum(raw.spacings, axis=1)
        counts = cum[:, :n] * (n / cum[:, n:])
    entry = invert_piecewise_linear(
        counts, np.asarray(scenario.accrual_starts), np.asarray(scenario.accrual_rates)
    )
    a, b = scenario.allocation_ratio
    if scenario.allocation == "simple":
        treated = raw.allocation < a / (a + b)
    else:
        patterns = block_patterns(a, b)
        blocks = raw.allocation.shape[1]
        picked = patterns[raw.allocation.astype(np.intp)]
        treated = picked.reshape(trials, blocks * patterns.shape[1])[:, :n]
    breaks = np.asarray((0.0, *scenario.pfs_breaks))
    h_c = np.asarray(scenario.hazards_control)
    h_t = np.asarray(scenario.hazards_treatment)
    if h_c.size == 1:
        pfs = raw.pfs / np.where(treated, h_t[0], h_c[0])
    else:
        pfs = np.where(
            treated,
            invert_piecewise_linear(raw.pfs, breaks, h_t),
            invert_piecewise_linear(raw.pfs, breaks, h_c),
        )
    if raw.dropout is None:
        dropout = np.full((trials, n), np.inf)
    else:
        dropout = raw.dropout / scenario.dropout_hazard
    return TrialBatch(entry=entry, pfs=pfs, dropout=dropout, treated=np.asarray(treated))


def generate_batch(scenario: Scenario, rng: np.random.Generator, trials: int) -> TrialBatch:
    """Draw ``trials`` independent trials of ``scenario`` from ``rng``.

    Parameters
    ----------
    scenario
        The trial to simulate.
    rng
        The only source of randomness; the draws are taken in a fixed order (:func:`draw`).
    trials
        Rows to generate.
    """
    return to_batch(scenario, draw(scenario, rng, trials))
