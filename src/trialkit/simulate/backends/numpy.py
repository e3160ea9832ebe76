"""``numpy``: the vectorised reference (:mod:`trialkit.simulate.kernels`), no compiler.

Whole-array operations over a batch (one sort per look, cumulative sums, Newton-Raphson
on all trials at once); slow, but written as the formulas read, so the tests hold the
compiled kernel to it.
"""

from __future__ import annotations

import numpy as np

from trialkit.simulate.backends._host import HostBackend
from trialkit.simulate.generate import TrialBatch, to_batch
from trialkit.simulate.kernels import analysis_cut, observed_at, two_arm_statistics
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.scenario import Scenario
from trialkit.simulate.streams import stream_draws

__all__ = ["BACKEND", "NumpyBackend", "reference_statistics"]


def reference_statistics(scenario: Scenario, batch: TrialBatch) -> LookStatistics:
    """Every trial's statistics at every look, by the numpy reference."""
    cut = analysis_cut(batch, scenario.look_events)
    cols = [
        two_arm_statistics(*observed_at(batch, cut.time[:, k]), batch.treated, ties=scenario.ties)
        for k in range(cut.time.shape[1])
    ]
    return LookStatistics(
        time=cut.time,
        events=cut.events,
        observed=np.stack([c.observed for c in cols], axis=1),
        expected=np.stack([c.expected for c in cols], axis=1),
        variance=np.stack([c.variance for c in cols], axis=1),
        log_hr=np.stack([c.log_hr for c in cols], axis=1),
    )


class NumpyBackend(HostBackend):
    """The numpy reference."""

    name = "numpy"

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Logical batch ``index`` from its own stream (the same trials as the numba backend).

        Always drawn on the host (:func:`~trialkit.simulate.streams.stream_draws`), whatever
        ``host_draws`` says.
        """
        batch = to_batch(scenario, stream_draws(scenario, seed, index, size))
        return reference_statistics(scenario, batch)


BACKEND = NumpyBackend()
