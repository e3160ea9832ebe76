"""Re-pin constraints.txt from ``pip freeze``, keeping the pins of extras that are not installed.

Run by ``make lock``::

    pip freeze --exclude-editable | python tools/lock_constraints.py constraints.txt pyproject.toml

``pip freeze`` lists only what the venv holds, and the dev venv never installs some extras (the
``gpu`` extra's CuPy needs an NVIDIA GPU), so a plain freeze would drop their tested pins. This
script writes the freeze (without trialkit itself) and adds back each existing pin of a package
that is not installed but that an extra of ``pyproject.toml`` requires; every other pin of a
package no longer installed is dropped (a dependency removed from ``pyproject.toml``), and named
on stderr. Kept pins go where they sort among the frozen lines, so the file's order stays pip's.
Neither pip nor pip-tools merges a freeze with pins it cannot install here, hence this script.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["extra_requirements", "main", "merge"]


def _name(line: str) -> NormalizedName | None:
    """The package a requirement line pins, or ``None`` for blanks, comments and options."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def extra_requirements(pyproject: str) -> set[NormalizedName]:
    """Every package an optional-dependency extra of ``pyproject`` (TOML text) requires."""
    extras = tomllib.loads(pyproject).get("project", {}).get("optional-dependencies", {})
    return {canonicalize_name(Requirement(r).name) for reqs in extras.values() for r in reqs}


def merge(
    frozen: Iterable[str], pinned: Iterable[str], extras: set[NormalizedName], project: str
) -> tuple[list[str], list[str]]:
    """The new constraint lines, and the old pins dropped (their packages are gone).

    ``frozen``: ``pip freeze`` lines; ``pinned``: the current constraints; ``extras``: packages
    the extras require; ``project``: this project's name (its own line is never written).
    """
    own = canonicalize_name(project)
    lines = [line.rstrip("\n") for line in frozen]
    lines = [line for line in lines if line.strip() and _name(line) != own]
    installed = {n for line in lines if (n := _name(line)) is not None}
    kept: list[tuple[NormalizedName, str]] = []
    dropped: list[str] = []
    for line in (line.rstrip("\n") for line in pinned):
        name = _name(line)
        if name is None or name in installed or name == own:
            continue
        if name in extras:
            kept.append((name, line))
        else:
            dropped.append(line)
    for name, line in kept:
        at = next(
            (i for i, other in enumerate(lines) if (n := _name(other)) is not None and n > name),
            len(lines),
        )
        lines.insert(at, line)
    return lines, dropped


def main(argv: list[str]) -> int:
    """``lock_constraints.py CONSTRAINTS PYPROJECT``: freeze on stdin, new constraints on stdout."""
    if len(argv) != 2:
        sys.stderr.write("usage: pip freeze | lock_constraints.py CONSTRAINTS PYPROJECT\n")
        return 2
    constraints, pyproject = Path(argv[0]), Path(argv[1])
    text = pyproject.read_text(encoding="utf-8")
    project = tomllib.loads(text)["project"]["name"]
    old = constraints.read_text(encoding="utf-8").splitlines() if constraints.exists() else []
    lines, dropped = merge(sys.stdin, old, extra_requirements(text), project)
    for line in dropped:
        sys.stderr.write(f"dropped {line} (no longer installed nor required by an extra)\n")
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
