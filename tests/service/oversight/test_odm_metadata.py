"""ODM 1.3.2 study metadata from the form definitions: every item defined, every ref resolved."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from trialkit.protocol import load_protocol
from trialkit.service.oversight.odm import ODM_NS, form_groups, record_groups, study

NS = {"odm": ODM_NS}


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


@pytest.fixture(scope="module")
def sor() -> ET.Element:
    return study(load_protocol("sor"), _q)


def _defs(mdv: ET.Element, kind: str) -> dict[str, ET.Element]:
    return {str(e.get("OID")): e for e in mdv.findall(f"odm:{kind}", NS)}


def test_every_reference_resolves_and_the_order_is_the_schemas(sor: ET.Element) -> None:
    mdv = sor.find("odm:MetaDataVersion", NS)
    assert mdv is not None
    order = ["Protocol", "StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList"]
    order += ["ConditionDef", "MethodDef"]
    tags = [child.tag.removeprefix(f"{{{ODM_NS}}}") for child in mdv]
    assert tags == sorted(tags, key=order.index)
    events, forms = _defs(mdv, "StudyEventDef"), _defs(mdv, "FormDef")
    groups, items = _defs(mdv, "ItemGroupDef"), _defs(mdv, "ItemDef")
    lists = _defs(mdv, "CodeList")
    refs = {
        "StudyEventRef": ("StudyEventOID", events),
        "FormRef": ("FormOID", forms),
        "ItemGroupRef": ("ItemGroupOID", groups),
        "ItemRef": ("ItemOID", items),
        "CodeListRef": ("CodeListOID", lists),
    }
    used: dict[str, set[str]] = {}
    for tag, (attribute, defined) in refs.items():
        for ref in mdv.iter(_q(tag)):
            assert ref.get(attribute) in defined, (tag, ref.get(attribute))
            used.setdefault(tag, set()).add(str(ref.get(attribute)))
    # nothing defined that no one refers to
    assert used["ItemRef"] == set(items)
    assert used["ItemGroupRef"] == set(groups)
    assert used["FormRef"] == set(forms)
    units = {str(u.get("OID")) for u in sor.iter(_q("MeasurementUnit"))}
    assert {str(r.get("MeasurementUnitOID")) for r in mdv.iter(_q("MeasurementUnitRef"))} <= units


def test_sor_forms_items_and_code_lists_come_from_the_definitions(sor: ET.Element) -> None:
    protocol = load_protocol("sor")
    assert protocol.forms is not None
    mdv = sor.find("odm:MetaDataVersion", NS)
    assert mdv is not None
    forms, items = _defs(mdv, "FormDef"), _defs(mdv, "ItemDef")
    assert set(forms) == {f"F.{f.name.upper()}" for f in protocol.forms.forms}
    assert forms["F.ADVERSE_EVENT"].get("Repeating") == "Yes"
    assert forms["F.DEATH"].get("Repeating") == "No"
    term = items["IT.ADVERSE_EVENT.TERM"]
    assert term.get("DataType") == "text"
    assert term.get("Length") == "2000"
    assert term.get("SDSVarName") == "AETERM"
    assert term.findtext("odm:Question/odm:TranslatedText", None, NS) == "Term"
    aliases = {a.get("Context"): a.get("Name") for a in term.findall("odm:Alias", NS)}
    assert aliases == {"SDTM": "AE.AETERM", "CDASH": "AETERM"}
    grade = items["IT.ADVERSE_EVENT.GRADE"]
    assert grade.get("DataType") == "integer"
    ref = grade.find("odm:CodeListRef", NS)
    assert ref is not None
    assert ref.get("CodeListOID") == "CL.CTCAE_GRADE"
    # hard range, with the comparator of an exclusive bound
    dose = items["IT.DOCETAXEL_CYCLE.DOSE_MG"]
    checks = {(c.get("Comparator"), c.findtext("odm:CheckValue", None, NS)) for c in dose}
    assert {("GT", "0"), ("LE", "400")} <= checks
    unit = dose.find("odm:MeasurementUnitRef", NS)
    assert unit is not None
    assert unit.get("MeasurementUnitOID") == "MU.MG"
    # an edit check of the form, as a CEL rule on its item
    end = items["IT.ADVERSE_EVENT.END_DATE"]
    rule = end.find("odm:RangeCheck", NS)
    assert rule is not None
    assert rule.get("SoftHard") == "Hard"
    assert "days_between" in str(rule.findtext("odm:FormalExpression", None, NS))
    # a repeating group, a keyed item, a list
    groups = _defs(mdv, "ItemGroupDef")
    assert groups["IG.TUMOUR_BASELINE.TARGET"].get("Repeating") == "Yes"
    assert groups["IG.TUMOUR_ASSESSMENT.TARGET"].get("Repeating") == "Yes"
    assert groups["IG.STUDY_DRUG.KITS_DISPENSED"].get("Repeating") == "Yes"
    assert groups["IG.ADVERSE_EVENT"].get("Domain") == "AE"
    # a code list with its decodes, submission values and NCI code
    sex = _defs(mdv, "CodeList")["CL.SEX"]
    assert [c.get("CodedValue") for c in sex.findall("odm:CodeListItem", NS)] == ["female", "male"]
    female = sex.find("odm:CodeListItem", NS)
    assert female is not None
    assert female.findtext("odm:Decode/odm:TranslatedText", None, NS) == "Female"
    alias = female.find("odm:Alias", NS)
    assert alias is not None
    assert alias.get("Name") == "F"
    nci = sex.find("odm:Alias", NS)
    assert nci is not None
    assert (nci.get("Context"), nci.get("Name")) == ("nci:ExtCodeID", "C66731")
    # every item of every form has its ItemDef
    for form in protocol.forms.forms:
        defined = {oid for g in form_groups(form) for oid in _group_items(mdv, g.oid)}
        for path, item in form.walk():
            if item.type == "group" and not item.repeating:
                continue
            assert any(o.startswith(f"IT.{form.name.upper()}.{path.upper()}") for o in defined), (
                form.name,
                path,
            )


def _group_items(mdv: ET.Element, group_oid: str) -> list[str]:
    group = _defs(mdv, "ItemGroupDef")[group_oid]
    return [str(r.get("ItemOID")) for r in group.findall("odm:ItemRef", NS)]


def test_a_records_data_lands_in_the_oids_of_its_form() -> None:
    forms = load_protocol("sor").forms
    assert forms is not None
    assessment = forms.form("tumour_assessment")
    data = {
        "date": "2008-04-28",
        "target": {"T1": 30.0, "T2": "too_small"},
        "non_target": {"NT1": "present"},
        "new_lesions": False,
    }
    assert list(record_groups(assessment, data)) == [
        (
            "IG.TUMOUR_ASSESSMENT",
            None,
            {"IT.TUMOUR_ASSESSMENT.DATE": "2008-04-28", "IT.TUMOUR_ASSESSMENT.NEW_LESIONS": False},
        ),
        ("IG.TUMOUR_ASSESSMENT.TARGET", "T1", {"IT.TUMOUR_ASSESSMENT.TARGET": 30.0}),
        ("IG.TUMOUR_ASSESSMENT.TARGET", "T2", {"IT.TUMOUR_ASSESSMENT.TARGET": "too_small"}),
        ("IG.TUMOUR_ASSESSMENT.NON_TARGET", "NT1", {"IT.TUMOUR_ASSESSMENT.NON_TARGET": "present"}),
    ]
    screening = forms.screening
    assert screening is not None
    record = {"labs": {"alt": {"value": 30, "unit": "U/L", "uln": 40, "date": "2008-01-02"}}}
    groups = {g: items for g, _, items in record_groups(screening, record) if items}
    assert groups == {
        "IG.SCREENING.LABS.ALT": {
            "IT.SCREENING.LABS.ALT.VALUE": 30,
            "IT.SCREENING.LABS.ALT.UNIT": "U/L",
            "IT.SCREENING.LABS.ALT.ULN": 40,
            "IT.SCREENING.LABS.ALT.DATE": "2008-01-02",
        }
    }
