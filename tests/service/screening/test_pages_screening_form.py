"""The screening form: every record field has an input, and form data round-trip to the record."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES
from tests.records import sor_record
from trialkit.eligibility.units import normalise_unit
from trialkit.service.platform.pages.labels import UNITS
from trialkit.service.screening.pages.screening_form import (
    field_for_path,
    form_to_record,
    record_to_form,
)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_record_round_trips_through_the_form(path: object) -> None:
    data = json.loads(path.read_text())  # type: ignore[attr-defined]
    converted = form_to_record(record_to_form(data))
    assert converted.problems == {}
    assert sor_record(converted.data) == sor_record(data)


def test_empty_inputs_are_not_recorded_and_wrong_types_are_named() -> None:
    converted = form_to_record(
        {"ecog": "", "labs.alt.value": "4,5", "body.weight_kg": "heavy", "patient.sex": "x"}
    )
    assert converted.data == {"labs": {"alt": {"value": 4.5}}}
    assert converted.problems == {
        "body.weight_kg": "enter a number",
        "patient.sex": "choose one of the listed options",
    }


def test_other_cancers_none_or_listed() -> None:
    assert form_to_record({"history.other_cancers": "none"}).data == {
        "history": {"other_cancers": []}
    }
    listed = form_to_record(
        {"history.other_cancers": "listed", "history.other_cancers.0.kind": "other"}
    )
    assert listed.data == {"history": {"other_cancers": [{"kind": "other"}]}}
    empty = form_to_record({"history.other_cancers": "listed"})
    assert "history.other_cancers" in empty.problems


def test_a_missing_group_points_at_its_first_input() -> None:
    target = field_for_path("labs.anc")
    assert target is not None
    assert target.id == "f-labs-anc-value"


@pytest.mark.parametrize(("lab", "unit"), [(lab, u) for lab, us in UNITS.items() for u in us])
def test_the_offered_units_are_ones_trialkit_converts(lab: str, unit: str) -> None:
    from trialkit.eligibility.units import ACCEPTED_UNITS

    if lab == "fsh":  # compared against the local postmenopausal range, in the same unit
        return
    assert normalise_unit(unit) in ACCEPTED_UNITS[lab]
