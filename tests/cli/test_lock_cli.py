"""``trialkit lock`` and the audit anchors end to end on a SQLite file (issue 20 §3, §4): a lock
anchors the chain; ``audit verify --anchors`` proves it and catches a rewritten chain plus head;
refusals are one line and exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.tamper import rewrite_chain_from
from trialkit.cli.main import main
from trialkit.service.platform.db.database import create_database


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TRIALKIT_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("TRIALKIT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TRIALKIT_ARGON2_PARALLELISM", "1")
    assert main(["db", "upgrade"]) == 0
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    return path


def test_lock_anchor_and_verify_against_the_anchors(
    database: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, anchors = tmp_path / "operator.pem", tmp_path / "anchors"
    assert main(["audit", "keygen", "--out", str(key)]) == 0
    assert main(["audit", "keygen", "--out", str(key)]) == 2  # never overwritten
    monkeypatch.setenv("TRIALKIT_AUDIT_ANCHOR_KEY", str(key))
    monkeypatch.setenv("TRIALKIT_AUDIT_ANCHOR_DIR", str(anchors))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    made = ["users", "create", "dm", "--full-name", "D. Manager", "--role", "data_manager"]
    assert main([*made, "--password-stdin"]) == 0
    capsys.readouterr()

    lock = ["lock", "set", "--level", "lock", "--user", "dm", "--reason", "primary analysis"]
    assert main([*lock, "--json"]) == 0
    lock_id = json.loads(capsys.readouterr().out)["id"]
    assert len(list(anchors.glob("*.json"))) == 1  # the lock anchored the chain
    assert main(lock) == 2  # already locked: one line, exit 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"already under lock {lock_id}" in err
    assert main(["lock", "release", str(lock_id), "--reason", "x", "--user", "dm"]) == 2
    assert "may not unlock" in capsys.readouterr().err
    assert main(["audit", "anchor"]) == 0
    assert len(list(anchors.glob("*.json"))) == 2
    assert main(["audit", "verify", "--anchors", str(anchors)]) == 0
    assert "matches all 2 anchors" in capsys.readouterr().out

    # the schema's owner rewrites the chain from event 3 on, and its head
    database_ = create_database(f"sqlite:///{database}", pool_size=1)
    with database_.sessions.begin() as session:
        rewrite_chain_from(session, 3, "forged")
    database_.dispose()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0  # the chain alone holds together
    assert "intact" in capsys.readouterr().out
    assert main(["audit", "verify", "--anchors", str(anchors), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False
    assert all("rewritten" in a["problem"] for a in report["anchors"]["anchors"])
    assert main(["audit", "verify", "--anchors", str(tmp_path / "nowhere")]) == 2


def test_the_operator_unlocks_with_a_reason(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    made = ["users", "create", "dm", "--full-name", "D. Manager", "--role", "data_manager"]
    assert main([*made, "--password-stdin"]) == 0
    assert main(["lock", "set", "--level", "freeze", "--user", "dm", "--reason", "review"]) == 0
    assert main(["lock", "set", "--level", "lock", "--user", "dm", "--reason", "analysis"]) == 0
    capsys.readouterr()
    assert main(["lock", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["locks"]
    assert [(row["level"], row["scope"]) for row in listed] == [
        ("freeze", "trial"),
        ("lock", "trial"),
    ]
    assert main(["lock", "release", str(listed[1]["id"]), "--reason", " "]) == 2
    assert main(["lock", "release", str(listed[1]["id"]), "--reason", "late data"]) == 0
    assert main(["lock", "set", "--level", "lock", "--user", "nobody", "--reason", "x"]) == 2
    assert "no active user 'nobody'" in capsys.readouterr().err
