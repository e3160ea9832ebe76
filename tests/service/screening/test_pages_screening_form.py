"""The screening form: every record field has an input, and form data round-trip to the record."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES
from tests.records import sor_record
from trialkit.protocol import load_protocol
from trialkit.service.screening.pages.screening_form import (
    field_for_path,
    form_to_record,
    protocol_screening_form,
    record_to_form,
)

SCREENING = protocol_screening_form(load_protocol("sor"))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_record_round_trips_through_the_form(path: object) -> None:
    data = json.loads(path.read_text())  # type: ignore[attr-defined]
    converted = form_to_record(SCREENING, record_to_form(SCREENING, data))
    assert converted.problems == {}
    assert sor_record(converted.data) == sor_record(data)


def test_empty_inputs_are_not_recorded_and_wrong_types_are_named() -> None:
    converted = form_to_record(
        SCREENING,
        {"ecog": "", "labs.alt.value": "4,5", "body.weight_kg": "heavy", "patient.sex": "x"},
    )
    assert converted.data == {"labs": {"alt": {"value": 4.5}}}
    assert converted.problems == {
        "body.weight_kg": "enter a number",
        "patient.sex": "choose one of the listed options",
    }


def test_other_cancers_none_or_listed() -> None:
    assert form_to_record(SCREENING, {"history.other_cancers": "none"}).data == {
        "history": {"other_cancers": []}
    }
    listed = form_to_record(
        SCREENING, {"history.other_cancers": "listed", "history.other_cancers.0.kind": "other"}
    )
    assert listed.data == {"history": {"other_cancers": [{"kind": "other"}]}}
    empty = form_to_record(SCREENING, {"history.other_cancers": "listed"})
    assert "history.other_cancers" in empty.problems


def test_a_missing_group_points_at_its_first_input() -> None:
    target = field_for_path(SCREENING, "labs.anc")
    assert target is not None
    assert target.id == "f-labs-anc-value"
