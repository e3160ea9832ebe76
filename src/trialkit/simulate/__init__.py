"""Monte Carlo of whole trials: accrual, allocation, PFS, analysis at the D-th event.

Pure core (no I/O; randomness only from an explicit seed):

* :mod:`~trialkit.simulate.scenario` - the validated, frozen trial scenario (protocol + overrides)
* :mod:`~trialkit.simulate.generate` - seed streams, random draws and patient-level times
* :mod:`~trialkit.simulate.kernels` - the numpy reference: analysis cut, log-rank, Cox HR
* :mod:`~trialkit.simulate.trial` - the per-trial kernel, one source for the CPU and the GPU
* :mod:`~trialkit.simulate.backends` - the backends (numba, cuda, numpy) and their registry
* :mod:`~trialkit.simulate.looks` - per-look statistics and their tally
* :mod:`~trialkit.simulate.engine` - logical batches, runners, aggregation
* :mod:`~trialkit.simulate.results` - typed results with a readable summary
* :mod:`~trialkit.simulate.cluster` - the Dask runner (optional ``[cluster]`` extra)
"""

from trialkit.simulate.backends.registry import Backend, backend_names
from trialkit.simulate.engine import Runner, simulate, thread_runner, trial_data
from trialkit.simulate.generate import LOGICAL_BATCH, TrialBatch, batch_generator, generate_batch
from trialkit.simulate.kernels import (
    AnalysisCut,
    BatchStatistics,
    analysis_cut,
    observed_at,
    two_arm_statistics,
)
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.results import LookResult, SimulationResult
from trialkit.simulate.scenario import Scenario, check_run, scenario_from_protocol

__all__ = [
    "LOGICAL_BATCH",
    "AnalysisCut",
    "Backend",
    "BatchStatistics",
    "LookResult",
    "LookStatistics",
    "Runner",
    "Scenario",
    "SimulationResult",
    "TrialBatch",
    "analysis_cut",
    "backend_names",
    "batch_generator",
    "check_run",
    "generate_batch",
    "observed_at",
    "scenario_from_protocol",
    "simulate",
    "thread_runner",
    "trial_data",
    "two_arm_statistics",
]
