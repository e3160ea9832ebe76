"""Scenario from the protocol and its validation: one clear message per bad input."""

from __future__ import annotations

import math

import pytest

from trialkit.errors import DesignInputError
from trialkit.protocol import Protocol
from trialkit.simulate.scenario import check_run, hazard_ratio_grid, scenario_from_protocol


def test_defaults_are_the_protocol_design(sor: Protocol) -> None:
    s = scenario_from_protocol(sor)
    assert (s.n, s.events, s.decision_hr, s.alpha) == (220, 120, 0.82, 0.025)
    # hazards are log(2) / median
    assert s.hazards_control[0] == pytest.approx(math.log(2) / 7.9, rel=1e-15)
    assert s.hazard_ratio == pytest.approx(7.9 / 12.2, rel=1e-15)
    # accrual implied by "120 events about 4 months after enrolment" (design claims)
    assert s.accrual_time == pytest.approx(15.708031897006684, rel=1e-9)
    assert s.allocation_ratio == (1, 1)
    assert s.look_events == (120,)
    assert s.efficacy_z[0] == pytest.approx(1.959963984540054, rel=1e-9)


def test_piecewise_accrual_end(sor: Protocol) -> None:
    # 10/month for 6 months (60 patients), then 20/month: 160 more take 8 months
    s = scenario_from_protocol(sor, accrual_rates=[10, 20], accrual_breaks=[6])
    assert s.accrual_time == pytest.approx(14.0)


def test_group_sequential_looks(sor: Protocol) -> None:
    s = scenario_from_protocol(sor, information_rates=[0.5, 0.75, 1])
    assert s.look_events == (60, 90, 120)
    assert s.spending == "obrien-fleming"
    assert s.efficacy_z[0] > s.efficacy_z[1] > s.efficacy_z[2]


def test_non_proportional_hazards(sor: Protocol) -> None:
    # a delayed effect: the same hazard for 4 months, then 0.03 against 0.05
    s = scenario_from_protocol(
        sor, hazards_control=[0.1, 0.05], hazards_treatment=[0.1, 0.03], pfs_breaks=[4]
    )
    assert s.hazards_treatment == (0.1, 0.03)
    assert s.hazard_ratio == 1.0  # on the first piece
    # the --grid HR sets proportional hazards again
    assert s.with_hazard_ratio(0.5).hazards_treatment == (0.05, 0.025)


@pytest.mark.parametrize(
    ("overrides", "parameter", "message"),
    [
        ({"events": 250}, "events", "220 patients can give at most 220 events; you asked for 250"),
        ({"median_control": 0.0}, "median_control", "control median must be a positive number"),
        ({"median_treatment": -2.0}, "median_treatment", "treatment median must be a positive"),
        ({"alpha": 1.5}, "alpha", "alpha must lie in (0, 0.5)"),
        ({"alpha": 0.0}, "alpha", "alpha must lie in (0, 0.5)"),
        ({"hr": 0.7, "median_treatment": 10.0}, "hr", "give median_treatment or hr, not both"),
        ({"accrual_time": -1.0}, "accrual_time", "accrual time must be a positive number"),
        ({"dropout_rate": 1.0}, "dropout_rate", "must lie in [0, 1)"),
        ({"dropout_time": 0.0}, "dropout_time", "dropout time must be a positive number"),
        ({"information_rates": [0.5, 0.4, 1]}, "information_rates", "information rates"),
        ({"hazards_control": [0.1], "pfs_breaks": [6]}, "hazards_control",
         "1 pfs_breaks need 2 hazards"),
        ({"n": 1}, "n", "at least 2 patients"),
        ({"hazards_treatment": [0.1]}, "hazards_treatment",
         "hazards_treatment needs hazards_control"),
        (
            {"hazards_control": [0.1, 0.05], "hazards_treatment": [0.1], "pfs_breaks": [6]},
            "hazards_treatment",
            "2 control hazards need 2 treatment hazards; you gave 1",
        ),
        ({"hazards_control": [0.1], "hazards_treatment": [0.05], "hr": 0.5},
         "hazards_treatment", "not both"),
        (
            {"hazards_control": [0.1], "hazards_treatment": [0.0]},
            "hazards_treatment",
            "every treatment hazard must be a positive number",
        ),
        ({"information_rates": [0.01, 1]}, "information_rates", "no obrien-fleming boundaries"),
        ({"allocation": "urn"}, "allocation", "must be simple or blocks; you gave 'urn'"),
        ({"entry": "poisson"}, "entry", "must be random or fixed"),
        ({"ties": "exact"}, "ties", "must be efron or breslow"),
        ({"spending": "haybittle"}, "spending", "must be obrien-fleming or pocock"),
    ],
)  # fmt: skip
def test_scenario_errors_name_their_parameter_and_say_what_to_change(
    sor: Protocol, overrides: dict[str, object], parameter: str, message: str
) -> None:
    with pytest.raises(DesignInputError) as caught:
        scenario_from_protocol(sor, **overrides)  # type: ignore[arg-type]
    assert caught.value.location == parameter
    assert message in caught.value.message
    assert "--" not in caught.value.message  # parameters by name: the shells name their inputs


@pytest.mark.parametrize(
    ("trials", "seed", "parameter"), [(0, 1, "trials"), (10, -1, "seed"), (10**11, 1, "trials")]
)
def test_run_checks_name_their_parameter(trials: int, seed: int, parameter: str) -> None:
    with pytest.raises(DesignInputError) as caught:
        check_run(trials, seed)
    assert caught.value.location == parameter


def test_hazard_ratio_grid_is_inclusive_and_bounded() -> None:
    assert hazard_ratio_grid(0.6, 1.0, 0.2) == (0.6, 0.8, 1.0)
    for bad in ((1.0, 0.5, 0.1), (0.5, 1.0, 0.0), (0.1, 100.0, 0.1)):
        with pytest.raises(DesignInputError) as caught:
            hazard_ratio_grid(*bad)
        assert caught.value.location == "grid"


def test_arm_labels_come_from_the_protocol(sor: Protocol) -> None:
    assert scenario_from_protocol(sor).arm_labels == ("Sorafenib", "Placebo")
    swapped = sor.model_copy(update={"arms": tuple(reversed(sor.arms))})
    assert scenario_from_protocol(swapped).arm_labels == ("Sorafenib", "Placebo")
