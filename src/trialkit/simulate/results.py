"""Typed, frozen results of a trial simulation, with a readable summary.

:class:`Tally` is the mergeable sufficient statistic of any set of simulated trials
(integer counts, per-batch sums, fixed-bin histograms); :class:`SimulationResult` is
what a run reports. Counts and histograms add exactly, and the per-batch sums are
combined with :func:`math.fsum` (correctly rounded, so independent of their order):
the same seed gives the same result whatever the execution layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.streams import STREAMS

__all__ = [
    "HR_BIN",
    "TIME_BIN",
    "LookResult",
    "SimulationResult",
    "Tally",
    "histogram_quantile",
]

TIME_BIN = 1e-3  # months: analysis-time quantiles are exact to half of this
TIME_BINS = 1_000_000  # up to 1000 months; later times land in the last bin
HR_BIN = 1e-4  # on the log-HR scale
HR_LIMIT = 8.0  # log HR in [-8, 8]; outside it lands in the end bins
HR_BINS = round(2 * HR_LIMIT / HR_BIN)
QUANTILES = (0.025, 0.5, 0.975)


@dataclass
class Tally:
    """Sufficient statistics of a set of simulated trials; merge with :meth:`add`.

    Float sums are kept per logical batch (keyed by batch index) so that their total
    does not depend on which worker saw which batch.
    """

    looks: int
    trials: int = 0
    decision: int = 0
    logrank: int = 0
    hr_missing: int = 0
    stopped: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    reached: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    sums: dict[int, tuple[float, ...]] = field(default_factory=dict)
    time_hist: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    hr_hist: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if self.stopped.size == 0:
            self.stopped = np.zeros(self.looks, np.int64)
            self.reached = np.zeros(self.looks, np.int64)
        if self.time_hist.size == 0:
            self.time_hist = np.zeros(TIME_BINS, np.int64)
            self.hr_hist = np.zeros(HR_BINS, np.int64)

    #: occupied bins of each histogram, ``[low, high]`` (empty while ``high < low``): a
    #: merge adds only these, not the 1.16 million bins (a quarter of a millisecond per
    #: 1,000 trials otherwise)
    time_span: tuple[int, int] = (TIME_BINS, -1)
    hr_span: tuple[int, int] = (HR_BINS, -1)

    def count(self, time_bins: NDArray[np.int64], hr_bins: NDArray[np.int64]) -> None:
        """Count these bin numbers into the analysis-time and log-HR histograms."""
        for hist, bins, span in (
            (self.time_hist, time_bins, "time_span"),
            (self.hr_hist, hr_bins, "hr_span"),
        ):
            if bins.size:
                np.add.at(hist, bins, 1)
                low, high = getattr(self, span)
                setattr(self, span, (min(low, int(bins.min())), max(high, int(bins.max()))))

    def add(self, other: Tally) -> None:
        """Merge ``other`` into this tally (exact)."""
        self.trials += other.trials
        self.decision += other.decision
        self.logrank += other.logrank
        self.hr_missing += other.hr_missing
        self.stopped += other.stopped
        self.reached += other.reached
        self.sums.update(other.sums)
        for hist, theirs, span in (
            (self.time_hist, other.time_hist, "time_span"),
            (self.hr_hist, other.hr_hist, "hr_span"),
        ):
            low, high = getattr(other, span)
            if high >= low:
                hist[low : high + 1] += theirs[low : high + 1]
                mine = getattr(self, span)
                setattr(self, span, (min(mine[0], low), max(mine[1], high)))

    def total(self, position: int) -> float:
        """Correctly rounded sum over batches of one per-batch sum."""
        return math.fsum(s[position] for s in self.sums.values())


def histogram_quantile(hist: NDArray[np.int64], q: float, low: float, width: float) -> float:
    """Quantile (inverse of the empirical distribution, R type 1) from a fixed-bin histogram.

    Returns the midpoint of the bin holding the ``ceil(q * N)``-th smallest value.
    """
    total = int(hist.sum())
    if total == 0:
        return float("nan")
    rank = max(1, math.ceil(q * total - 1e-9))
    k = int(np.searchsorted(np.cumsum(hist), rank))
    return low + (k + 0.5) * width


@dataclass(frozen=True)
class LookResult:
    """One look of a group-sequential run."""

    events: int
    information_rate: float
    efficacy_z: float
    reject_rate: float
    cumulative_reject_rate: float
    trials_reached: int
    mean_analysis_time: float
    mean_events: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "events": self.events,
            "information_rate": self.information_rate,
            "efficacy_z": self.efficacy_z,
            "reject_rate": self.reject_rate,
            "cumulative_reject_rate": self.cumulative_reject_rate,
            "trials_reached": self.trials_reached,
            "mean_analysis_time": self.mean_analysis_time,
            "mean_events": self.mean_events,
        }


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics estimated from ``trials`` simulated trials.

    Attributes
    ----------
    reject_rate
        Share of trials declaring the treatment effective: observed HR at most the
        decision HR at the final analysis (or an early efficacy stop).
    logrank_reject_rate
        Share rejecting H0 (HR >= 1) by the one-sided log-rank test at ``alpha``
        (group-sequential: crossing the efficacy bound at any look).
    mc_standard_error
        Monte Carlo standard errors of the two rates and of the mean analysis time.
    mean_analysis_time, analysis_time_quantiles
        Calendar time (months from first patient in) of the analysis that ends the trial.
    hr_quantiles
        Quantiles of the Cox HR at that analysis (trials with an estimate).
    mean_events
        Events at that analysis (below the target only when dropout leaves too few).
    trials_without_hr
        Trials with no event while both arms are at risk (log-rank variance 0): no HR, and
        they count as not meeting the decision rule. A monotone likelihood (all events of
        the comparison in one arm) gives an HR of 0 or infinity, which the rule handles.
    """

    trials: int
    seed: int
    backend: str
    reject_rate: float
    logrank_reject_rate: float
    mc_standard_error: dict[str, float]
    mean_analysis_time: float
    analysis_time_quantiles: dict[str, float]
    hr_quantiles: dict[str, float]
    mean_events: float
    trials_without_hr: int
    elapsed_seconds: float
    looks: tuple[LookResult, ...]
    scenario: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The ``trialkit simulate --json`` contract."""
        out: dict[str, Any] = {
            "trials": self.trials,
            "seed": self.seed,
            "reject_rate": self.reject_rate,
            "logrank_reject_rate": self.logrank_reject_rate,
            "mc_standard_error": dict(self.mc_standard_error),
            "mean_analysis_time": self.mean_analysis_time,
            "analysis_time_quantiles": dict(self.analysis_time_quantiles),
            "hr_quantiles": dict(self.hr_quantiles),
            "mean_events": self.mean_events,
            "trials_without_hr": self.trials_without_hr,
            "backend": self.backend,
            "random_streams": STREAMS,
            "elapsed_seconds": self.elapsed_seconds,
            "scenario": self.scenario,
            # HRs beyond exp(+-8) (monotone likelihoods: 0 or infinity) sit at these bounds
            "quantile_resolution": {
                "analysis_time_months": TIME_BIN,
                "log_hr": HR_BIN,
                "hr_range": [math.exp(-HR_LIMIT), math.exp(HR_LIMIT)],
            },
        }
        if len(self.looks) > 1:
            out["looks"] = [look.to_dict() for look in self.looks]
        return out

    def summary(self) -> str:
        """A few readable lines."""
        se = self.mc_standard_error
        q = self.analysis_time_quantiles
        h = self.hr_quantiles
        lines = [
            f"{self.trials} simulated trials (seed {self.seed}, {self.backend}, "
            f"{self.elapsed_seconds:.2f} s)",
            f"decision rule (observed HR <= {self.scenario['decision_hr']:g}): "
            f"{self.reject_rate:.4f} (MC SE {se['reject_rate']:.4f})",
            f"log-rank test at one-sided {self.scenario['alpha']:g}: "
            f"{self.logrank_reject_rate:.4f} (MC SE {se['logrank_reject_rate']:.4f})",
            f"analysis time {self.mean_analysis_time:.3f} months "
            f"(2.5% {q['2.5']:.2f}, median {q['50']:.2f}, 97.5% {q['97.5']:.2f}), "
            f"mean events {self.mean_events:.2f}",
            f"observed HR median {h['50']:.3f} (2.5% {h['2.5']:.3f}, 97.5% {h['97.5']:.3f})",
        ]
        for k, look in enumerate(self.looks if len(self.looks) > 1 else ()):
            lines.append(
                f"  look {k + 1} at {look.events} events (z >= {look.efficacy_z:.3f}): "
                f"stop {look.reject_rate:.4f}, cumulative {look.cumulative_reject_rate:.4f}, "
                f"time {look.mean_analysis_time:.2f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
