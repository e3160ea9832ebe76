"""Cox proportional hazards against R survival 3.5.3 coxph (Efron and Breslow ties).

The R fits use ``coxph.control(eps = 1e-12)`` so that the reference is the converged
maximum, not R's default stopping point (see survival_reference.R).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis._reference import DATASETS, assert_close, dataset, r_array, reference
from trialkit.analysis import coxph, coxph_two_groups
from trialkit.errors import InputError

TIES = ("efron", "breslow")


def _check(fit: object, r: dict[str, object]) -> None:
    from trialkit.analysis import CoxPH

    assert isinstance(fit, CoxPH)
    assert_close(fit.coef, r_array(r["coef"]), what="coef")
    assert_close(fit.se, r_array(r["se"]), what="se")
    assert_close(fit.hr, r_array(r["hr"]), what="exp(coef)")
    assert_close(fit.hr_lower, r_array(r["hr_lower"]), what="lower .95")
    assert_close(fit.hr_upper, r_array(r["hr_upper"]), what="upper .95")
    assert_close(fit.p, r_array(r["z_p"]), what="Pr(>|z|)")
    assert_close([fit.loglik_null, fit.loglik], r_array(r["loglik"]), what="loglik")
    assert_close(fit.wald.statistic, r["wald"], what="wald")
    assert_close(fit.lrt.statistic, r["lrt"], what="lrt")
    assert_close(fit.score.statistic, r["score"], what="score")
    assert fit.wald.df == r["df"]
    assert fit.converged
    assert not fit.monotone


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("name", DATASETS)
def test_two_group_cox_matches_r(name: str, ties: str) -> None:
    # R: coxph(Surv(time, event) ~ group, data, ties = ties)
    d = dataset(name)
    fit = coxph_two_groups(d.time, d.event, d.group, d.reference, ties=ties)  # type: ignore[arg-type]
    _check(fit, reference()[name]["cox"][ties])


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("name", DATASETS)
def test_stratified_cox_matches_r(name: str, ties: str) -> None:
    # R: coxph(Surv(time, event) ~ group + strata(strata), data, ties = ties)
    d = dataset(name)
    fit = coxph_two_groups(
        d.time,
        d.event,
        d.group,
        d.reference,
        strata=d.strata,
        ties=ties,  # type: ignore[arg-type]
    )
    assert fit.stratified
    _check(fit, reference()[name]["stratified_cox"][ties])


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("name", ["veteran", "lung", "colon"])
def test_design_matrix_cox_matches_r(name: str, ties: str) -> None:
    # R: coxph(Surv(time, event) ~ group + karno + age, data, ties = ties)
    d = dataset(name)
    x = np.column_stack([(d.group != d.reference).astype(float), d.karno, d.age])
    fit = coxph(d.time, d.event, x, names=("arm", "karno", "age"), ties=ties)  # type: ignore[arg-type]
    _check(fit, reference()[name]["cox_multi"][ties])
    assert "karno" in fit.summary()


def test_hr_names_the_other_level() -> None:
    d = dataset("veteran")
    fit = coxph_two_groups(d.time, d.event, d.group, "standard")
    assert fit.names == ("test",)
    assert "Cox proportional hazards (efron ties)" in str(fit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ties": "exact"}, "ties must be"),
        ({"covariates": [[1.0], [np.nan], [0.0]]}, "data row 2"),
        ({"covariates": [1.0, 1.0, 1.0]}, "singular"),
        ({"event": [0, 0, 0]}, "no events"),
    ],
)
def test_bad_input_raises_input_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"time": [1.0, 2.0, 3.0], "event": [1, 0, 1]}
    args["covariates"] = kwargs.pop("covariates", [0.0, 1.0, 0.0])
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        coxph(**args)  # type: ignore[arg-type]


def test_no_events_in_one_arm_is_flagged_monotone() -> None:
    # Arm b has no events: the partial likelihood increases without bound as its log-HR
    # goes to -infinity (R warns "coefficient may be infinite").
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    fit = coxph_two_groups(time, [1, 1, 1, 0, 0, 0], ["a", "a", "a", "b", "b", "b"], "a")
    assert fit.monotone
    assert "may be infinite" in fit.summary()
