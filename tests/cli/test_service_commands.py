"""The service's commands end to end on a SQLite file: db, trials, sites, users, audit, sessions."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.tamper import SQLITE_GUARD_TRIGGERS
from trialkit.cli.main import main
from trialkit.config import load_settings
from trialkit.service.platform import auth
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import LoginSession
from trialkit.service.platform.transaction import transaction


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TRIALKIT_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("TRIALKIT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TRIALKIT_ARGON2_PARALLELISM", "1")
    assert main(["db", "upgrade"]) == 0
    return path


def test_set_up_a_trial_from_the_command_line(
    database: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    add = [
        "sites",
        "add",
        "--code",
        "IT01",
        "--name",
        "INT Milano",
        "--city",
        "Milano",
        "--country",
        "IT",
    ]
    assert main([*add, "--coordinating"]) == 0
    assert (
        main(["sites", "approve", "IT01", "--committee", "EC INT Milano", "--date", "2007-06-20"])
        == 0
    )
    assert main(["sites", "activate", "IT01"]) == 0
    capsys.readouterr()
    assert main(["sites", "list", "--json"]) == 0
    sites = json.loads(capsys.readouterr().out)["sites"]
    assert sites[0]["recruiting"] is True
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    created = ["users", "create", "rossi", "--full-name", "M. Rossi", "--role", "investigator"]
    assert main([*created, "--site", "IT01", "--password-stdin"]) == 0
    capsys.readouterr()

    # bad input: one line, exit 2
    assert (
        main([*add[:2], "--code", "FR01", "--name", "x", "--city", "Paris", "--country", "FR"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "recruits in DE, IT, PL, RU" in err

    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    assert (
        main(["audit", "export", "--format", "csv", "--output", str(tmp_path / "trail.csv")]) == 0
    )
    lines = (tmp_path / "trail.csv").read_text().splitlines()
    assert lines[0].startswith("seq,occurred_at,request_id,user_id,username,role,site_id,action")
    assert len(lines) > 10
    assert (
        main(["audit", "export", "--format", "json", "--output", str(tmp_path / "trail.json")]) == 0
    )
    exported = json.loads((tmp_path / "trail.json").read_text())
    assert exported["verification"]["intact"] is True
    assert len(exported["events"]) == len(lines) - 1

    # someone edits a row directly in the database: the database refuses
    forge = "UPDATE audit_events SET new_value = 'Dr Evil' WHERE field = 'full_name'"
    with sqlite3.connect(database) as connection, pytest.raises(sqlite3.IntegrityError) as refused:
        connection.execute(forge)
    assert "audit_events is append-only: UPDATE refused" in str(refused.value)
    assert main(["audit", "verify"]) == 0
    # an inspector's worst case: the schema's owner drops the guard first; the chain tells
    with sqlite3.connect(database) as connection:
        for trigger in SQLITE_GUARD_TRIGGERS:
            connection.execute(f"DROP TRIGGER {trigger}")
        connection.execute(forge)
    capsys.readouterr()
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False
    assert "edited" in report["problem"]
    assert isinstance(report["broken_at"], int)


def test_commands_on_a_database_without_schema_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["audit", "verify"]) == 2
    assert "trialkit db upgrade" in capsys.readouterr().err


def test_serve_refuses_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    monkeypatch.delenv("TRIALKIT_DEMO", raising=False)
    assert main(["serve"]) == 2
    assert "TRIALKIT_SECRET_KEY" in capsys.readouterr().err


def test_seal_and_verify_a_trial_from_the_command_line(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sealed list is regenerated from the sealed seed; a tampered slot is found (exit 1)."""
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    capsys.readouterr()
    assert main(["randomisation", "seal", "--trial", "SOR", "--kits", "100", "--json"]) == 0
    sealed = json.loads(capsys.readouterr().out)
    assert sealed["slots"] >= 12 * 264
    assert "seed" not in sealed
    assert main(["randomisation", "seal", "--trial", "SOR"]) == 2  # once per trial
    capsys.readouterr()
    assert main(["randomisation", "verify", "--trial", "SOR", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True
    assert report["list_hash"] == sealed["list_hash"] == report["expected_list_hash"]
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE allocation_slots SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END WHERE id = 7"
        )
    assert main(["randomisation", "verify", "--trial", "SOR"]) == 1
    assert "NOT verified" in capsys.readouterr().out


def test_sessions_sweep_ends_and_audits_abandoned_sessions(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    assert main(["users", "create", "rossi", "--full-name", "M. Rossi", "--password-stdin"]) == 0
    settings = load_settings()
    db = create_database(settings.database_url, pool_size=1)
    try:
        with transaction(db) as session:
            auth.login(
                session=session,
                security=Security.from_settings(settings),
                username="rossi",
                password="a long enough password",
                kind="bearer",
            )
            abandoned = session.scalars(select(LoginSession)).one()
            abandoned.last_seen_at -= dt.timedelta(minutes=settings.session_idle_minutes + 5)
            timed_out_at = abandoned.last_seen_at + dt.timedelta(
                minutes=settings.session_idle_minutes
            )
        capsys.readouterr()
        assert main(["sessions", "sweep", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {
            "ended": 1,
            "timed_out": 1,
            "expired": 0,
            "more": False,
        }
        with transaction(db) as session:
            swept = session.scalars(select(LoginSession)).one()
            assert (swept.ended_at, swept.end_reason) == (timed_out_at, "timeout")
            event = session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).one()
            assert (event.username, event.request_id[:4]) == ("rossi", "cli-")
        assert main(["sessions", "sweep"]) == 0
        assert capsys.readouterr().out == (
            "ended 0 sessions that had run out (0 timed out, 0 expired)\n"
        )
        assert main(["sessions", "sweep", "--limit", "0"]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    finally:
        db.dispose()
