"""Exports of the captured data: SDTM-shaped domains and CDISC ODM 1.3 XML.

SDTM (DM, DS, EX, AE, TU, TR, RS) are returned as tables of text and numbers; the command line
writes them as CSV and SAS transport (XPT v5). Variable names follow SDTMIG 3.x, shortened to
what the data hold. The blinded study drug is ``SORAFENIB/PLACEBO`` and no domain carries an
arm unless the caller is unblinded (then DM gets ``ARMCD``/``ARM``).

ODM holds every latest record as ``SubjectData / StudyEventData / FormData / ItemGroupData /
ItemData``: a form's scalar fields form one item group; each list or mapping (lesions, target
measurements, kits) a repeating item group keyed by index or lesion id.

References
----------
CDISC SDTM Implementation Guide v3.4 (DM, DS, EX, AE, TU, TR, RS); CDISC ODM v1.3.2.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import trialkit
from trialkit.endpoints import evaluate_recist
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.protocol.model import ResponseCriteria
from trialkit.service.clinical import latest_records_of, lesion_record
from trialkit.service.forms import Form
from trialkit.service.outcomes import authorise_export, trial_outcomes, usubjid
from trialkit.service.policy import Action, authorize
from trialkit.service.principal import Principal
from trialkit.service.trials import get_trial_or_raise, trial_protocol
from trialkit.store.base import utcnow
from trialkit.store.capture import CaptureRecord
from trialkit.store.patients import Patient
from trialkit.store.randomisation import Randomisation
from trialkit.store.trials import Site, Trial

__all__ = ["ODM_NS", "Domain", "odm_xml", "sdtm_domains"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
Value = str | float | None


@dataclass(frozen=True)
class Domain:
    """One SDTM domain: its two-letter name, its label, columns and rows."""

    name: str
    label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]


_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "DM": (
        "Demographics",
        ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "RFSTDTC", "DTHDTC", "DTHFL"),
    ),
    "DS": (
        "Disposition",
        ("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC"),
    ),
    "EX": (
        "Exposure",
        (
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "EXSEQ",
            "EXTRT",
            "EXDOSE",
            "EXDOSU",
            "EXSTDTC",
            "EXENDTC",
        ),
    ),
    "AE": (
        "Adverse Events",
        (
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "AESEQ",
            "AESPID",
            "AETERM",
            "AETOXGR",
            "AESER",
            "AEREL",
            "AEACN",
            "AESTDTC",
            "AEENDTC",
        ),
    ),
    "TU": (
        "Tumor/Lesion Identification",
        (
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "TUSEQ",
            "TULNKID",
            "TUORRES",
            "TULOC",
            "TUMETHOD",
            "TUDTC",
        ),
    ),
    "TR": (
        "Tumor/Lesion Results",
        (
            "STUDYID",
            "DOMAIN",
            "USUBJID",
            "TRSEQ",
            "TRLNKID",
            "TRTESTCD",
            "TRORRES",
            "TRSTRESN",
            "TRORRESU",
            "TRDTC",
        ),
    ),
    "RS": (
        "Disease Response",
        ("STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSORRES", "RSEVAL", "RSDTC"),
    ),
}
_BLINDED_DRUG = "SORAFENIB/PLACEBO"


def _patients(session: Session, trial: Trial) -> Iterator[tuple[Patient, Site, str]]:
    rows = session.execute(
        select(Patient, Site)
        .join(Site, Site.id == Patient.site_id)
        .where(Patient.trial_id == trial.id)
        .order_by(Patient.id)
    ).all()
    for patient, site in rows:
        yield patient, site, usubjid(trial, site, patient)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _by_form(records: list[CaptureRecord], form: Form) -> list[CaptureRecord]:
    return [r for r in records if r.form == form]


def sdtm_domains(
    *, session: Session, actor: Principal, trial_id: int, unblinded: bool = False
) -> list[Domain]:
    """The SDTM-shaped domains of every randomised patient (authorised as a data export).

    All patients are read in a fixed few statements (:func:`.outcomes.trial_outcomes`).
    """
    trial = authorise_export(session=session, actor=actor, trial_id=trial_id, unblinded=unblinded)
    outcomes = trial_outcomes(session, trial, with_arm=unblinded)
    criteria = trial_protocol(trial).response or DEFAULT_CRITERIA
    study = trial.acronym
    out: dict[str, list[tuple[Value, ...]]] = {name: [] for name in _COLUMNS}
    for patient, site, subject in _patients(session, trial):
        if patient.id not in outcomes:
            continue  # not randomised: nothing captured
        outcome, records = outcomes[patient.id]
        died = outcome.death_date
        dm: tuple[Value, ...] = (
            study,
            "DM",
            subject,
            patient.screening_number,
            site.code,
            _text(outcome.first_dose_date),
            _text(died),
            "Y" if died else None,
        )
        out["DM"].append(dm + ((outcome.arm, outcome.arm) if unblinded else ()))
        ds: list[tuple[str, str, str, Any]] = [
            ("RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE", outcome.randomisation_date)
        ]
        for form, category in (
            (Form.END_OF_TREATMENT, "END OF TREATMENT"),
            (Form.END_OF_STUDY, "END OF STUDY"),
        ):
            for r in _by_form(records, form):
                reason = str(r.data.get("reason") or "UNKNOWN").upper().replace("_", " ")
                ds.append((reason, reason, f"DISPOSITION EVENT - {category}", r.data.get("date")))
        if died:
            ds.append(("DEATH", "DEATH", "DISPOSITION EVENT - DEATH", died))
        for k, (term, decod, cat, when) in enumerate(ds, 1):
            out["DS"].append((study, "DS", subject, float(k), term, decod, cat, _text(when)))
        ex: list[tuple[str, float | None, Any, Any]] = []
        for r in _by_form(records, Form.STUDY_DRUG):
            ex.append((_BLINDED_DRUG, None, r.data.get("start_date"), r.data.get("end_date")))
        for r in _by_form(records, Form.DOCETAXEL_CYCLE):
            ex.append(("DOCETAXEL", r.data.get("dose_mg"), r.data.get("date"), r.data.get("date")))
        for r in _by_form(records, Form.LETROZOLE):
            ex.append(("LETROZOLE", r.data.get("dose_mg"), r.data.get("start_date"), None))
        for k, (treatment, dose, start, end) in enumerate(ex, 1):
            out["EX"].append(
                (study, "EX", subject, float(k), treatment, dose, "mg", _text(start), _text(end))
            )
        for k, r in enumerate(_by_form(records, Form.ADVERSE_EVENT), 1):
            d = r.data
            serious = None if d.get("serious") is None else ("Y" if d["serious"] else "N")
            out["AE"].append(
                (
                    study,
                    "AE",
                    subject,
                    float(k),
                    r.record_key,
                    d.get("term"),
                    _text(d.get("grade")),
                    serious,
                    _text(d.get("relationship")),
                    _text(d.get("action_taken")),
                    _text(d.get("start_date")),
                    _text(d.get("end_date")),
                )
            )
        _tumour_domains(records, outcome.randomisation_date, criteria, study, subject, out)
    domains = []
    for name, (label, columns) in _COLUMNS.items():
        if name == "DM" and unblinded:
            columns = (*columns, "ARMCD", "ARM")
        domains.append(Domain(name, label, columns, tuple(out[name])))
    return domains


def _tumour_domains(
    records: list[CaptureRecord],
    randomised_on: dt.date,
    criteria: ResponseCriteria,
    study: str,
    subject: str,
    out: dict[str, list[tuple[Value, ...]]],
) -> None:
    baseline = next(iter(_by_form(records, Form.TUMOUR_BASELINE)), None)
    if baseline is None:
        return
    when = _text(baseline.data.get("date"))
    lesions = [("TARGET", x) for x in baseline.data.get("target", [])]
    lesions += [("NON-TARGET", x) for x in baseline.data.get("non_target", [])]
    for k, (kind, lesion) in enumerate(lesions, 1):
        out["TU"].append(
            (
                study,
                "TU",
                subject,
                float(k),
                lesion["id"],
                kind,
                lesion["organ"],
                lesion.get("method"),
                when,
            )
        )
    tr: list[tuple[str, str, str | None, float | None, str | None, str | None]] = []
    for _, lesion in lesions[: len(baseline.data.get("target", []))]:
        mm = float(lesion["diameter_mm"])
        tr.append((lesion["id"], "DIAMETER", f"{mm:g}", mm, "mm", when))
    scans = sorted(
        (r for r in _by_form(records, Form.TUMOUR_ASSESSMENT) if r.data.get("date")),
        key=lambda r: str(r.data["date"]),
    )
    for r in scans:
        on = str(r.data["date"])
        for lesion_id, value in r.data.get("target", {}).items():
            if value == "too_small":
                tr.append((lesion_id, "DIAMETER", "TOO SMALL TO MEASURE", 5.0, "mm", on))
            elif value is not None:
                tr.append((lesion_id, "DIAMETER", f"{float(value):g}", float(value), "mm", on))
        for lesion_id, state in r.data.get("non_target", {}).items():
            if state is not None:
                tr.append((lesion_id, "TUMSTATE", state.upper().replace("_", " "), None, None, on))
    for k, row in enumerate(tr, 1):
        out["TR"].append((study, "TR", subject, float(k), *row))
    recist_input, _ = lesion_record(records, randomised_on)
    if recist_input is None:
        return
    evaluation = evaluate_recist(recist_input, criteria)
    rs: list[tuple[str, str, str | None]] = []
    for t in evaluation.assessments:
        on = t.date.isoformat()
        rs += [
            ("TRGRESP", t.target.response, on),
            ("NTRGRESP", t.non_target_response, on),
            ("OVRLRESP", t.overall_response, on),
        ]
    rs.append(("BESTRESP", evaluation.best.response, _text(evaluation.best.date)))
    for k, (code, result, on_date) in enumerate(rs, 1):
        out["RS"].append((study, "RS", subject, float(k), code, result, "INVESTIGATOR", on_date))


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
