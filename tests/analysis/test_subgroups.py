"""Subgroup HRs and the arm x subgroup interaction LRT against R ``coxph`` + ``anova``.

Reference: tests/analysis/reference/report_reference.R (subgroups = the data sets' ``strata``
column; levels with fewer than 10 patients left out, as there).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests.analysis._reference import assert_close, dataset
from tests.analysis.test_proportions import report_reference
from trialkit.analysis import subgroup_analysis


@pytest.mark.parametrize("name", ["veteran", "lung", "colon"])
def test_subgroups_match_r(name: str) -> None:
    ref: dict[str, Any] = report_reference()["subgroups"][name]
    data = dataset(name)
    counts = Counter(data.strata.tolist())
    keep = np.array([counts[s] >= 10 for s in data.strata])
    result = subgroup_analysis(
        data.time[keep],
        data.event[keep],
        data.group[keep],
        ref["reference"],
        data.strata[keep],
        name="strata",
    )
    assert [e.level for e in result.effects] == ref["levels"]
    for ours, theirs in zip(result.effects, ref["per_level"], strict=True):
        assert (ours.n, ours.events) == (theirs["n"], theirs["events"])
        assert_close(
            [ours.hr, ours.lower, ours.upper],
            [theirs["hr"], theirs["lower"], theirs["upper"]],
            what=f"{name} {ours.level}",
        )
    assert result.df == ref["df"]
    assert_close(result.lrt, ref["lrt"], what=f"{name} LRT")
    assert_close(result.p, ref["p"], what=f"{name} p")


def test_one_level_has_no_interaction_test() -> None:
    result = subgroup_analysis([1, 2, 3, 4], [1, 1, 0, 1], ["a", "b", "a", "b"], "a", ["x"] * 4)
    assert result.p is None
    assert result.note == "one subgroup only"


def test_level_with_one_arm_has_no_hr() -> None:
    result = subgroup_analysis(
        [1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 1], list("ababaa"), "a", list("xxxxyy")
    )
    y = result.effects[1]
    assert y.level == "y"
    assert y.hr is None
    assert y.note == "one arm only"
