"""The overall verdict: eligible, not eligible, or undetermined with the missing data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trialkit.eligibility import EligibilityResult

Evaluate = Callable[..., EligibilityResult]
DELETE = "<delete>"  # the factory's sentinel (conftest.DELETE)

MISSING_HB_AND_HIV = {"labs": {"haemoglobin": DELETE}, "history": {"hiv": DELETE}}


def test_complete_example_is_eligible(evaluate: Evaluate) -> None:
    result = evaluate()
    assert result.eligible is True
    assert result.verdict == "eligible"
    assert result.missing == ()
    assert result.blocking == ()
    assert result.undecided == ()
    top = [c for c in result.criteria if c.parent is None]
    assert all(c.status == ("met" if c.kind == "inclusion" else "not_met") for c in top)
    assert str(result) == "SOR: eligible"


@pytest.mark.parametrize(
    ("label", "patch", "blocking"),
    [
        ("inclusion-not-met", {"ecog": 2}, "I9"),
        ("exclusion-met", {"prior_therapies": {"advanced_disease_therapy": True}}, "E3"),
        ("sub-item-not-met", {"labs": {"platelets": {"value": 99}}}, "I10"),
        ("sub-item-exclusion-met", {"history": {"cardiac": {"nyha_class": 4}}}, "E13"),
    ],
)
def test_one_blocking_criterion_is_not_eligible_even_with_data_missing(
    label: str, patch: dict[str, object], blocking: str, evaluate: Evaluate
) -> None:
    result = evaluate(MISSING_HB_AND_HIV, patch)
    assert result.eligible is False, label
    assert result.verdict == "not eligible"
    assert [c.id for c in result.blocking] == [blocking]
    assert f"  {blocking} " in result.summary()


def test_missing_data_alone_is_undetermined_and_listed(evaluate: Evaluate) -> None:
    result = evaluate(MISSING_HB_AND_HIV)
    assert result.eligible is None
    assert result.verdict == "undetermined"
    assert result.missing == ("history.hiv", "labs.haemoglobin")
    assert [c.id for c in result.undecided] == ["I10", "E19"]
    assert result.blocking == ()
    summary = result.summary()
    assert summary.startswith("SOR: undetermined")
    assert "I10 unknown" in summary
    assert "E19 unknown" in summary


def test_undecided_alternative_of_a_met_criterion_does_not_hold_up_the_verdict(
    evaluate: Evaluate,
) -> None:
    """I3.3 (FSH) is unknown without a birth date, but I3.2 already decides menopause; the
    birth date is still needed for the age, and is the only thing listed."""
    result = evaluate({"patient": {"date_of_birth": DELETE}})
    assert result.result("I3.3").status == "unknown"
    assert result.eligible is None
    assert result.missing == ("patient.date_of_birth",)


def test_every_criterion_is_reported_in_file_order(evaluate: Evaluate) -> None:
    ids = [c.id for c in evaluate().criteria]
    assert ids[:4] == ["I1", "I2", "I3", "I3.1"]
    assert ids[-1] == "E24"
    assert len(ids) == len(set(ids)) == 52


def test_result_as_dict_round_trips_the_fields(evaluate: Evaluate) -> None:
    item = evaluate({"labs": {"haemoglobin": DELETE}}).result("I10.1")
    data = item.as_dict()
    assert data["status"] == "unknown"
    assert data["missing"] == ["labs.haemoglobin"]
    assert data["parent"] == "I10"
    assert data["text"] == "Haemoglobin equal or greater than 9.0 g/dl"


def test_unknown_id_raises_key_error(evaluate: Evaluate) -> None:
    with pytest.raises(KeyError, match="I99"):
        evaluate().result("I99")
