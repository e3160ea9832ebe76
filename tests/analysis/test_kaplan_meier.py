"""Kaplan-Meier against R survival 3.5.3 (survfit, quantile.survfit, summary(times=))."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis._reference import DATASETS, assert_close, dataset, r_array, reference
from trialkit.analysis import kaplan_meier
from trialkit.errors import InputError

CONF_TYPES = ("log-log", "log", "plain")
CASES = [
    (name, conf, level)
    for name in DATASETS
    for conf in CONF_TYPES
    for level in reference()[name]["km"][conf]
]


@pytest.mark.parametrize(("name", "conf_type", "level"), CASES)
def test_curve_matches_r_survfit(name: str, conf_type: str, level: str) -> None:
    # R: survfit(Surv(time, event) ~ group, data, conf.type = conf_type)[level]
    r = reference()[name]["km"][conf_type][level]
    km = kaplan_meier(*dataset(name).arm(level), conf_type=conf_type)  # type: ignore[arg-type]
    assert_close(km.time, r_array(r["time"]), what="time")
    assert_close(km.n_risk, r_array(r["n_risk"]), what="n.risk")
    assert_close(km.n_event, r_array(r["n_event"]), what="n.event")
    assert_close(km.n_censor, r_array(r["n_censor"]), what="n.censor")
    assert_close(km.survival, r_array(r["surv"]), what="surv")
    assert_close(km.std_err_cumhaz, r_array(r["std_err_cumhaz"]), what="std.err")
    assert_close(km.lower, r_array(r["lower"]), what="lower")
    assert_close(km.upper, r_array(r["upper"]), what="upper")


@pytest.mark.parametrize(("name", "conf_type", "level"), CASES)
def test_quartiles_match_r_quantile_survfit(name: str, conf_type: str, level: str) -> None:
    # R: quantile(fit, probs = c(.25, .5, .75)) - estimate, lower and upper limits
    r = reference()[name]["km"][conf_type][level]
    km = kaplan_meier(*dataset(name).arm(level), conf_type=conf_type)  # type: ignore[arg-type]
    quartiles = [km.quantile(p) for p in (0.25, 0.5, 0.75)]

    def values(attr: str) -> list[float]:
        return [np.nan if getattr(q, attr) is None else getattr(q, attr) for q in quartiles]

    assert_close(values("estimate"), r_array(r["quantile"]), what="quantile")
    assert_close(values("lower"), r_array(r["quantile_lower"]), what="lower")
    assert_close(values("upper"), r_array(r["quantile_upper"]), what="upper")


@pytest.mark.parametrize(("name", "level"), [(n, lv) for n, _, lv in CASES if _ == "log"])
def test_numbers_at_risk_match_r_summary(name: str, level: str) -> None:
    # R: summary(fit[level], times = risk_times, extend = TRUE)$n.risk
    r = reference()[name]["km"]["log"][level]
    km = kaplan_meier(*dataset(name).arm(level))
    np.testing.assert_array_equal(km.n_at_risk(r_array(r["risk_times"])), r_array(r["n_risk_at"]))


def test_flat_step_at_half_uses_midpoint() -> None:
    # Arm A of flat.csv: 4 events at 1, 2, 3, 4 -> S = .75, .5, .25, 0. S is flat at exactly
    # 0.5 on [2, 3), so the median is (2 + 3) / 2 = 2.5; likewise quartiles 1.5 and 3.5.
    km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1])
    assert km.median.estimate == 2.5
    assert km.quantile(0.25).estimate == 1.5
    assert km.quantile(0.75).estimate == 3.5


def test_median_not_reached_is_none() -> None:
    km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [1, 0, 0, 0])
    assert km.median.estimate is None
    assert "NR" in str(km.median)


def test_summary_mentions_counts_and_median() -> None:
    text = kaplan_meier([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1]).summary()
    assert "n=4" in text
    assert "events=4" in text
    assert "2.5" in text


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([1.0, -2.0], [1, 0], "row 2"),
        ([1.0, float("nan")], [1, 0], "missing at data row 2"),
        ([1.0, 2.0], [1, 2], "events must be 1 (event) or 0 (censored)"),
        ([1.0, 2.0], [1], "has 2 values"),
        ([], [], "empty"),
    ],
)
def test_bad_input_raises_input_error(time: list[float], event: list[int], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kaplan_meier(time, event)


def test_unknown_conf_type_is_rejected() -> None:
    with pytest.raises(InputError, match="conf_type"):
        kaplan_meier([1.0], [1], conf_type="arcsin")  # type: ignore[arg-type]
