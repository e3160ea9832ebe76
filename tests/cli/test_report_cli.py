"""``trialkit report`` on a seeded SQLite file: HTML and PDF written, blinding by --user."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import test_settings
from tests.report_world import ARM_LABELS, CUTOFF, ReportWorld, fill_trial
from trialkit.cli.main import main
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import iter_events
from trialkit.service.platform.transaction import transaction


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReportWorld:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", url)
    database = create_database(url, pool_size=1)
    upgrade(database.engine)
    security = Security.from_settings(test_settings(url))
    with transaction(database) as session:
        filled = fill_trial(session, security, patients_n=8)
    database.dispose()
    return filled


def test_blinded_html_and_pdf(
    world: ReportWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = ["report", "--out", str(out), "--pdf", "--cutoff", CUTOFF.isoformat(), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["blinded"] is True
    assert summary["cutoff"] == CUTOFF.isoformat()
    assert len(summary["snapshot_sha256"]) == 64
    html = (out / "report.html").read_text(encoding="utf-8")
    assert summary["snapshot_sha256"] in html
    assert "Progression-free survival" in html
    assert "<svg" in html
    assert not any(f">{label}<" in html or f"{label} (n=" in html for label in ARM_LABELS)
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_without_a_cutoff_the_report_is_cut_on_the_services_calendar_date(
    world: ReportWorld,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No --cutoff: the service's calendar date (TRIALKIT_CALENDAR_DATE), as on the pages."""
    monkeypatch.setenv("TRIALKIT_CALENDAR_DATE", CUTOFF.isoformat())
    assert main(["report", "--out", str(tmp_path / "pinned"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cutoff"] == CUTOFF.isoformat()


def test_a_cutoff_before_any_randomisation_gives_an_empty_report(
    world: ReportWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "early"
    assert main(["report", "--out", str(out), "--cutoff", "2001-01-01"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Randomised (n=0)" in html
    assert "No randomised patients." in html


def test_unblinded_needs_a_user_with_an_unblinded_role(
    world: ReportWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "u")
    cut = ["--cutoff", CUTOFF.isoformat()]
    assert main(["report", "--out", out, "--unblinded", *cut]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--user" in err
    assert (
        main(["report", "--out", out, "--unblinded", "--user", world.statistician.username, *cut])
        == 2
    )
    assert "may not" in capsys.readouterr().err
    assert main(["report", "--out", out, "--unblinded", "--user", world.dsmb.username, *cut]) == 0
    html = (tmp_path / "u" / "report.html").read_text(encoding="utf-8")
    assert all(f"{label} (n=" in html for label in ARM_LABELS)
    # the unblinded report is in the audit trail: who, the role, the cut-off, the snapshot
    database = create_database(os.environ["TRIALKIT_DATABASE_URL"], pool_size=1)
    with database.sessions() as session:
        (event,) = [e.as_dict() for e in iter_events(session) if e.entity == "trial_report"]
    database.dispose()
    assert event["action"] == "view_unblinded_report"
    assert (event["username"], event["role"]) == (world.dsmb.username, "dsmb_member")
    assert event["reason"] == f"unblinded report at the {CUTOFF.isoformat()} data cut-off (html)"
    assert str(event["new_value"]) in html  # the snapshot hash printed in the report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cutoff", "31/01/2009"], "YYYY-MM-DD"),
        (["--cutoff", "2009-02-30"], "YYYY-MM-DD"),
        (["--trial", "NOPE"], "NOPE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    world: ReportWorld,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert main(["report", "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
