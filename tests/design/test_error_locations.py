"""Each design error names the parameter it concerns as its location, never a CLI flag: the
CLI maps the parameter to its flag (``trialkit.cli.design.FLAGS``), the API to a field path."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from trialkit.cli.design import FLAGS
from trialkit.cli.main import main
from trialkit.design.boundaries import group_sequential_design
from trialkit.design.decision import decision_characteristics
from trialkit.design.events import events_for_power
from trialkit.design.sample_size import survival_sample_size
from trialkit.errors import DesignInputError
from trialkit.service.platform.api.errors import error_response

_SURVIVAL = {"alpha": 0.025, "power": 0.8, "median_control": 7.9}


def _decision(events: float = 120, decision_hr: float = 0.8, hr: float = 0.6) -> object:
    return decision_characteristics(events=events, decision_hr=decision_hr, alternative_hr=hr)


def _events(alpha: float = 0.025, hr: float = 0.7, ratio: float = 1.0) -> object:
    return events_for_power(alpha=alpha, power=0.8, hr=hr, allocation_ratio=ratio)


CASES: list[tuple[str, Callable[[], object]]] = [
    ("median_treatment", lambda: survival_sample_size(**_SURVIVAL, accrual_time=18, n=220)),
    (
        "hr",
        lambda: survival_sample_size(
            **_SURVIVAL, median_treatment=12.2, hr=0.9, accrual_time=18, n=220
        ),
    ),
    ("median_control", lambda: survival_sample_size(**{**_SURVIVAL, "median_control": -1}, hr=0.7)),
    ("accrual_time", lambda: survival_sample_size(**_SURVIVAL, hr=0.7)),
    (
        "follow_up_time",
        lambda: survival_sample_size(**_SURVIVAL, hr=0.7, accrual_time=18, n=220, follow_up_time=6),
    ),
    (
        "dropout_rate",
        lambda: survival_sample_size(**_SURVIVAL, hr=0.7, accrual_time=18, n=220, dropout_rate=1.5),
    ),
    ("alpha", lambda: events_for_power(alpha=1.2, power=0.8, hr=0.7)),
    ("hr", lambda: events_for_power(alpha=0.025, power=0.8, hr=1.0)),
    (
        "allocation_ratio",
        lambda: events_for_power(alpha=0.025, power=0.8, hr=0.7, allocation_ratio=0),
    ),
    (
        "decision_hr",
        lambda: decision_characteristics(events=120, decision_hr=0, alternative_hr=0.6),
    ),
    (
        "alternative_hr",
        lambda: decision_characteristics(events=120, decision_hr=0.8, alternative_hr=0),
    ),
    ("events", lambda: decision_characteristics(events=0, decision_hr=0.8, alternative_hr=0.6)),
    (
        "information_rates",
        lambda: group_sequential_design(alpha=0.025, information_rates=[0.5, 0.9]),
    ),
]


@pytest.mark.parametrize(("parameter", "call"), CASES)
def test_each_design_error_names_its_parameter_and_no_flag(
    parameter: str, call: Callable[[], object]
) -> None:
    with pytest.raises(DesignInputError) as caught:
        call()
    assert caught.value.location == parameter
    assert "--" not in caught.value.message  # a flag is the CLI's word, not the core's
    assert parameter in FLAGS  # the CLI has a flag for it


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["design", "survival", "--median-control", "7.9", "--n", "220", "--accrual-time", "18"],
         "--median-treatment"),
        (["design", "survival", "--median-control", "7.9", "--median-treatment", "12.2",
          "--hr", "0.9", "--n", "220", "--accrual-time", "18"], "--hr"),
        (["design", "survival", "--median-control", "7.9", "--hr", "0.7"], "--accrual-time"),
        (["design", "survival", "--median-control", "7.9", "--hr", "0.7", "--n", "220",
          "--accrual-time", "18", "--follow-up", "6"], "--follow-up"),
        (["design", "decision", "--events", "120", "--decision-hr", "0.8", "--hr", "0"], "--hr"),
        (["design", "boundaries", "--information-rates", "0.5,0.9"], "--information-rates"),
    ],
)  # fmt: skip
def test_the_cli_names_the_flag_of_the_parameter(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag}: "), err


def test_the_api_names_the_field_of_the_parameter() -> None:
    response = error_response(
        DesignInputError("give the treatment median", location="median_treatment")
    )
    assert response.status_code == 422
    detail = json.loads(bytes(response.body))["detail"]
    assert detail[0]["loc"] == ["body", "median_treatment"]
    assert detail[0]["msg"] == "give the treatment median"
