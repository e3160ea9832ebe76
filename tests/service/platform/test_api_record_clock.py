"""Over the API, with the calendar pinned: records carry its date, the audit trail real time."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.factories import ENROLMENT_DAY
from tests.service.api_fixtures import World
from trialkit.service.platform.calendar import calendar_date, on_calendar
from trialkit.service.platform.policy import Role


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


def test_the_schedule_judges_visits_on_the_pinned_calendar_date(
    client: TestClient, world: World
) -> None:
    """GET .../schedule takes "today" from the service's calendar, not the computer's date."""
    response = client.get(
        f"/api/patients/{world.randomised}/schedule",
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert response.status_code == 200, response.text
    schedule = response.json()
    assert schedule["today"] == ENROLMENT_DAY.isoformat()
    assert schedule["overdue"] == 0  # randomised on the pinned day: nothing is due yet
    assert all(v["status"] != "overdue" for v in schedule["visits"])


def test_a_date_judged_without_a_caller_date_is_the_pinned_calendar_date() -> None:
    """The service's default "today" is the record clock's: the pinned date when one is."""
    pinned = dt.date(2009, 6, 30)
    with on_calendar(pinned):
        assert calendar_date(None) == pinned
        assert calendar_date(dt.date(2008, 1, 2)) == dt.date(2008, 1, 2)
    assert calendar_date(None) == dt.datetime.now(dt.UTC).date()
