"""``numba`` (the default): the per-trial kernel compiled for the CPU, batches in threads.

Each trial draws its own ``xoroshiro128+`` stream inside the kernel, seeded as the CUDA
kernel seeds its threads (:func:`trialkit.simulate.trial.cpu_batch_drawn`), so the CPU and
the GPU simulate the same trials for a seed; the numpy reference reads the same values from
host arrays (:func:`trialkit.simulate.streams.stream_draws`) and agrees to rounding (about
1e-12). ``host_draws`` runs the kernel on those host arrays instead: the same statistics,
bit for bit, by the path the tests hold to the reference. The compiled kernels are cached
on disk (``cache=True``) and release the GIL, so a run loads them in milliseconds and the
engine's worker threads run batches in parallel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trialkit.simulate.backends._host import HostBackend
from trialkit.simulate.generate import RawDraws
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.streams import stream_draws
from trialkit.simulate.trial import batch_statistics, cpu_batch, draw_arrays, model_arrays

__all__ = ["BACKEND", "NumbaBackend", "kernel_statistics"]


def kernel_statistics(scenario: Scenario, raw: RawDraws) -> LookStatistics:
    """The compiled kernel on the host draws ``raw``: every trial's statistics at every look."""
    trials = raw.pfs.shape[0]
    shape = (trials, len(scenario.look_events))
    outs: list[Any] = [np.empty(shape) for _ in range(6)]
    outs[1] = np.empty(shape, dtype=np.int64)
    kernel: Any = cpu_batch  # a numba dispatcher: its arguments are typed when it compiles
    kernel(draw_arrays(raw), model_arrays(scenario), tuple(outs))
    return LookStatistics(*outs)


class NumbaBackend(HostBackend):
    """The compiled per-trial kernel on the CPU."""

    name = "numba"

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Logical batch ``index``: its trials drawn in the kernel (or on the host, the same)."""
        if host_draws:
            return kernel_statistics(scenario, stream_draws(scenario, seed, index, size))
        return LookStatistics(*batch_statistics(scenario, seed, index, size))


BACKEND = NumbaBackend()
