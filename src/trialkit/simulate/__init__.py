"""Vectorised Monte Carlo of whole trials: accrual, allocation, PFS, analysis at the D-th event.

Pure core (no I/O; randomness only from an explicit seed):

* :mod:`~trialkit.simulate.scenario` - the validated, frozen trial scenario (protocol + overrides)
* :mod:`~trialkit.simulate.generate` - per-batch random draws and the patient-level times
* :mod:`~trialkit.simulate.kernels` - batched analysis cut, log-rank and Cox HR (numpy reference)
* :mod:`~trialkit.simulate.fused` - the same analysis fused per trial and compiled (numba)
* :mod:`~trialkit.simulate.arrays` - the same analysis over an array namespace (numpy or CuPy)
* :mod:`~trialkit.simulate.gpu` - the GPU runner (optional ``[gpu]`` extra; CuPy imported lazily)
* :mod:`~trialkit.simulate.engine` - logical batches, seed streams, runners, aggregation
* :mod:`~trialkit.simulate.results` - typed results with a readable summary
* :mod:`~trialkit.simulate.cluster` - the Dask runner (optional ``[cluster]`` extra)
"""

from trialkit.simulate.engine import (
    LOGICAL_BATCH,
    Backend,
    Runner,
    batch_generator,
    simulate,
    thread_runner,
    trial_data,
)
from trialkit.simulate.generate import TrialBatch, generate_batch
from trialkit.simulate.kernels import (
    AnalysisCut,
    BatchStatistics,
    analysis_cut,
    observed_at,
    two_arm_statistics,
)
from trialkit.simulate.results import LookResult, SimulationResult
from trialkit.simulate.scenario import Scenario, scenario_from_protocol

__all__ = [
    "LOGICAL_BATCH",
    "AnalysisCut",
    "Backend",
    "BatchStatistics",
    "LookResult",
    "Runner",
    "Scenario",
    "SimulationResult",
    "TrialBatch",
    "analysis_cut",
    "batch_generator",
    "generate_batch",
    "observed_at",
    "scenario_from_protocol",
    "simulate",
    "thread_runner",
    "trial_data",
    "two_arm_statistics",
]
