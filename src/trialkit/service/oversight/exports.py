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

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import trialkit
from trialkit.endpoints import planned_arms
from trialkit.errors import ConflictError
from trialkit.protocol import Protocol
from trialkit.service.capture.clinical import latest_records_of
from trialkit.service.capture.outcomes import usubjid
from trialkit.service.oversight.define_xml import define_xml
from trialkit.service.oversight.odm import (
    ODM_NS,
    event_oid,
    form_oid,
    oid,
    record_groups,
    study,
)
from trialkit.service.oversight.sdtm import Domain, sdtm_domains
from trialkit.service.oversight.sdtm_checks import Finding, check_sdtm
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site, Trial
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "ODM_NS",
    "Domain",
    "SdtmExport",
    "odm_metadata_xml",
    "odm_xml",
    "sdtm_domains",
    "sdtm_export",
]


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


def _odm_root(trial: Trial, q: Any, kind: str) -> ET.Element:
    now = utcnow().replace(microsecond=0).isoformat()  # on the trial's calendar
    return ET.Element(
        q("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"trialkit.{oid(trial.acronym)}.{kind}.{now}",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "trialkit",
            "SourceSystem": "trialkit",
            "SourceSystemVersion": trialkit.__version__,
        },
    )


def _protocol_with_forms(trial: Trial) -> Protocol:
    protocol = trial_protocol(trial)
    if protocol.forms is None:
        raise ConflictError(
            f"protocol {trial.protocol_name!r} of {trial.acronym} defines no forms: declare them "
            "under 'forms:' in the protocol file (docs/forms.md) to export ODM"
        )
    return protocol


def odm_metadata_xml(*, session: Session, actor: Principal, trial_id: int) -> bytes:
    """The trial's study metadata as CDISC ODM 1.3.2, generated from its form definitions."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.EXPORT_DATA, trial_id=trial.id)
    ET.register_namespace("", ODM_NS)
    root = _odm_root(trial, _q, "metadata")
    root.append(study(_protocol_with_forms(trial), _q))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def odm_xml(*, session: Session, actor: Principal, trial_id: int) -> bytes:
    """The latest captured records of every randomised patient as CDISC ODM 1.3.2 (snapshot),
    with the study metadata their OIDs refer to (:func:`odm_metadata_xml`)."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.EXPORT_DATA, trial_id=trial.id)
    protocol = _protocol_with_forms(trial)
    assert protocol.forms is not None
    ET.register_namespace("", ODM_NS)
    q = _q
    root = _odm_root(trial, q, "snapshot")
    study_el = study(protocol, q)
    root.append(study_el)
    mdv = study_el.find(q("MetaDataVersion"))
    assert mdv is not None
    clinical = ET.SubElement(
        root,
        q("ClinicalData"),
        {"StudyOID": str(study_el.get("OID")), "MetaDataVersionOID": str(mdv.get("OID"))},
    )
    forms = {form.name: form for form in protocol.forms.forms}
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
        events: dict[str, ET.Element] = {}
        for record in records_of.get(patient.id, []):
            form = forms.get(record.form)
            if form is None:
                raise ConflictError(
                    f"{subject} has a {record.form} record but protocol {trial.protocol_name!r} "
                    "defines no such form: add it to the protocol's forms"
                )
            if form.used not in events:
                events[form.used] = ET.SubElement(
                    subject_el, q("StudyEventData"), {"StudyEventOID": event_oid(form.used)}
                )
            form_el = ET.SubElement(
                events[form.used],
                q("FormData"),
                {"FormOID": form_oid(form.name), "FormRepeatKey": record.record_key},
            )
            for group_oid, repeat, items in record_groups(form, record.data):
                if not items:
                    continue
                attrs = {"ItemGroupOID": group_oid}
                if repeat is not None:
                    attrs["ItemGroupRepeatKey"] = repeat
                group_el = ET.SubElement(form_el, q("ItemGroupData"), attrs)
                for item_oid, value in items.items():
                    ET.SubElement(
                        group_el, q("ItemData"), {"ItemOID": item_oid, "Value": _value(value)}
                    )
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
