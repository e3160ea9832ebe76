"""The data cut package (issue 20 §3): made of a locked database only, signed by its maker,
blinded or unblinded by the maker's role; it verifies, and a tampered member is named."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tests.demo_fixtures import SeededDemo
from trialkit.cli.main import main
from trialkit.errors import ConflictError, PermissionDenied
from trialkit.service.oversight.datacut import make_data_cut, verify_package
from trialkit.service.platform.policy import Role
from trialkit.service.trials import locks
from trialkit.service.trials.locks import Level

CUTOFF_DAY = "2010-03-12"


def _lock_database(session: Session, demo: SeededDemo) -> None:
    locks.set_lock(
        session=session,
        actor=demo.actor(Role.DATA_MANAGER),
        trial_id=demo.trial_id,
        level=Level.LOCK,
        reason="primary analysis at 120 events",
    )


def _rewrite(package: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(package) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members[member] = data
    with zipfile.ZipFile(package, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)


def test_a_package_verifies_and_a_tampered_member_is_named(
    session: Session, demo_trial: SeededDemo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = Ed25519PrivateKey.generate()
    manager = demo_trial.actor(Role.DATA_MANAGER)
    with pytest.raises(ConflictError, match="not locked"):
        make_data_cut(session=session, actor=manager, trial_id=demo_trial.trial_id, key=key)
    _lock_database(session, demo_trial)
    with pytest.raises(PermissionDenied):
        make_data_cut(
            session=session,
            actor=demo_trial.actor(Role.MONITOR),
            trial_id=demo_trial.trial_id,
            key=key,
        )
    cut = make_data_cut(
        session=session,
        actor=manager,
        trial_id=demo_trial.trial_id,
        key=key,
        cutoff=dt.date.fromisoformat(CUTOFF_DAY),
    )
    manifest = cut.manifest
    assert manifest["report"] == "blinded"
    assert manifest["made_by"]["role"] == "data_manager"
    assert manifest["protocol"]["version"]
    assert {
        "protocol/sor.yaml",
        "adam/adsl.csv",
        "adam/adtte.csv",
        "sdtm/dm.csv",
        "sdtm/define.xml",
        "odm/odm.xml",
        "report/report.html",
    } <= set(manifest["members"])
    package = tmp_path / cut.filename
    package.write_bytes(cut.content)
    with zipfile.ZipFile(package) as archive:
        adsl_header = archive.read("adam/adsl.csv").decode().splitlines()[0].split(",")
        report_html = archive.read("report/report.html").decode()
    assert "ARM" not in adsl_header  # blinded: no arm column
    assert "BLINDED" in report_html
    assert "<td>Sorafenib</td>" not in report_html  # no arm label in any table

    report = verify_package(package, public=key.public_key())
    assert report.ok, report.summary()
    assert main(["datacut", "verify", str(package)]) == 0
    assert "verifies" in capsys.readouterr().out

    other = Ed25519PrivateKey.generate().public_key()
    assert "not with the key given" in " ".join(verify_package(package, public=other).problems)

    _rewrite(package, "adam/adtte.csv", b"USUBJID,PARAMCD,AVAL\nSOR-1,PFS,999\n")
    tampered = verify_package(package)
    assert tampered.tampered == ["adam/adtte.csv"]
    assert main(["datacut", "verify", str(package), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["tampered"] == ["adam/adtte.csv"]

    # rewriting the manifest to match breaks its signature
    forged = dict(manifest)
    forged["cutoff"] = "2011-01-01"
    _rewrite(package, "manifest.json", json.dumps(forged).encode())
    assert "manifest.json" in verify_package(package).tampered


def test_an_unblinded_maker_makes_an_unblinded_package(
    session: Session, demo_trial: SeededDemo
) -> None:
    _lock_database(session, demo_trial)
    cut = make_data_cut(
        session=session,
        actor=demo_trial.actor(Role.UNBLINDED_STATISTICIAN),
        trial_id=demo_trial.trial_id,
        key=Ed25519PrivateKey.generate(),
    )
    assert cut.manifest["report"] == "unblinded"
    with zipfile.ZipFile(io.BytesIO(cut.content)) as archive:
        header = archive.read("adam/adsl.csv").decode().splitlines()[0].split(",")
    assert "ARM" in header


def test_verify_says_what_is_wrong_with_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.zip").write_text("not a zip")
    assert main(["datacut", "verify", str(tmp_path / "x.zip")]) == 2
    assert "is not a zip archive" in capsys.readouterr().err
    assert main(["datacut", "verify", str(tmp_path / "missing.zip")]) == 2
