"""The patient page's grid (status in words, colour class and legend, links to the forms) for
a dead patient with an open query, and one record's item history; no arm on either."""

from __future__ import annotations

import datetime as dt
import html as html_text
import re
from collections.abc import Callable

import pytest

from tests.conftest import test_settings
from tests.factories import ENROLMENT_DAY, make_eligible_patient, principal, seal_trial, stock_site
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.protocol import load_protocol
from trialkit.service.capture import queries
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation

AsUser = Callable[[str], Browser]
ARM_LABELS = [arm.label for arm in load_protocol("sor").arms]
TODAY = ENROLMENT_DAY + dt.timedelta(days=300)
DIED = ENROLMENT_DAY + dt.timedelta(days=200)
AE = {
    "term": "Neutropenia",
    "grade": "3",
    "start_date": (ENROLMENT_DAY + dt.timedelta(days=20)).isoformat(),
    "ongoing": "yes",
    "serious": "no",
    "relationship": "possible",
    "action_taken": "dose_interrupted",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url, calendar_date=TODAY)


@pytest.fixture
def treated(web_world: WebWorld, db: Database, security: Security) -> int:
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
        stock_site(session, web_world.trial, web_world.site_a)
        actor = principal(session, security, web_world.users["investigator"])
        patient = make_eligible_patient(session, actor, web_world.site_a)
        randomisation.randomise(
            session=session, actor=actor, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
    return patient.id


def _cell(html: str, form: str, column: str) -> str:
    found = re.search(
        rf'data-form="{form}" data-column="{column}" data-status="([a-z_]+)">(.*?)</td>',
        html,
        re.S,
    )
    assert found, f"no cell {form} × {column}"
    return found.group(1)


def _no_arm(html: str) -> None:
    assert not [label for label in ARM_LABELS if re.search(rf"\b{label}\b", html, re.I)]
    assert not re.search(r"\barms?\b", html, re.I)


def test_the_grid_shows_a_dead_patient_with_an_open_query_and_the_item_history(
    as_user: AsUser, treated: int, db: Database, security: Security, web_world: WebWorld
) -> None:
    site = as_user("investigator")
    assert site.post(f"/patients/{treated}/forms/adverse_event", AE).status_code == 303
    for form, data in (
        ("end_of_treatment", {"date": DIED.isoformat(), "reason": "death"}),
        ("death", {"date": DIED.isoformat(), "cause": "progression"}),
    ):
        saved = site.post(f"/patients/{treated}/forms/{form}", data)
        assert saved.status_code == 303, saved.text
    fixed = site.post(
        f"/patients/{treated}/forms/adverse_event",
        {**AE, "record_key": "AE-1", "grade": "2", "reason": "grade misread"},
    )
    assert fixed.status_code == 303, fixed.text
    with db.sessions.begin() as session:
        queries.raise_query(
            session=session,
            actor=principal(session, security, web_world.users["monitor"]),
            patient_id=treated,
            form="adverse_event",
            record_key="AE-1",
            field="grade",
            message="The source notes say grade 2: please check.",
        )
    monitor = as_user("monitor")
    page = monitor.get(f"/patients/{treated}")
    assert page.status_code == 200
    html = page.text
    assert 'id="grid-title"' in html
    assert re.search(r'id="grid-status">.*dead</span> since ' + DIED.isoformat(), html)
    # the reason in the words of the death form's code list, never the code
    assert re.search(r'id="grid-status">[^\n]*\(Disease progression\)', html)
    assert re.search(r'id="patient-status">[^<]*: Disease progression\)', html)
    assert _cell(html, "adverse_event", "events") == "open_queries"
    assert "1 open query" in html
    assert _cell(html, "death", "events") == "entered"
    assert _cell(html, "end_of_study", "events") == "expected"
    assert _cell(html, "tumour_assessment", "v1") in ("overdue", "expected")
    assert re.search(r'class="grid-legend"[^>]*>.*not applicable', html, re.S)
    assert f'href="/patients/{treated}/forms/adverse_event?key=AE-1"' in html
    # the page's eligibility criteria name the products; the grid names nothing of the kind
    _no_arm(html.split('aria-labelledby="grid-title"')[1].split("</section>")[0])
    assert monitor.get(f"/patients/{treated}/grid").status_code == 200
    assert monitor.get(f"/patients/{treated}/forms/adverse_event?key=AE-1").status_code == 200

    link = f"/patients/{treated}/records/adverse_event/AE-1/history"
    assert link in monitor.get(f"/patients/{treated}").text
    history = monitor.get(link)
    assert history.status_code == 200
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", history.text, re.S)
    assert rows
    newest = re.sub(r"<[^>]+>", "|", rows[0])
    assert "NCI-CTCAE grade" in newest
    assert "|3|" in newest
    assert "|2|" in newest
    assert "grade misread" in newest
    assert "2 versions, newest first." in history.text
    _no_arm(history.text)
    other = monitor.get(f"/patients/{treated}/records/adverse_event/AE-9/history")
    assert other.status_code == 404
    assert "no adverse_event record 'AE-9'" in html_text.unescape(other.text)
