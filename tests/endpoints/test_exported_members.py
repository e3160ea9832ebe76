"""The public API of trialkit.endpoints is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.endpoints as endpoints


def test_all_names_exist_and_are_public() -> None:
    for name in endpoints.__all__:
        assert hasattr(endpoints, name), name
        assert not name.startswith("_")
    assert len(set(endpoints.__all__)) == len(endpoints.__all__)
