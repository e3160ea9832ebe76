"""Anchors of the audit chain outside the database (issue 20 §4): a rewritten chain plus head
verifies on its own, and is caught against the anchors signed with the operator's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.tamper import drop_append_only_guard, rewrite_chain_from
from trialkit.errors import ConfigError
from trialkit.service.platform.anchors import (
    Anchoring,
    anchor_now,
    anchor_on_commit,
    generate_key,
    load_public_key,
    verify_anchors,
)
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.tables.audit import (
    AuditEntry,
    AuditEvent,
    AuditHead,
    append_events,
    verify_chain,
)


def _append(session: Session, n: int, start: int = 0) -> None:
    append_events(
        session,
        [
            AuditEntry(action="create", entity="thing", entity_id=str(i), new_value=f"v{i}")
            for i in range(start, start + n)
        ],
    )


@pytest.fixture
def anchoring(tmp_path: Path) -> Anchoring:
    generate_key(tmp_path / "operator.pem")
    made = Anchoring.from_paths(tmp_path / "operator.pem", tmp_path / "anchors")
    assert made is not None
    return made


def test_a_rewritten_chain_plus_head_is_caught_against_the_anchors(
    session: Session, anchoring: Anchoring
) -> None:
    _append(session, 5)
    first = anchor_now(session, anchoring, reason="periodic")
    _append(session, 3, start=5)
    second = anchor_now(session, anchoring, reason="periodic")
    public = anchoring.key.public_key()
    report = verify_anchors(session, anchoring.directory, public)
    assert report.intact, report.summary()
    assert [c.seq for c in report.checks] == [5, 8]

    rewrite_chain_from(session, 7, "forged")
    assert verify_chain(session).intact  # the rewrite holds together on its own
    report = verify_anchors(session, anchoring.directory, public)
    assert not report.intact
    ok = {c.file: c.problem for c in report.checks}
    assert ok[first.name] is None  # before the rewrite: still proven
    assert "rewritten at or before" in (ok[second.name] or "")
    assert second.name in report.summary()


def test_a_forged_or_foreign_anchor_is_named(session: Session, anchoring: Anchoring) -> None:
    _append(session, 4)
    path = anchor_now(session, anchoring, reason="periodic")
    content = json.loads(path.read_text())
    content["anchor"]["seq"] = 3  # edited to agree with a shortened chain
    path.write_text(json.dumps(content))
    report = verify_anchors(session, anchoring.directory, anchoring.key.public_key())
    assert "signature does not verify" in (report.checks[0].problem or "")
    other = Ed25519PrivateKey.generate().public_key()
    path.unlink()
    anchor_now(session, anchoring, reason="periodic")
    assert not verify_anchors(session, anchoring.directory, other).intact


def test_removed_anchored_events_are_caught(session: Session, anchoring: Anchoring) -> None:
    _append(session, 4)
    anchor_now(session, anchoring, reason="periodic")
    drop_append_only_guard(session)
    session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq >= 3))
    session.execute(update(AuditHead).values(last_seq=2))
    session.expunge_all()
    report = verify_anchors(session, anchoring.directory, anchoring.key.public_key())
    assert "ends before event 4" in (report.checks[0].problem or "")


def test_an_anchor_is_written_when_the_transaction_commits_only(
    db: Database, anchoring: Anchoring
) -> None:
    with db.sessions.begin() as session:
        _append(session, 2)
        anchor_on_commit(session, anchoring, reason="lock 1")
        assert not anchoring.directory.exists()  # not before the commit
    written = list(anchoring.directory.glob("*.json"))
    assert len(written) == 1
    assert json.loads(written[0].read_text())["anchor"]["reason"] == "lock 1"
    session = db.sessions()
    session.begin()
    _append(session, 1)
    anchor_on_commit(session, anchoring, reason="rolled back")
    session.rollback()  # the use case failed after its audit event
    session.close()
    assert len(list(anchoring.directory.glob("*.json"))) == 1
    with db.sessions() as session:
        report = verify_anchors(session, anchoring.directory, anchoring.key.public_key())
    assert report.intact, report.summary()


def test_anchoring_settings_say_what_is_missing(tmp_path: Path) -> None:
    assert Anchoring.from_paths(None, None) is None
    with pytest.raises(ConfigError, match="TRIALKIT_AUDIT_ANCHOR_DIR"):
        Anchoring.from_paths(tmp_path / "k.pem", None)
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        Anchoring.from_paths(tmp_path / "bad.pem", tmp_path)
    generate_key(tmp_path / "k.pem")
    assert load_public_key(tmp_path / "k.pem") is not None
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
