"""The Dask runner gives the same result as one process for the same seed."""

from __future__ import annotations

import pytest

from trialkit.protocol import Protocol
from trialkit.simulate.engine import LOGICAL_BATCH, simulate
from trialkit.simulate.scenario import scenario_from_protocol

pytest.importorskip("distributed")


def test_local_cluster_of_two_processes_matches_threads(sor: Protocol) -> None:
    from trialkit.simulate.cluster import dask_runner

    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1])
    trials = LOGICAL_BATCH + 5  # two logical batches, one task per worker
    # the numpy backend keeps the workers' start-up short (no compiled kernel to load)
    local = simulate(scenario, trials, 12, workers=1, backend="numpy").to_dict()
    with dask_runner(workers=2) as runner:
        distributed = simulate(
            scenario, trials, 12, runner=runner, chunk_batches=1, backend="numpy"
        ).to_dict()
    for d in (local, distributed):
        d.pop("elapsed_seconds")
    assert distributed == local
