"""A thread's next batch refills its previous draws in place: the same numbers as new arrays."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from trialkit.protocol import load_protocol
from trialkit.simulate.backends.numba import BACKEND
from trialkit.simulate.generate import batch_generator, draw
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.scenario import scenario_from_protocol


@pytest.mark.parametrize(
    "options",
    [{}, {"entry": "fixed"}, {"dropout_rate": 0.1}, {"allocation": "simple"}],
)
def test_refilled_draws_are_the_fresh_draws(options: dict[str, object]) -> None:
    scenario = scenario_from_protocol(load_protocol("sor"), **options)  # type: ignore[arg-type]
    old = draw(scenario, batch_generator(7, 0), 64)
    refilled = draw(scenario, batch_generator(7, 1), 64, reuse=old)
    fresh = draw(scenario, batch_generator(7, 1), 64)
    assert refilled.pfs is old.pfs  # in place
    for name in ("spacings", "allocation", "pfs", "dropout"):
        a, b = getattr(refilled, name), getattr(fresh, name)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    smaller = draw(scenario, batch_generator(7, 2), 32, reuse=old)  # another shape: new arrays
    np.testing.assert_array_equal(smaller.pfs, draw(scenario, batch_generator(7, 2), 32).pfs)


def test_the_numba_backend_gives_the_same_statistics_batch_after_batch() -> None:
    scenario = scenario_from_protocol(load_protocol("sor"))
    first = [BACKEND.statistics(scenario, 3, i, 128) for i in range(3)]  # reusing its draws
    again: list[LookStatistics] = []
    for i in range(3):  # each batch in a new thread: fresh draws
        thread = threading.Thread(
            target=lambda i=i: again.append(BACKEND.statistics(scenario, 3, i, 128))
        )
        thread.start()
        thread.join()
    for a, b in zip(first, again, strict=True):
        for x, y in zip(a.arrays(), b.arrays(), strict=True):
            np.testing.assert_array_equal(x, y)
