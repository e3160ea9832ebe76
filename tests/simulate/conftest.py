"""Markers of the simulation tests.

``cudasim``: a check that starts a fresh interpreter under numba's CUDA simulator, or
compiles the CUDA kernel for a real GPU (seconds to a minute each on a busy 2-core
machine). They belong to the suite; ``pytest tests/simulate -m "not cudasim"`` leaves
them out of a quick loop on the CPU kernel.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cudasim: runs the CUDA kernel under numba's simulator or compiles it (slow)"
    )
