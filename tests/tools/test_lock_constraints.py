"""``make lock``: the freeze, plus the pins of extras that the venv does not install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.lock_constraints import extra_requirements, merge

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = """
[project]
name = "trialkit"
dependencies = ["numpy>=2"]
[project.optional-dependencies]
gpu = ["cupy-cuda12x>=14.2"]
cluster = ["dask>=2024.8", "Distributed>=2024.8"]
dev = ["trialkit[cluster]", "pytest>=8"]
"""


def test_extras_name_their_packages_canonically() -> None:
    assert extra_requirements(PYPROJECT) == {
        "cupy-cuda12x",
        "dask",
        "distributed",
        "trialkit",
        "pytest",
    }


def test_an_uninstalled_extra_keeps_its_pin_in_pip_order() -> None:
    frozen = ["cffi==2.1.1\n", "cycler==0.12.1\n", "dask==2026.9.0\n", "trialkit==0.1.0\n"]
    pinned = ["cffi==2.1.0", "cupy-cuda12x==14.2.0", "cycler==0.12.1", "dask==2026.8.0"]
    lines, dropped = merge(frozen, pinned, extra_requirements(PYPROJECT), "trialkit")
    assert lines == [
        "cffi==2.1.1",  # the freeze wins for what is installed
        "cupy-cuda12x==14.2.0",  # not installed, required by the gpu extra: kept, in order
        "cycler==0.12.1",
        "dask==2026.9.0",
    ]  # and the project's own line is left out
    assert dropped == []


def test_a_pin_of_a_package_gone_for_good_is_dropped() -> None:
    frozen = ["numpy==2.3.0"]
    pinned = ["numpy==2.2.0", "oldlib==1.0", "# a comment", ""]
    lines, dropped = merge(frozen, pinned, extra_requirements(PYPROJECT), "trialkit")
    assert lines == ["numpy==2.3.0"]
    assert dropped == ["oldlib==1.0"]


def test_the_repository_lock_is_a_fixed_point_without_the_gpu_extra() -> None:
    """What ``make lock`` writes in the dev venv (numba-cuda absent) equals constraints.txt."""
    constraints = (REPO / "constraints.txt").read_text(encoding="utf-8")
    assert "numba-cuda==" in constraints
    freeze = "".join(
        line + "\n" for line in constraints.splitlines() if not line.startswith("numba-cuda")
    )
    out = subprocess.run(
        [sys.executable, "tools/lock_constraints.py", "constraints.txt", "pyproject.toml"],
        input=freeze + "trialkit==0.1.0\n",
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert out.stdout == constraints
    assert out.stderr == ""
