"""``trialkit notifications deliver`` and users' e-mail addresses, from the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.service.platform.smtp_server import SmtpServer
from trialkit.cli.main import main
from trialkit.service.platform import notify
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.tables.people import User
from trialkit.service.platform.transaction import transaction
from trialkit.service.trials.tables import Trial


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", url)
    monkeypatch.setenv("TRIALKIT_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("TRIALKIT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TRIALKIT_ARGON2_PARALLELISM", "1")
    assert main(["db", "upgrade"]) == 0
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    create = ["users", "create", "bianchi", "--full-name", "L. Bianchi", "--role", "monitor"]
    assert main([*create, "--email", "l.bianchi@sor.example", "--password-stdin"]) == 0
    return url


def test_deliver_once_sends_what_is_due_once(
    database: str,
    smtp: SmtpServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = create_database(database, pool_size=1)
    with transaction(db) as session:
        trial_id = session.scalars(select(Trial.id)).one()
        notify.notify(
            session,
            trial_id=trial_id,
            kind=notify.Kind.RESUPPLY_REQUEST,
            to=notify.To.role("monitor"),
            message=notify.resupply_request_message(
                trial="SOR", site_code="IT01", kits=4, waiting_for_depot=False
            ),
        )
    db.dispose()
    capsys.readouterr()
    # no server configured: a warning, and the e-mail waits
    assert main(["notifications", "deliver", "--once", "--json"]) == 0
    out = capsys.readouterr()
    assert "TRIALKIT_SMTP_HOST is not set" in out.err
    assert json.loads(out.out)["sent"] == 0
    monkeypatch.setenv("TRIALKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRIALKIT_SMTP_PORT", str(smtp.port))
    assert main(["notifications", "deliver", "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "claimed": 1,
        "sent": 1,
        "failed": 0,
        "errors": [],
    }
    assert main(["notifications", "deliver", "--once"]) == 0
    assert "0 e-mail(s) sent" in capsys.readouterr().out
    [(address, mail)] = smtp.messages()
    assert address == "l.bianchi@sor.example"
    assert mail["Subject"] == "SOR: resupply request for site IT01"


def test_an_address_is_set_removed_and_refused_when_malformed(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["users", "email", "bianchi", "lb@sor.example"]) == 0
    assert "lb@sor.example" in capsys.readouterr().out
    assert main(["users", "email", "bianchi", "lb@sor.example\r\nBcc: x@evil.example"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not an e-mail address" in err
    assert main(["users", "email", "nobody", "a@b.example"]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert main(["users", "email", "bianchi"]) == 0
    db = create_database(database, pool_size=1)
    with transaction(db) as session:
        assert session.scalars(select(User.email).where(User.username == "bianchi")).one() is None
    db.dispose()
