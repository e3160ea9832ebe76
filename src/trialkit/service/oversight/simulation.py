"""Simulation runs of the trial's design, bounded for a page request.

The statistician's scenario overrides (medians or HR, trials, seed) go to
:func:`trialkit.simulate.scenario.scenario_from_protocol` and
:func:`trialkit.simulate.engine.simulate`; no patient data are read. A run is
bounded: at most :data:`MAX_TRIALS` trials, and a power curve over
:data:`GRID_HRS` at most :data:`MAX_GRID_TRIALS` trials per hazard ratio.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from trialkit.errors import DesignInputError
from trialkit.report.simulation_plots import plot_simulated_power
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol
from trialkit.simulate.engine import simulate
from trialkit.simulate.results import SimulationResult
from trialkit.simulate.scenario import scenario_from_protocol

__all__ = [
    "GRID_HRS",
    "MAX_GRID_TRIALS",
    "MAX_TRIALS",
    "GridPoint",
    "SimulationRequest",
    "SimulationRun",
    "run_simulation",
]

MAX_TRIALS = 20_000
MAX_GRID_TRIALS = 2_000
GRID_HRS = tuple(round(0.5 + 0.05 * k, 2) for k in range(11))
"""The hazard ratios of the power curve: 0.50 to 1.00 by 0.05."""


class SimulationRequest(BaseModel):
    """A scenario override and the size of the run (what the statistician's form posts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    median_control: float | None = Field(default=None, gt=0, le=600)
    median_treatment: float | None = Field(default=None, gt=0, le=600)
    hr: float | None = Field(default=None, gt=0, le=10)
    trials: int = Field(default=2000, ge=100, le=MAX_TRIALS)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    grid: bool = False

    @model_validator(mode="after")
    def _one_effect(self) -> SimulationRequest:
        if self.hr is not None and self.median_treatment is not None:
            raise ValueError(
                "give the hazard ratio or the treatment median, not both (leave one blank)"
            )
        return self


@dataclass(frozen=True)
class GridPoint:
    """One point of the simulated power curve."""

    hr: float
    reject_rate: float
    logrank_reject_rate: float
    mc_standard_error: float


@dataclass(frozen=True)
class SimulationRun:
    """The run's figures (the ``trialkit simulate --json`` contract) and the curve if asked."""

    request: SimulationRequest
    result: SimulationResult
    grid: tuple[GridPoint, ...]
    grid_trials: int
    power_svg: bytes | None

    def figures(self) -> dict[str, Any]:
        return self.result.to_dict()


def run_simulation(
    *, session: Session, actor: Principal, trial_id: int, request: SimulationRequest
) -> SimulationRun:
    """Simulate the trial's design with the overrides; a power curve too if ``request.grid``.

    Raises
    ------
    DesignInputError
        The overrides make no valid trial (the message says which and how to fix it).
    """
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.RUN_SIMULATIONS, trial_id=trial.id)
    protocol = trial_protocol(trial)
    if protocol.design is None:
        raise DesignInputError(f"protocol {protocol.acronym} has no design section to simulate")
    scenario = scenario_from_protocol(
        protocol,
        median_control=request.median_control,
        median_treatment=request.median_treatment,
        hr=request.hr,
    )
    result = simulate(scenario, request.trials, request.seed, workers=1)
    grid: list[GridPoint] = []
    per_point = min(request.trials, MAX_GRID_TRIALS)
    svg = None
    if request.grid:
        for value in GRID_HRS:
            # the same seed for every HR: common random numbers make the curve smooth
            res = simulate(scenario.with_hazard_ratio(value), per_point, request.seed, workers=1)
            grid.append(
                GridPoint(
                    value,
                    res.reject_rate,
                    res.logrank_reject_rate,
                    res.mc_standard_error["reject_rate"],
                )
            )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "power.svg"
            plot_simulated_power(
                [g.hr for g in grid],
                [g.reject_rate for g in grid],
                [g.logrank_reject_rate for g in grid],
                [g.mc_standard_error for g in grid],
                path,
                title=f"{per_point} simulated trials per HR ({scenario.events} events)",
            )
            svg = path.read_bytes()
    return SimulationRun(request, result, tuple(grid), per_point, svg)
