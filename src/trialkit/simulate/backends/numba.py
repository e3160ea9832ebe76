"""``numba`` (the default): the per-trial kernel compiled for the CPU, batches in threads.

Reads the draws of :func:`trialkit.simulate.generate.draw` (the numpy reference's), so its
trials are the reference's; its statistics agree with it to rounding (about 1e-12).
The compiled kernel is cached on disk (``cache=True``) and released the GIL, so a run
loads it in milliseconds and the engine's worker threads run batches in parallel.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from trialkit.simulate.backends._host import HostBackend
from trialkit.simulate.generate import RawDraws, batch_generator, draw
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.trial import cpu_batch, draw_arrays, model_arrays

__all__ = ["BACKEND", "NumbaBackend", "kernel_statistics"]

#: each thread's last draws, refilled by its next batch (module state: the backend pickles)
_THREAD = threading.local()


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
        """Logical batch ``index``: its draws from its own stream, then the kernel.

        The draws go into the arrays of this thread's previous batch (the kernel is done
        with them): the same values, without faulting in 15 MB of fresh memory per batch.
        """
        last: RawDraws | None = getattr(_THREAD, "draws", None)
        raw = draw(scenario, batch_generator(seed, index), size, reuse=last)
        _THREAD.draws = raw
        return kernel_statistics(scenario, raw)


BACKEND = NumbaBackend()
