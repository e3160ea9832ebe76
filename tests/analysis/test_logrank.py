"""Log-rank test against R survival 3.5.3 survdiff (plain and with strata())."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis._reference import DATASETS, assert_close, dataset, r_array, reference
from trialkit.analysis import logrank_test
from trialkit.errors import InputError


@pytest.mark.parametrize("name", DATASETS)
def test_logrank_matches_r_survdiff(name: str) -> None:
    # R: survdiff(Surv(time, event) ~ group, data) with group releveled to the reference
    d, r = dataset(name), reference()[name]["logrank"]
    res = logrank_test(d.time, d.event, d.group, d.reference)
    assert_close(res.chisq, r["chisq"], what="chisq")
    assert_close(res.p, r["p"], what="p")
    other = res.other
    assert_close([res.observed[d.reference], res.observed[other]], r_array(r["observed"]))
    assert_close([res.expected[d.reference], res.expected[other]], r_array(r["expected"]))
    assert res.df == 1
    assert not res.stratified


@pytest.mark.parametrize("name", DATASETS)
def test_stratified_logrank_matches_r_survdiff_strata(name: str) -> None:
    # R: survdiff(Surv(time, event) ~ group + strata(strata), data)
    d, r = dataset(name), reference()[name]["stratified_logrank"]
    res = logrank_test(d.time, d.event, d.group, d.reference, strata=d.strata)
    assert_close(res.chisq, r["chisq"], what="chisq")
    assert_close(res.p, r["p"], what="p")
    assert res.stratified


def test_sign_of_z_follows_the_other_arm() -> None:
    d = dataset("veteran")
    a = logrank_test(d.time, d.event, d.group, "standard")
    b = logrank_test(d.time, d.event, d.group, "test")
    assert a.z == pytest.approx(-b.z)
    assert a.p_one_sided == pytest.approx(1 - b.p_one_sided)
    assert "Log-rank test: test vs standard" in a.summary()


@pytest.mark.parametrize(
    ("group", "reference", "message"),
    [
        (["a", "a", "a"], "a", "exactly 2 levels"),
        (["a", "b", "c"], "a", "exactly 2 levels"),
        (["a", "b", "b"], "placebo", "reference level 'placebo' does not occur"),
        (["a", "", "b"], "a", "missing at data row 2"),
    ],
)
def test_bad_groups_raise_input_error(group: list[str], reference: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        logrank_test(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 0]), group, reference)
