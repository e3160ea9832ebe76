"""The public API of trialkit.simulate is what ``__all__`` says, and it all exists."""

from __future__ import annotations

import trialkit.simulate as simulate


def test_all_names_exist() -> None:
    assert sorted(simulate.__all__) == sorted(set(simulate.__all__))
    for name in simulate.__all__:
        assert hasattr(simulate, name), name
