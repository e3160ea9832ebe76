"""The public API of trialkit.demodata is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.demodata as demodata


def test_all_names_exist_and_are_public() -> None:
    for name in demodata.__all__:
        assert hasattr(demodata, name), name
        assert not name.startswith("_")
    assert len(set(demodata.__all__)) == len(demodata.__all__)  # ruff keeps it sorted (RUF022)
