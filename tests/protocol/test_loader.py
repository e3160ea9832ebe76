"""The protocol as data: the bundled SOR protocol, a second protocol, and refused files."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES, RECORD, SHARED_RECORD

from trialkit.eligibility import evaluate_eligibility
from trialkit.errors import ProtocolError, RecordError
from trialkit.protocol import Protocol, bundled_protocols, load_protocol, parse_protocol
from trialkit.screening import parse_screening_record
from trialkit.therapy import assign_background_therapy

DATA = Path(__file__).parent / "data"
SOR_SOURCE = (
    Path(__file__).resolve().parents[2] / "src/trialkit/protocol/protocols/sor.yaml"
).read_text(encoding="utf-8")

EXPECTED_IDS = (
    [f"I{i}" for i in range(1, 14)]
    + [f"I3.{i}" for i in range(1, 5)]
    + [f"I10.{i}" for i in range(1, 9)]
    + [f"E{i}" for i in range(1, 25)]
    + [f"E13.{i}" for i in range(1, 4)]
)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_sor_is_bundled_and_found_by_name() -> None:
    assert "sor" in bundled_protocols()
    assert load_protocol("sor").acronym == "SOR"
    assert load_protocol("SOR") is load_protocol("sor")


def test_sor_holds_the_record_facts(sor: Protocol) -> None:
    assert [c.name for c in sor.countries] == ["Germany", "Italy", "Poland", "Russian Federation"]
    coordinating = sor.coordinating_centre
    assert coordinating is not None
    assert coordinating.city == "Milano"
    assert coordinating.postcode == "20133"
    assert sor.ethics[0].approval_date == date(2007, 6, 20)
    assert sor.sponsor.ror == "https://ror.org/014vaxq24"
    assert {f.name for f in sor.funders} == {
        "Fondazione Michelangelo (Italy)",
        "Onyx Pharmaceuticals Inc (USA)",
    }
    assert sor.dates.first_enrolment == date(2007, 11, 22)
    assert sor.dates.final_enrolment == date(2010, 6, 30)
    assert sor.allocation.blinding == "double"
    assert sor.allocation.ratio == {"A": 1, "B": 1}
    sorafenib, placebo = sor.arm("A"), sor.arm("B")
    assert (sorafenib.product, sorafenib.dose_mg, sorafenib.tablets_per_dose) == (
        "sorafenib",
        400,
        2,
    )
    assert sorafenib.doses_per_day == 2
    assert (placebo.product, placebo.tablets_per_dose, placebo.doses_per_day) == (
        "matching placebo",
        2,
        2,
    )
    assert sor.population.sex == "female"
    assert sor.population.lower_age_years == 18
    assert sor.primary_endpoint.id == "PFS"
    assert {e.id for e in sor.endpoints} == {"PFS", "ORR", "DoR", "TTP", "OS", "SAFETY"}


def test_sor_design_parameters(sor: Protocol) -> None:
    design = sor.design
    assert design is not None
    assert (design.median_control, design.median_treatment) == (7.9, 12.2)
    assert (design.patients, design.events, design.events_after_enrolment) == (220, 120, 4)
    assert (design.decision_hr, design.alternative_hr) == (0.82, 0.65)


def test_sor_regimens(sor: Protocol) -> None:
    therapy = sor.background_therapy
    assert therapy is not None
    docetaxel = next(r for r in therapy.regimens if r.id == "docetaxel")
    assert (docetaxel.dose, docetaxel.dose_unit, docetaxel.cycle_days) == (75, "mg/m2", 21)
    assert (docetaxel.infusion_minutes, docetaxel.max_cycles) == (60, 6)
    letrozole = next(r for r in therapy.regimens if r.id == "letrozole")
    assert (letrozole.dose, letrozole.dose_unit, letrozole.frequency) == (2.5, "mg", "once daily")
    switch = next(r for r in therapy.rules if r.id == "chemotherapy_then_endocrine")
    assert switch.switch_window_days == (15, 21)


def test_every_numbered_criterion_and_sub_item_is_in_the_file(sor: Protocol) -> None:
    ids = [c.id for c in sor.eligibility.criteria]
    assert sorted(ids) == sorted(EXPECTED_IDS)
    assert len(ids) == 52


@pytest.mark.skipif(not SHARED_RECORD.exists(), reason="no shared/ beside this checkout")
def test_the_vendored_record_is_the_shared_one() -> None:
    assert RECORD.read_bytes() == SHARED_RECORD.read_bytes()


def test_criterion_texts_are_the_record_verbatim(sor: Protocol) -> None:
    # the record wraps lines inside hyphenated words ("(one-\nsided)"): join those first
    record = _words(re.sub(r"-[ \t]*\n\s*", "-", RECORD.read_text(encoding="utf-8")))
    for criterion in sor.eligibility.criteria:
        assert _words(criterion.text) in record, criterion.id
    for arm in sor.arms:
        assert _words(arm.text) in record, arm.id
    therapy = sor.background_therapy
    assert therapy is not None
    for rule in therapy.rules:
        assert _words(rule.text) in record, rule.id
    assert sor.design is not None
    assert _words(sor.design.text) in record


def test_a_second_protocol_needs_no_code_change() -> None:
    geri = load_protocol(DATA / "geriatric.yaml")
    assert geri.acronym == "GERI"
    assert geri.allocation.ratio == {"A": 2, "B": 1}
    sor = json.loads((EXAMPLES / "01_endocrine_bone_only.json").read_text(encoding="utf-8"))
    with pytest.raises(RecordError, match="Extra inputs"):  # GERI's own screening form
        parse_screening_record(geri, sor)
    data = {key: sor[key] for key in ("patient", "planned_randomisation_date", "ecog")}
    data["disease"] = {"bone": sor["disease"]["bone"]}
    data["labs"] = {"creatinine": sor["labs"]["creatinine"]}
    data["prior_therapies"] = {"advanced_disease_therapy": False}
    result = evaluate_eligibility(geri, parse_screening_record(geri, data))
    assert [c.id for c in result.criteria] == ["I1", "I2", "I2.1", "I2.2", "E1"]
    assert result.result("I1").status == "not_met"
    assert result.result("I1").reason == "age 61"
    assert result.result("I2").status == "met"
    assert result.eligible is False
    therapy = assign_background_therapy(geri, parse_screening_record(geri, data))
    assert therapy.group == "bone"
    data["patient"]["date_of_birth"] = "1930-01-01"
    assert evaluate_eligibility(geri, parse_screening_record(geri, data)).eligible is True


def _refusal(source: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(source, filename="bad.yaml")
    return caught.value


def test_invalid_yaml_names_the_line() -> None:
    error = _refusal("id: X\ntitle: [unclosed\n")
    assert error.location.startswith("bad.yaml:")
    assert "not valid YAML" in error.message


def test_a_wrong_value_names_file_line_and_path() -> None:
    source = SOR_SOURCE.replace("  patients: 220\n", "  patients: many\n")
    error = _refusal(source)
    line = SOR_SOURCE.splitlines().index("  patients: 220") + 1
    assert error.location == f"bad.yaml:{line}"
    assert error.message.startswith("design.patients:")
    assert "integer" in error.message


def test_an_unknown_key_is_refused() -> None:
    error = _refusal(SOR_SOURCE.replace("  events: 120\n", "  events: 120\n  evnets: 12\n"))
    assert "design.evnets" in error.message
    assert "Extra inputs are not permitted" in error.message


def test_a_broken_rule_names_the_criterion_line() -> None:
    source = SOR_SOURCE.replace("rule: r.ecog <= 1", "rule: r.ecog <=")
    error = _refusal(source)
    line = SOR_SOURCE.splitlines().index("      rule: r.ecog <= 1") + 1
    assert error.location.startswith(f"bad.yaml:{line}")
    assert "invalid CEL expression" in error.message


def test_events_the_patients_cannot_produce_are_refused() -> None:
    error = _refusal(SOR_SOURCE.replace("  events: 120\n", "  events: 250\n"))
    assert "220 patients can give at most 220 events" in error.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - id: I9\n", "  - id: I9x\n", "must look like I3, E13 or I10.5"),
        ("  - id: E3\n", "  - id: I3\n", "must start with E"),
        ("  ratio: {A: 1, B: 1}", "  ratio: {A: 1}", "weight for every arm"),
        ("    country: IT\n", "    country: FR\n", "not a country of the trial"),
        ("      combine: any\n", "", "needs combine: all|any"),
        ("  first_enrolment: 2007-11-22", "  first_enrolment: 2011-11-22", "first_enrolment <="),
    ],
)
def test_structural_mistakes_are_refused(old: str, new: str, message: str) -> None:
    assert old in SOR_SOURCE
    error = _refusal(SOR_SOURCE.replace(old, new, 1))
    assert re.search(re.escape(message), error.message), error.message


def test_a_missing_file_names_the_bundled_protocols(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match=r"give a bundled name \(sor\)"):
        load_protocol(tmp_path / "nope.yaml")
