"""``trialkit predict events`` without ``--data``: the forecast from the trial database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import test_settings
from tests.factories import (
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.service.oversight.test_forecast import START, _fill
from trialkit.cli.main import main
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction

KEYS = {
    "target",
    "cutoff",
    "events_so_far",
    "at_risk",
    "predicted_date_median",
    "predicted_date_90pi",
    "enrolment_complete_date_median",
    "model",
}


def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", url)
    return url


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SQLite trial with ten randomised patients, four PFS events and one withdrawal."""
    url = _database(tmp_path, monkeypatch)
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
        enrolled = {}
        for k in range(10):
            on = START + dt.timedelta(days=7 * k)
            patient = randomise_patient(session, investigator, site, on)
            enrolled[patient.id] = 7 * k
        _fill(session, investigator, enrolled)
    database.dispose()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["predict", "events", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("filled")
def test_json_contract_from_the_database(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "--target", "120", "--cutoff", "2008-04-20", "--sims", "200", "--json",
        "--at", "2009-01-01",
    )  # fmt: skip
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert set(data) >= KEYS
    assert data["cutoff"] == "2008-04-20"
    assert data["model"] == "average"  # the default, as for --data
    assert data["events_so_far"] == 3  # PD day 56, deaths days 37, 74 (not 111)
    assert data["at_risk"] == 6
    assert len(data["predicted_date_90pi"]) == 2
    assert data["at"][0]["date"] == "2009-01-01"
    assert not any("arm" in key.lower() for key in data)
    assert "hazard_ratio" not in out  # the mixture's component estimates are withheld


@pytest.mark.usefixtures("filled")
def test_summary_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--sims", "100")
    assert code == 0
    assert "of 120 events" in out
    assert "hazard_ratio" not in out
    code, out, err = _run(capsys, "--cutoff", "2001-01-01", "--json")
    assert (code, out) == (2, "")
    assert "no patient was randomised by the cut-off 2001-01-01" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "--trial", "NOPE")
    assert code == 2
    assert "no trial 'NOPE'" in err
    code, _, err = _run(capsys, "--sims", "50000")
    assert code == 2
    assert "at most 20000" in err


def test_an_empty_trial_says_no_patient_is_randomised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _database(tmp_path, monkeypatch)
    database = create_database(url, pool_size=1)
    upgrade(database.engine)
    with transaction(database) as session:
        make_trial(session)
    database.dispose()
    code, out, err = _run(capsys, "--json")
    assert (code, out) == (2, "")
    assert "no patient of SOR is randomised yet" in err


@pytest.mark.usefixtures("filled")
def test_the_default_cutoff_is_at_most_the_calendar_date(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # records run past 2008-04-20; with the service's date pinned there, the forecast is as
    # of that date (as the web page's), not as of the real clock
    monkeypatch.setenv("TRIALKIT_CALENDAR_DATE", "2008-04-20")
    code, out, err = _run(capsys, "--sims", "100", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["cutoff"] == "2008-04-20"
