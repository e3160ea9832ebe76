"""Lab units: the spellings sites use, the conversions, and the error for an unknown unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from trialkit.eligibility import evaluate_eligibility
from trialkit.eligibility.units import accepted_units, canonical_labs, normalise_unit
from trialkit.errors import RecordError
from trialkit.protocol import Protocol, load_protocol
from trialkit.protocol.forms import Form


def _screening() -> Form:
    forms = load_protocol("sor").forms
    assert forms is not None
    assert forms.screening is not None
    return forms.screening


def _canonical(labs: dict[str, Any]) -> dict[str, Any]:
    """The criteria's lab values of a record holding ``labs`` (SOR's screening form)."""
    return canonical_labs(_screening(), {"labs": labs})


HB_MMOL_L_TO_G_DL = 1.6114  # haemoglobin monomer, 16.114 g/mol x 10 (g/L -> g/dL)

CONVERSIONS = [
    # (lab, value, unit as written at a site, canonical key, expected value)
    ("haemoglobin", 9.0, "g/dL", "haemoglobin_g_dl", 9.0),
    ("haemoglobin", 9.0, "g/dl", "haemoglobin_g_dl", 9.0),
    ("haemoglobin", 90, "g/l", "haemoglobin_g_dl", 9.0),
    ("haemoglobin", 90, "g/L", "haemoglobin_g_dl", 9.0),
    ("haemoglobin", 5.6, "mmol/L", "haemoglobin_g_dl", 5.6 * HB_MMOL_L_TO_G_DL),
    ("haemoglobin", 5.585, "mmol/l", "haemoglobin_g_dl", 8.9996690),
    ("anc", 1.5, "x10^9/L", "anc_10e9_l", 1.5),
    ("anc", 1.5, "10^9/L", "anc_10e9_l", 1.5),
    ("anc", 1.5, "×10⁹/L", "anc_10e9_l", 1.5),
    ("anc", 1.5, "10e9/L", "anc_10e9_l", 1.5),
    ("anc", 1.5, "G/L", "anc_10e9_l", 1.5),
    ("anc", 1500, "/mm3", "anc_10e9_l", 1.5),
    ("anc", 1500, "/mm³", "anc_10e9_l", 1.5),
    ("anc", 1500, "cells/mm3", "anc_10e9_l", 1.5),
    ("anc", 1500, "cells/µL", "anc_10e9_l", 1.5),
    ("anc", 1500, "/µL", "anc_10e9_l", 1.5),
    ("anc", 1499, "/mm3", "anc_10e9_l", 1.499),
    ("anc", 1.5, "10³/µL", "anc_10e9_l", 1.5),
    ("anc", 1.5, "10^3/uL", "anc_10e9_l", 1.5),
    ("anc", 1.5, "x10³/mm³", "anc_10e9_l", 1.5),
    ("platelets", 100, "x10^9/L", "platelets_10e9_l", 100.0),
    ("platelets", 100, "G/L", "platelets_10e9_l", 100.0),
    ("platelets", 100_000, "/mm3", "platelets_10e9_l", 100.0),
    ("platelets", 100_000, "cells/µL", "platelets_10e9_l", 100.0),
    ("platelets", 99_999, "/mm3", "platelets_10e9_l", 99.999),
    ("platelets", 100, "10³/µL", "platelets_10e9_l", 100.0),
]


@pytest.mark.parametrize(
    ("name", "value", "unit", "key", "expected"),
    CONVERSIONS,
    ids=[f"{name}-{value}-{unit}" for name, value, unit, _, _ in CONVERSIONS],
)
def test_accepted_spelling_converts(
    name: str, value: float, unit: str, key: str, expected: float
) -> None:
    labs = {name: {"value": value, "unit": unit}}
    assert _canonical(labs)[key] == pytest.approx(expected, abs=1e-9)


def test_exact_boundaries_survive_conversion() -> None:
    """Float noise must not push an exact boundary onto the wrong side of its limit."""
    labs = {
        "haemoglobin": {"value": 90, "unit": "g/L"},
        "anc": {"value": 1500, "unit": "/mm3"},
        "platelets": {"value": 100_000, "unit": "/mm3"},
        "bilirubin": {"value": 1.8, "unit": "mg/dL", "uln": 1.2},
        "creatinine": {"value": 1.65, "unit": "mg/dL", "uln": 1.1},
        "alt": {"value": 100, "unit": "U/L", "uln": 40},
        "ast": {"value": 200, "unit": "IU/L", "uln": 40},
    }
    values = _canonical(labs)
    assert values["haemoglobin_g_dl"] == 9.0
    assert values["anc_10e9_l"] == 1.5
    assert values["platelets_10e9_l"] == 100.0
    assert values["bilirubin_x_uln"] == 1.5
    assert values["creatinine_x_uln"] == 1.5
    assert values["alt_x_uln"] == 2.5
    assert values["ast_x_uln"] == 5.0


def test_relative_lab_without_uln_is_left_out() -> None:
    """Without the ULN the ratio cannot be formed: the criterion is unknown, never passed."""
    values = _canonical({"creatinine": {"value": 0.8, "unit": "mg/dL"}})
    assert "creatinine_x_uln" not in values


def test_variable_names_follow_the_items_units() -> None:
    """A lab with one accepted unit keeps its value as entered, named by the unit (``aptt_s``;
    a ratio has none: ``inr``); sor.yaml's criteria compare these names."""
    values = _canonical(
        {
            "inr": {"value": 1.2, "unit": "ratio", "uln": 1.1},
            "aptt": {"value": 30, "unit": "s", "uln": 35, "lln": 25},
        }
    )
    assert values["inr"] == 1.2
    assert (values["aptt_s"], values["aptt_uln_s"], values["aptt_lln_s"]) == (30, 35, 25)
    criteria = load_protocol("sor").model_dump_json()
    for name in ("lab.inr", "lab.aptt_s", "lab.aptt_uln_s", "lab.aptt_lln_s", "lab.anc_10e9_l"):
        assert name in criteria


def test_relative_lab_ratio_is_unit_free() -> None:
    mg = _canonical({"bilirubin": {"value": 1.8, "unit": "mg/dL", "uln": 1.2}})
    umol = _canonical({"bilirubin": {"value": 30.78, "unit": "µmol/L", "uln": 20.52}})
    assert mg["bilirubin_x_uln"] == pytest.approx(umol["bilirubin_x_uln"])


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("haemoglobin", "mg/dL"),
        ("haemoglobin", "g%"),
        ("anc", "%"),
        ("anc", "mmol/L"),
        ("platelets", "10^6/L"),
        ("alt", "mg/dL"),
        ("creatinine", "mmol/mol"),
        ("inr", "s"),
    ],
)
def test_unknown_unit_names_the_field_and_the_accepted_units(name: str, unit: str) -> None:
    entry: dict[str, Any] = {"value": 1.0, "unit": unit, "uln": 2.0}
    labs = {name: entry}
    with pytest.raises(RecordError) as caught:
        _canonical(labs)
    error = caught.value
    assert error.location == f"$.labs.{name}.unit"
    assert repr(unit) in error.message
    for accepted in accepted_units(_screening())[name]:
        if accepted:
            assert accepted in error.message
    assert str(error).startswith(f"$.labs.{name}.unit: unknown unit")


def test_unknown_unit_stops_the_evaluation(
    sor_protocol: Protocol, make_record: Callable[..., dict[str, Any]]
) -> None:
    """A unit trialkit cannot read is an input error, not an 'unknown' criterion: the record
    is refused when it is read (the item's units), before any criterion is evaluated."""
    with pytest.raises(RecordError, match=r"use one of g/dl, g/l, mmol/l") as caught:
        make_record({"labs": {"haemoglobin": {"unit": "g/100mL"}}})
    assert caught.value.location.endswith("labs.haemoglobin.unit")
    # a record read without its form (no unit check) still stops at the conversion
    with pytest.raises(RecordError, match=r"use one of g/dl, g/l, mmol/l"):
        evaluate_eligibility(sor_protocol, {"labs": {"haemoglobin": {"value": 9, "unit": "x"}}})


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("g/dL", "g/dl"),
        ("G/L", "g/l"),
        ("x10^9/L", "10^9/l"),
        (" × 10⁹ / L ", "10^9/l"),
        ("10³/µL", "10^3/ul"),
        ("cells/µL", "cells/ul"),
        ("cells/mm3", "/mm3"),
        ("/cumm", "/mm3"),
        ("µmol/L", "umol/l"),
    ],
)
def test_normalise_unit(written: str, normalised: str) -> None:
    assert normalise_unit(written) == normalised
