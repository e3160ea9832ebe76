"""Per-look statistics of a batch of simulated trials, and their tally.

Every backend returns a :class:`LookStatistics` (six ``(trials, looks)`` arrays);
:func:`tally_statistics` turns one logical batch of them into the mergeable
:class:`~trialkit.simulate.results.Tally` (on the host; the CUDA backend does the same
arithmetic on the device).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.results import HR_BIN, HR_BINS, HR_LIMIT, TIME_BIN, TIME_BINS, Tally
from trialkit.simulate.scenario import Scenario

__all__ = ["Batches", "LookStatistics", "tally_statistics"]

FloatArray = NDArray[np.float64]
#: logical batches of a task, as ``(index, size)`` pairs
Batches = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class LookStatistics:
    """Each trial's analysis at every look: one row per trial, one column per look.

    Attributes
    ----------
    time
        Calendar time of the look (months from the first patient in).
    events
        PFS events in the analysis.
    observed, expected, variance
        Log-rank components: treatment-arm events, their expectation under H0 and the
        variance; ``(expected - observed) / sqrt(variance)`` is positive when the
        treatment arm has fewer events than expected.
    log_hr
        Cox estimate of the log HR (treatment vs control); -inf or +inf for a monotone
        likelihood, NaN when the variance is 0.
    """

    time: FloatArray
    events: NDArray[np.int64]
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    log_hr: FloatArray

    @property
    def trials(self) -> int:
        """Rows."""
        return int(self.time.shape[0])

    def arrays(
        self,
    ) -> tuple[FloatArray, NDArray[np.int64], FloatArray, FloatArray, FloatArray, FloatArray]:
        """The six arrays in field order (for a kernel's output arguments)."""
        return (self.time, self.events, self.observed, self.expected, self.variance, self.log_hr)

    def rows(self, start: int, stop: int) -> LookStatistics:
        """Trials ``start`` to ``stop - 1``."""
        s = slice(start, stop)
        return LookStatistics(
            self.time[s], self.events[s], self.observed[s], self.expected[s],
            self.variance[s], self.log_hr[s],
        )  # fmt: skip


def tally_statistics(scenario: Scenario, index: int, stats: LookStatistics, into: Tally) -> None:
    """Add the statistics of logical batch ``index`` to ``into`` (decisions, sums, histograms)."""
    times, events, log_hr = stats.time, stats.events, stats.log_hr
    o, e, v = stats.observed, stats.expected, stats.variance
    size, looks = times.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, (e - o) / np.sqrt(v), np.nan)  # positive favours treatment
    cross = z >= np.asarray(scenario.efficacy_z)[None, :]
    crossed = cross.any(axis=1)
    stop = np.where(crossed, np.argmax(cross, axis=1), looks - 1)
    rows = np.arange(size)
    t_stop = times[rows, stop]
    ev_stop = events[rows, stop]
    hr_stop = log_hr[rows, stop]
    early = crossed & (stop < looks - 1)
    decision = early | (log_hr[:, -1] <= math.log(scenario.decision_hr))
    into.trials += size
    into.decision += int(decision.sum())
    into.logrank += int(crossed.sum())
    into.stopped += np.bincount(stop[crossed], minlength=looks)
    # look k is reached by trials that did not stop before it
    reached = stop[:, None] >= np.arange(looks)[None, :]
    into.reached += reached.sum(axis=0)
    look_time = np.where(reached, times, 0.0).sum(axis=0)
    look_events = np.where(reached, events, 0).sum(axis=0)
    into.sums[index] = (
        float(t_stop.sum()),
        float((t_stop * t_stop).sum()),
        float(ev_stop.sum()),
        *(float(x) for x in look_time),
        *(float(x) for x in look_events),
    )
    t_bin = np.minimum((t_stop / TIME_BIN).astype(np.int64), TIME_BINS - 1)
    ok = ~np.isnan(hr_stop)  # +-inf (monotone likelihood) land in the end bins
    into.hr_missing += int((~ok).sum())
    h_bin = np.clip((hr_stop[ok] + HR_LIMIT) / HR_BIN, 0, HR_BINS - 1).astype(np.int64)
    into.count(t_bin, h_bin)
