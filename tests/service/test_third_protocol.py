"""A third protocol, written only as data, runs screening to report with no code written for it.

COLO (tests/protocol/data/colorectal.yaml): metastatic colorectal cancer, open-label 2:1,
stratified by RAS status, its own screening form, CT forms and a quality-of-life questionnaire.
Through the pages and the API: the trial and a site, a patient screened on COLO's own screening
form, randomised, its forms recorded, endpoints derived, SDTM and ODM exported, the report made.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    SYSTEM,
    login,
    make_patient,
    make_site,
    make_user,
    principal,
    restock,
    seal_trial,
)
from tests.service.page_fixtures import Browser
from trialkit.config import Settings
from trialkit.service.capture.outcomes import derive_datasets
from trialkit.service.oversight.exports import odm_metadata_xml, odm_xml, sdtm_export
from trialkit.service.oversight.odm import ODM_NS
from trialkit.service.oversight.sdtm_checks import KNOWN_GAPS
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import supply
from trialkit.service.server import create_server
from trialkit.service.trials import trials
from trialkit.service.trials.tables import Site

COLO = Path(__file__).resolve().parents[1] / "protocol" / "data" / "colorectal.yaml"
TODAY = dt.date(2021, 3, 1)
NS = {"odm": ODM_NS}


@pytest.fixture
def colo_web(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_server(settings.model_copy(update={"calendar_date": TODAY}), database=db)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def test_colo_runs_screening_to_report_on_its_own_forms(
    colo_web: TestClient, db: Database, security: Security
) -> None:
    with db.sessions.begin() as session:
        trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(COLO))
        assert trial.acronym == "COLO"
        admin = make_user(session, security, trial, Role.ADMINISTRATOR)
        admin_token = login(session, security, admin)
    api = {"Authorization": f"Bearer {admin_token}"}
    # --- the site, through the API -----------------------------------------------------------
    created = colo_web.post(
        f"/api/trials/{trial.id}/sites",
        json={"code": "IT01", "name": "Ospedale di Prova", "city": "Milano", "country": "IT"},
        headers=api,
    )
    assert created.status_code == 201, created.text
    site_id = created.json()["id"]
    approved = colo_web.post(
        f"/api/sites/{site_id}/ethics-approvals",
        json={"committee": "Test EC", "approval_date": "2020-02-01", "protocol_version": "1.0"},
        headers=api,
    )
    assert approved.status_code in (200, 201), approved.text
    active = colo_web.post(f"/api/sites/{site_id}/activation", json={}, headers=api)
    assert active.status_code in (200, 201), active.text
    with db.sessions.begin() as session:
        site = trials.get_site(session=session, actor=SYSTEM, site_id=site_id)
        seal_trial(session, trial, kits=60)
        row = session.get(Site, site_id)
        assert row is not None
        assert supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=TODAY)
        restock(session, site, TODAY)
        investigator = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        statistician = make_user(session, security, trial, Role.STATISTICIAN)
        tokens = {
            "investigator": login(session, security, investigator),
            "statistician": login(session, security, statistician),
        }
    site_api = {"Authorization": f"Bearer {tokens['investigator']}"}
    browser = Browser(colo_web, tokens["investigator"])

    # --- screening on COLO's own form, through the pages --------------------------------------
    patient = colo_web.post(
        f"/api/sites/{site_id}/patients", json={"screening_number": "IT01-001"}, headers=site_api
    )
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    form = browser.get(f"/patients/{patient_id}/screening")
    assert form.status_code == 200, form.text
    for label in ("RAS mutation status", "ECOG performance status", "Primary tumour site"):
        assert label in form.text
    assert "Oestrogen" not in form.text  # none of SOR's items
    assert '<option value="wild_type"' in form.text
    # show_when: induction cycles are asked once no progression on induction is recorded
    assert "Induction cycles given: not asked for the answers given" in form.text
    screening = {
        "demographics.sex": "male",
        "demographics.date_of_birth": "1955-06-01",
        "planned_randomisation_date": "2021-03-01",
        "ecog": "3",
        "ras": "mutant",
        "primary_site": "left",
        "progressed_on_induction": "no",
        "body.height_cm": "178",
        "body.weight_kg": "80",
    }
    live = browser.post(
        f"/patients/{patient_id}/screening/check", screening, headers={"HX-Request": "true"}
    )
    assert live.status_code == 200
    assert "ECOG 3" in live.text  # the live checklist: I2 not met
    screening["ecog"] = "1"
    live = browser.post(f"/patients/{patient_id}/screening/check", screening)
    assert "Induction cycles given: not asked" not in live.text  # now asked
    saved = browser.post(f"/patients/{patient_id}/screening", screening)
    assert saved.status_code == 303, saved.text
    evaluated = colo_web.get(f"/api/patients/{patient_id}/eligibility", headers=site_api)
    assert evaluated.status_code == 200, evaluated.text
    latest = evaluated.json()[-1] if isinstance(evaluated.json(), list) else evaluated.json()
    assert latest["eligible"] is True, latest
    consent = colo_web.post(
        f"/api/patients/{patient_id}/consents",
        json={"consent_date": "2021-02-25", "information_sheet_version": "1.0"},
        headers=site_api,
    )
    assert consent.status_code == 201, consent.text

    # --- randomisation, through the API --------------------------------------------------------
    randomised = colo_web.post(f"/api/patients/{patient_id}/randomisation", headers=site_api)
    assert randomised.status_code == 201, randomised.text
    assert randomised.json()["background_therapy"] == "ras_mutant"
    randomised_on = dt.date.fromisoformat(randomised.json()["enrolment_date"])

    # --- its own forms: pages for the CT forms, the API for the questionnaire -----------------
    base = f"/patients/{patient_id}/forms"
    page = browser.get(f"{base}/quality_of_life")
    assert page.status_code == 200
    assert "Have you had pain?" in page.text
    assert '<option value="4">Very much</option>' in page.text
    started = time.perf_counter()
    for _ in range(10):
        browser.get(f"{base}/quality_of_life")
    per_page = (time.perf_counter() - started) / 10
    assert per_page < 0.5, per_page  # measured ~tens of ms in process; a loaded machine is slower
    baseline = {
        "date": "2021-02-20",
        "target.0.id": "T1",
        "target.0.organ": "liver",
        "target.0.diameter_mm": "40",
        "target.0.method": "CT",
    }
    assert browser.post(f"{base}/tumour_baseline", baseline).status_code == 303
    ct = {"date": "2021-05-03", "target.0": "60", "new_lesions": "no"}
    assert browser.post(f"{base}/tumour_assessment", ct).status_code == 303
    qol = colo_web.post(
        f"/api/patients/{patient_id}/records/quality_of_life",
        json={
            "data": {"date": "2021-05-03", "answers": {"pain": 2, "tired": 3}, "global_health": 1}
        },
        headers=site_api,
    )
    assert qol.status_code == 201, qol.text
    assert qol.json()["form_version"] == "2"
    bad = colo_web.post(
        f"/api/patients/{patient_id}/records/quality_of_life",
        json={"data": {"date": "2021-05-03", "answers": {"pain": 9}}},
        headers=site_api,
    )
    assert bad.status_code == 422
    assert '"answers","pain"' in bad.text
    event = {"term": "Hand-foot syndrome", "grade": "2", "start_date": "2021-04-01"}
    assert browser.post(f"{base}/adverse_event", event | {"serious": "no"}).status_code == 303
    patient_page = browser.get(f"/patients/{patient_id}").text
    assert "Quality of life (EORTC QLQ-C30, short)" in patient_page
    assert "<strong>progressive disease</strong>" in patient_page  # 40 -> 60 mm, in words

    # --- exposure and disposition on its own forms (SDTM EX and DS by their declarations) -----
    taken = {"first_day": "2021-03-02", "last_day": "2021-03-15", "dose_per_intake_mg": 1000}
    cycle = colo_web.post(
        f"/api/patients/{patient_id}/records/capecitabine",
        json={"data": taken},
        headers=site_api,
    )
    assert cycle.status_code == 201, cycle.text
    stop = {"date": "2021-05-04", "reason": "progression", "details": "Liver progression on CT"}
    assert browser.post(f"{base}/end_of_maintenance", stop).status_code == 303
    left = colo_web.post(
        f"/api/patients/{patient_id}/records/study_exit",
        json={"data": {"date": "2021-06-01", "reason": "lost"}},
        headers=site_api,
    )
    assert left.status_code == 201, left.text

    # --- endpoints, SDTM, ODM and the report -----------------------------------------------------
    stats = {"Authorization": f"Bearer {tokens['statistician']}"}
    pfs = colo_web.get(f"/api/patients/{patient_id}/pfs", headers=site_api)
    assert pfs.status_code == 200, pfs.text
    assert pfs.json()["event"] is True
    with db.sessions() as session:
        actor = principal(session, security, statistician)
        export = sdtm_export(session=session, actor=actor, trial_id=trial.id)
        adsl = derive_datasets(session=session, actor=actor, trial_id=trial.id).adsl
        metadata = ET.fromstring(odm_metadata_xml(session=session, actor=actor, trial_id=trial.id))
        snapshot = ET.fromstring(odm_xml(session=session, actor=actor, trial_id=trial.id))
    domains = {d.name: d for d in export.domains}
    assert len(domains["DM"].rows) == 1
    # DM from COLO's own definitions: sex and birth date by the screening form's items declared
    # DM.SEX and DM.BRTHDTC (its section is "demographics"), the reference dates by the
    # capecitabine form's EX.EXSTDTC / EX.EXENDTC (COLO has no study_drug form)
    dm = dict(zip(domains["DM"].columns, domains["DM"].rows[0], strict=True))
    born = dt.date.fromisoformat(screening["demographics.date_of_birth"])
    birthday_to_come = (randomised_on.month, randomised_on.day) < (born.month, born.day)
    age = randomised_on.year - born.year - birthday_to_come
    columns = ("SEX", "AGE", "AGEU", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC")
    assert tuple(dm[c] for c in columns) == (
        "M",
        age,
        "YEARS",
        taken["first_day"],
        taken["last_day"],
        taken["first_day"],
        taken["last_day"],
    )
    assert len(adsl) == 1
    treated = (adsl[0].SEX, adsl[0].AGE, adsl[0].TRTSDT, adsl[0].TRTEDT, adsl[0].SAFFL)
    assert treated == (
        "M",
        age,
        dt.date.fromisoformat(str(taken["first_day"])),
        dt.date.fromisoformat(str(taken["last_day"])),
        "Y",
    )
    assert "TR" in domains
    ae = [dict(zip(domains["AE"].columns, row, strict=True)) for row in domains["AE"].rows]
    # mapped by the AE form's declared SDTM names (no code knows COLO's items)
    assert [(r["AETERM"], r["AETOXGR"], r["AESER"], r["AESTDTC"]) for r in ae] == [
        ("Hand-foot syndrome", "2", "N", "2021-04-01")
    ]
    # EX from the exposure form: its declared treatment, dose and dates (no code knows them)
    ex = [dict(zip(domains["EX"].columns, row, strict=True)) for row in domains["EX"].rows]
    columns = ("EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM", "EXROUTE", "EXSTDTC", "EXENDTC", "EPOCH")
    assert [tuple(r[c] for c in columns) for r in ex] == [
        ("CAPECITABINE", 1000.0, "mg", "TABLET", "ORAL", "2021-03-02", "2021-03-15", "TREATMENT")
    ]
    # DS from the forms playing end_of_treatment and end_of_study: DSDECOD is the code's
    # submission value in COLO's own code lists, DSTERM the verbatim text when one is given
    ds = [dict(zip(domains["DS"].columns, row, strict=True)) for row in domains["DS"].rows]
    columns = ("DSTERM", "DSDECOD", "DSSCAT", "DSSTDTC", "EPOCH")
    assert [tuple(r[c] for c in columns) for r in ds if r["DSCAT"] == "DISPOSITION EVENT"] == [
        (
            "Liver progression on CT",
            "PROGRESSIVE DISEASE",
            "END OF TREATMENT",
            "2021-05-04",
            "TREATMENT",
        ),
        ("LOST TO FOLLOW-UP", "LOST TO FOLLOW-UP", "END OF STUDY", "2021-06-01", "FOLLOW-UP"),
    ]
    tu = [dict(zip(domains["TU"].columns, row, strict=True)) for row in domains["TU"].rows]
    assert [(r["TULNKID"], r["TUMETHOD"]) for r in tu] == [("T1", "CT SCAN")]
    gaps = {(f.domain, f.variable) for f in export.findings}
    assert gaps == KNOWN_GAPS, [str(f) for f in export.findings]  # as SOR's: AEDECOD uncoded
    forms = {f.get("OID") for f in metadata.iter(f"{{{ODM_NS}}}FormDef")}
    assert forms == {
        "F.SCREENING",
        "F.TUMOUR_BASELINE",
        "F.TUMOUR_ASSESSMENT",
        "F.QUALITY_OF_LIFE",
        "F.CAPECITABINE",
        "F.ADVERSE_EVENT",
        "F.DEATH",
        "F.END_OF_MAINTENANCE",
        "F.STUDY_EXIT",
    }
    items = {i.get("ItemOID"): i.get("Value") for i in snapshot.iter(f"{{{ODM_NS}}}ItemData")}
    assert items["IT.QUALITY_OF_LIFE.ANSWERS.PAIN"] == "2"
    assert items["IT.QUALITY_OF_LIFE.GLOBAL_HEALTH"] == "1"
    report = colo_web.get(f"/api/trials/{trial.id}/report", headers=stats)
    assert report.status_code == 200, report.text[:500]
    assert "COLO" in report.text


def test_colo_s_lock_page_offers_its_own_forms(
    colo_web: TestClient, db: Database, security: Security
) -> None:
    """A data manager locks a record of any of the trial's own forms (from its protocol file);
    a form of another protocol is refused next to the choice."""
    with db.sessions.begin() as session:
        trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(COLO))
        manager = make_user(session, security, trial, Role.DATA_MANAGER)
        browser = Browser(colo_web, login(session, security, manager))
    page = browser.get("/locks")
    assert page.status_code == 200, page.text
    offered = set(re.findall(r'<option value="([a-z_]+)"', page.text))
    assert {"screening_record", "consent", "quality_of_life", "tumour_assessment"} <= offered
    assert "letrozole" not in offered  # a SOR form: not COLO's
    refused = browser.post(
        "/locks",
        {"level": "freeze", "patient_id": "1", "form": "letrozole", "reason": "SOR's form"},
    )
    assert refused.status_code == 422
    assert "Choose a form." in refused.text


def test_tumour_forms_are_found_by_their_roles_whatever_their_names(
    colo_web: TestClient, db: Database, security: Security, tmp_path: Path
) -> None:
    """A protocol that names its CT forms its own way still gets the RECIST preview beside
    them: the pages find the tumour forms by the protocol's roles, not by SOR's names."""
    text = COLO.read_text(encoding="utf-8")
    text = re.sub(r"\btumour_baseline\b", "ct_baseline", text)
    text = re.sub(r"\btumour_assessment\b", "ct_follow_up", text)
    text = text.replace("    ct_baseline: ct_baseline", "    tumour_baseline: ct_baseline")
    text = text.replace("    ct_follow_up: ct_follow_up", "    tumour_assessment: ct_follow_up")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(text, encoding="utf-8")
    with db.sessions.begin() as session:
        trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(renamed))
        site = make_site(session, trial, code="IT01")
        investigator = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        patient = make_patient(session, principal(session, security, investigator), site)
        browser = Browser(colo_web, login(session, security, investigator))
    assessment = browser.get(f"/patients/{patient.id}/forms/ct_follow_up")
    assert assessment.status_code == 200, assessment.text
    assert "Show the response without saving" in assessment.text
    questionnaire = browser.get(f"/patients/{patient.id}/forms/quality_of_life")
    assert questionnaire.status_code == 200, questionnaire.text
    assert "Show the response without saving" not in questionnaire.text
