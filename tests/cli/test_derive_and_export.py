"""``trialkit endpoints derive`` and ``trialkit export sdtm|odm`` on a SQLite file, read back.

ADSL/ADTTE are read as CSV; each SDTM domain's XPT (SAS transport v5) is read back with
pyreadstat; the ODM file is parsed and its ClinicalData checked against its own metadata.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pyreadstat
import pytest

from tests.conftest import RANDOMISED_ON, test_settings
from tests.factories import (
    SYSTEM,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.cli.main import main
from trialkit.endpoints import ARM_COLUMNS
from trialkit.errors import PermissionDenied
from trialkit.service.capture import capture
from trialkit.service.capture.outcomes import acting_user, derive_datasets
from trialkit.service.oversight.exports import ODM_NS
from trialkit.service.oversight.sdtm_spec import DOMAINS as DOMAINS_SPEC
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction

DOMAINS = ("DM", "DS", "EX", "AE", "TU", "TR", "RS")


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A SQLite trial database with two randomised patients; returns user names by role."""
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", url)
    database = create_database(url, pool_size=1)
    upgrade(database.engine)
    security = Security.from_settings(test_settings(url))
    with transaction(database) as session:
        trial = make_trial(session)
        site = make_site(session, trial, code="IT01")
        seal_trial(session, trial)
        stock_site(session, trial, site)
        investigator = principal(
            session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
        )
        blinded = make_user(session, security, trial, Role.STATISTICIAN)
        unblinded = make_user(session, security, trial, Role.UNBLINDED_STATISTICIAN)
        first, second = (
            randomise_patient(session, investigator, site, RANDOMISED_ON),
            randomise_patient(session, investigator, site, RANDOMISED_ON),
        )

        def record(patient: int, form: Form, data: dict[str, object]) -> None:
            capture.record_form(
                session=session, actor=investigator, patient_id=patient, form=form, data=data
            )

        record(
            first.id,
            Form.TUMOUR_BASELINE,
            {
                "date": "2008-02-25",
                "target": [{"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 50}],
                "non_target": [{"id": "NT1", "organ": "bone", "method": "bone scan"}],
            },
        )
        for when, mm in (("2008-04-28", 30), ("2008-06-23", 40)):
            scan = {"date": when, "target": {"T1": mm}, "non_target": {"NT1": "present"}}
            record(first.id, Form.TUMOUR_ASSESSMENT, scan | {"new_lesions": False})
        record(first.id, Form.STUDY_DRUG, {"start_date": "2008-03-03", "kits_dispensed": ["K1"]})
        record(
            first.id,
            Form.ADVERSE_EVENT,
            {
                "term": "Hand-foot skin reaction",
                "grade": 2,
                "start_date": "2008-03-20",
                "end_date": "2008-04-15",
                "serious": False,
                "relationship": "probable",
                "action_taken": "dose_reduced",
            },
        )
        record(second.id, Form.DEATH, {"date": "2008-04-10", "cause": "progression"})
    database.dispose()
    return {"blinded": blinded.username, "unblinded": unblinded.username}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_derive_blinded_omits_the_arm_and_names_every_source(
    filled: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "adam"
    assert main(["endpoints", "derive", "--out", str(out)]) == 0
    adsl, adtte = _csv(out / "adsl.csv"), _csv(out / "adtte.csv")
    assert len(adsl) == 2
    assert not set(ARM_COLUMNS) & set(adsl[0])
    assert not set(ARM_COLUMNS) & set(adtte[0])
    assert {r["SEX"] for r in adsl} == {"F"}
    assert {r["COUNTRY"] for r in adsl} == {"ITA"}
    pfs = {r["USUBJID"]: r for r in adtte if r["PARAMCD"] == "PFS"}
    first, second = sorted(pfs)
    # PR at 30 mm (the nadir), then 40 mm: +10 mm and +33% -> PD on 2008-06-23
    assert (pfs[first]["CNSR"], pfs[first]["ADT"]) == ("0", "2008-06-23")
    assert pfs[first]["EVNTDESC"] == "Disease progression"
    # no baseline tumour assessment: censored at randomisation (FDA table)
    assert (pfs[second]["CNSR"], pfs[second]["ADT"]) == ("1", RANDOMISED_ON.isoformat())
    assert {r["PARAMCD"] for r in adtte} >= {"PFS", "TTP", "OS", "DOR"}


def test_unblinded_needs_an_unblinded_user(
    filled: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "adam"
    assert main(["endpoints", "derive", "--out", str(out), "--unblinded"]) == 2
    assert "--user" in capsys.readouterr().err
    blinded = ["--unblinded", "--user", filled["blinded"]]
    assert main(["endpoints", "derive", "--out", str(out), *blinded]) == 2
    assert "may not see arms" in capsys.readouterr().err
    unblinded = ["--unblinded", "--user", filled["unblinded"]]
    assert main(["endpoints", "derive", "--out", str(out), *unblinded]) == 0
    adsl = _csv(out / "adsl.csv")
    assert {r["TRT01P"] for r in adsl} <= {"Sorafenib", "Placebo"}
    assert {r["ARMCD"] for r in adsl} <= {"SORAFENIB", "PLACEBO"}


def test_sdtm_domains_read_back_from_xpt(
    filled: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdtm"
    assert main(["export", "sdtm", "--out", str(out)]) == 0
    define = ET.parse(out / "define.xml").getroot()
    ns = {"odm": ODM_NS}
    labels = {
        str(i.get("OID")): i.findtext("odm:Description/odm:TranslatedText", None, ns)
        for i in define.iter(f"{{{ODM_NS}}}ItemDef")
    }
    for name in DOMAINS:
        frame, meta = pyreadstat.read_xport(str(out / f"{name.lower()}.xpt"))
        rows = _csv(out / f"{name.lower()}.csv")
        assert list(frame.columns) == list(rows[0])
        assert len(frame) == len(rows), name
        assert meta.table_name == name
        assert meta.file_label == DOMAINS_SPEC[name].label
        assert all(len(c) <= 8 for c in frame.columns)
        assert "ARM" not in frame.columns
        # every variable has its SDTMIG label, the one define.xml gives
        for column, label in meta.column_names_to_labels.items():
            assert label == DOMAINS_SPEC[name].variable(column).label
            assert label == labels[f"IT.{name}.{column}"]
    dm, _ = pyreadstat.read_xport(str(out / "dm.xpt"))
    assert set(dm["SEX"]) == {"F"}
    assert set(dm["AGEU"]) == {"YEARS"}
    assert set(dm["COUNTRY"]) == {"ITA"}
    assert all(u.count("IT01") == 1 for u in dm["USUBJID"])
    ae, _ = pyreadstat.read_xport(str(out / "ae.xpt"))
    assert (ae["AEREL"].tolist(), ae["AEACN"].tolist()) == (["PROBABLY RELATED"], ["DOSE REDUCED"])
    assert (ae["AEOUT"].tolist(), ae["AETOXGR"].tolist()) == (["RECOVERED/RESOLVED"], ["2"])
    assert (ae["AESER"].tolist(), ae["EPOCH"].tolist()) == (["N"], ["TREATMENT"])
    # the only SDTMIG finding: AEDECOD needs MedDRA coding
    assert capsys.readouterr().err.strip().splitlines() == [
        "SDTMIG check: REQUIRED AE.AEDECOD: required variable missing"
    ]
    rs, _ = pyreadstat.read_xport(str(out / "rs.xpt"))
    overall = rs[rs["RSTESTCD"] == "OVRLRESP"]["RSORRES"].tolist()
    assert overall == ["PR", "PD"]
    assert rs[rs["RSTESTCD"] == "BESTRESP"]["RSORRES"].tolist() == ["PR"]
    tr, _ = pyreadstat.read_xport(str(out / "tr.xpt"))
    assert tr[tr["TRTESTCD"] == "LDIAM"]["TRSTRESN"].tolist() == [50.0, 30.0, 40.0]
    assert tr[tr["TRTESTCD"] == "SUMDIAM"]["TRSTRESN"].tolist() == [50.0, 30.0, 40.0]
    ex, _ = pyreadstat.read_xport(str(out / "ex.xpt"))
    assert ex["EXTRT"].tolist() == ["SORAFENIB/PLACEBO"]  # the blinded name


def test_odm_is_well_formed_and_every_item_is_defined(
    filled: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "sor.xml"
    assert main(["export", "odm", "--out", str(path)]) == 0
    ns = {"odm": ODM_NS}
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{ODM_NS}}}ODM"
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("FileType") == "Snapshot"
    study = root.find("odm:Study", ns)
    assert study is not None
    mdv = study.find("odm:MetaDataVersion", ns)
    assert mdv is not None
    clinical = root.find("odm:ClinicalData", ns)
    assert clinical is not None
    assert clinical.get("StudyOID") == study.get("OID")
    assert clinical.get("MetaDataVersionOID") == mdv.get("OID")
    defined = {
        kind: {e.get("OID") for e in mdv.findall(f"odm:{kind}Def", ns)}
        for kind in ("Form", "ItemGroup", "Item")
    }
    subjects = clinical.findall("odm:SubjectData", ns)
    assert len(subjects) == 2
    forms = clinical.findall(".//odm:FormData", ns)
    assert {f.get("FormOID") for f in forms} <= defined["Form"]
    groups = clinical.findall(".//odm:ItemGroupData", ns)
    assert {g.get("ItemGroupOID") for g in groups} <= defined["ItemGroup"]
    items = clinical.findall(".//odm:ItemData", ns)
    assert {i.get("ItemOID") for i in items} <= defined["Item"]
    values = {i.get("ItemOID"): i.get("Value") for i in items}
    assert values["IT.ADVERSE_EVENT.TERM"] == "Hand-foot skin reaction"
    assert values["IT.ADVERSE_EVENT.GRADE"] == "2"
    assert not any(".ARM" in str(i.get("ItemOID")) for i in items)
    events = {e.get("OID") for e in mdv.findall("odm:StudyEventDef", ns)}
    assert (
        {e.get("StudyEventOID") for e in clinical.iter(f"{{{ODM_NS}}}StudyEventData")}
        == {
            "SE.BASELINE",
            "SE.PER_VISIT",
            "SE.PER_CYCLE",
            "SE.EVENT",
        }
        <= events
    )
    # the metadata alone: the same study, every form defined, no patient data
    meta = tmp_path / "sor-metadata.xml"
    assert main(["export", "odm", "--metadata", "--out", str(meta)]) == 0
    alone = ET.parse(meta).getroot()
    assert alone.find("odm:ClinicalData", ns) is None
    alone_mdv = alone.find("odm:Study/odm:MetaDataVersion", ns)
    assert alone_mdv is not None
    assert alone_mdv.get("OID") == mdv.get("OID")
    assert {e.get("OID") for e in alone_mdv.findall("odm:FormDef", ns)} == defined["Form"]


def test_derive_in_the_service_refuses_a_blinded_unblinding(
    filled: dict[str, str], tmp_path: Path
) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'trial.db'}", pool_size=1)
    with transaction(database) as session:
        blinded = acting_user(session=session, username=filled["blinded"])
        with pytest.raises(PermissionDenied):
            derive_datasets(session=session, actor=blinded, trial_id=1, unblinded=True)
        datasets = derive_datasets(session=session, actor=SYSTEM, trial_id=1)
        assert all(row.ARM is None for row in datasets.adsl)
    database.dispose()
