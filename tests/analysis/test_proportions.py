"""Clopper-Pearson and Newcombe intervals against R (tests/analysis/reference/report_reference.R).

R: ``binom.test(x, n)$conf.int``; Newcombe (1998) method 10 from ``prop.test(correct = FALSE)``
Wilson limits.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analysis._reference import HERE, assert_close
from trialkit.analysis import clopper_pearson, newcombe_difference
from trialkit.errors import InputError


@cache
def report_reference() -> dict[str, Any]:
    with (HERE / "reference" / "report_reference.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.mark.parametrize(
    "case", report_reference()["proportion"], ids=lambda c: f"{c['x']}/{c['n']}"
)
def test_clopper_pearson_matches_binom_test(case: dict[str, Any]) -> None:
    ours = clopper_pearson(case["x"], case["n"])
    assert_close(
        [ours.estimate, ours.lower, ours.upper],
        [case["estimate"], case["lower"], case["upper"]],
        what="clopper-pearson",
    )


@pytest.mark.parametrize(
    "case",
    report_reference()["difference"],
    ids=lambda c: f"{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}",
)
def test_newcombe_matches_r(case: dict[str, Any]) -> None:
    ours = newcombe_difference(case["x1"], case["n1"], case["x2"], case["n2"])
    assert_close(
        [ours.estimate, ours.lower, ours.upper],
        [case["estimate"], case["lower"], case["upper"]],
        what="newcombe",
    )


def test_newcombe_paper_example() -> None:
    """Newcombe (1998) table II, 56/70 vs 48/80: method 10 gives 0.0524 to 0.3339."""
    d = newcombe_difference(56, 70, 48, 80)
    assert round(d.lower, 4) == 0.0524
    assert round(d.upper, 4) == 0.3339
    assert "Newcombe" in d.summary()


def test_interval_contains_estimate_and_stays_in_range() -> None:
    for x in range(0, 13):
        p = clopper_pearson(x, 12)
        assert 0 <= p.lower <= p.estimate <= p.upper <= 1
        d = newcombe_difference(x, 12, 12 - x, 12)
        assert -1 <= d.lower <= d.estimate <= d.upper <= 1


@pytest.mark.parametrize(("x", "n"), [(-1, 10), (11, 10), (0, 0)])
def test_bad_counts_are_refused(x: int, n: int) -> None:
    with pytest.raises(InputError, match="proportion"):
        clopper_pearson(x, n)


@given(
    n1=st.integers(1, 300),
    n2=st.integers(1, 300),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
@settings(max_examples=200, deadline=None)
def test_intervals_are_ordered_bounded_and_widen_with_the_level(
    n1: int, n2: int, f1: float, f2: float, level: float
) -> None:
    x1, x2 = round(f1 * n1), round(f2 * n2)
    p = clopper_pearson(x1, n1, conf_level=level)
    wider = clopper_pearson(x1, n1, conf_level=0.999)
    assert 0 <= wider.lower <= p.lower <= p.estimate <= p.upper <= wider.upper <= 1
    d = newcombe_difference(x1, n1, x2, n2, conf_level=level)
    assert -1 <= d.lower <= d.estimate <= d.upper <= 1
    swapped = newcombe_difference(x2, n2, x1, n1, conf_level=level)
    assert swapped.lower == pytest.approx(-d.upper, abs=1e-12)
    assert swapped.upper == pytest.approx(-d.lower, abs=1e-12)
