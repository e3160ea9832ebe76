"""Missing data are never silently good (property tests with hypothesis).

Removing any set of recorded values from a screening record may turn a decided
criterion into ``unknown``, but never flips it, and never turns a verdict into
*eligible*.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import EXAMPLES, example
from tests.records import sor_record

from trialkit.eligibility import evaluate_eligibility
from trialkit.protocol import Protocol, load_protocol

SOR = load_protocol("sor")
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _leaf_paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of the record (dict keys only: list items carry meaning, not absence)."""
    paths: list[tuple[str, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            paths.append((*prefix, key))
            paths.extend(_leaf_paths(value, (*prefix, key)))
    return paths


# keys a value cannot exist without (a lab result without its value is not a lab result):
# removing one removes the whole value
_REQUIRED = {"value", "unit", "postmenopausal_min", "kind"}


def _without(data: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for path in (p[:-1] if p[-1] in _REQUIRED else p for p in paths):
        node: Any = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out


@st.composite
def removals(draw: st.DrawFn) -> tuple[str, list[tuple[str, ...]]]:
    name = draw(st.sampled_from(NAMES))
    paths = _leaf_paths(example(name))
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=8, unique=True))
    return name, chosen


def _check(protocol: Protocol, name: str, removed: list[tuple[str, ...]]) -> None:
    full = evaluate_eligibility(protocol, sor_record(example(name)))
    reduced = evaluate_eligibility(protocol, sor_record(_without(example(name), removed)))
    if full.eligible is not True:
        assert reduced.eligible is not True
    else:
        assert reduced.eligible in (True, None)
    for before, after in zip(full.criteria, reduced.criteria, strict=True):
        assert after.status in (before.status, "unknown"), (before.id, removed, after.reason)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(removals())
def test_removing_data_never_makes_a_patient_eligible(
    case: tuple[str, list[tuple[str, ...]]],
) -> None:
    name, removed = case
    _check(SOR, name, removed)


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_record_is_never_eligible(name: str) -> None:
    result = evaluate_eligibility(SOR, sor_record({}))
    assert result.eligible is None
    assert all(c.status == "unknown" for c in result.criteria if c.parent is None and c.applicable)
    assert "labs.haemoglobin" in result.missing
    _check(SOR, name, [(key,) for key in example(name)])
