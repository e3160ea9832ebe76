"""Records validated from form definitions: the same data as the former classes, refusals
located at the item, soft ranges and edit checks as findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trialkit.eligibility.record import ScreeningRecord
from trialkit.errors import RecordError
from trialkit.protocol import load_protocol, parse_protocol
from trialkit.protocol.forms import Forms
from trialkit.protocol.records import (
    check_value,
    corrected_paths,
    json_schema,
    required_missing,
    validate_record,
)

EXAMPLES = sorted((Path(__file__).parents[2] / "examples/sor").glob("*.json"))
GERI = Path(__file__).parent / "data/geriatric.yaml"


def _forms() -> Forms:
    forms = load_protocol("sor").forms
    assert forms is not None
    return forms


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_sor_examples_validate_to_what_the_screening_record_gave(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    forms = _forms()
    assert forms.screening is not None
    validated = validate_record(forms, forms.screening, data)
    former = ScreeningRecord.model_validate(data).model_dump(mode="json", exclude_unset=True)
    assert validated.data == former
    assert validated.findings == ()


def _screen(data: Any) -> dict[str, Any]:
    forms = _forms()
    assert forms.screening is not None
    return validate_record(forms, forms.screening, data).data


@pytest.mark.parametrize(
    ("data", "location", "message"),
    [
        ({"ecog": 7}, "data.ecog", "Input should be less than or equal to 5"),
        ({"unexpected": True}, "data.unexpected", "Extra inputs are not permitted"),
        ([1, 2], "data", "Input should be a valid dictionary"),
        ({"labs": {"alt": {"value": "high", "unit": "U/L"}}}, "data.labs.alt.value", "'high'"),
        ({"labs": {"alt": {"value": 3}}}, "data.labs.alt.unit", "Field required"),
        ({"labs": {"alt": {"value": -1, "unit": "U/L"}}}, "data.labs.alt.value", "equal to 0"),
        ({"patient": {"sex": "f"}}, "data.patient.sex", "'female', 'male'"),
        (
            {"history": {"other_cancers": [{"description": "x"}]}},
            "data.history.other_cancers[0].kind",
            "Field required",
        ),
        ({"body": {"height_cm": 10}}, "data.body.height_cm", "greater than 50"),
        (
            {"body": {"height_cm": {"value": 5, "unit": "parsec"}}},
            "data.body.height_cm.unit",
            "unknown unit",
        ),
    ],
)
def test_hard_problems_are_refused_at_the_item(data: Any, location: str, message: str) -> None:
    with pytest.raises(RecordError) as caught:
        _screen(data)
    assert caught.value.location == location
    assert message in caught.value.message


def test_every_invalid_value_is_listed_the_first_where_the_error_is() -> None:
    """A page shows each invalid value next to its field; the error's own location stays the
    first one found, in the record's order (the contract of one location per error)."""
    data = {
        "ecog": 7,
        "labs": {"alt": {"value": "high", "unit": "U/L"}, "ast": {"value": 3}},
        "unexpected": True,
        "history": {"other_cancers": [{"description": "x"}]},
    }
    with pytest.raises(RecordError) as caught:
        _screen(data)
    error = caught.value
    assert [where for where, _ in error.problems] == [
        "data.ecog",
        "data.labs.alt.value",
        "data.labs.ast.unit",
        "data.unexpected",
        "data.history.other_cancers[0].kind",
    ]
    assert (error.location, error.message) == error.problems[0]
    assert "less than or equal to 5" in error.message
    with pytest.raises(RecordError) as alone:
        _screen({"ecog": 7})
    assert alone.value.problems == ((alone.value.location, alone.value.message),)


def test_units_are_converted_to_the_item_unit() -> None:
    data = _screen({"body": {"height_cm": {"value": 1.62, "unit": "m"}, "weight_kg": 60}})
    assert data["body"] == {"height_cm": pytest.approx(162.0), "weight_kg": 60.0}


def test_soft_range_is_a_finding_not_a_refusal() -> None:
    forms = load_protocol(GERI).forms
    assert forms is not None
    assert forms.screening is not None
    validated = validate_record(forms, forms.screening, {"g8_score": 5})
    assert validated.data == {"g8_score": 5}
    [finding] = validated.findings
    assert (finding.path, finding.code) == ("g8_score", "soft_range")
    assert "at least 8" in finding.message


@pytest.mark.parametrize(
    ("form", "data", "location"),
    [
        ("adverse_event", {"start_date": "2009-05-02", "end_date": "2009-05-01"}, "data.end_date"),
        (
            "study_drug",
            {"interruptions": [{"start_date": "2009-05-02", "end_date": "2009-05-01"}]},
            "data.interruptions[0].end_date",
        ),
    ],
)
def test_an_end_before_its_start_is_refused_at_the_item(
    form: str, data: dict[str, Any], location: str
) -> None:
    forms = _forms()
    with pytest.raises(RecordError) as caught:
        validate_record(forms, forms.form(form), data)
    assert caught.value.location == location
    assert "2009-05-01 is before" in caught.value.message
    assert "start_date 2009-05-02" in caught.value.message


def test_every_end_date_is_ordered_after_its_start() -> None:
    for form in _forms().forms:
        for path, item in form.walk():
            if path.endswith("end_date") and form.name != "screening":
                assert item.not_before == "start_date", (form.name, path)


def test_query_edit_check_is_a_finding() -> None:
    forms = load_protocol(GERI).forms
    assert forms is not None
    assert forms.screening is not None
    validated = validate_record(forms, forms.screening, {"g8_score": 16, "ecog": 2})
    [finding] = validated.findings
    assert (finding.path, finding.code) == ("g8_score", "g8_and_ecog_disagree")
    assert validate_record(forms, forms.screening, {"g8_score": 16, "ecog": 1}).findings == ()
    assert validate_record(forms, forms.screening, {"g8_score": 16}).findings == ()


def test_grades_are_codes_and_strings_of_them_are_taken() -> None:
    forms = _forms()
    form = forms.form("adverse_event")
    assert validate_record(forms, form, {"grade": "3"}).data == {"grade": 3}
    with pytest.raises(RecordError, match="Input should be one of 1, 2, 3, 4, 5"):
        validate_record(forms, form, {"grade": 6})
    with pytest.raises(RecordError):
        validate_record(forms, form, {"grade": True})


def test_tumour_assessment_keyed_measurements() -> None:
    forms = _forms()
    form = forms.form("tumour_assessment")
    data = {"date": "2009-01-01", "target": {"T1": 12, "T2": "too_small", "T3": None}}
    assert validate_record(forms, form, data).data["target"] == {
        "T1": 12.0,
        "T2": "too_small",
        "T3": None,
    }
    with pytest.raises(RecordError) as caught:
        validate_record(forms, form, {"target": {"T1": -3}})
    assert caught.value.location == "data.target.T1"


@pytest.mark.parametrize(
    ("form", "data"),
    [
        (
            "study_drug",
            {
                "start_date": "2009-01-01",
                "kits_dispensed": ["K1"],
                "interruptions": [
                    {"start_date": "2009-01-03", "end_date": "2009-01-05", "reason": "rash"}
                ],
                "reductions": [{"date": "2009-01-06", "daily_dose_mg": 400}],
            },
        ),
        (
            "docetaxel_cycle",
            {"cycle": 1, "date": "2009-01-01", "dose_mg_m2": 75, "dose_mg": 130, "delayed": False},
        ),
        ("letrozole", {"start_date": "2009-01-01", "dose_mg": 2.5}),
        (
            "adverse_event",
            {
                "term": "Rash",
                "grade": 2,
                "start_date": "2009-01-01",
                "ongoing": True,
                "serious": False,
                "relationship": "possible",
                "action_taken": "none",
            },
        ),
        ("death", {"date": "2009-05-01", "cause": "progression", "cause_text": None}),
        ("end_of_treatment", {"date": "2009-05-01", "reason": "progression"}),
        ("end_of_study", {"date": "2009-05-01", "reason": "death"}),
        ("new_therapy", {"start_date": "2009-05-01", "therapy": "capecitabine"}),
        ("last_known_alive", {"date": "2009-05-01"}),
        (
            "tumour_baseline",
            {
                "date": "2008-12-20",
                "target": [{"id": "T1", "organ": "liver", "diameter_mm": 23}],
                "non_target": [{"id": "N1", "organ": "bone"}],
            },
        ),
        (
            "tumour_assessment",
            {
                "date": "2009-02-20",
                "target": {"T1": 20},
                "non_target": {"N1": "present"},
                "new_lesions": False,
            },
        ),
    ],
)
def test_case_report_forms_keep_the_values_entered(form: str, data: dict[str, Any]) -> None:
    forms = _forms()
    assert validate_record(forms, forms.form(form), data).data == data


def test_json_schema_is_built_from_the_definitions() -> None:
    forms = _forms()
    assert forms.screening is not None
    schema = json_schema(forms, forms.screening)
    assert schema["properties"]["ecog"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 5,
    }
    geri = load_protocol(GERI).forms
    assert geri is not None
    assert geri.screening is not None
    assert "g8_score" in json_schema(geri, geri.screening)["properties"]
    assert "g8_score" not in schema["properties"]


def _geri_with_derived() -> Forms:
    text = GERI.read_text(encoding="utf-8")
    anchor = "            - {name: g8_score,"
    assert anchor in text
    derived = (
        "            - {name: g8_frail, type: boolean, label: G8 suggests frailty, "
        'derived: "r.g8_score <= 14"}\n'
        "            - {name: g8_doubled, type: integer, label: G8 twice, range: {max: 30}, "
        'derived: "r.g8_score * 2"}\n'
    )
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(anchor))
    lines.insert(at + 1, derived)
    forms = parse_protocol("".join(lines), filename="geri.yaml").forms
    assert forms is not None
    return forms


def test_a_value_for_an_item_hidden_by_its_condition_is_refused() -> None:
    forms = load_protocol(GERI).forms
    assert forms is not None
    assert forms.screening is not None
    shown = {"prior_therapies": {"advanced_disease_therapy": True}}
    given = {**shown["prior_therapies"], "advanced_disease_therapy_text": "capecitabine"}
    data = validate_record(forms, forms.screening, {"prior_therapies": given}).data
    assert data["prior_therapies"]["advanced_disease_therapy_text"] == "capecitabine"
    with pytest.raises(RecordError) as caught:
        validate_record(
            forms,
            forms.screening,
            {"prior_therapies": {**given, "advanced_disease_therapy": False}},
        )
    assert caught.value.location == "data.prior_therapies.advanced_disease_therapy_text"
    assert "is not asked here" in caught.value.message
    assert "'capecitabine'" in caught.value.message
    # an empty value of a hidden item is dropped, not refused
    empty = {"advanced_disease_therapy": False, "advanced_disease_therapy_text": ""}
    data = validate_record(forms, forms.screening, {"prior_therapies": empty}).data
    assert data == {"prior_therapies": {"advanced_disease_therapy": False}}


def test_a_hidden_required_item_is_not_missing() -> None:
    text = GERI.read_text(encoding="utf-8").replace(
        "            - {name: g8_score,",
        "            - {name: g8_comment, type: text, label: Why, required: true, "
        'show_when: "r.g8_score <= 14"}\n'
        "            - {name: g8_score,",
        1,
    )
    forms = parse_protocol(text, filename="geri.yaml").forms
    assert forms is not None
    assert forms.screening is not None
    assert "g8_comment" in required_missing(forms.screening, {"g8_score": 10})
    assert "g8_comment" not in required_missing(forms.screening, {"g8_score": 16})
    # not asked until the answer its condition reads is given
    assert "g8_comment" not in required_missing(forms.screening, {})
    with pytest.raises(RecordError) as caught:
        validate_record(forms, forms.screening, {"g8_comment": "frail"})
    assert caught.value.location == "data.g8_comment"


def test_derived_values_are_computed_and_stored_with_the_record() -> None:
    forms = _geri_with_derived()
    assert forms.screening is not None
    data = validate_record(forms, forms.screening, {"g8_score": 12}).data
    assert data == {"g8_score": 12, "g8_frail": True, "g8_doubled": 24}
    # a record that cannot compute it stores none
    assert validate_record(forms, forms.screening, {"ecog": 1}).data == {"ecog": 1}
    # the value it would store may be given back (a record read and saved again) ...
    again = validate_record(forms, forms.screening, data).data
    assert again == data
    # ... but not a different one
    with pytest.raises(RecordError) as caught:
        validate_record(forms, forms.screening, {"g8_score": 16, "g8_frail": True})
    assert caught.value.location == "data.g8_frail"
    assert "computed from the record" in caught.value.message
    schema = json_schema(forms, forms.screening)
    assert schema["properties"]["g8_frail"]["readOnly"] is True
    assert "g8_frail" not in required_missing(forms.screening, {})


def test_a_lab_unit_is_checked_at_entry_against_the_item_units() -> None:
    forms = load_protocol(GERI).forms
    assert forms is not None
    assert forms.screening is not None
    for unit in ("umol/L", "µmol/L", " MG/DL "):
        lab = {"value": 80, "unit": unit, "uln": 100}
        data = validate_record(forms, forms.screening, {"labs": {"creatinine": lab}}).data
        assert data["labs"]["creatinine"]["unit"] == unit  # stored as entered
    with pytest.raises(RecordError) as caught:
        validate_record(
            forms, forms.screening, {"labs": {"creatinine": {"value": 80, "unit": "mmol/L"}}}
        )
    assert caught.value.location == "data.labs.creatinine.unit"
    assert "unknown unit 'mmol/L' for creatinine; use one of mg/dl, umol/l" in caught.value.message


def test_a_value_is_checked_alone_by_the_record_validator_in_plain_words() -> None:
    forms = _forms()
    assert forms.screening is not None
    ecog = forms.screening.item("ecog")
    height = forms.screening.item("body.height_cm")
    assert check_value(forms, ecog, 9) == "must be at most 5"
    assert check_value(forms, ecog, 1) is None
    assert check_value(forms, height, 50.0) == "must be more than 50"
    # the record validator refuses the same value, in the words the API gives
    with pytest.raises(RecordError, match="less than or equal to 5"):
        validate_record(forms, forms.screening, {"ecog": 9})


def test_a_version_that_only_fills_in_empty_values_corrects_nothing() -> None:
    first = {"date": "2008-03-01", "labs": {"alt": {"value": 30.0}}, "rows": [{"a": 1}]}
    filled = {**first, "ecog": 1, "labs": {"alt": {"value": 30.0, "uln": 40.0}}}
    assert corrected_paths(first, filled) == []
    assert corrected_paths(first, {**first, "rows": [{"a": 1}, {"a": 2}]}) == []  # a row added
    assert corrected_paths({}, filled) == []  # a first version corrects nothing
    changed = {**filled, "labs": {"alt": {"value": 31.0}}, "rows": []}
    assert corrected_paths(filled, changed) == ["labs.alt.value", "labs.alt.uln", "rows"]
    assert corrected_paths(first, {"labs": first["labs"], "rows": [{"a": 2}]}) == [
        "date",
        "rows.0.a",
    ]
