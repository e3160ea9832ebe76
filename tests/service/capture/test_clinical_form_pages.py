"""Form pages generated from the definitions: inputs, code lists, and values both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialkit.protocol import load_protocol
from trialkit.protocol.forms import Forms
from trialkit.service.platform.pages.form_pages import (
    Rows,
    add_row,
    field_of_location,
    form_fields,
    keyed_ids,
    page_field,
    page_sections,
    page_to_record,
    record_to_page,
    remove_row,
)

COLO = Path(__file__).resolve().parents[2] / "protocol" / "data" / "colorectal.yaml"


@pytest.fixture(scope="module")
def forms() -> Forms:
    loaded = load_protocol("sor").forms
    assert loaded is not None
    return loaded


BASELINE = {
    "date": "2008-02-25",
    "target": [
        {"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 30.0, "method": "CT"},
        {"id": "T2", "organ": "lung", "lymph_node": False, "diameter_mm": 20.0, "method": "MRI"},
    ],
    "non_target": [{"id": "NT1", "organ": "bone", "lymph_node": False, "method": "bone scan"}],
}
RECORDS: dict[str, dict[str, Any]] = {
    "tumour_baseline": BASELINE,
    "tumour_assessment": {
        "date": "2008-04-28",
        "target": {"T1": 20.0, "T2": "too_small"},
        "non_target": {"NT1": "present"},
        "new_lesions": False,
    },
    "adverse_event": {
        "term": "Neutropenia",
        "grade": 3,
        "start_date": "2008-03-20",
        "ongoing": True,
        "serious": False,
        "relationship": "possible",
        "action_taken": "dose_interrupted",
    },
    "study_drug": {
        "start_date": "2008-03-03",
        "kits_dispensed": ["100001", "100002"],
        "tablets_taken": 84,
        "interruptions": [{"start_date": "2008-03-10", "end_date": "2008-03-12"}],
        "reductions": [{"date": "2008-03-20", "daily_dose_mg": 400, "reason": "rash"}],
    },
    "docetaxel_cycle": {"cycle": 2, "date": "2008-03-24", "dose_mg_m2": 75.0, "dose_mg": 130.5},
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_a_record_goes_to_the_page_and_back_unchanged(forms: Forms, name: str) -> None:
    form = forms.form(name)
    data = RECORDS[name]
    keys = keyed_ids(form, BASELINE, data)
    values = record_to_page(form, data, keys)
    back = page_to_record(forms, form, values, keys)
    assert back.problems == {}
    assert back.data == data
    # every value shown is in an input of the page
    fields = form_fields(page_sections(forms, form, values, keys))
    assert {k for k in values if not k.endswith("._row")} <= set(fields)


def test_every_choice_offers_its_code_list_in_order_with_its_labels(forms: Forms) -> None:
    for form in forms.forms:
        if form.used == "screening":
            continue
        fields = form_fields(page_sections(forms, form, {}, keyed_ids(form, BASELINE, None)))
        for path, item in form.walk():
            if item.type == "choice" and not item.keyed:
                codes = forms.code_list(item.codelist or "").codes
                want = tuple((str(c.code), c.label) for c in codes)
                found = [f for n, f in fields.items() if n == path or n.endswith("." + item.name)]
                assert found, (form.name, path)
                assert all(f.choices == want for f in found if f.kind == "choice")


def test_a_repeating_group_gets_rows_added_and_removed_without_javascript(forms: Forms) -> None:
    form = forms.form("tumour_baseline")
    sections = page_sections(forms, form, {}, {})
    (rows,) = [e for e in sections[1].entries if isinstance(e, Rows) and e.name == "target"]
    assert [i for i, _ in rows.rows] == [0]  # one empty row to fill in
    values = add_row({"target.0.organ": "liver"}, "target")
    sections = page_sections(forms, form, values, {})
    (rows,) = [e for e in sections[1].entries if isinstance(e, Rows) and e.name == "target"]
    assert len(rows.rows) >= 2
    assert remove_row(values, "target.0") == {
        k: v for k, v in values.items() if not k.startswith("target.0.")
    }
    # a row begun without its mandatory items is refused next to them, before the service
    half = page_to_record(forms, form, {"target.0.organ": "liver"}, {})
    assert set(half.problems) == {"target.0.id", "target.0.diameter_mm"}


def test_unreadable_inputs_are_named_and_special_codes_read_in_words(forms: Forms) -> None:
    form = forms.form("tumour_assessment")
    keys = {"target": ["T1", "T2"], "non_target": ["NT1"]}
    got = page_to_record(
        forms,
        form,
        {"target.0": "Too small", "target.1": "big", "new_lesions": "perhaps", "date": "x"},
        keys,
    )
    assert got.data == {"target": {"T1": "too_small"}}
    assert set(got.problems) == {"target.1", "new_lesions", "date"}
    cycle = page_to_record(forms, forms.form("docetaxel_cycle"), {"cycle": "nine"}, {})
    assert cycle.problems == {"cycle": "enter a whole number"}


def test_a_service_error_lands_on_its_input(forms: Forms) -> None:
    keys = {"target": ["T1", "T2"]}
    assert field_of_location("data.target[0].organ") == "target.0.organ"
    assert field_of_location("data.target.T2", keys) == "target.1"
    assert field_of_location("data") == "form"
    form = forms.form("study_drug")
    values = record_to_page(form, RECORDS["study_drug"], {})
    sections = page_sections(forms, form, values, {})
    assert page_field(sections, "interruptions[0].end_date", {}) == "interruptions.0.end_date"
    assert page_field(sections, "no_such_item", {}) is None


def test_show_when_folds_an_item_until_its_answers_call_for_it() -> None:
    colo = load_protocol(str(COLO)).forms
    assert colo is not None
    screening = colo.screening
    assert screening is not None
    asked = {
        answer: form_fields(page_sections(colo, screening, values, {}))["induction_cycles"].shown
        for answer, values in (
            ("blank", {}),
            ("yes", {"progressed_on_induction": "yes"}),
            ("no", {"progressed_on_induction": "no"}),
        )
    }
    assert asked == {"blank": False, "yes": False, "no": True}
