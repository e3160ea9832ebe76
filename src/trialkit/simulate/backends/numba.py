"""``numba`` (the default): the per-trial kernel compiled for the CPU, batches in threads.

Each trial draws its own ``xoroshiro128+`` stream inside the kernel, seeded as the CUDA
kernel seeds its threads (:func:`trialkit.simulate.trial.native_batch`, loaded as object
code by :mod:`trialkit.simulate.native` without importing numba), so the CPU and
the GPU simulate the same trials for a seed; the numpy reference reads the same values from
host arrays (:func:`trialkit.simulate.streams.stream_draws`) and agrees to rounding (about
1e-12). ``host_draws`` runs the kernel on those host arrays instead: the same statistics,
bit for bit, by the path the tests hold to the reference. The compiled kernels are cached
on disk and release the GIL, so a run loads them in milliseconds and the engine's worker
threads run batches in parallel.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from trialkit.simulate import native
from trialkit.simulate.backends._host import HostBackend
from trialkit.simulate.generate import RawDraws
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.model import FlatModel, draw_arrays, flat_model, model_arrays
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.streams import batch_seed, stream_draws

__all__ = ["BACKEND", "NumbaBackend", "drawn_statistics", "kernel_statistics"]


def _host_kernel() -> Any:
    """The kernel on host draws, a numba dispatcher: numba is imported only when it runs."""
    from trialkit.simulate.trial import cpu_batch

    return cpu_batch


def _outputs(scenario: Scenario, trials: int) -> LookStatistics:
    """The kernel's six output arrays for ``trials`` trials, uninitialised."""
    shape = (trials, len(scenario.look_events))
    return LookStatistics(
        np.empty(shape), np.empty(shape, dtype=np.int64), np.empty(shape), np.empty(shape),
        np.empty(shape), np.empty(shape),
    )  # fmt: skip


def kernel_statistics(scenario: Scenario, raw: RawDraws) -> LookStatistics:
    """The compiled kernel on the host draws ``raw``: every trial's statistics at every look."""
    out = _outputs(scenario, raw.pfs.shape[0])
    _host_kernel()(draw_arrays(raw), model_arrays(scenario), out.arrays())
    return out


@lru_cache(maxsize=8)
def _flat_model(scenario: Scenario) -> FlatModel:
    """:func:`~trialkit.simulate.model.flat_model`, built once per scenario, not per batch.

    Its buffers are made read-only: the cached model is shared by every batch and thread.
    """
    model = flat_model(scenario)
    for array in model:
        array.flags.writeable = False
    return model


def drawn_statistics(scenario: Scenario, seed: int, index: int, size: int) -> LookStatistics:
    """The compiled kernel on logical batch ``index``, each trial drawing in the kernel."""
    out = _outputs(scenario, size)
    native.kernel()(batch_seed(seed, index), _flat_model(scenario), out)
    return out


class NumbaBackend(HostBackend):
    """The compiled per-trial kernel on the CPU."""

    name = "numba"

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Logical batch ``index``: its trials drawn in the kernel (or on the host, the same)."""
        if host_draws:
            return kernel_statistics(scenario, stream_draws(scenario, seed, index, size))
        return drawn_statistics(scenario, seed, index, size)


BACKEND = NumbaBackend()
