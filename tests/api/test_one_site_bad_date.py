"""One site's mistake stays one site's: an implausible date is refused at entry, and a recorded
inconsistency (a new therapy dated before randomisation) is set aside for that patient and
listed, never a failure of the trial's report for everyone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World
from trialkit.errors import RecordError
from trialkit.service import Role
from trialkit.service.forms import Form, validate_form
from trialkit.service.outcomes import DataIssue, trial_outcomes
from trialkit.store import Database
from trialkit.store.trials import Trial


def _new_therapy(client: TestClient, world: World, start: str) -> object:
    return client.post(
        f"/api/patients/{world.randomised}/records/new_therapy",
        json={"data": {"start_date": start, "therapy": "capecitabine"}},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )


def test_an_implausible_clinical_date_is_refused_at_entry_naming_the_field(
    client: TestClient, world: World
) -> None:
    for start in ("0001-01-01", "1899-12-31", "9999-12-31"):
        response = _new_therapy(client, world, start)
        assert response.status_code == 422, start  # type: ignore[attr-defined]
        detail = response.json()["detail"][0]  # type: ignore[attr-defined]
        assert detail["loc"][-1] == "start_date"
        assert "1900-01-01" in detail["msg"]


def test_the_form_check_itself_refuses_it_whoever_calls_the_service() -> None:
    with pytest.raises(RecordError) as caught:
        validate_form(Form.NEW_THERAPY, {"start_date": "0001-01-01", "therapy": "x"})
    assert caught.value.location == "data.start_date"


def test_a_recorded_inconsistency_does_not_stop_the_trial_report_for_everyone(
    client: TestClient, world: World, db: Database
) -> None:
    # plausible as a date, but before the randomisation: accepted, and a query opens on it
    recorded = _new_therapy(client, world, "1990-01-01")
    assert recorded.status_code == 201  # type: ignore[attr-defined]
    assert recorded.json()["queries_opened"]  # type: ignore[attr-defined]
    trial = world.trial.id
    for role, query in (
        (Role.STATISTICIAN, ""),
        (Role.UNBLINDED_STATISTICIAN, "?unblinded=true"),
        (Role.DSMB_MEMBER, "?unblinded=true"),
    ):
        report = client.get(
            f"/api/trials/{trial}/report{query}", headers=world.headers(role, "own")
        )
        assert report.status_code == 200, (role, report.text[:300])
    pfs = client.get(
        f"/api/patients/{world.randomised}/pfs",
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert pfs.status_code == 422  # that patient's own PFS names the inconsistency
    assert "new_therapy_date 1990-01-01 is before randomisation" in pfs.text
    with db.sessions() as session:
        row = session.get(Trial, trial)
        assert row is not None
        issues: list[DataIssue] = []
        outcomes = trial_outcomes(session, row, issues=issues)
    assert world.randomised in outcomes  # still in the ITT population
    assert outcomes[world.randomised][0].new_therapy_date is None  # the date is set aside
    assert [(i.field, "before randomisation" in i.message) for i in issues] == [
        ("new_therapy_date", True)
    ]
