"""The public API of trialkit.randomisation is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.randomisation as randomisation


def test_all_names_exist_and_are_public() -> None:
    for name in randomisation.__all__:
        assert hasattr(randomisation, name), name
        assert not name.startswith("_")
    assert sorted(randomisation.__all__) == randomisation.__all__
