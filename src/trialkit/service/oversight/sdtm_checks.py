"""Conformance checks of SDTM domains and their define.xml against the SDTMIG 3.3 rules.

Details and reasoning: docs/reports.md, section `trialkit.service.oversight.sdtm_checks`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pycountry

from trialkit.service.oversight import sdtm_spec as cdisc
from trialkit.service.oversight.define_xml import DEF_NS, ODM_NS, variable_length
from trialkit.service.oversight.sdtm import ARM_VARIABLES, Domain

__all__ = ["KNOWN_GAPS", "REQUIRED", "Finding", "check_sdtm"]

REQUIRED: dict[str, tuple[str, ...]] = {
    "DM": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "SEX",
        "ARMCD",
        "ARM",
        "ACTARMCD",
        "ACTARM",
        "COUNTRY",
    ),
    "DS": ("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD"),
    "EX": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT"),
    "AE": ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD"),
    "TU": ("STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TUTESTCD", "TUTEST"),
    "TR": ("STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRTESTCD", "TRTEST"),
    "RS": ("STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST"),
}
"""SDTMIG 3.3's required variables of each domain trialkit exports."""

KNOWN_GAPS = frozenset({("AE", "AEDECOD")})
"""Required variables trialkit cannot fill: AEDECOD is the MedDRA preferred term, and coding
needs the licensed MedDRA dictionary, which trialkit does not hold."""

_NULLABLE_WHEN = {"ACTARMCD", "ACTARM"}
"""Required, but null for a randomised patient never treated (SDTMIG 3.3 with ARMNRS)."""

_ISO8601 = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")


@dataclass(frozen=True)
class Finding:
    """One breach of a rule: the rule, the dataset, the variable and what is wrong."""

    rule: str
    domain: str
    variable: str | None
    message: str

    def __str__(self) -> str:
        where = self.domain if self.variable is None else f"{self.domain}.{self.variable}"
        return f"{self.rule} {where}: {self.message}"


def check_sdtm(
    domains: Sequence[Domain],
    define: bytes | None = None,
    *,
    arm_names: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every SDTMIG rule the domains (and define.xml, when given) break.

    ``arm_names`` (ARMCD -> ARM, the protocol's arms) is the codelist of the arm variables of
    an unblinded export; a blinded export has none, and its DM is checked without them.
    """
    findings: list[Finding] = []
    for domain in domains:
        findings += _check_domain(domain, arm_names or {})
    findings += _check_subjects(domains)
    if define is not None:
        findings += _check_define(domains, define)
    return findings


def _check_domain(domain: Domain, arm_names: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    name = domain.name

    def add(rule: str, variable: str | None, message: str) -> None:
        out.append(Finding(rule, name, variable, message))

    if not _NAME.match(name):
        add("NAME", None, "dataset names have at most 8 capitals or digits")
    if not domain.label or len(domain.label) > 40:
        add("LABEL", None, f"dataset label {domain.label!r} is empty or over 40 characters")
    blinded = name == "DM" and not any(v in domain.columns for v in ARM_VARIABLES)
    for required in REQUIRED.get(name, ()):
        if blinded and required in ARM_VARIABLES:
            continue  # a blinded export holds no arm (trialkit's blinding policy)
        if required not in domain.columns:
            add("REQUIRED", required, "required variable missing")
            continue
        column = domain.columns.index(required)
        if required not in _NULLABLE_WHEN and any(row[column] in (None, "") for row in domain.rows):
            add("REQUIRED", required, "required variable is null in some records")
    variables = domain.variables()
    for column, variable in enumerate(variables):
        values = [row[column] for row in domain.rows]
        if not _NAME.match(variable.name):
            add("NAME", variable.name, "variable names have at most 8 capitals or digits")
        if not variable.label or len(variable.label) > 40:
            add("LABEL", variable.name, f"label {variable.label!r} is empty or over 40 characters")
        if not variable.numeric and variable_length(variable, values) > 200:
            add("LENGTH", variable.name, "a value is longer than 200 characters")
        if variable.name == "DOMAIN" and any(v != name for v in values):
            add("DOMAIN", variable.name, f"DOMAIN must be {name!r} in every record")
        if variable.data_type == "date":
            bad = [v for v in values if v is not None and not _ISO8601.match(str(v))]
            if bad:
                add("ISO8601", variable.name, f"not ISO 8601: {bad[0]!r}")
        out += [
            Finding("CT", name, variable.name, message)
            for message in _terms(variable, values, arm_names)
        ]
    if f"{name}SEQ" in domain.columns:
        subject = domain.columns.index("USUBJID")
        seq = domain.columns.index(f"{name}SEQ")
        keys = [(row[subject], row[seq]) for row in domain.rows]
        if len(keys) != len(set(keys)):
            add("SEQ", f"{name}SEQ", "not unique within USUBJID")
    return out


def _terms(
    variable: cdisc.Variable, values: Sequence[object], arm_names: Mapping[str, str]
) -> list[str]:
    if variable.codelist is None:
        return []
    present = {str(v) for v in values if v not in (None, "")}
    if variable.codelist == "COUNTRY":
        allowed = {v for v in present if pycountry.countries.get(alpha_3=v) is not None}
    elif variable.codelist == "ARMCD":
        allowed = set(arm_names)
    elif variable.codelist == "ARM":
        allowed = set(arm_names.values())
    else:
        allowed = set(cdisc.CODELISTS[variable.codelist].terms)
    wrong = sorted(present - allowed)
    return [f"{wrong[0]!r} is not in codelist {variable.codelist}"] if wrong else []


def _check_subjects(domains: Sequence[Domain]) -> list[Finding]:
    by_name = {d.name: d for d in domains}
    dm = by_name.get("DM")
    if dm is None:
        return [Finding("USUBJID", "DM", None, "no DM domain")]
    column = dm.columns.index("USUBJID")
    subjects = [row[column] for row in dm.rows]
    out = []
    if len(subjects) != len(set(subjects)):
        out.append(Finding("USUBJID", "DM", "USUBJID", "USUBJID repeats in DM"))
    known = set(subjects)
    for domain in domains:
        if domain.name == "DM":
            continue
        column = domain.columns.index("USUBJID")
        strays = {row[column] for row in domain.rows} - known
        if strays:
            out.append(
                Finding(
                    "USUBJID", domain.name, "USUBJID", f"{sorted(map(str, strays))[0]} not in DM"
                )
            )
    return out


def _check_define(domains: Sequence[Domain], define: bytes) -> list[Finding]:
    def add(domain: str, variable: str | None, message: str) -> None:
        out.append(Finding("DEFINE", domain, variable, message))

    out: list[Finding] = []
    ns = {"odm": ODM_NS, "def": DEF_NS}
    try:
        root = ET.fromstring(define)
    except ET.ParseError as exc:
        return [Finding("DEFINE", "define.xml", None, f"not well-formed XML: {exc}")]
    mdv = root.find("odm:Study/odm:MetaDataVersion", ns)
    if root.tag != f"{{{ODM_NS}}}ODM" or mdv is None:
        return [Finding("DEFINE", "define.xml", None, "no ODM/Study/MetaDataVersion")]
    if mdv.get(f"{{{DEF_NS}}}DefineVersion") != "2.1.0":
        add("define.xml", None, "def:DefineVersion is not 2.1.0")
    groups = {g.get("Name"): g for g in mdv.findall("odm:ItemGroupDef", ns)}
    items = {i.get("OID"): i for i in mdv.findall("odm:ItemDef", ns)}
    codelists = {c.get("OID") for c in mdv.findall("odm:CodeList", ns)}
    comments = {c.get("OID") for c in mdv.findall("def:CommentDef", ns)}
    methods = {m.get("OID") for m in mdv.findall("odm:MethodDef", ns)}
    for domain in domains:
        group = groups.get(domain.name)
        if group is None:
            add(domain.name, None, "no ItemGroupDef")
            continue
        label = group.findtext("odm:Description/odm:TranslatedText", None, ns)
        if label != domain.label:
            add(domain.name, None, f"ItemGroupDef label {label!r} is not {domain.label!r}")
        for attribute in ("Structure", "StandardOID", "ArchiveLocationID"):
            if not group.get(f"{{{DEF_NS}}}{attribute}"):
                add(domain.name, None, f"ItemGroupDef has no def:{attribute}")
        if group.find("def:Class", ns) is None or group.find("def:leaf", ns) is None:
            add(domain.name, None, "ItemGroupDef has no def:Class or def:leaf")
        refs = group.findall("odm:ItemRef", ns)
        names = [
            str(items[r.get("ItemOID")].get("Name")) if r.get("ItemOID") in items else ""
            for r in refs
        ]
        if names != list(domain.columns):
            add(domain.name, None, f"ItemRefs {names} are not the columns {list(domain.columns)}")
        keyed = sorted(
            (int(str(r.get("KeySequence"))), n)
            for r, n in zip(refs, names, strict=True)
            if r.get("KeySequence")
        )
        if [n for _, n in keyed] != list(domain.spec.keys):
            add(domain.name, None, f"keys {keyed} are not {domain.spec.keys}")
        for ref, variable in zip(refs, domain.variables(), strict=False):
            if variable.origin == "Derived" and ref.get("MethodOID") not in methods:
                add(domain.name, variable.name, "derived variable without a defined MethodDef")
        for column, variable in enumerate(domain.variables()):
            item = items.get(f"IT.{domain.name}.{variable.name}")
            if item is None:
                add(domain.name, variable.name, "no ItemDef")
                continue
            text = item.findtext("odm:Description/odm:TranslatedText", None, ns)
            if text != variable.label or item.get("DataType") != variable.data_type:
                add(domain.name, variable.name, "ItemDef label or DataType differs from the data")
            values = [row[column] for row in domain.rows]
            if variable.data_type != "date" and int(item.get("Length") or 0) < variable_length(
                variable, values
            ):
                add(domain.name, variable.name, "ItemDef Length is shorter than a value")
            listed = item.find("odm:CodeListRef", ns)
            if listed is not None and listed.get("CodeListOID") not in codelists:
                add(domain.name, variable.name, f"codelist {listed.get('CodeListOID')} undefined")
            comment = item.get(f"{{{DEF_NS}}}CommentOID")
            if comment is not None and comment not in comments:
                add(domain.name, variable.name, f"comment {comment} not defined")
    return out
