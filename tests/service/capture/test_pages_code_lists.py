"""The case report forms' code lists are the definitions' own: the pages only label their values."""

from __future__ import annotations

import pytest

from trialkit.protocol import load_protocol
from trialkit.service.capture.forms import Form
from trialkit.service.capture.pages.clinical_forms import CODE_LABELS, SIMPLE_FORMS, schema_values


def _literal_fields() -> set[tuple[Form, str]]:
    """Every item of the simple forms' definitions whose values come from a code list."""
    forms = load_protocol("sor").forms
    assert forms is not None
    return {
        (form, item.name)
        for form in SIMPLE_FORMS
        for item in forms.form(form.value).items
        if item.codelist is not None
    }


@pytest.mark.parametrize(("form", "name"), sorted(CODE_LABELS))
def test_every_schema_value_has_a_label_and_every_label_a_value(form: Form, name: str) -> None:
    assert set(CODE_LABELS[form, name]) == set(schema_values(form, name))


def test_the_pages_offer_exactly_the_schemas_values_in_their_order() -> None:
    offered = {
        (form, spec.name): tuple(value for value, _ in spec.choices)
        for form, specs in SIMPLE_FORMS.items()
        for spec in specs
        if spec.kind == "choice"
    }
    assert set(offered) == set(CODE_LABELS)
    assert _literal_fields() <= set(offered)  # no code list of a schema is typed in freely
    for (form, name), values in offered.items():
        assert values == schema_values(form, name)


def test_a_grade_is_the_schemas_range() -> None:
    assert schema_values(Form.ADVERSE_EVENT, "grade") == ("1", "2", "3", "4", "5")
