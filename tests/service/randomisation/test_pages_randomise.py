"""The randomise page shows exactly the service's readiness checks: a patient the service would
refuse is never shown ready (no confirmation step), whichever precondition she fails."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from tests.conftest import test_settings
from tests.factories import ENROLMENT_DAY, make_eligible_patient, principal, seal_trial, stock_site
from tests.randomisation_cases import CASES, Case
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.randomisation import Precondition

AsUser = Callable[[str], Browser]
_ROW = re.compile(
    r'<tr data-check="([a-z_]+)" data-ok="(yes|no)">.*?<td class="reason">(.*?)'
    r'(?: <a href="[^"]*">Fix this</a>)?</td></tr>',
    re.S,
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The pages' calendar pinned inside SOR's enrolment period."""
    return test_settings(database_url, calendar_date=ENROLMENT_DAY)


@pytest.fixture
def stocked(web_world: WebWorld, db: Database) -> WebWorld:
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
        stock_site(session, web_world.trial, web_world.site_a)
    return web_world


def _shown(page: str) -> list[tuple[str, bool, str]]:
    return [(name, ok == "yes", html.unescape(why)) for name, ok, why in _ROW.findall(page)]


def _service(
    db: Database, security: Security, world: WebWorld, patient_id: int
) -> list[tuple[str, bool, str]]:
    with db.sessions.begin() as session:
        actor = principal(session, security, world.users["investigator"])
        ready = randomisation.readiness(
            session=session, actor=actor, patient_id=patient_id, on_date=ENROLMENT_DAY
        )
    return [(str(c.name), c.ok, c.reason) for c in ready.checks]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_patient_the_service_refuses_is_never_shown_ready(
    as_user: AsUser, stocked: WebWorld, db: Database, security: Security, case: Case
) -> None:
    with db.sessions.begin() as session:
        actor = principal(session, security, stocked.users["investigator"])
        patient = case.build(session, actor, stocked.trial, stocked.site_a)
    browser = as_user("investigator")
    page = browser.get(f"/patients/{patient}/randomise")
    assert page.status_code == 200
    if case.fails == Precondition.NOT_RANDOMISED:  # the page shows her randomisation instead
        assert 'id="randomisation-number"' in page.text
    else:
        assert _shown(page.text) == _service(db, security, stocked, patient)
        assert (case.fails, False) in [(n, ok) for n, ok, _ in _shown(page.text)]
        assert "Missing step:" in page.text
    assert 'name="confirm"' not in page.text
    refused = browser.post(f"/patients/{patient}/randomise", {"confirm": "yes"})
    assert refused.status_code == 422
    assert "The patient was not randomised." in refused.text


def test_a_ready_patient_s_page_lists_every_check_met_then_the_confirmation(
    as_user: AsUser, stocked: WebWorld, db: Database, security: Security
) -> None:
    with db.sessions.begin() as session:
        actor = principal(session, security, stocked.users["investigator"])
        patient = make_eligible_patient(session, actor, stocked.site_a).id
    page = as_user("investigator").get(f"/patients/{patient}/randomise")
    shown = _shown(page.text)
    assert shown == _service(db, security, stocked, patient)
    assert [name for name, _, _ in shown] == [str(p) for p in Precondition]
    assert all(ok for _, ok, _ in shown)
    assert "Missing step:" not in page.text
    assert 'name="confirm"' in page.text
