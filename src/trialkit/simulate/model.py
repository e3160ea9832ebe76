"""The scenario as the compiled kernels read it: arrays, and the native kernel's flat layout.

:func:`model_arrays` gives the tuple :func:`trialkit.simulate.trial.simulate_trial` takes;
:func:`flat_model` packs the same values into the four buffers of the native kernel's C
signature (:func:`trialkit.simulate.trial.native_batch`), whose layout the constants below
name, and :func:`flat_scratch` its two scratch buffers. Imports no compiler: the native
kernel (:mod:`trialkit.simulate.native`) runs without numba.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.generate import RawDraws, block_patterns
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.streams import ZIGGURAT_TABLES

__all__ = [
    "FLAT_HEADER",
    "DrawArrays",
    "FlatModel",
    "ModelArrays",
    "draw_arrays",
    "flat_model",
    "flat_scratch",
    "model_arrays",
]

#: the flat model's integer words before the look event counts, by position
(
    RANDOM_ENTRY, SIMPLE, EFRON, PATIENTS, LOOKS, PATTERN_ROWS, PATTERN_COLUMNS,
    ACCRUAL_PIECES, PFS_PIECES, FLAT_HEADER,
) = range(10)  # fmt: skip
#: each ziggurat table's length (:data:`trialkit.simulate.streams.ZIGGURAT_TABLES`)
ZIGGURAT_LAYERS = 256
#: the native kernel's float scratch per patient: entry, follow-up, calendar and sorted
#: times, the tie groups' four risk-set columns (then one time per look)
SCRATCH_FLOATS = 8
#: its integer scratch per patient: status, sorted flags, bucket numbers, and the ``n + 1``
#: bucket counts (``4n + 1`` in all; :func:`trialkit.simulate.trial.native_batch` slices
#: both buffers)
SCRATCH_INTS = 4


class ModelArrays(NamedTuple):
    """The scenario as :func:`~trialkit.simulate.trial.simulate_trial` reads it, and the
    ziggurat's tables."""

    random_entry: bool
    simple: bool
    share: float
    patterns: NDArray[np.bool_]
    drop_hazard: float
    acc_starts: NDArray[np.float64]
    acc_knots: NDArray[np.float64]
    acc_rates: NDArray[np.float64]
    pfs_starts: NDArray[np.float64]
    knots_c: NDArray[np.float64]
    h_c: NDArray[np.float64]
    knots_t: NDArray[np.float64]
    h_t: NDArray[np.float64]
    looks: NDArray[np.int64]
    efron: bool
    zig_k: NDArray[np.uint64]
    zig_w: NDArray[np.float64]
    zig_f: NDArray[np.float64]


class DrawArrays(NamedTuple):
    """Host draws as the kernel reads them (an unused kind: a ``(1, 1)`` dummy)."""

    spacings: NDArray[np.float64]
    allocation: NDArray[np.int64]
    uniforms: NDArray[np.float64]
    pfs_unit: NDArray[np.float64]
    drop_unit: NDArray[np.float64]


class FlatModel(NamedTuple):
    """:class:`ModelArrays` in the native kernel's four buffers.

    ``ints``: the :data:`FLAT_HEADER` words named above, then the looks' event counts.
    ``floats``: the allocation share, the dropout hazard, the accrual starts, knots and
    rates, the PFS piece starts, the control knots and hazards, the treatment knots and
    hazards, then the ziggurat's ``w`` and ``f`` tables. ``zig_k`` the ziggurat's ``k``
    table; ``patterns`` the block patterns as bytes.
    """

    ints: NDArray[np.int64]
    floats: NDArray[np.float64]
    zig_k: NDArray[np.uint64]
    patterns: NDArray[np.uint8]


def _knots(starts: NDArray[np.float64], slopes: NDArray[np.float64]) -> NDArray[np.float64]:
    knots: NDArray[np.float64] = np.concatenate(([0.0], np.cumsum(slopes[:-1] * np.diff(starts))))
    return knots


def model_arrays(scenario: Scenario) -> ModelArrays:
    """The kernel's view of ``scenario``."""
    a, b = scenario.allocation_ratio
    acc_starts = np.asarray(scenario.accrual_starts, dtype=np.float64)
    acc_rates = np.asarray(scenario.accrual_rates, dtype=np.float64)
    pfs_starts = np.asarray((0.0, *scenario.pfs_breaks), dtype=np.float64)
    h_c = np.asarray(scenario.hazards_control, dtype=np.float64)
    h_t = np.asarray(scenario.hazards_treatment, dtype=np.float64)
    return ModelArrays(
        random_entry=scenario.entry == "random",
        simple=scenario.allocation == "simple",
        share=a / (a + b),
        patterns=block_patterns(a, b),
        drop_hazard=float(scenario.dropout_hazard),
        acc_starts=acc_starts,
        acc_knots=_knots(acc_starts, acc_rates),
        acc_rates=acc_rates,
        pfs_starts=pfs_starts,
        knots_c=_knots(pfs_starts, h_c),
        h_c=h_c,
        knots_t=_knots(pfs_starts, h_t),
        h_t=h_t,
        looks=np.asarray(scenario.look_events, dtype=np.int64),
        efron=scenario.ties == "efron",
        zig_k=ZIGGURAT_TABLES[0],
        zig_w=ZIGGURAT_TABLES[1],
        zig_f=ZIGGURAT_TABLES[2],
    )


def flat_model(scenario: Scenario) -> FlatModel:
    """``scenario`` in the native kernel's buffers (the layout of :class:`FlatModel`)."""
    m = model_arrays(scenario)
    header = np.zeros(FLAT_HEADER, np.int64)
    header[RANDOM_ENTRY] = m.random_entry
    header[SIMPLE] = m.simple
    header[EFRON] = m.efron
    header[PATIENTS] = scenario.n
    header[LOOKS] = m.looks.size
    header[PATTERN_ROWS], header[PATTERN_COLUMNS] = m.patterns.shape
    header[ACCRUAL_PIECES] = m.acc_rates.size
    header[PFS_PIECES] = m.h_c.size
    floats = np.concatenate((
        [m.share, m.drop_hazard], m.acc_starts, m.acc_knots, m.acc_rates, m.pfs_starts,
        m.knots_c, m.h_c, m.knots_t, m.h_t, m.zig_w, m.zig_f,
    ))  # fmt: skip
    return FlatModel(
        ints=np.concatenate((header, m.looks)),
        floats=np.ascontiguousarray(floats, dtype=np.float64),
        zig_k=np.ascontiguousarray(m.zig_k),
        patterns=np.ascontiguousarray(m.patterns, dtype=np.uint8),
    )


def flat_scratch(n: int, looks: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The native kernel's two scratch buffers for ``n`` patients (sizes: the constants above)."""
    return np.zeros(SCRATCH_FLOATS * n + looks), np.zeros(SCRATCH_INTS * n + 1, np.int64)


def draw_arrays(raw: RawDraws | None) -> DrawArrays:
    """The host draws of ``raw`` (None: the kernel draws its own; every array a dummy)."""
    dummy = np.zeros((1, 1))
    if raw is None:
        return DrawArrays(dummy, np.zeros((1, 1), np.int64), dummy, dummy, dummy)
    simple = raw.allocation.dtype.kind == "f"
    return DrawArrays(
        spacings=dummy if raw.spacings is None else np.ascontiguousarray(raw.spacings),
        allocation=np.zeros((1, 1), np.int64) if simple else np.asarray(raw.allocation, np.int64),
        uniforms=np.asarray(raw.allocation, np.float64) if simple else dummy,
        pfs_unit=np.ascontiguousarray(raw.pfs),
        drop_unit=dummy if raw.dropout is None else np.ascontiguousarray(raw.dropout),
    )
