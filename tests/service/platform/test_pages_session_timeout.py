"""An idle web session: the login page says why, and logging in returns to the page."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import PASSWORD, MovableClock
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages.deps import COOKIE_NAME, LOGIN_CSRF_COOKIE
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.server import create_server

IDLE_NOTICE = "Your session ended after 30 minutes without activity."


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def timed_web(
    settings: Settings, db: Database, security: Security, clock: MovableClock
) -> Iterator[TestClient]:
    app = create_server(settings, database=db, security=dataclasses.replace(security, clock=clock))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def test_an_idle_session_ends_on_the_login_page_and_returns_after_login(
    timed_web: TestClient, web_world: WebWorld, clock: MovableClock, db: Database
) -> None:
    web = timed_web
    web.cookies.set(COOKIE_NAME, web_world.tokens["investigator"])
    page = f"/patients/{web_world.patient.id}"
    assert web.get(page).status_code == 200
    clock.advance(minutes=29)
    assert web.get(page).status_code == 200  # activity: the session lives on
    clock.advance(minutes=30)
    ended = web.get(page)
    assert ended.status_code == 303
    assert ended.headers["location"] == f"/login?next={page}&ended=idle"
    login = web.get(ended.headers["location"])
    assert login.status_code == 200
    assert IDLE_NOTICE in login.text
    assert f'name="next" value="{page}"' in login.text
    with db.sessions() as session:  # the end is recorded although the page was refused
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).one()
        assert event.username == web_world.users["investigator"].username
    done = web.post(
        "/login",
        data={
            "csrf_token": web.cookies[LOGIN_CSRF_COOKIE],
            "next": page,
            "username": web_world.users["investigator"].username,
            "password": PASSWORD,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == page
    assert web.get(page).status_code == 200


def test_the_notice_names_the_configured_minutes_not_the_address(
    timed_web: TestClient,
) -> None:
    page = timed_web.get("/login?ended=idle&minutes=1")
    assert IDLE_NOTICE in page.text
    assert "ended after" not in timed_web.get("/login").text
    assert "ended after" not in timed_web.get("/login?ended=other").text


def test_a_form_posted_after_the_timeout_goes_to_the_login_page(
    timed_web: TestClient, web_world: WebWorld, clock: MovableClock
) -> None:
    browser = Browser(timed_web, web_world.tokens["monitor"])
    browser.csrf()  # the form token of the live session, read off a page
    clock.advance(minutes=31)
    response = browser.post("/logout", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/logout&ended=idle"


def test_a_second_tab_after_the_timeout_is_told_the_session_timed_out(
    timed_web: TestClient, web_world: WebWorld, clock: MovableClock, db: Database
) -> None:
    web = timed_web
    web.cookies.set(COOKIE_NAME, web_world.tokens["investigator"])
    assert web.get("/patients").status_code == 200
    clock.advance(minutes=31)
    first_tab = web.get("/patients")
    assert first_tab.headers["location"] == "/login?next=/patients&ended=idle"
    # the other tab presents the same (now ended) session: the same reason, not "ended"
    second_tab = web.get(f"/patients/{web_world.patient.id}")
    assert second_tab.status_code == 303
    assert (
        second_tab.headers["location"] == f"/login?next=/patients/{web_world.patient.id}&ended=idle"
    )
    assert IDLE_NOTICE in web.get(second_tab.headers["location"]).text
    with db.sessions() as session:  # recorded once
        assert (
            len(session.scalars(select(AuditEvent).where(AuditEvent.action == "timeout")).all())
            == 1
        )
