"""What the CPU backends share: each logical batch tallied on the host."""

from __future__ import annotations

from trialkit.simulate.looks import Batches, LookStatistics, tally_statistics
from trialkit.simulate.results import Tally
from trialkit.simulate.scenario import Scenario

__all__ = ["HostBackend"]


class HostBackend:
    """A CPU backend; a subclass names itself and computes a batch's :meth:`statistics`."""

    name = ""
    devices = 0
    launch_batches = 1

    def require(self, *, host_draws: bool) -> None:
        """Always usable, with or without ``host_draws`` (the same trials either way)."""
        del host_draws

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Logical batch ``index`` of ``size`` trials (each subclass's own kernel)."""
        raise NotImplementedError

    def tally(
        self, scenario: Scenario, seed: int, batches: Batches, *, host_draws: bool = False
    ) -> Tally:
        """The batches ``(index, size)`` one after the other, tallied on the host."""
        tally = Tally(looks=len(scenario.look_events))
        for index, size in batches:
            tally_statistics(scenario, index, self.statistics(scenario, seed, index, size), tally)
        return tally
