"""Web fixtures: the whole server (API and pages) on the test's rolled-back transaction.

Registered by ``tests/conftest.py``; a test using the pages runs on SQLite only (the pages are
thin over the service, whose tests run on both databases).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import TestUser, example_record, login, make_site, make_trial, make_user
from tests.factories import principal as principal_of
from trialkit.config import Settings
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages.deps import COOKIE_NAME
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import PatientView, SiteView, TrialView
from trialkit.service.screening import patients
from trialkit.service.server import create_server

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class WebWorld:
    trial: TrialView
    site_a: SiteView
    site_b: SiteView
    patient: PatientView  # at site A, one screening record, evaluated
    fresh: PatientView  # at site A, registered only
    users: dict[str, TestUser]
    tokens: dict[str, str]


@pytest.fixture
def web_world(db: Database, security: Security) -> WebWorld:
    with db.sessions.begin() as session:
        trial = make_trial(session)
        site_a = make_site(session, trial, code="IT01", country="IT")
        site_b = make_site(session, trial, code="DE01", country="DE")
        people = {
            "investigator": make_user(session, security, trial, Role.INVESTIGATOR, site=site_a),
            "other_investigator": make_user(
                session, security, trial, Role.INVESTIGATOR, site=site_b
            ),
            "pharmacist": make_user(session, security, trial, Role.PHARMACIST, site=site_a),
            "monitor": make_user(session, security, trial, Role.MONITOR),
            "data_manager": make_user(session, security, trial, Role.DATA_MANAGER),
            "statistician": make_user(session, security, trial, Role.STATISTICIAN),
            "unblinded": make_user(session, security, trial, Role.UNBLINDED_STATISTICIAN),
            "admin": make_user(session, security, trial, Role.ADMINISTRATOR),
        }
        actor = principal_of(session, security, people["investigator"])
        patient = patients.register_patient(
            session=session, actor=actor, site_id=site_a.id, screening_number="IT01-001"
        )
        patients.submit_screening_record(
            session=session, actor=actor, patient_id=patient.id, data=example_record()
        )
        patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
        fresh = patients.register_patient(
            session=session, actor=actor, site_id=site_a.id, screening_number="IT01-002"
        )
        tokens = {name: login(session, security, user) for name, user in people.items()}
    return WebWorld(trial, site_a, site_b, patient, fresh, people, tokens)


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_server(settings, database=db)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


class Browser:
    """A TestClient logged in as one user, that reads form tokens off the pages it gets."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        client.cookies.set(COOKIE_NAME, token)
        self._csrf: str | None = None

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def csrf(self) -> str:
        if self._csrf is None:
            page = self.client.get("/home")
            match = _CSRF.search(page.text)
            assert match, "no CSRF token on the home page"
            self._csrf = match.group(1)
        return self._csrf

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.csrf(), **data}, **kwargs)


@pytest.fixture
def as_user(web: TestClient, web_world: WebWorld) -> Callable[[str], Browser]:
    """Log in as one of the world's users (one client: the last call wins)."""

    def make(name: str) -> Browser:
        return Browser(web, web_world.tokens[name])

    return make
