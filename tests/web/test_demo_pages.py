"""Every role's pages work against the seeded demo trial (issue 9 section 2, "done when").

The demo users log in (demo mode) and open their pages over a small seeded demo; blinded roles
see no arm on any of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings
from tests.demo_fixtures import SMALL_DEMO
from tests.web.test_pages import arm_mentions
from trialkit.protocol import load_protocol
from trialkit.server import create_server
from trialkit.service import Security, auth
from trialkit.service.demo import DEMO_USERS, seed_demo
from trialkit.store import Database
from trialkit.store.patients import Patient
from trialkit.store.randomisation import Randomisation
from trialkit.web.deps import COOKIE_NAME

BLINDED = {"investigator", "investigator-de", "pharmacist", "pharmacist-de", "monitor"}
BLINDED |= {"statistician", "admin"}


@pytest.fixture
def demo_web(database_url: str, db: Database) -> Iterator[tuple[TestClient, dict[str, str], int]]:
    """The server in demo mode over a seeded small demo; tokens of every demo user."""
    settings = test_settings(database_url, demo=True)
    security = Security.from_settings(settings)
    with db.sessions.begin() as session:
        outcome = seed_demo(session=session, security=security, options=SMALL_DEMO)
        tokens = {
            u.username: auth.login(
                session=session,
                security=security,
                username=u.username,
                password=u.password,
                kind="cookie",
            )
            .token_or_raise()
            .token
            for u in DEMO_USERS
        }
        patient = session.scalars(
            select(Patient.id)
            .join(Randomisation, Randomisation.patient_id == Patient.id)
            .where(Patient.screening_number.startswith("IT01-"))
            .order_by(Patient.id)
        ).first()
    assert patient is not None, "the small demo randomises at Milano"
    # as serve --demo does: the calendar date is the demo's data cut-off
    app = create_server(
        test_settings(database_url, demo=True, calendar_date=outcome.cutoff), database=db
    )
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client, tokens, patient


PAGES = {
    "investigator": [
        "/home",
        "/patients",
        "/patients/{p}",
        "/patients/{p}/screening",
        "/patients/{p}/consent",
    ],
    "investigator-de": ["/home", "/patients"],
    "pharmacist": ["/home"],
    "pharmacist-de": ["/home"],
    "monitor": ["/home", "/monitor"],
    "statistician": ["/home", "/design"],
    "unblinded": ["/home"],
    "dsmb": ["/home"],
    "admin": ["/home", "/admin/sites", "/admin/users", "/admin/audit"],
}


def test_every_demo_role_opens_its_pages_and_blinded_roles_see_no_arm(
    demo_web: tuple[TestClient, dict[str, str], int],
) -> None:
    client, tokens, patient = demo_web
    title = load_protocol("sor").title
    for user, pages in PAGES.items():
        client.cookies.set(COOKIE_NAME, tokens[user])
        for url in pages:
            page = client.get(url.format(p=patient))
            assert page.status_code == 200, (user, url, page.text[:300])
            if user in BLINDED:
                # criteria and design assumptions name the drugs; data must not name an arm
                quotes_protocol = user.startswith("investigator") or url == "/design"
                assert arm_mentions(page.text, title, names=not quotes_protocol) == [], (user, url)
    client.cookies.set(COOKIE_NAME, tokens["investigator"])
    assert "enrolment open" in client.get("/home").text  # on the demo's calendar date
    # the German investigator does not reach a Milano patient
    client.cookies.set(COOKIE_NAME, tokens["investigator-de"])
    assert client.get(f"/patients/{patient}").status_code == 404
