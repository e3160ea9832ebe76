"""The public API of trialkit.analysis is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.analysis as analysis


def test_all_names_exist_and_are_public() -> None:
    for name in analysis.__all__:
        assert hasattr(analysis, name), name
        assert not name.startswith("_")
    assert sorted(analysis.__all__) == analysis.__all__
