"""Module docstrings stay short: a summary sentence and a few lines on what the module is for."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import trialkit

#: The most lines a module docstring may have, its numpydoc References section and a drawn
#: literal block (the exception tree) aside.
MAX_LINES = 12

#: Modules whose docstring is still an essay, not yet moved to docs/ (the
#: reasoning goes to the docs page of their subject, as for the others):
#: trialkit.simulate belongs to the simulation work in progress, and the
#: package docstrings of trialkit.service and trialkit.service.pages are being rewritten
#: with the move of the shell into slices.
ALLOWED_LONG = frozenset(
    {
        "trialkit.service",
        "trialkit.service.pages",
        "trialkit.simulate",
        "trialkit.simulate.backends.cuda",
        "trialkit.simulate.engine",
        "trialkit.simulate.kernels",
        "trialkit.simulate.trial",
    }
)

REFERENCES = re.compile(r"\nReferences\n-{3,}\n")
#: a drawing in a literal block (``errors.py``'s exception tree): a figure, not prose
DRAWING = re.compile(r"::\n\n(?:    .*\n?|\n)+")
SENTENCE = re.compile(r"[A-Z0-9`].*[.?!]", re.DOTALL)


def _module_files() -> list[tuple[str, Path]]:
    """Every module under trialkit with its source file, found by walking the package."""
    found = [("trialkit", Path(trialkit.__file__))]
    for info in pkgutil.walk_packages(trialkit.__path__, "trialkit."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None, info.name
        assert spec.origin is not None, info.name
        found.append((info.name, Path(spec.origin)))
    return found


MODULES = _module_files()


def _docstring(path: Path) -> str | None:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))


def test_modules_are_found() -> None:
    names = {name for name, _ in MODULES}
    assert {"trialkit.errors", "trialkit.randomisation.supply"} <= names
    assert names >= ALLOWED_LONG, "an allow-listed module no longer exists: drop it"


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_module_docstring_is_a_summary_sentence(name: str, path: Path) -> None:
    doc = _docstring(path)
    assert doc, f"{name} ({path}) has no module docstring: add one line saying what it is for"
    summary = doc.split("\n\n", 1)[0]
    assert SENTENCE.fullmatch(summary), (
        f"{name}: the docstring's first paragraph {summary!r} is not a sentence "
        "(a capital letter, a digit or a backtick first, a full stop last)"
    )


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_module_docstring_is_a_few_lines(name: str, path: Path) -> None:
    if name in ALLOWED_LONG:
        pytest.skip("allow-listed: docstring not yet shortened")
    doc = _docstring(path) or ""
    prose = DRAWING.sub("", REFERENCES.split(doc, maxsplit=1)[0])
    lines = len(prose.strip().splitlines())
    assert lines <= MAX_LINES, (
        f"{name}: module docstring of {lines} lines (at most {MAX_LINES}, References aside); "
        "keep what the module is for and move the reasoning to the matching docs/ page"
    )
