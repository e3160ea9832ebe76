"""The report pages: blinded for the statistician, unblinded for the unblinded roles, downloads,
errors next to the field, and no arm on a blinded page."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.factories import login
from tests.report_world import CUTOFF, fill_trial
from tests.service.page_fixtures import Browser
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import iter_events

CUT = f"cutoff={CUTOFF.isoformat()}"


@dataclass(frozen=True)
class Tokens:
    statistician: str
    unblinded: str
    investigator: str
    monitor: str
    unblinded_name: str


@pytest.fixture
def tokens(db: Database, security: Security) -> Tokens:
    with db.sessions.begin() as session:
        world = fill_trial(session, security, patients_n=8)
        return Tokens(
            login(session, security, world.statistician),
            login(session, security, world.unblinded),
            login(session, security, world.investigator),
            login(session, security, world.monitor),
            world.unblinded.username,
        )


def test_statistician_sees_the_blinded_report_with_downloads(
    web: TestClient, tokens: Tokens
) -> None:
    browser = Browser(web, tokens.statistician)
    assert 'href="/reports"' in browser.get("/home").text
    page = browser.get(f"/reports?{CUT}")
    assert page.status_code == 200
    assert "BLINDED - pooled data" in page.text
    assert '<label for="f-cutoff">' in page.text
    assert "All patients (n=8" in page.text  # the pooled Kaplan-Meier curve
    for arm_derived in ("<td>Sorafenib</td>", "<td>Placebo</td>", "Hazard ratio", "log-rank"):
        assert arm_derived not in page.text
    assert 'name="view"' not in page.text  # no unblinded choice for a blinded role
    pdf = browser.get(f"/reports/report.pdf?{CUT}&view=blinded")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    html = browser.get(f"/reports/report.html?{CUT}&view=blinded")
    assert html.text.startswith("<!DOCTYPE html>")
    assert "attachment" in html.headers["content-disposition"]
    assert browser.get(f"/reports?{CUT}&view=unblinded").status_code == 403


def test_unblinded_statistician_sees_arms_and_may_choose_the_blinded_report(
    web: TestClient, tokens: Tokens
) -> None:
    browser = Browser(web, tokens.unblinded)
    page = browser.get(f"/reports?{CUT}")
    assert "UNBLINDED - by arm" in page.text
    assert "<td>Sorafenib</td>" in page.text
    assert "Protocol decision" in page.text
    blinded = browser.get(f"/reports?{CUT}&view=blinded")
    assert "BLINDED - pooled data" in blinded.text
    assert "<td>Sorafenib</td>" not in blinded.text


def test_monitor_sees_the_blinded_report_only(web: TestClient, tokens: Tokens) -> None:
    browser = Browser(web, tokens.monitor)
    assert 'href="/reports"' in browser.get("/home").text  # the monitor's card links it
    page = browser.get(f"/reports?{CUT}")
    assert page.status_code == 200
    assert "BLINDED - pooled data" in page.text
    assert "All patients (n=8" in page.text
    # the trial's title names the drugs; no table, curve or sentence names an arm
    for arm_derived in ("<td>Sorafenib", "<td>Placebo", "Sorafenib (n=", "Placebo (n="):
        assert arm_derived not in page.text
    for arm_derived in ("Hazard ratio", "log-rank", "Protocol decision"):
        assert arm_derived not in page.text
    assert 'name="view"' not in page.text
    assert browser.get(f"/reports?{CUT}&view=unblinded").status_code == 403
    assert browser.get(f"/reports/report.html?{CUT}&view=unblinded").status_code == 403


def test_viewing_the_unblinded_report_is_audited(
    web: TestClient, tokens: Tokens, db: Database
) -> None:
    browser = Browser(web, tokens.unblinded)
    assert browser.get(f"/reports?{CUT}").status_code == 200
    assert browser.get(f"/reports/report.pdf?{CUT}&view=unblinded").status_code == 200
    with db.sessions() as session:
        events = [e.as_dict() for e in iter_events(session) if e.entity == "trial_report"]
    assert [(e["action"], e["username"], e["role"], e["reason"]) for e in events] == [
        (
            "view_unblinded_report",
            tokens.unblinded_name,
            "unblinded_statistician",
            f"unblinded report at the {CUTOFF.isoformat()} data cut-off ({output})",
        )
        for output in ("page", "pdf")
    ]


def test_a_bad_date_is_shown_next_to_the_field(web: TestClient, tokens: Tokens) -> None:
    page = Browser(web, tokens.statistician).get("/reports?cutoff=31.01.2009")
    assert page.status_code == 422
    assert 'id="f-cutoff-error"' in page.text
    assert "YYYY-MM-DD" in page.text


def test_an_investigator_may_not_see_a_report(web: TestClient, tokens: Tokens) -> None:
    assert Browser(web, tokens.investigator).get(f"/reports?{CUT}").status_code == 403
