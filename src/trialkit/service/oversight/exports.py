"""Exports of the captured data: SDTM domains and CDISC ODM 1.3 XML.

SDTM (DM, DS, EX, AE, TU, TR, RS; SDTMIG 3.3) are built by :mod:`.sdtm` and returned as tables
of text and numbers with their metadata; the command line writes them as CSV and SAS transport
(XPT v5) with define.xml 2.1 beside them (:mod:`.define_xml`). No domain carries an arm unless
the caller is unblinded (then DM gets ``ARMCD``/``ARM``/``ACTARMCD``/``ACTARM``).

Details and reasoning: docs/reports.md, section `trialkit.service.oversight.exports`.

References
----------
CDISC SDTM Implementation Guide v3.3; CDISC ODM v1.3.2.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import trialkit
from trialkit.endpoints import planned_arms
from trialkit.service.capture.clinical import latest_records_of
from trialkit.service.capture.outcomes import usubjid
from trialkit.service.oversight.define_xml import define_xml
from trialkit.service.oversight.sdtm import Domain, sdtm_domains
from trialkit.service.oversight.sdtm_checks import Finding, check_sdtm
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site, Trial
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["ODM_NS", "Domain", "SdtmExport", "odm_xml", "sdtm_domains", "sdtm_export"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"


@dataclass(frozen=True)
class SdtmExport:
    """The SDTM domains, their define.xml 2.1, and what the conformance checks found."""

    domains: tuple[Domain, ...]
    define: bytes
    findings: tuple[Finding, ...]


def sdtm_export(
    *, session: Session, actor: Principal, trial_id: int, unblinded: bool = False
) -> SdtmExport:
    """:func:`sdtm_domains` with define.xml, checked (:func:`.sdtm_checks.check_sdtm`)."""
    domains = sdtm_domains(session=session, actor=actor, trial_id=trial_id, unblinded=unblinded)
    trial = get_trial_or_raise(session, trial_id)
    arms = planned_arms(trial_protocol(trial).arms)
    arm_names = {a.code: a.name for a in arms.values()} if unblinded else None
    define = define_xml(
        domains,
        study=trial.acronym,
        title=trial.title,
        protocol_version=trial.protocol_version,
        arm_names=arm_names,
    )
    findings = check_sdtm(domains, define, arm_names=arm_names)
    return SdtmExport(tuple(domains), define, tuple(findings))


def _patients(session: Session, trial: Trial) -> Iterator[tuple[Patient, Site, str]]:
    rows = session.execute(
        select(Patient, Site)
        .join(Site, Site.id == Patient.site_id)
        .where(Patient.trial_id == trial.id)
        .order_by(Patient.id)
    ).all()
    for patient, site in rows:
        yield patient, site, usubjid(trial, site, patient)


def _oid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", text).upper()


def _groups(form: str, data: dict[str, Any]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(item group OID, repeat key, scalar items) for one record's data."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    yield f"IG.{_oid(form)}", None, scalars
    for key, value in data.items():
        group = f"IG.{_oid(form)}.{_oid(key)}"
        if isinstance(value, list):
            for k, element in enumerate(value, 1):
                items = (
                    {n: v for n, v in element.items() if not isinstance(v, dict | list)}
                    if isinstance(element, dict)
                    else {"value": element}
                )
                yield group, str(k), items
        elif isinstance(value, dict):
            for lesion, element in value.items():
                yield group, str(lesion), {"value": element}


def odm_xml(*, session: Session, actor: Principal, trial_id: int) -> bytes:
    """The latest captured records of every randomised patient as CDISC ODM 1.3 (snapshot)."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.EXPORT_DATA, trial_id=trial.id)
    ET.register_namespace("", ODM_NS)

    def q(tag: str) -> str:
        return f"{{{ODM_NS}}}{tag}"

    now = utcnow().replace(microsecond=0).isoformat()  # on the trial's calendar
    root = ET.Element(
        q("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"trialkit.{_oid(trial.acronym)}.{now}",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "trialkit",
            "SourceSystem": "trialkit",
            "SourceSystemVersion": trialkit.__version__,
        },
    )
    study_oid = f"ST.{_oid(trial.acronym)}"
    mdv_oid = f"MDV.{_oid(trial.protocol_version)}"
    study = ET.SubElement(root, q("Study"), {"OID": study_oid})
    gv = ET.SubElement(study, q("GlobalVariables"))
    ET.SubElement(gv, q("StudyName")).text = trial.acronym
    ET.SubElement(gv, q("StudyDescription")).text = trial.title
    ET.SubElement(gv, q("ProtocolName")).text = trial.protocol_version
    mdv = ET.SubElement(study, q("MetaDataVersion"), {"OID": mdv_oid, "Name": mdv_oid})
    clinical = ET.SubElement(
        root, q("ClinicalData"), {"StudyOID": study_oid, "MetaDataVersionOID": mdv_oid}
    )
    forms: dict[str, dict[str, dict[str, str]]] = {}  # form OID -> group OID -> items
    repeating: set[str] = set()
    in_trial = select(Patient.id).where(Patient.trial_id == trial.id)
    randomised = set(
        session.scalars(
            select(Randomisation.patient_id).where(
                Randomisation.patient_id.in_(in_trial.scalar_subquery())
            )
        )
    )
    records_of = latest_records_of(session, in_trial)
    for patient, _, subject in _patients(session, trial):
        if patient.id not in randomised:
            continue
        subject_el = ET.SubElement(clinical, q("SubjectData"), {"SubjectKey": subject})
        event = ET.SubElement(subject_el, q("StudyEventData"), {"StudyEventOID": "SE.ONSTUDY"})
        for record in records_of.get(patient.id, []):
            form_oid = f"F.{_oid(record.form)}"
            form_el = ET.SubElement(
                event,
                q("FormData"),
                {"FormOID": form_oid, "FormRepeatKey": record.record_key},
            )
            for group_oid, repeat, items in _groups(record.form, record.data):
                attrs = {"ItemGroupOID": group_oid}
                if repeat is not None:
                    attrs["ItemGroupRepeatKey"] = repeat
                    repeating.add(group_oid)
                group_el = ET.SubElement(form_el, q("ItemGroupData"), attrs)
                defs = forms.setdefault(form_oid, {}).setdefault(group_oid, {})
                for name, value in items.items():
                    if value is None:
                        continue
                    item_oid = f"IT.{group_oid.removeprefix('IG.')}.{_oid(name)}"
                    defs[item_oid] = _data_type(value)
                    ET.SubElement(
                        group_el,
                        q("ItemData"),
                        {"ItemOID": item_oid, "Value": _value(value)},
                    )
    _metadata(mdv, q, forms, repeating)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _data_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return "date"
    return "text"


def _metadata(
    mdv: ET.Element,
    q: Any,
    forms: dict[str, dict[str, dict[str, str]]],
    repeating: set[str],
) -> None:
    ET.SubElement(mdv, q("Protocol")).append(
        ET.Element(q("StudyEventRef"), {"StudyEventOID": "SE.ONSTUDY", "Mandatory": "Yes"})
    )
    event = ET.SubElement(
        mdv,
        q("StudyEventDef"),
        {"OID": "SE.ONSTUDY", "Name": "On study", "Repeating": "No", "Type": "Common"},
    )
    for form_oid in forms:
        ET.SubElement(event, q("FormRef"), {"FormOID": form_oid, "Mandatory": "No"})
    for form_oid, groups in forms.items():
        form = ET.SubElement(
            mdv, q("FormDef"), {"OID": form_oid, "Name": form_oid[2:].lower(), "Repeating": "Yes"}
        )
        for group_oid in groups:
            ET.SubElement(form, q("ItemGroupRef"), {"ItemGroupOID": group_oid, "Mandatory": "No"})
    items: dict[str, str] = {}
    for groups in forms.values():
        for group_oid, defs in groups.items():
            group = ET.SubElement(
                mdv,
                q("ItemGroupDef"),
                {
                    "OID": group_oid,
                    "Name": group_oid[3:].lower(),
                    "Repeating": "Yes" if group_oid in repeating else "No",
                },
            )
            for item_oid, data_type in defs.items():
                ET.SubElement(group, q("ItemRef"), {"ItemOID": item_oid, "Mandatory": "No"})
                items[item_oid] = data_type
    for item_oid, data_type in items.items():
        ET.SubElement(
            mdv,
            q("ItemDef"),
            {"OID": item_oid, "Name": item_oid[3:].lower(), "DataType": data_type},
        )
