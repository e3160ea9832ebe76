"""The safety core: SAE reports, terms, expectedness, SUSAR decisions, clocks and exports."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from trialkit.errors import InputError
from trialkit.protocol import load_protocol
from trialkit.safety import (
    Decision,
    assess,
    ctcae_term,
    ctcae_terms,
    decide,
    load_meddra,
    parse_sae_report,
    reporting_days,
    reporting_due,
)
from trialkit.safety.case import Case
from trialkit.safety.cioms import cioms_html
from trialkit.safety.e2b import HL7, icsr_xml

DRUGS = ("study_drug", "docetaxel", "letrozole")
MEDDRA = Path(__file__).parent / "meddra"


def values(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "term": "Stroke",
        "grade": 4,
        "onset_date": "2009-05-02",
        "criteria": ["hospitalisation", "life_threatening"],
        "aware_at": "2009-05-03T09:30",
        "causality": {
            "study_drug": "possible",
            "docetaxel": "unlikely",
            "letrozole": "not_related",
        },
        "outcome": "recovering",
        "narrative": "Admitted with left-sided weakness on day 40 of study drug.",
    }
    base.update(changes)
    return base


def test_a_complete_report_is_due_24_hours_after_the_site_became_aware() -> None:
    report = parse_sae_report(values(), drugs=DRUGS)
    assert report.complete
    assert report.due_at() == dt.datetime(2009, 5, 4, 9, 30, tzinfo=dt.UTC)
    assert report.related_drugs() == ("study_drug",)


def test_a_report_without_narrative_or_causality_is_kept_but_incomplete() -> None:
    report = parse_sae_report(
        values(narrative="", causality={"study_drug": "possible"}), drugs=DRUGS
    )
    assert not report.complete
    assert report.missing == ("narrative", "causality.docetaxel", "causality.letrozole")


def test_a_death_asks_for_the_date_of_death() -> None:
    report = parse_sae_report(values(criteria=["death"], outcome="fatal"), drugs=DRUGS)
    assert report.missing == ("death_date",)


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"criteria": ["hospitalised"]}, "criteria[0]"),
        ({"causality": {"sorafenib": "related"}}, "causality.sorafenib"),
        ({"causality": {"docetaxel": "maybe"}}, "causality.docetaxel"),
        ({"aware_at": "yesterday"}, "aware_at"),
        ({"aware_at": "2009-05-01T10:00"}, "aware_at"),
        ({"term": "Headache", "grade": 4}, "grade"),
        ({"term": "Brain fog"}, "term"),
        ({"colour": "red"}, "colour"),
        ({"outcome": "better"}, "outcome"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_item(
    changes: dict[str, object], location: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_sae_report(values(**changes), drugs=DRUGS)
    assert raised.value.location == location


def test_ctcae_terms_ship_with_their_grades() -> None:
    assert len(ctcae_terms()) > 50
    assert ctcae_term("febrile NEUTROPENIA").grades == (3, 4, 5)
    assert ctcae_term("Alopecia").grades == (1, 2)


def test_a_made_up_meddra_release_is_imported_from_its_ascii_files() -> None:
    meddra = load_meddra(MEDDRA, version="made-up 1.0")
    term = meddra.terms[92000002]
    assert (term.pt_code, term.pt_name, term.soc_name) == (
        91000001,
        "Made-up hand rash",
        "Made-up disorders of the skin",
    )
    assert [t.llt_code for t in meddra.search("palm")] == [92000002]  # the old term is not current
    assert meddra.by_name("made-up NEUTROPENIA") is not None


def test_a_broken_meddra_file_names_the_file_and_line(tmp_path: Path) -> None:
    for name in ("soc.asc", "pt.asc"):
        (tmp_path / name).write_text((MEDDRA / name).read_text())
    (tmp_path / "llt.asc").write_text("92000001$Rash$91000001$\nnot-a-code$Rash$91000001$\n")
    with pytest.raises(InputError) as raised:
        load_meddra(tmp_path)
    assert raised.value.location.endswith("llt.asc:2")
    (tmp_path / "llt.asc").unlink()
    with pytest.raises(InputError, match=r"llt\.asc is missing"):
        load_meddra(tmp_path)


def test_sor_holds_reference_safety_information_per_drug_to_be_confirmed() -> None:
    safety = load_protocol("sor").safety
    assert safety is not None
    assert safety.drugs() == DRUGS
    assert safety.blinded() == frozenset({"study_drug"})
    assert {d.status for d in safety.reference_safety_information} == {
        "to be confirmed by the sponsor"
    }
    assert "Palmar-plantar erythrodysesthesia syndrome" in safety.expected()["study_drug"]


def _assessment(term: str, sponsor: dict[str, str] | None = None, **changes: object):  # type: ignore[no-untyped-def]
    safety = load_protocol("sor").safety
    assert safety is not None
    report = parse_sae_report(values(term=term, **changes), drugs=DRUGS)
    return report, assess(
        report,
        sponsor_causality=sponsor or {},
        expected=safety.expected(),
        blinded=safety.blinded(),
    )


def test_a_related_unexpected_event_on_the_study_drug_waits_for_the_arm() -> None:
    _, assessment = _assessment("Stroke")
    assert assessment.suspects == ("study_drug",)
    assert assessment.needs_unblinding
    assert decide(assessment, active=None) is Decision.AWAITING_UNBLINDING
    assert decide(assessment, active=True) is Decision.SUSAR
    assert decide(assessment, active=False) is Decision.PLACEBO


def test_an_expected_reaction_is_not_a_susar() -> None:
    _, assessment = _assessment("Hypertension")
    assert not assessment.candidate
    assert decide(assessment, active=None) is Decision.NOT_SUSAR


def test_the_sponsor_cannot_downgrade_but_can_upgrade_causality() -> None:
    _, downgraded = _assessment("Stroke", {"study_drug": "not_related"})
    assert downgraded.suspects == ("study_drug",)
    _, upgraded = _assessment("Stroke", {"docetaxel": "probable"})
    assert upgraded.suspects == ("study_drug", "docetaxel")
    assert decide(upgraded, active=False) is Decision.SUSAR  # docetaxel is open


def test_the_clock_is_7_days_when_fatal_or_life_threatening_else_15() -> None:
    aware = dt.datetime(2009, 5, 3, 12, tzinfo=dt.UTC)
    report, _ = _assessment("Stroke")
    assert reporting_days(report) == 7
    assert reporting_due(report, aware) == aware + dt.timedelta(days=7)
    report, _ = _assessment("Stroke", criteria=["hospitalisation"])
    assert reporting_days(report) == 15


def _case() -> Case:
    report, assessment = _assessment("Stroke", {"study_drug": "probable"}, meddra_llt=92000001)
    moment = dt.datetime(2009, 5, 3, 10, tzinfo=dt.UTC)
    return Case(
        case_id="SAE-IT01-0007-1",
        version=2,
        sender="Example Sponsor GmbH",
        trial_acronym="SOR",
        protocol_id="SOR",
        trial_title="Sorafenib in breast cancer",
        country="IT",
        site_code="IT01",
        patient="IT01-0007",
        sex="female",
        age_years=54,
        report=report,
        assessment=assessment,
        products={"study_drug": "sorafenib", "docetaxel": "docetaxel", "letrozole": "letrozole"},
        first_received=moment,
        latest_received=moment + dt.timedelta(days=2),
        created=moment + dt.timedelta(days=3),
    )


def test_the_e2b_icsr_holds_the_required_elements() -> None:
    root = ET.fromstring(icsr_xml(_case()))
    ns = {"h": HL7}
    assert root.tag == f"{{{HL7}}}MCCI_IN200100UV01"
    assert root.find("h:id", ns) is not None  # N.1.2
    assert root.find("h:sender/h:device/h:id", ns).get("extension") == "Example Sponsor GmbH"  # type: ignore[union-attr]
    event = root.find(".//h:investigationEvent", ns)
    assert event is not None
    ids = [i.get("root") for i in event.findall("h:id", ns)]
    assert ids == ["2.16.840.1.113883.3.989.2.1.3.1", "2.16.840.1.113883.3.989.2.1.3.2"]
    assert event.find("h:text", ns).text.startswith("Admitted")  # type: ignore[union-attr]
    assert event.find("h:effectiveTime/h:low", ns).get("value") == "20090503100000"  # type: ignore[union-attr]
    values_ = {
        o.find("h:code", ns).get("code"): o.find("h:value", ns)  # type: ignore[union-attr]
        for o in root.iter(f"{{{HL7}}}observation")
    }
    assert values_["21"].get("value") == "true"  # life-threatening
    assert values_["33"].get("value") == "true"  # hospitalisation
    assert values_["34"].get("value") == "false"  # not death
    assert values_["27"].get("code") == "2"  # recovering
    assert values_["29"].get("code") == "92000001"
    assert values_["3"].get("value") == "54"
    products = [p.find("h:name", ns).text for p in root.iter(f"{{{HL7}}}kindOfProduct")]  # type: ignore[union-attr]
    assert products == ["sorafenib", "docetaxel", "letrozole"]
    causality = [c.find("h:value", ns).text for c in root.iter(f"{{{HL7}}}causalityAssessment")]  # type: ignore[union-attr]
    assert "probably related" in causality
    assert "possibly related" in causality
    study = event.find("h:subjectOf1/h:researchStudy", ns)
    assert study is not None
    assert study.find("h:id", ns).get("extension") == "SOR"


def test_the_cioms_form_ticks_the_seriousness_criteria() -> None:
    html = cioms_html(_case())
    assert "[X]</span> is life-threatening" in html
    assert "[ ]</span> results in death" in html
    assert "sorafenib" in html
    assert "follow-up 1" in html
