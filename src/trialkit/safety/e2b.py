"""An ICH E2B(R3) individual case safety report (ICSR) as HL7 v3 XML.

No package ships the E2B(R3) schema, so the document is built element by element with the
implementation guide's OIDs and the tests check its required elements (batch and message
headers, C.1 identification, C.2 reporter, C.3 sender, C.5 study, D patient, E reaction with
seriousness criteria and outcome, G drugs with causality, H narrative).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from trialkit.safety.case import Case
from trialkit.safety.sae import CAUSALITY, CRITERIA

__all__ = ["HL7", "icsr_xml"]

HL7 = "urn:hl7-org:v3"
_ICH = "2.16.840.1.113883.3.989.2.1"
_MEDDRA = "2.16.840.1.113883.6.163"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_OBSERVATION = f"{_ICH}.1.19"
_SERIOUSNESS = {
    "death": "34",
    "life_threatening": "21",
    "hospitalisation": "33",
    "disability": "35",
    "congenital_anomaly": "12",
    "medically_important": "26",
}
_OUTCOME = {
    "recovered": "1",
    "recovering": "2",
    "not_recovered": "3",
    "recovered_with_sequelae": "4",
    "fatal": "5",
    "unknown": "0",
}


def _ts(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return moment.strftime("%Y%m%d")


def _el(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{HL7}}}{tag}", attributes)


def _typed(element: ET.Element, xsi_type: str) -> ET.Element:
    element.set(f"{{{_XSI}}}type", xsi_type)
    return element


def _value(parent: ET.Element, code: str, xsi_type: str, /, **value: str) -> ET.Element:
    """An observation of ``code`` (the ICH observation code list) with a typed value."""
    observation = _el(parent, "observation", classCode="OBS", moodCode="EVN")
    _el(observation, "code", code=code, codeSystem=_OBSERVATION)
    _typed(_el(observation, "value", **value), xsi_type)
    return observation


def _id(parent: ET.Element, root: str, extension: str) -> None:
    _el(parent, "id", root=root, extension=extension)


def _device(parent: ET.Element, relation: str, type_code: str, root: str, name: str) -> None:
    _id(_el(_el(parent, relation, typeCode=type_code), "device", classCode="DEV"), root, name)


def _header(case: Case, safety_id: str) -> tuple[ET.Element, ET.Element]:
    """The batch (N.1) and its one message (N.2.r); returns (batch, investigation event)."""
    batch = ET.Element(f"{{{HL7}}}MCCI_IN200100UV01", ITSVersion="XML_1.0")
    _id(batch, f"{_ICH}.3.22", f"{safety_id}-v{case.version}")  # N.1.2 batch number
    _el(batch, "creationTime", value=_ts(case.created))  # N.1.5
    _el(batch, "responseModeCode", code="D")
    _el(batch, "interactionId", root="2.16.840.1.113883.1.6", extension="MCCI_IN200100UV01")
    _el(batch, "name", code="1", codeSystem=f"{_ICH}.1.1")  # N.1.1 ICH ICSR
    message = _el(batch, "PORR_IN049016UV")
    _id(message, f"{_ICH}.3.1", f"{safety_id}-v{case.version}")  # N.2.r.1
    _el(message, "creationTime", value=_ts(case.created))  # N.2.r.4
    _el(message, "interactionId", root="2.16.840.1.113883.1.6", extension="PORR_IN049016UV")
    _el(message, "processingCode", code="P")
    _el(message, "processingModeCode", code="T")
    _el(message, "acceptAckCode", code="AL")
    _device(message, "receiver", "RCV", f"{_ICH}.3.12", "EVHUMAN")  # N.2.r.3
    _device(message, "sender", "SND", f"{_ICH}.3.11", case.sender)  # N.2.r.2
    act = _el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _el(act, "code", code="PORR_TE049016UV", codeSystem="2.16.840.1.113883.1.18")
    _el(act, "effectiveTime", value=_ts(case.created))
    event = _el(
        _el(act, "subject", typeCode="SUBJ"),
        "investigationEvent",
        classCode="INVSTG",
        moodCode="EVN",
    )
    _device(batch, "receiver", "RCV", f"{_ICH}.3.14", "EVHUMAN")  # N.1.4
    _device(batch, "sender", "SND", f"{_ICH}.3.13", case.sender)  # N.1.3
    return batch, event


def icsr_xml(case: Case) -> bytes:
    """The case as an E2B(R3) ICSR batch holding one message (UTF-8 XML bytes)."""
    ET.register_namespace("", HL7)
    ET.register_namespace("xsi", _XSI)
    report = case.report
    safety_id = f"{case.protocol_id}-{case.case_id}"
    batch, event = _header(case, safety_id)
    _id(event, f"{_ICH}.3.1", safety_id)  # C.1.1 sender's safety report unique identifier
    _id(event, f"{_ICH}.3.2", safety_id)  # C.1.8.1 worldwide unique case identifier
    _el(event, "code", code="PAT_ADV_EVNT", codeSystem="2.16.840.1.113883.5.4")
    _el(event, "text").text = report.narrative or ""  # H.1 case narrative
    _el(event, "statusCode", code="active")
    _el(_el(event, "effectiveTime"), "low", value=_ts(case.first_received))  # C.1.4
    _el(event, "availabilityTime", value=_ts(case.latest_received))  # C.1.5
    # D the patient, with E the reaction and G the drugs under the adverse event assessment
    assessment = _el(
        _el(event, "component", typeCode="COMP"),
        "adverseEventAssessment",
        classCode="INVSTG",
        moodCode="EVN",
    )
    primary = _el(_el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    person = _el(primary, "player1", classCode="PSN", determinerCode="INSTANCE")
    _el(person, "name").text = case.patient  # D.1, a pseudonym (never a name)
    _el(
        person,
        "administrativeGenderCode",
        code="2" if case.sex == "female" else "1",
        codeSystem="1.0.5218",
    )  # D.5
    if case.age_years is not None:  # D.2.2a/b
        _value(
            _el(primary, "subjectOf2", typeCode="SBJ"),
            "3",
            "PQ",
            value=str(case.age_years),
            unit="a",
        )
    reaction = _value(
        _el(primary, "subjectOf2", typeCode="SBJ"),
        "29",
        "CE",
        **(
            {"code": str(report.meddra_llt), "codeSystem": _MEDDRA}
            if report.meddra_llt
            else {"nullFlavor": "UNK"}
        ),
    )
    _el(reaction.find(f"{{{HL7}}}value"), "originalText").text = report.term or ""  # type: ignore[arg-type]
    if report.onset_date:
        _el(_el(reaction, "effectiveTime"), "low", value=_ts(report.onset_date))  # E.i.4
    for criterion in CRITERIA:  # E.i.3.2a-f seriousness criteria
        _value(
            _el(reaction, "outboundRelationship2", typeCode="PERT"),
            _SERIOUSNESS[criterion],
            "BL",
            value=str(criterion in report.criteria).lower(),
        )
    _value(
        _el(reaction, "outboundRelationship2", typeCode="PERT"),
        "27",
        "CE",
        code=_OUTCOME[report.outcome or "unknown"],
        codeSystem=f"{_ICH}.1.11",
    )  # E.i.7
    for index, drug in enumerate(case.assessment.drugs, start=1):  # G.k
        organizer = _el(
            _el(primary, "subjectOf2", typeCode="SBJ"),
            "organizer",
            classCode="CATEGORY",
            moodCode="EVN",
        )
        given = _el(
            _el(organizer, "component", typeCode="COMP"),
            "substanceAdministration",
            classCode="SBADM",
            moodCode="EVN",
        )
        _id(given, "drug", str(index))
        product = _el(
            _el(_el(given, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
            "kindOfProduct",
            classCode="MMAT",
            determinerCode="KIND",
        )
        _el(product, "name").text = case.products.get(drug.drug, drug.drug)  # G.k.2.2
        role = _el(
            _el(assessment, "component", typeCode="COMP"),
            "causalityAssessment",
            classCode="OBS",
            moodCode="EVN",
        )
        _el(role, "code", code="20", codeSystem=_OBSERVATION)  # G.k.1 characterisation
        _typed(
            _el(role, "value", code="1" if drug.related else "2", codeSystem=f"{_ICH}.1.13"), "CE"
        )
        _id(
            _el(
                _el(role, "subject2", typeCode="SUBJ"),
                "productUseReference",
                classCode="SBADM",
                moodCode="EVN",
            ),
            "drug",
            str(index),
        )
        for source, result in (("investigator", drug.investigator), ("sponsor", drug.sponsor)):
            if result is None:
                continue
            relation = _el(
                _el(assessment, "component1", typeCode="COMP"),
                "causalityAssessment",
                classCode="OBS",
                moodCode="EVN",
            )
            _el(relation, "code", code="39", codeSystem=_OBSERVATION)  # G.k.9.i.2.r
            value = _typed(_el(relation, "value"), "ST")
            value.text = CAUSALITY[result]  # G.k.9.i.2.r.3 result
            _el(_el(relation, "methodCode"), "originalText").text = "global introspection"
            _el(
                _el(_el(relation, "author", typeCode="AUT"), "assignedEntity"), "code"
            ).text = source  # G.k.9.i.2.r.1 source of assessment
            _id(
                _el(
                    _el(relation, "subject2", typeCode="SUBJ"),
                    "productUseReference",
                    classCode="SBADM",
                    moodCode="EVN",
                ),
                "drug",
                str(index),
            )
    # C.2 the primary source (the investigator) and C.3 the sender (the sponsor)
    reporter = _el(
        _el(
            _el(
                _el(event, "outboundRelationship", typeCode="SPRT"),
                "relatedInvestigation",
                classCode="INVSTG",
                moodCode="EVN",
            ),
            "author",
            typeCode="AUT",
        ),
        "assignedEntity",
        classCode="ASSIGNED",
    )
    _el(_el(reporter, "addr"), "country").text = case.country  # C.2.r.3
    _el(reporter, "code", code="1", codeSystem=f"{_ICH}.1.6")  # C.2.r.4 physician
    _el(_el(reporter, "representedOrganization"), "name").text = f"site {case.site_code}"
    sponsor = _el(_el(event, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    _el(sponsor, "code", code="1", codeSystem=f"{_ICH}.1.3")  # C.3.1 pharmaceutical company
    _el(_el(sponsor, "representedOrganization"), "name").text = case.sender  # C.3.2
    # C.1.3 type of report (2: report from study) and C.5 the study
    _value(_el(event, "subjectOf2", typeCode="SUBJ"), "1", "CE", code="2", codeSystem=f"{_ICH}.1.2")
    study = _el(
        _el(event, "subjectOf1", typeCode="SBJ"),
        "researchStudy",
        classCode="CLNTRL",
        moodCode="EVN",
    )
    _id(study, f"{_ICH}.3.5", case.protocol_id)  # C.5.3 sponsor study number
    _el(study, "code", code="1", codeSystem=f"{_ICH}.1.8")  # C.5.4 clinical trial
    _el(study, "title").text = case.trial_title  # C.5.2 study name
    document: bytes = ET.tostring(batch, encoding="utf-8", xml_declaration=True)
    return document
