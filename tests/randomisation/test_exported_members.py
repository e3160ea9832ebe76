"""The public API of trialkit.randomisation is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.randomisation as randomization


def test_all_names_exist_and_are_public() -> None:
    for name in randomization.__all__:
        assert hasattr(randomization, name), name
        assert not name.startswith("_")
    assert sorted(randomization.__all__) == randomization.__all__
