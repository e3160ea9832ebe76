"""The define.xml 2.1 for the SDTM domains: datasets, variables, codelists, derivations.

Details and reasoning: docs/reports.md, section `trialkit.service.oversight.define_xml`.

References
----------
CDISC Define-XML Specification v2.1 (2019); CDISC ODM v1.3.2; SDTMIG v3.3.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import trialkit
from trialkit.service.oversight import sdtm_spec as cdisc
from trialkit.service.oversight.sdtm import Domain, Value

__all__ = ["DEF_NS", "ODM_NS", "XLINK_NS", "define_xml", "variable_length"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
_STANDARD = "STD.SDTMIG.3.3"
_EN = {"{http://www.w3.org/XML/1998/namespace}lang": "en"}
_CT = "STD.CT.SDTM"


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _described(parent: ET.Element, tag: str, attrs: dict[str, str], text: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    description = ET.SubElement(element, _odm("Description"))
    ET.SubElement(description, _odm("TranslatedText"), _EN).text = text
    return element


def variable_length(variable: cdisc.Variable, values: Sequence[Value]) -> int:
    """The define.xml / XPT length of a variable: its longest value as text, at least 1."""
    texts = [_as_text(variable, v) for v in values if v is not None and v != ""]
    return max((len(t) for t in texts), default=1)


def _as_text(variable: cdisc.Variable, value: Value) -> str:
    if variable.data_type == "integer" and isinstance(value, int | float):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _decimals(values: Sequence[Value]) -> int:
    return max((len(f"{v:g}".partition(".")[2]) for v in values if isinstance(v, float)), default=0)


def define_xml(
    domains: Sequence[Domain],
    *,
    study: str,
    title: str,
    protocol_version: str,
    arm_names: dict[str, str] | None = None,
) -> bytes:
    """define.xml 2.1 describing ``domains`` (as written by ``trialkit export sdtm``).

    ``arm_names`` maps each ARMCD to its ARM (the protocol's arms); leave it out for a blinded
    export, whose DM has no arm variables.
    """
    ET.register_namespace("", ODM_NS)
    ET.register_namespace("def", DEF_NS)
    ET.register_namespace("xlink", XLINK_NS)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    root = ET.Element(
        _odm("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{study}.SDTM",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "trialkit",
            "SourceSystem": "trialkit",
            "SourceSystemVersion": trialkit.__version__,
            _def("Context"): "Submission",
        },
    )
    study_el = ET.SubElement(root, _odm("Study"), {"OID": f"ST.{study}"})
    gv = ET.SubElement(study_el, _odm("GlobalVariables"))
    ET.SubElement(gv, _odm("StudyName")).text = study
    ET.SubElement(gv, _odm("StudyDescription")).text = title
    ET.SubElement(gv, _odm("ProtocolName")).text = f"{study} {protocol_version}"
    mdv = ET.SubElement(
        study_el,
        _odm("MetaDataVersion"),
        {
            "OID": f"MDV.{study}.SDTMIG.3.3",
            "Name": f"{study} SDTM",
            "Description": "SDTM tabulation datasets of the captured data",
            _def("DefineVersion"): "2.1.0",
        },
    )
    standards = ET.SubElement(mdv, _def("Standards"))
    ET.SubElement(
        standards,
        _def("Standard"),
        {"OID": _STANDARD, "Name": "SDTMIG", "Type": "IG", "Version": "3.3", "Status": "Final"},
    )
    ET.SubElement(
        standards,
        _def("Standard"),
        {
            "OID": _CT,
            "Name": "CDISC/NCI",
            "Type": "CT",
            "PublishingSet": "SDTM",
            "Version": "2018-12-21",
            "Status": "Final",
        },
    )
    items: dict[str, tuple[cdisc.Variable, list[Value], str]] = {}
    used: set[str] = set()
    comments: dict[str, str] = {}
    methods: dict[str, str] = {}
    for domain in domains:
        spec = domain.spec
        group = _described(
            mdv,
            _odm("ItemGroupDef"),
            {
                "OID": f"IG.{domain.name}",
                "Name": domain.name,
                "Repeating": "No" if domain.name == "DM" else "Yes",
                "IsReferenceData": "No",
                "SASDatasetName": domain.name,
                "Domain": domain.name,
                "Purpose": "Tabulation",
                _def("Structure"): spec.structure,
                _def("StandardOID"): _STANDARD,
                _def("ArchiveLocationID"): f"LF.{domain.name}",
            },
            spec.label,
        )
        for order, variable in enumerate(domain.variables(), 1):
            oid = f"IT.{domain.name}.{variable.name}"
            ref = {
                "ItemOID": oid,
                "OrderNumber": str(order),
                "Mandatory": "Yes" if variable.core == "Req" else "No",
            }
            if variable.name in spec.keys:
                ref["KeySequence"] = str(spec.keys.index(variable.name) + 1)
            if variable.origin == "Derived":
                method = "SEQ" if variable.name.endswith("SEQ") else variable.name
                ref["MethodOID"] = f"MT.{method}"
                methods[f"MT.{method}"] = cdisc.derivation(variable.name)
            ET.SubElement(group, _odm("ItemRef"), ref)
            column = domain.columns.index(variable.name)
            items[oid] = (variable, [row[column] for row in domain.rows], domain.name)
        ET.SubElement(group, _def("Class"), {"Name": spec.observation_class})
        leaf = ET.SubElement(
            group,
            _def("leaf"),
            {"ID": f"LF.{domain.name}", f"{{{XLINK_NS}}}href": f"{domain.name.lower()}.xpt"},
        )
        ET.SubElement(leaf, _def("title")).text = f"{domain.name.lower()}.xpt"
    for oid, (variable, values, _) in items.items():
        attrs = {
            "OID": oid,
            "Name": variable.name,
            "DataType": variable.data_type,
            "SASFieldName": variable.name,
        }
        if variable.data_type != "date":
            attrs["Length"] = str(variable_length(variable, values))
        if variable.data_type == "float":
            attrs["SignificantDigits"] = str(_decimals(values))
        if variable.comment:
            comment_oid = f"COM.{variable.name}"
            comments[comment_oid] = variable.comment
            attrs[_def("CommentOID")] = comment_oid
        item = _described(mdv, _odm("ItemDef"), attrs, variable.label)
        if variable.codelist:
            used.add(variable.codelist)
            ET.SubElement(item, _odm("CodeListRef"), {"CodeListOID": f"CL.{variable.codelist}"})
        origin: dict[str, str] = {"Type": variable.origin}
        if variable.origin == "Collected":
            origin["Source"] = "Investigator"
        elif variable.origin in ("Assigned", "Derived"):
            origin["Source"] = "Sponsor"
        ET.SubElement(item, _def("Origin"), origin)
    lists = dict(cdisc.CODELISTS)
    lists.update(_trial_codelists(arm_names))
    for name in sorted(used):
        codelist = lists[name]
        attrs = {"OID": f"CL.{name}", "Name": codelist.name, "DataType": codelist.data_type}
        if codelist.cdisc:
            attrs[_def("StandardOID")] = _CT
        element = ET.SubElement(mdv, _odm("CodeList"), attrs)
        if name == "COUNTRY":
            ET.SubElement(element, _odm("ExternalCodeList"), {"Dictionary": "ISO 3166-1 alpha-3"})
            continue
        decodes = arm_names if name == "ARMCD" else None
        for term in codelist.terms:
            if decodes is not None:
                entry = ET.SubElement(element, _odm("CodeListItem"), {"CodedValue": term})
                decode = ET.SubElement(entry, _odm("Decode"))
                ET.SubElement(decode, _odm("TranslatedText"), _EN).text = decodes[term]
            else:
                ET.SubElement(element, _odm("EnumeratedItem"), {"CodedValue": term})
    for oid, text in methods.items():
        name = oid.removeprefix("MT.")
        attrs = {"OID": oid, "Name": f"Derivation of {name}", "Type": "Computation"}
        _described(mdv, _odm("MethodDef"), attrs, text)
    for oid, text in comments.items():
        _described(mdv, _def("CommentDef"), {"OID": oid}, text)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _trial_codelists(arm_names: dict[str, str] | None) -> dict[str, cdisc.CodeList]:
    arms = arm_names or {}
    return {
        "ARMCD": cdisc.CodeList("Planned Arm Code", tuple(arms), cdisc=False),
        "ARM": cdisc.CodeList("Description of Planned Arm", tuple(arms.values()), cdisc=False),
        "COUNTRY": cdisc.CodeList("Country", (), cdisc=False),
    }
