"""Through the pages, with the calendar pinned: records carry its date (the pages run mounted in
the API application, whose middleware pins the date for every request)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.service.platform.db.database import Database
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
