"""Over the API, with the calendar pinned: records carry its date, the audit trail real time."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.api.conftest import World
from tests.factories import ENROLMENT_DAY
from trialkit.service import Role


def test_a_patient_registered_on_a_pinned_calendar_carries_its_date(
    client: TestClient, world: World
) -> None:
    assert client.app.state.settings.calendar_date == ENROLMENT_DAY  # type: ignore[attr-defined]
    real_day = dt.datetime.now(dt.UTC).date()
    response = client.post(
        f"/api/sites/{world.site_a.id}/patients",
        json={"screening_number": "CLOCK-1"},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert response.status_code == 201, response.text
    created = dt.datetime.fromisoformat(response.json()["created_at"])
    assert created.date() == ENROLMENT_DAY
    events = client.get(
        "/api/audit/events?limit=1000", headers=world.headers(Role.ADMINISTRATOR, "own")
    ).json()
    registered = [e for e in events if e["entity"] == "patient" and e["new_value"] == "CLOCK-1"]
    assert len(registered) == 1
    occurred = dt.datetime.fromisoformat(registered[0]["occurred_at"]).date()
    assert occurred >= real_day  # the computer's date, not the pinned one
