"""The public API of trialkit.predict is exactly what ``__all__`` declares."""

from __future__ import annotations

import trialkit.predict as predict


def test_all_names_exist_and_are_public() -> None:
    for name in predict.__all__:
        assert hasattr(predict, name), name
        assert not name.startswith("_")
    assert len(set(predict.__all__)) == len(predict.__all__)  # ruff (RUF022) keeps it sorted
