"""Sign-off pages: the investigator signs the casebook (name, UTC time and meaning on the page
and in the PDF), a change voids it; the monitor verifies, raises a query, works the SDV list and
signs a visit report. No page shows an arm."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from tests.conftest import test_settings
from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    make_eligible_patient,
    principal,
    seal_trial,
    stock_site,
)
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import User
from trialkit.service.randomisation import randomisation

AsUser = Callable[[str], Browser]
ARM_LABELS = [arm.label for arm in load_protocol("sor").arms]
FULL_NAME = "Dr Giulia Bianchi"
MEANING = "I approve this data as accurate and complete"
AE = {
    "term": "Neutropenia",
    "grade": "3",
    "start_date": "2008-03-20",
    "ongoing": "yes",
    "serious": "yes",
    "relationship": "possible",
    "action_taken": "dose_interrupted",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url, calendar_date=ENROLMENT_DAY)


@pytest.fixture
def treated(web_world: WebWorld, db: Database, security: Security) -> int:
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
        stock_site(session, web_world.trial, web_world.site_a)
        session.execute(
            update(User)
            .where(User.id == web_world.users["investigator"].id)
            .values(full_name=FULL_NAME)
        )
        actor = principal(session, security, web_world.users["investigator"])
        patient = make_eligible_patient(session, actor, web_world.site_a)
        randomisation.randomise(
            session=session, actor=actor, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
    return patient.id


def _no_arm(html: str) -> None:
    assert not [label for label in ARM_LABELS if re.search(rf"\b{label}\b", html, re.I)]
    assert not re.search(r"\barms?\b", html, re.I)


def _pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_investigator_signs_and_the_signature_shows_on_the_pages_and_in_the_pdf(
    as_user: AsUser, treated: int
) -> None:
    browser = as_user("investigator")
    assert browser.post(f"/patients/{treated}/forms/adverse_event", AE).status_code == 303
    page = browser.get(f"/patients/{treated}/casebook")
    assert page.status_code == 200
    assert "needs signing:" in page.text
    assert "Nothing is signed yet." in page.text
    url = f"/patients/{treated}/casebook/signatures"
    wrong = browser.post(url, {"what": "casebook", "meaning": MEANING, "password": "nope"})
    assert wrong.status_code == 422
    assert "The password is wrong; nothing was signed." in wrong.text
    no_meaning = browser.post(url, {"what": "casebook", "meaning": " ", "password": PASSWORD})
    assert no_meaning.status_code == 422
    assert "State the meaning of your signature." in no_meaning.text
    work = browser.get("/signatures")
    assert f'<a href="/patients/{treated}/casebook">' in work.text
    signed = browser.post(url, {"what": "casebook", "meaning": MEANING, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    page = browser.get(signed.headers["location"])
    shown = re.search(
        rf"Signed by {FULL_NAME} on (\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d) UTC: “{MEANING}”", page.text
    )
    assert shown, page.text
    assert "Every record of this casebook is signed." in page.text
    _no_arm(page.text)
    assert f'<a href="/patients/{treated}/casebook">' not in browser.get("/signatures").text
    patient_page = browser.get(f"/patients/{treated}")
    assert f"Signed by {FULL_NAME} on {shown.group(1)} UTC" in patient_page.text
    pdf = browser.get(f"/patients/{treated}/casebook.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", " ", _pdf_text(pdf.content))
    assert f"Signed by {FULL_NAME} on {shown.group(1)} UTC" in text
    assert MEANING in text
    assert "Neutropenia" in text
    _no_arm(text)

    # a correction voids the signature with its reason; the casebook says what to sign again
    fixed = browser.post(
        f"/patients/{treated}/forms/adverse_event",
        {**AE, "record_key": "AE-1", "grade": "4", "reason": "grade misread"},
    )
    assert fixed.status_code == 303
    page = browser.get(f"/patients/{treated}/casebook")
    assert "void: Adverse event AE-1 changed to version 2: grade misread" in page.text
    assert "records need signing (again)" in page.text
    text = re.sub(r"\s+", " ", _pdf_text(browser.get(f"/patients/{treated}/casebook.pdf").content))
    assert "void: Adverse event AE-1 changed to version 2" in text
    assert "needs signing" in text


def test_the_monitor_verifies_queries_works_the_list_and_signs_a_visit_report(
    as_user: AsUser, treated: int, web_world: WebWorld
) -> None:
    investigator = as_user("investigator")
    assert investigator.post(f"/patients/{treated}/forms/adverse_event", AE).status_code == 303
    monitor = as_user("monitor")
    work = monitor.get("/monitor/sdv")
    assert work.status_code == 200
    assert "serious adverse events" in work.text
    assert f'href="/patients/{treated}/sdv#sdv-adverse_event-AE-1"' in work.text
    _no_arm(work.text)
    opened = monitor.post(
        "/monitor/visits", {"site_id": str(web_world.site_a.id), "visit_date": "2008-04-01"}
    )
    assert opened.status_code == 303
    visit_url = opened.headers["location"]
    sdv_page = monitor.get(f"/patients/{treated}/sdv")
    assert sdv_page.status_code == 200
    assert "serious adverse events" in sdv_page.text
    _no_arm(sdv_page.text)
    nothing = monitor.post(
        f"/patients/{treated}/sdv", {"record": "adverse_event/AE-1", "whole": "no"}
    )
    assert nothing.status_code == 422
    assert "Tick the items you verified, or verify the whole record." in nothing.text
    done = monitor.post(
        f"/patients/{treated}/sdv",
        {"record": "adverse_event/AE-1", "item-grade": "grade", "whole": "no"},
    )
    assert done.status_code == 303
    assert "Marked verified against source." in monitor.get(done.headers["location"]).text
    query = monitor.post(
        f"/patients/{treated}/sdv/query",
        {"record": "adverse_event/AE-1", "field": "term", "message": "Source says febrile"},
    )
    assert query.status_code == 303
    whole = monitor.post(
        f"/patients/{treated}/sdv", {"record": "adverse_event/AE-1", "whole": "yes"}
    )
    assert whole.status_code == 303
    after = monitor.get("/monitor/sdv")
    assert f'href="/patients/{treated}/sdv#sdv-adverse_event-AE-1"' not in after.text

    report = monitor.get(visit_url)
    assert "Source says febrile" in report.text
    assert "whole record" in report.text
    # the form and the item in words, from the form definitions (never adverse_event, term)
    wording = re.search(r"<td>Adverse event AE-1</td><td>([^<]+)</td><td>Source says", report.text)
    assert wording is not None
    assert wording.group(1) == "Term"
    visit_id = visit_url.rsplit("/", 1)[1]
    assert monitor.post(f"{visit_url}/findings", {"findings": "ISF in order."}).status_code == 303
    wrong = monitor.post(f"{visit_url}/signature", {"meaning": "I confirm", "password": "x"})
    assert wrong.status_code == 422
    assert "The password is wrong" in wrong.text
    signed = monitor.post(f"{visit_url}/signature", {"meaning": "I confirm", "password": PASSWORD})
    assert signed.status_code == 303
    page = monitor.get(visit_url)
    assert re.search(r"Signed by \S+ on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: “I confirm”", page.text)
    assert "ISF in order." in page.text
    pdf = monitor.get(f"/monitor/visits/{visit_id}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", " ", _pdf_text(pdf.content))
    assert "ISF in order." in text
    assert "Source says febrile" in text
    assert "I confirm" in text
    # the investigator's correction of the verified record resets it: back on the list
    investigator = as_user("investigator")
    investigator.post(
        f"/patients/{treated}/forms/adverse_event",
        {**AE, "record_key": "AE-1", "term": "Febrile neutropenia", "reason": "query 1"},
    )
    back = as_user("monitor").get("/monitor/sdv")
    assert f'href="/patients/{treated}/sdv#sdv-adverse_event-AE-1"' in back.text
    assert "reset: Adverse event AE-1 changed to version 2: query 1" in back.text


def test_only_the_investigator_signs_and_only_the_monitor_verifies(
    as_user: AsUser, treated: int
) -> None:
    monitor = as_user("monitor")
    page = monitor.get(f"/patients/{treated}/casebook")
    assert page.status_code == 200
    assert 'action="/patients/' not in page.text  # no signing form
    refused = monitor.post(
        f"/patients/{treated}/casebook/signatures",
        {"what": "casebook", "meaning": MEANING, "password": PASSWORD},
    )
    assert refused.status_code == 403
    investigator = as_user("investigator")
    sdv_page = investigator.get(f"/patients/{treated}/sdv")
    assert "Verify the whole record" not in sdv_page.text
    assert (
        investigator.post(
            f"/patients/{treated}/sdv", {"record": "consent/consent", "whole": "yes"}
        ).status_code
        == 403
    )
    statistician = as_user("statistician")
    assert statistician.get(f"/patients/{treated}/casebook").status_code in (403, 404)


def test_the_home_pages_count_what_awaits_signing_and_verification_with_links(
    as_user: AsUser, treated: int, web_world: WebWorld
) -> None:
    investigator = as_user("investigator")
    assert investigator.post(f"/patients/{treated}/forms/adverse_event", AE).status_code == 303
    site = web_world.site_a.id
    home = investigator.get("/home").text
    counted = re.search(
        rf'<li id="to-sign-{site}"><a href="/signatures#site-{site}">(\d+) records? to sign '
        r"in (\d+) casebooks?</a>",
        home,
    )
    assert counted, home
    # the numbers are the sign-off service's: its list of casebooks to sign at the site
    listed = investigator.get(f"/api/sites/{site}/casebooks-to-sign").json()
    assert int(counted.group(1)) == sum(c["to_sign"] for c in listed) > 0
    assert int(counted.group(2)) == len(listed) == 1
    url = f"/patients/{treated}/casebook/signatures"
    signed = investigator.post(url, {"what": "casebook", "meaning": MEANING, "password": PASSWORD})
    assert signed.status_code == 303
    assert ">0 records to sign</a>" in investigator.get("/home").text

    monitor = as_user("monitor")
    home = monitor.get("/home").text
    link = re.search(rf'<a href="(/monitor/sdv\?site={site})" id="sdv-{site}">(\d+)</a>', home)
    assert link, home
    work = monitor.get(link.group(1)).text
    rows = re.findall(r'<th scope="row"><a href="/patients/\d+/sdv#', work)
    assert int(link.group(2)) == len(rows) > 0
    # the other site's count is there too, and nothing awaits there
    other = web_world.site_b.id
    assert re.search(rf'id="sdv-{other}">0</a>', home)
    # the work list is paged, the site filter kept in its links
    one = monitor.get("/monitor/sdv", params={"site": str(site), "per_page": "1"}).text
    assert len(re.findall(r'<th scope="row"><a href="/patients/\d+/sdv#', one)) == 1
    assert f'href="/monitor/sdv?site={site}&amp;sort=site&amp;per_page=1&amp;page=2"' in one
    # the count is cached per data version: a verification moves it at once
    before = int(link.group(2))
    verified = monitor.post(
        f"/patients/{treated}/sdv", {"record": "consent/consent", "whole": "yes"}
    )
    assert verified.status_code == 303, verified.text
    after = re.search(rf'id="sdv-{site}">(\d+)</a>', monitor.get("/home").text)
    assert after, "the monitor's home lost its SDV count"
    assert int(after.group(1)) == before - 1
