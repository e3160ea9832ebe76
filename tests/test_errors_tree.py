"""The exception tree drawn in ``trialkit.errors``'s docstring is the real class hierarchy."""

from __future__ import annotations

import inspect
import re

from trialkit import errors

# One drawn line: the branch characters (indentation, "│", "├──", "└──"), then a class name.
_NODE = re.compile(r"^(?P<prefix>(?:│   |    )*)(?:├── |└── )(?P<name>[A-Z]\w*)")
_ROOT = re.compile(r"^(?P<name>[A-Z]\w*)\b")


def _drawn_tree() -> list[tuple[str, str | None, int]]:
    """Return (class name, drawn parent, line number) for each node of the docstring's tree.

    The drawing must be well formed: every node line's prefix has one four-character column per
    level, a node is one level deeper than its parent, a "├──" sibling is followed by another
    sibling at its level, a "└──" ends its level, and a "│" column continues only a level
    still open.
    """
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1]
    lines = [line[4:] if line.startswith("    ") else line for line in block.splitlines()]
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    end = next((i for i, line in enumerate(lines) if not line), len(lines))
    lines = lines[:end]

    nodes: list[tuple[str, str | None, int]] = []
    stack: list[str] = []  # stack[d]: the latest node drawn at depth d (the root is depth 0)
    open_levels: list[bool] = []  # open_levels[d]: more nodes may come at depth d + 1
    for number, line in enumerate(lines, start=1):
        root = _ROOT.match(line)
        if number == 1:
            assert root, f"the tree starts with its root class, not {line!r}"
            nodes.append((root.group("name"), None, number))
            stack = [root.group("name")]
            open_levels = [True]
            continue
        node = _NODE.match(line)
        columns = line[: len(line) - len(line.lstrip("│ "))]
        if node is None:
            # A continuation line of the previous node's description: its gutter may only
            # continue levels that are still open.
            for depth, open_ in enumerate(open_levels):
                column = columns[depth * 4 : depth * 4 + 4]
                if column.startswith("│"):
                    assert open_, f"line {number}: a '│' continues level {depth + 1}, which ended"
            continue
        prefix = node.group("prefix")
        depth = len(prefix) // 4 + 1
        assert depth <= len(stack), f"line {number}: {node.group('name')} skips a level"
        for level in range(depth - 1):
            drawn = prefix[level * 4 : level * 4 + 4]
            expected = "│   " if open_levels[level] else "    "
            assert drawn == expected, (
                f"line {number}: column {level + 1} of {node.group('name')} is {drawn!r}, "
                f"expected {expected!r} (a level ends with └──, continues with ├── and │)"
            )
        assert open_levels[depth - 1], (
            f"line {number}: {node.group('name')} follows a └── at its level"
        )
        last = line[len(prefix) :].startswith("└── ")
        del stack[depth:]
        del open_levels[depth:]
        open_levels[depth - 1] = not last
        nodes.append((node.group("name"), stack[depth - 1], number))
        stack.append(node.group("name"))
        open_levels.append(True)
    for depth, open_ in enumerate(open_levels[:-1]):
        # every level, except the children of the last node (it has none), must end with └──
        assert not open_, f"level {depth + 1} of the tree never ends with └──"
    return nodes


def _error_classes() -> dict[str, type[errors.TrialkitError]]:
    return {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.TrialkitError) and cls.__module__ == errors.__name__
    }


def test_the_drawn_tree_is_well_formed() -> None:
    assert len(_drawn_tree()) > 1


def test_every_drawn_class_exists_with_its_drawn_parent() -> None:
    classes = _error_classes()
    for name, parent, line in _drawn_tree():
        assert name in classes, f"line {line} of the drawing names {name}, not a class in errors.py"
        if parent is None:
            assert classes[name] is errors.TrialkitError, f"the root is drawn as {name}"
        else:
            bases = ", ".join(base.__name__ for base in classes[name].__bases__)
            assert classes[name].__bases__ == (classes[parent],), (
                f"{name} is drawn under {parent} but derives from {bases}"
            )


def test_every_error_class_in_errors_py_is_drawn_once() -> None:
    drawn = [name for name, _, _ in _drawn_tree()]
    assert sorted(drawn) == sorted(set(drawn)), "a class is drawn twice"
    missing = sorted(set(_error_classes()) - set(drawn))
    assert not missing, f"errors.py defines {missing}, missing from the docstring's tree"


def test_every_error_class_is_exported() -> None:
    assert set(_error_classes()) <= set(errors.__all__)
