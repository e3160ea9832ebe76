"""SDTM domains and define.xml conform to SDTMIG 3.3 and Define-XML 2.1; ADSL carries demographics
and treatment, with arm names and codes from the protocol and none for a blinded caller.

The CDISC open-source rules engine cannot run here (it needs Python 3.12 and the CDISC Library's
rules, fetched with an API key), so :func:`~trialkit.service.oversight.sdtm_checks.check_sdtm`
checks the SDTMIG rules that apply, and these tests check both the export and that checker. They run
on
SQLite and on PostgreSQL (the ``session`` fixture).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import principal
from tests.report_world import ReportWorld, fill_trial
from trialkit.endpoints import ARM_COLUMNS
from trialkit.protocol import load_protocol
from trialkit.service.capture import capture
from trialkit.service.capture.outcomes import derive_datasets
from trialkit.service.oversight.define_xml import DEF_NS, ODM_NS, define_xml
from trialkit.service.oversight.exports import Domain, SdtmExport, sdtm_export
from trialkit.service.oversight.sdtm_checks import KNOWN_GAPS, REQUIRED, check_sdtm
from trialkit.service.platform.security import Security
from trialkit.service.randomisation.tables.randomisation import AllocationSlot, Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site

NS = {"odm": ODM_NS, "def": DEF_NS}


@pytest.fixture
def world(session: Session, security: Security) -> ReportWorld:
    return fill_trial(session, security, patients_n=6)


def _export(
    session: Session, security: Security, world: ReportWorld, *, unblinded: bool
) -> SdtmExport:
    user = world.unblinded if unblinded else world.statistician
    actor = principal(session, security, user)
    return sdtm_export(session=session, actor=actor, trial_id=world.trial_id, unblinded=unblinded)


def _table(domain: Domain) -> list[dict[str, object]]:
    return [dict(zip(domain.columns, row, strict=True)) for row in domain.rows]


def _domains(export: SdtmExport) -> dict[str, list[dict[str, object]]]:
    return {d.name: _table(d) for d in export.domains}


@pytest.mark.parametrize("unblinded", [False, True])
def test_sdtm_export_breaks_no_sdtmig_rule(
    session: Session, security: Security, world: ReportWorld, unblinded: bool
) -> None:
    export = _export(session, security, world, unblinded=unblinded)
    gaps = {(f.domain, f.variable) for f in export.findings}
    assert gaps == KNOWN_GAPS, [str(f) for f in export.findings]
    for domain in export.domains:
        assert 0 < len(domain.label) <= 40
        for variable in domain.variables():
            assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", variable.name)
            assert 0 < len(variable.label) <= 40, variable.name
        required = set(REQUIRED[domain.name]) - {v for d, v in KNOWN_GAPS if d == domain.name}
        if not unblinded and domain.name == "DM":
            required -= set(ARM_COLUMNS)
        assert required <= set(domain.columns), domain.name
        rows = _table(domain)
        if domain.name != "DM":
            seq = Counter((r["USUBJID"], r[f"{domain.name}SEQ"]) for r in rows)
            assert max(seq.values()) == 1
        for row in rows:
            for name, value in row.items():
                assert not isinstance(value, str) or len(value) <= 200
                if name.endswith("DTC") and value is not None:
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)), (name, value)
    tables = _domains(export)
    subjects = [r["USUBJID"] for r in tables["DM"]]
    assert len(subjects) == len(set(subjects)) == world.randomised
    for name, rows in tables.items():
        assert {r["USUBJID"] for r in rows} <= set(subjects), name


def test_dm_has_sex_age_country_and_the_site_code_once(
    session: Session, security: Security, world: ReportWorld
) -> None:
    export = _export(session, security, world, unblinded=False)
    dm = _domains(export)["DM"]
    sites = dict(session.execute(select(Site.code, Site.id)).all())
    for row in dm:
        assert row["SEX"] == "F"
        assert row["AGEU"] == "YEARS"
        assert isinstance(row["AGE"], int)
        assert 18 <= row["AGE"] < 100
        assert row["COUNTRY"] in ("DEU", "ITA")
        site = str(row["SITEID"])
        assert site in sites
        assert row["USUBJID"] == f"SOR-{row['SUBJID']}"
        assert str(row["USUBJID"]).count(site) == 1, row["USUBJID"]
        assert row["RFICDTC"] is not None
        assert "ARM" not in row
        assert "ARMCD" not in row


def test_usubjid_does_not_repeat_a_site_code_the_screening_number_holds(
    session: Session, security: Security, world: ReportWorld
) -> None:
    """A demo-style screening number (``IT01-001``) gives ``SOR-IT01-001``."""
    patient = session.scalars(select(Patient).order_by(Patient.id.desc())).first()
    assert patient is not None
    site = session.get(Site, patient.site_id)
    assert site is not None
    patient.screening_number = f"{site.code}-901"
    session.flush()
    dm = _domains(_export(session, security, world, unblinded=False))["DM"]
    assert f"SOR-{site.code}-901" in {r["USUBJID"] for r in dm}
    assert f"SOR-{site.code}-{site.code}-901" not in {r["USUBJID"] for r in dm}


def test_unblinded_dm_names_the_protocol_arms_and_blinded_holds_none(
    session: Session, security: Security, world: ReportWorld
) -> None:
    unblinded = _export(session, security, world, unblinded=True)
    arms = dict(
        session.execute(
            select(Randomisation.patient_id, AllocationSlot.arm).join(
                AllocationSlot, AllocationSlot.id == Randomisation.slot_id
            )
        ).all()
    )
    expected = {"A": ("SORAFENIB", "Sorafenib"), "B": ("PLACEBO", "Placebo")}
    dm = _domains(unblinded)["DM"]
    by_subject = {}
    for patient, site in session.execute(select(Patient, Site).join(Site)).all():
        if patient.id in arms:
            by_subject[f"SOR-{site.code}-{patient.screening_number}"] = arms[patient.id]
    for row in dm:
        code, name = expected[by_subject[str(row["USUBJID"])]]
        assert (row["ARMCD"], row["ARM"]) == (code, name)
        assert (row["ACTARMCD"], row["ACTARM"], row["ARMNRS"]) == (code, name, None)
    ex = _domains(unblinded)["EX"]
    assert {r["EXTRT"] for r in ex} <= {"SORAFENIB", "PLACEBO"}
    define = unblinded.define.decode()
    assert 'CodedValue="SORAFENIB"' in define
    assert ">Placebo<" in define

    blinded = _export(session, security, world, unblinded=False)
    dm_columns = next(d.columns for d in blinded.domains if d.name == "DM")
    assert not set(dm_columns) & {"ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS"}
    text = blinded.define.decode()
    assert "ARMCD" not in text
    assert "Sorafenib" not in text.replace("Sorafenib Compared", "")
    ex = _domains(blinded)["EX"]
    # the study drug is one name for both arms, with no dose that would tell them apart
    assert {r["EXTRT"] for r in ex if r["EXTRT"] not in ("DOCETAXEL", "LETROZOLE")} == {
        "SORAFENIB/PLACEBO"
    }
    assert all(r["EXDOSE"] is None for r in ex if r["EXTRT"] == "SORAFENIB/PLACEBO")


def test_events_use_cdisc_controlled_terms(
    session: Session, security: Security, world: ReportWorld
) -> None:
    tables = _domains(_export(session, security, world, unblinded=False))
    ae = tables["AE"]
    assert {r["AEREL"] for r in ae} == {"POSSIBLY RELATED"}
    assert {r["AEACN"] for r in ae} == {"DOSE NOT CHANGED"}
    assert {r["AESER"] for r in ae} <= {"Y", "N"}
    assert {r["AETOXGR"] for r in ae} <= {"1", "2", "3", "4", "5"}
    assert {r["EPOCH"] for r in ae} == {"TREATMENT"}
    ds = tables["DS"]
    decoded = {(r["DSCAT"], r["DSDECOD"]) for r in ds}
    assert ("PROTOCOL MILESTONE", "RANDOMIZED") in decoded
    assert ("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED") in decoded
    assert ("DISPOSITION EVENT", "PROGRESSIVE DISEASE") in decoded
    assert ("DISPOSITION EVENT", "DEATH") in decoded
    consent = [r for r in ds if r["DSDECOD"] == "INFORMED CONSENT OBTAINED"]
    assert {r["EPOCH"] for r in consent} <= {"SCREENING", "TREATMENT"}
    assert {r["TUTESTCD"] for r in tables["TU"]} == {"TUMIDENT"}
    assert {r["TUORRES"] for r in tables["TU"]} == {"TARGET"}
    assert {r["TRTESTCD"] for r in tables["TR"]} == {"LDIAM", "SUMDIAM"}
    rs = tables["RS"]
    assert {r["RSTESTCD"] for r in rs} == {"TRGRESP", "OVRLRESP", "BESTRESP"}
    assert {r["RSORRES"] for r in rs} <= {"CR", "PR", "SD", "PD", "NE"}
    assert {r["RSCAT"] for r in rs} == {"RECIST 1.1"}


def test_ex_and_ds_follow_the_forms_declarations(
    session: Session, security: Security, world: ReportWorld
) -> None:
    """Background therapy in EX by each exposure form's declared regimen (name, route and
    frequency from ``background_therapy``), dose and dates by its items' EX names; the end of
    study in DS with DSDECOD from the reason's code list."""
    investigator = principal(session, security, world.investigator)
    first, third = session.scalars(
        select(Randomisation.patient_id).order_by(Randomisation.patient_id)
    ).all()[0:3:2]  # both at the investigator's site (patients alternate sites)

    def record(patient_id: int, form: str, data: dict[str, object]) -> None:
        capture.record_form(
            session=session, actor=investigator, patient_id=patient_id, form=form, data=data
        )

    record(
        first,
        "docetaxel_cycle",
        {"cycle": 1, "date": "2008-03-05", "dose_mg_m2": 75, "dose_mg": 130},
    )
    record(
        first,
        "docetaxel_cycle",
        {"cycle": 2, "date": "2008-03-26", "dose_mg_m2": 60, "dose_mg": 104},
    )
    record(first, "letrozole", {"start_date": "2008-04-14", "dose_mg": 2.5})
    why = {"reason": "withdrawal_of_consent", "reason_text": "Moved abroad"}
    record(first, "end_of_study", {"date": "2008-10-01"} | why)
    record(third, "end_of_study", {"date": "2008-11-01", "reason": "completed"})
    record(third, "letrozole", {"start_date": "2008-01-02", "dose_mg": 2.5})
    tables = _domains(_export(session, security, world, unblinded=False))
    subjects = [r["USUBJID"] for r in tables["DM"]]
    therapy = load_protocol("sor").background_therapy
    assert therapy is not None
    regimens = {r.id: r for r in therapy.regimens}
    assert (regimens["docetaxel"].route, regimens["docetaxel"].frequency) == (
        "intravenous infusion",
        "day 1 every 21 days",
    )
    assert (regimens["letrozole"].route, regimens["letrozole"].frequency) == ("oral", "once daily")
    columns = ("EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ", "EXROUTE", "EXSTDTC", "EXENDTC", "EXDOSFRM")
    background = [
        tuple(r[c] for c in columns)
        for r in tables["EX"]
        if r["USUBJID"] == subjects[0] and r["EXTRT"] != "SORAFENIB/PLACEBO"
    ]
    assert background == [  # one infusion a cycle: its day starts and ends the exposure
        ("DOCETAXEL", 130.0, "mg", "Q3W", "INTRAVENOUS", "2008-03-05", "2008-03-05", None),
        ("DOCETAXEL", 104.0, "mg", "Q3W", "INTRAVENOUS", "2008-03-26", "2008-03-26", None),
        ("LETROZOLE", 2.5, "mg", "QD", "ORAL", "2008-04-14", None, None),
    ]
    blinded = [r for r in tables["EX"] if r["EXTRT"] == "SORAFENIB/PLACEBO"]
    assert {r["EXDOSFRM"] for r in blinded} == {"TABLET"}  # the study drug form's declaration
    # the first exposure is the study drug's (the form playing the study_drug role): a
    # background therapy started before it (the third patient's letrozole) tells no arm
    for dm in tables["DM"]:
        starts = [
            str(r["EXSTDTC"])
            for r in tables["EX"]
            if r["USUBJID"] == dm["USUBJID"] and r["EXTRT"] == "SORAFENIB/PLACEBO"
        ]
        assert dm["RFXSTDTC"] == min(starts, default=None), dm["USUBJID"]
    assert tables["DM"][2]["RFXSTDTC"] != "2008-01-02"  # not the letrozole before it
    ends = [
        (r["USUBJID"], r["DSTERM"], r["DSDECOD"], r["DSSTDTC"])
        for r in tables["DS"]
        if r["DSSCAT"] == "END OF STUDY"
    ]
    assert (subjects[0], "Moved abroad", "WITHDRAWAL BY SUBJECT", "2008-10-01") in ends
    assert (subjects[2], "COMPLETED", "COMPLETED", "2008-11-01") in ends


def test_define_xml_describes_every_dataset_and_variable(
    session: Session, security: Security, world: ReportWorld
) -> None:
    export = _export(session, security, world, unblinded=True)
    root = ET.fromstring(export.define)
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv is not None
    assert mdv.get(f"{{{DEF_NS}}}DefineVersion") == "2.1.0"
    standard = mdv.find("def:Standards/def:Standard", NS)
    assert standard is not None
    assert (standard.get("Name"), standard.get("Version")) == ("SDTMIG", "3.3")
    groups = {g.get("Name"): g for g in mdv.findall("odm:ItemGroupDef", NS)}
    assert set(groups) == {"DM", "DS", "EX", "AE", "TU", "TR", "RS"}
    items = {i.get("OID"): i for i in mdv.findall("odm:ItemDef", NS)}
    codelists = {c.get("OID"): c for c in mdv.findall("odm:CodeList", NS)}
    for domain in export.domains:
        group = groups[domain.name]
        assert group.findtext("odm:Description/odm:TranslatedText", None, NS) == domain.label
        assert group.get(f"{{{DEF_NS}}}Structure")
        assert group.find("def:Class", NS) is not None
        leaf = group.find("def:leaf", NS)
        assert leaf is not None
        assert leaf.get("{http://www.w3.org/1999/xlink}href") == f"{domain.name.lower()}.xpt"
        refs = group.findall("odm:ItemRef", NS)
        assert [items[r.get("ItemOID")].get("Name") for r in refs] == list(domain.columns)
        keys = sorted((int(str(r.get("KeySequence"))), r) for r in refs if r.get("KeySequence"))
        assert keys[0][1].get("ItemOID") == f"IT.{domain.name}.STUDYID"
        for variable in domain.variables():
            item = items[f"IT.{domain.name}.{variable.name}"]
            assert item.get("DataType") == variable.data_type
            text = item.findtext("odm:Description/odm:TranslatedText", None, NS)
            assert text == variable.label
            if variable.data_type in ("text", "integer"):
                assert 1 <= int(str(item.get("Length"))) <= 200
            if variable.codelist:
                ref = item.find("odm:CodeListRef", NS)
                assert ref is not None
                assert ref.get("CodeListOID") in codelists
    methods = {m.get("OID"): m for m in mdv.findall("odm:MethodDef", NS)}
    ages = [r for r in groups["DM"].findall("odm:ItemRef", NS) if r.get("ItemOID") == "IT.DM.AGE"]
    method = methods[ages[0].get("MethodOID")]
    assert "randomisation" in str(method.findtext("odm:Description/odm:TranslatedText", None, NS))
    sex = {e.get("CodedValue") for e in codelists["CL.SEX"].findall("odm:EnumeratedItem", NS)}
    assert sex == {"F", "M", "U"}
    assert "CL.ACN" in codelists
    assert "CL.NY" in codelists
    assert "CL.EPOCH" in codelists


def test_the_checker_finds_each_broken_rule() -> None:
    """Every rule of :func:`check_sdtm` reports a dataset that breaks it."""
    dm = Domain(
        "DM",
        "Demographics",
        ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY"),
        (
            ("SOR", "DM", "SOR-IT01-001", "IT01-001", "IT01", "female", "ITA"),
            ("SOR", "DM", "SOR-IT01-001", "IT01-001", "IT01", "F", "XXX"),
        ),
    )
    ae = Domain(
        "AE",
        "Adverse Events",
        ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEREL", "AESTDTC"),
        (
            ("SOR", "AE", "SOR-IT01-001", 1, "x" * 201, "probable", "20/03/2008"),
            ("SOR", "XX", "SOR-DE01-009", 1, "Rash", "RELATED", "2008-03-20"),
            ("SOR", "AE", "SOR-DE01-009", 1, "Rash", "RELATED", "2008-03-21"),
        ),
    )
    found = {(f.rule, f.domain, f.variable) for f in check_sdtm([dm, ae])}
    assert ("CT", "DM", "SEX") in found
    assert ("CT", "DM", "COUNTRY") in found
    assert ("USUBJID", "DM", "USUBJID") in found
    assert ("USUBJID", "AE", "USUBJID") in found
    assert ("LENGTH", "AE", "AETERM") in found
    assert ("CT", "AE", "AEREL") in found
    assert ("ISO8601", "AE", "AESTDTC") in found
    assert ("SEQ", "AE", "AESEQ") in found
    assert ("DOMAIN", "AE", "DOMAIN") in found
    assert ("REQUIRED", "AE", "AEDECOD") in found

    define = define_xml([dm], study="SOR", title="SOR", protocol_version="1")
    assert not [f for f in check_sdtm([dm], define) if f.rule == "DEFINE"]
    without_methods = re.sub(rb' MethodOID="[^"]+"', b"", define)
    found = {(f.rule, f.variable) for f in check_sdtm([dm], without_methods)}
    assert ("DEFINE", "USUBJID") in found  # a derived variable needs its MethodDef
    relabelled = define.replace(b">Demographics<", b">Demography<")
    assert ("DEFINE", None) in {(f.rule, f.variable) for f in check_sdtm([dm], relabelled)}


def test_adsl_from_the_database_has_demographics_and_protocol_arms(
    session: Session, security: Security, world: ReportWorld
) -> None:
    unblinded = principal(session, security, world.unblinded)
    data = derive_datasets(
        session=session, actor=unblinded, trial_id=world.trial_id, unblinded=True
    )
    for row in data.adsl:
        assert (row.SEX, row.AGEU) == ("F", "YEARS")
        assert row.AGE is not None
        assert row.COUNTRY in ("DEU", "ITA")
        assert row.TRT01P in ("Sorafenib", "Placebo")
        assert row.TRT01P.upper() == row.ARMCD
        assert {"Sorafenib": 1, "Placebo": 2}[row.TRT01P] == row.TRT01PN
        assert (row.TRT01A, row.TRT01AN) == (row.TRT01P, row.TRT01PN)  # kits of her arm
        assert (row.ITTFL, row.SAFFL) == ("Y", "Y")
        assert row.TRTSDT is not None
        assert row.TRTEDT is not None
    keys = [(r.USUBJID, r.PARAMCD) for r in data.adtte]
    assert len(keys) == len(set(keys))
    assert {p for _, p in keys} >= {"PFS", "TTP", "OS"}
    blinded = principal(session, security, world.statistician)
    pooled = derive_datasets(session=session, actor=blinded, trial_id=world.trial_id)
    for row in pooled.adsl:
        assert all(getattr(row, name) is None for name in ARM_COLUMNS)
        assert row.AGE is not None
