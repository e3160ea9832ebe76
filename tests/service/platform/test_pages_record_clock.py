"""Through the pages, with the calendar pinned: records carry its date (the pages run mounted in
the API application, whose middleware pins the date for every request)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.service.platform.api import deps as api_deps
from trialkit.service.platform.boundary import MAX_ID
from trialkit.service.platform.calendar import Clock
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages import deps as web_deps
from trialkit.service.screening.tables import Patient
from trialkit.service.server import create_server

PINNED = dt.date(2009, 3, 2)


def test_a_patient_registered_through_the_pages_on_a_pinned_calendar_carries_its_date(
    database_url: str, db: Database, web_world: WebWorld
) -> None:
    app = create_server(test_settings(database_url, calendar_date=PINNED), database=db)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        browser = Browser(client, web_world.tokens["investigator"])
        response = browser.post(
            "/patients", {"screening_number": "CLOCK-W1", "site_id": str(web_world.site_a.id)}
        )
        assert response.status_code == 303, response.text
    with db.sessions() as session:
        created = session.scalars(
            select(Patient.created_at).where(Patient.screening_number == "CLOCK-W1")
        ).one()
    assert created.date() == PINNED


def test_the_api_and_the_pages_give_the_same_today_and_id_limits_from_one_source(
    database_url: str, db: Database, web_world: WebWorld
) -> None:
    """One clock and one set of HTTP dependencies serve both: the server's clock, given, moves
    the API's and the pages' "today" together (neither reads the settings' date itself), and an
    id beyond the database's range is refused by both (the API: 422, the pages: their 404)."""
    moved = dt.date(2009, 7, 15)
    app = create_server(
        test_settings(database_url, calendar_date=PINNED),
        database=db,
        clock=Clock(pinned_date=moved),
    )
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        token = web_world.tokens["pharmacist"]
        trials = client.get("/api/trials", headers={"Authorization": f"Bearer {token}"})
        assert trials.status_code == 200, trials.text
        assert {t["enrolment"]["on_date"] for t in trials.json()} == {moved.isoformat()}
        page = Browser(client, token).get("/pharmacy")
        assert page.status_code == 200, page.text
        assert f"Today is {moved.isoformat()}" in page.text
        investigator = Browser(client, web_world.tokens["investigator"])
        headers = {"Authorization": f"Bearer {web_world.tokens['investigator']}"}
        assert client.get(f"/api/patients/{MAX_ID + 1}", headers=headers).status_code == 422
        assert investigator.get(f"/patients/{MAX_ID + 1}").status_code == 404
        assert client.get(f"/api/patients/{MAX_ID}", headers=headers).status_code == 404
        assert investigator.get(f"/patients/{MAX_ID}").status_code == 404
    assert web_deps.Id is api_deps.Id
    assert web_deps.Today is api_deps.Today
    assert web_deps.DbSession is api_deps.DbSession
    assert web_deps.checked_input is api_deps.checked_input
