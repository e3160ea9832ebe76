"""One simulated trial's patients at its final analysis, and its statistics (``--dump-trial``).

The trial is regenerated from its logical batch's stream, so the rows are those the run
analysed; its statistics come from the backend that ran, so that re-analysing the rows
(e.g. with ``trialkit analyze survival``) checks that backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialkit.errors import DesignInputError
from trialkit.simulate.backends.registry import DEFAULT_BACKEND, get_backend
from trialkit.simulate.engine import trial_data
from trialkit.simulate.generate import LOGICAL_BATCH
from trialkit.simulate.kernels import observed_at
from trialkit.simulate.scenario import Scenario

__all__ = ["DumpedTrial", "PatientRow", "dump_trial"]


@dataclass(frozen=True)
class PatientRow:
    """One analysed patient: arm label, times in months from randomisation, event flag."""

    patient: int
    arm: str
    entry_time: float
    pfs_time: float
    dropout_time: float | None
    time: float
    event: bool


@dataclass(frozen=True)
class DumpedTrial:
    """Trial ``trial`` of a run: its analysed patients and its final-look statistics."""

    trial: int
    analysis_time: float
    events: int
    logrank_z: float
    hr: float | None
    patients: tuple[PatientRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``dumped_trial`` object of ``trialkit simulate --json`` (without the file)."""
        return {
            "trial": self.trial,
            "analysis_time": self.analysis_time,
            "events": self.events,
            "logrank_z": self.logrank_z,
            "logrank_chisq": self.logrank_z * self.logrank_z,
            "hr": self.hr,
        }


def dump_trial(
    scenario: Scenario,
    trials: int,
    seed: int,
    trial: int,
    *,
    backend: str = DEFAULT_BACKEND,
    host_draws: bool = False,
) -> DumpedTrial:
    """Trial ``trial`` (0-based) of a run of ``trials`` trials from ``seed``.

    The patients are regenerated on the host from the trial's stream
    (:func:`~trialkit.simulate.streams.stream_draws`): the values every backend draws, on
    the CPU or the GPU.

    Raises
    ------
    DesignInputError
        ``dump_trial``: no such trial.
    """
    if not 0 <= trial < trials:
        raise DesignInputError(
            f"the trial to dump must be between 0 and {trials - 1} (0-based); you gave {trial}",
            location="dump_trial",
        )
    engine = get_backend(backend)
    engine.require(host_draws=host_draws)
    one, tau, events = trial_data(scenario, trials, seed, trial)
    index, row = divmod(trial, LOGICAL_BATCH)
    size = min(LOGICAL_BATCH, trials - index * LOGICAL_BATCH)
    stats = engine.statistics(scenario, seed, index, size, host_draws=host_draws)
    o, e, v = (float(a[row, -1]) for a in (stats.observed, stats.expected, stats.variance))
    log_hr = float(stats.log_hr[row, -1])
    follow, event = observed_at(one, np.array([tau]))
    treated_label, control_label = scenario.arm_labels
    rows = tuple(
        PatientRow(
            patient=i + 1,
            arm=treated_label if one.treated[0, i] else control_label,
            entry_time=float(one.entry[0, i]),
            pfs_time=float(one.pfs[0, i]),
            dropout_time=float(one.dropout[0, i]) if np.isfinite(one.dropout[0, i]) else None,
            time=float(follow[0, i]),
            event=bool(event[0, i]),
        )
        for i in range(scenario.n)
        if follow[0, i] >= 0  # randomised after the analysis cut: not analysed
    )
    return DumpedTrial(
        trial=trial,
        analysis_time=tau,
        events=events,
        logrank_z=(o - e) / math.sqrt(v) if v > 0 else math.nan,
        hr=math.exp(log_hr) if math.isfinite(log_hr) else None,
        patients=rows,
    )
