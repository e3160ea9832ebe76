"""``trialkit demo seed``: the demo trial into a SQLite file, its cut-off as JSON; bad options."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from trialkit.cli.main import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "demo.db"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TRIALKIT_DEMO", "1")
    monkeypatch.setenv("TRIALKIT_SECRET_KEY", "a-test-secret-key-that-is-long-enough-0123")
    monkeypatch.setenv("TRIALKIT_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("TRIALKIT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TRIALKIT_ARGON2_PARALLELISM", "1")
    assert main(["db", "upgrade"]) == 0
    return path


def test_demo_seed_prints_one_json_object_and_is_idempotent(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["demo", "seed", "--patients", "10", "--seed", "3", "--scenario", "null", "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    first = json.loads(out)
    assert err == ""
    assert first["created"] is True
    assert first["screened"] <= 10
    assert first["scenario"] == "null"
    assert 0 <= first["pfs_events"] <= first["randomised"]
    cutoff = dt.date.fromisoformat(first["cutoff"])
    assert dt.date(2007, 11, 22) < cutoff < dt.date(2010, 6, 30)
    assert main(["demo", "seed", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["created"] is False
    assert again["cutoff"] == first["cutoff"]
    assert (again["screened"], again["randomised"]) == (first["screened"], first["randomised"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--scenario", "maybe"], "unknown demo scenario 'maybe': use alt or null"),
        (["--patients", "0"], "--patients"),
    ],
)
def test_demo_seed_refuses_bad_options_with_exit_2(
    database: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    capsys.readouterr()
    assert main(["demo", "seed", *args]) == 2
    out, err = capsys.readouterr()
    assert says in err
    assert out == ""


def test_demo_seed_refuses_a_database_with_a_real_trial(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    capsys.readouterr()
    assert main(["demo", "seed"]) == 2
    out, err = capsys.readouterr()
    assert err == (
        "error: trial SOR exists but holds no demo data: seed the demo into an empty database "
        "(set TRIALKIT_DATABASE_URL to another one)\n"
    )
    assert out == ""


def test_randomisation_audit_lists_every_slot_for_an_unblinded_user_and_refuses_others(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``trialkit randomisation audit``: the unblinded statistician gets every slot (JSON or a
    table); a blinded user, or no user, exits 2 with one line saying why."""
    assert main(["demo", "seed", "--patients", "10", "--seed", "3", "--json"]) == 0
    capsys.readouterr()
    args = ["randomisation", "audit", "--trial", "SOR"]
    assert main([*args, "--user", "unblinded", "--json"]) == 0
    out, err = capsys.readouterr()
    audit = json.loads(out)
    assert err == ""
    assert audit["verification"]["verified"] is True
    used = [r for s in audit["strata"] for r in s["rows"] if r["used"]]
    assert used
    assert all(r["screening_number"] and r["randomised_on"] for r in used)
    assert all(s["gaps"] == [] for s in audit["strata"])
    assert main([*args, "--user", "dsmb"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"allocation audit of SOR: list sha256 {audit['list_hash']}")
    assert "randomisation verify: verified" in text
    assert "\tunused" in text
    for user in (["--user", "statistician"], []):
        assert main([*args, *user]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert "audit" in err
