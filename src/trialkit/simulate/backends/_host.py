"""The tally of a CPU backend: each logical batch's statistics, tallied on the host."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trialkit.errors import DesignInputError
from trialkit.simulate.looks import LookStatistics, tally_statistics
from trialkit.simulate.results import Tally
from trialkit.simulate.scenario import Scenario

__all__ = ["host_tally", "refuse_host_draws"]


def host_tally(
    statistics: Callable[[Scenario, int, int, int], LookStatistics],
    scenario: Scenario,
    seed: int,
    batches: Sequence[tuple[int, int]],
) -> Tally:
    """Tally the batches ``(index, size)`` one by one from ``statistics(scenario, seed, i, n)``."""
    tally = Tally(looks=len(scenario.look_events))
    for index, size in batches:
        tally_statistics(scenario, index, statistics(scenario, seed, index, size), tally)
    return tally


def refuse_host_draws(host_draws: bool) -> None:
    """A CPU backend always draws on the host: asking for it is a mistake worth saying."""
    if host_draws:
        raise DesignInputError(
            "host_draws applies to the GPU backends; the CPU backends always draw on the host",
            location="host_draws",
        )
