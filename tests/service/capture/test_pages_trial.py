"""The investigator's and pharmacist's pages after screening: randomisation, the case report
forms with RECIST and PFS, queries, emergency unblinding, and the pharmacy. Each test names
what it proves; blinded pages are scanned for the protocol's arm labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings
from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    SYSTEM,
    make_eligible_patient,
    principal,
    seal_trial,
    stock_site,
)
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.protocol import load_protocol
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.notifications import Notification
from trialkit.service.randomisation import randomisation, supply
from trialkit.service.randomisation.tables.randomisation import Unblinding
from trialkit.service.screening import patients
from trialkit.service.trials.tables import Site

AsUser = Callable[[str], Browser]
SOR = load_protocol("sor")
ARM_LABELS = [arm.label for arm in SOR.arms]  # Sorafenib, Placebo
BLINDED_PHRASE = "sorafenib/placebo"  # the calendar's blinded study drug names both arms


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The pages' calendar pinned inside SOR's enrolment period (2007-11-22 to 2010-06-30)."""
    return test_settings(database_url, calendar_date=ENROLMENT_DAY)


@dataclass(frozen=True)
class Trial:
    ready: int  # eligible and consented, not randomised
    treated: int  # randomised through the service
    kit: int  # the treated patient's first kit


@pytest.fixture
def trial(web_world: WebWorld, db: Database, security: Security) -> Trial:
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
        stock_site(session, web_world.trial, web_world.site_a)
        actor = principal(session, security, web_world.users["investigator"])
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=web_world.patient.id,
            consent_date=ENROLMENT_DAY,
            information_sheet_version="1.0",
        )
        treated = make_eligible_patient(session, actor, web_world.site_a)
        shown = randomisation.randomise(
            session=session, actor=actor, patient_id=treated.id, on_date=ENROLMENT_DAY
        )
    assert shown.kit_number is not None
    return Trial(web_world.patient.id, treated.id, shown.kit_number)


def arm_shown(html: str) -> list[str]:
    """The arm labels (and arm words) a page shows, the blinded study-drug name aside.

    The eligibility checklist quotes the protocol's criteria, which name the drugs, so it is
    left out of the scan for names (not of the scan for arm words).
    """
    text = html.replace(SOR.title, "").replace(BLINDED_PHRASE, "")
    words = re.findall(r"\barms?\b|\bArm [AB]\b|allocat", text, re.I)
    text = re.sub(r'<section aria-labelledby="eligibility">.*?</section>', "", text, flags=re.S)
    return words + [label for label in ARM_LABELS if re.search(label, text, re.I)]


def error_at(html: str, field_id: str) -> str:
    """The error shown next to a field (its ``<p class="error">``), or ``""``."""
    found = re.search(rf'id="{field_id}-error"><strong>Error:</strong> ([^<]*)<', html)
    return found.group(1) if found else ""


def _unlabelled_inputs(html: str) -> list[str]:
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    bare = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*\sid=)[^>]*>', html)
    return [i for i in ids if i not in labelled] + bare


# --- randomisation -----------------------------------------------------------------------------


def test_the_randomise_page_names_the_missing_step(as_user: AsUser, web_world: WebWorld) -> None:
    page = as_user("investigator").get(f"/patients/{web_world.fresh.id}/randomise")
    assert page.status_code == 200
    assert "Missing step:" in page.text
    assert "eligibility has not been evaluated: evaluate the screening record first" in page.text
    assert f'href="/patients/{web_world.fresh.id}/consent"' in page.text
    assert 'name="confirm"' not in page.text  # no confirmation until every check is met


def test_randomisation_needs_confirmation_then_shows_number_kit_and_calendar_not_the_arm(
    as_user: AsUser, trial: Trial
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{trial.ready}/randomise"
    page = browser.get(url)
    assert "Missing step:" not in page.text
    assert 'name="confirm"' in page.text
    assert _unlabelled_inputs(page.text) == []

    refused = browser.post(url, {})
    assert refused.status_code == 422
    assert "Tick the box to confirm" in refused.text

    done = browser.post(url, {"confirm": "yes"})
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert "The patient is randomised." in page.text
    number = re.search(r'id="randomisation-number">(\d+)<', page.text)
    kit = re.search(r'id="kit-number">(\d+)<', page.text)
    assert number
    assert kit
    assert "Treatment calendar" in page.text
    assert "Letrozole 2.5 mg orally once daily" in page.text  # the endocrine group's calendar
    therapy = "<dd>Endocrine therapy (letrozole)</dd>"  # its rule's label, not 'endocrine'
    assert therapy in page.text
    assert arm_shown(page.text) == []
    patient = browser.get(f"/patients/{trial.ready}")
    assert f'id="randomisation-number">{number.group(1)}<' in patient.text
    assert therapy in patient.text
    assert "Visit schedule" in patient.text
    assert arm_shown(patient.text) == []

    again = browser.post(url, {"confirm": "yes"})  # a second post (a reload) is refused
    assert again.status_code == 422
    assert "randomised already (randomisation number " + number.group(1) in again.text


def test_the_service_s_refusal_is_shown_at_the_top(
    as_user: AsUser, web_world: WebWorld, trial: Trial, db: Database
) -> None:
    with db.sessions.begin() as session:  # the site runs out of kits: the service refuses
        from trialkit.service.randomisation.tables.supply import InventoryKit

        for kit in session.scalars(
            select(InventoryKit).where(
                InventoryKit.site_id == web_world.site_a.id, InventoryKit.status == "available"
            )
        ):
            kit.status = "damaged"
    page = as_user("investigator").post(f"/patients/{trial.ready}/randomise", {"confirm": "yes"})
    assert page.status_code == 422
    assert "The patient was not randomised." in page.text
    assert "cannot dispense a kit for whichever treatment" in page.text
    assert arm_shown(page.text) == []


@pytest.mark.parametrize(
    "suffix", ["/randomise", "/unblinding", "/forms/adverse_event", "/forms/tumour_baseline"]
)
def test_another_site_s_investigator_gets_not_found(
    as_user: AsUser, trial: Trial, suffix: str
) -> None:
    browser = as_user("other_investigator")
    for patient_id in (trial.ready, trial.treated):
        page = browser.get(f"/patients/{patient_id}{suffix}")
        assert page.status_code == 404, suffix
        assert "Not found" in page.text
        posted = browser.post(
            f"/patients/{patient_id}{suffix}",
            {"confirm": "yes", "term": "Nausea", "password": PASSWORD, "reason": "x"},
        )
        assert posted.status_code == 404, suffix


# --- case report forms, RECIST and PFS -----------------------------------------------------------


def test_an_adverse_event_is_recorded_and_corrected_with_a_reason(
    as_user: AsUser, trial: Trial
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/adverse_event"
    page = browser.get(url)
    assert page.status_code == 200
    assert _unlabelled_inputs(page.text) == []
    for label in ("Term", "NCI-CTCAE grade", "Serious", "Relation to study drug"):
        assert label in page.text

    bad = browser.post(url, {"term": "Neutropenia", "grade": "7", "start_date": "2008-13-40"})
    assert bad.status_code == 422
    assert error_at(bad.text, "f-start_date").startswith("this date does not exist")
    assert 'id="error-summary"' in bad.text
    assert 'href="#f-start_date">Start date</a>: this date does not exist' in bad.text
    assert 'value="Neutropenia"' in bad.text  # what was entered is kept

    fields = {
        "term": "Neutropenia",
        "grade": "3",
        "start_date": "2008-03-20",
        "ongoing": "yes",
        "serious": "no",
        "relationship": "possible",
        "action_taken": "dose_interrupted",
    }
    saved = browser.post(url, fields)
    assert saved.status_code == 303, saved.text
    patient = browser.get(saved.headers["location"])
    assert "Adverse event AE-1 saved." in patient.text
    # the summary in words: labels and code labels from the form definition, no internal names
    assert "Term: Neutropenia; NCI-CTCAE grade: Grade 3 (severe)" in patient.text
    assert "Relation to study drug: Possibly related" in patient.text

    correction = browser.get(url + "?key=AE-1")
    assert "Version 2 corrects version 1" in correction.text
    assert 'value="Neutropenia"' in correction.text
    no_reason = browser.post(url, {**fields, "record_key": "AE-1", "grade": "4"})
    assert no_reason.status_code == 422
    assert error_at(no_reason.text, "f-reason").startswith("Say why")
    fixed = browser.post(
        url, {**fields, "record_key": "AE-1", "grade": "4", "reason": "grade misread"}
    )
    assert fixed.status_code == 303
    assert (
        "NCI-CTCAE grade: Grade 4 (life-threatening)"
        in browser.get(f"/patients/{trial.treated}").text
    )


def test_an_adverse_event_ending_before_it_started_is_refused_next_to_the_field(
    as_user: AsUser, trial: Trial
) -> None:
    """A hard inconsistency is refused: the message next to the end date, in the summary at the
    top, every input kept as entered, and nothing recorded."""
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/adverse_event"
    fields = {
        "term": "Febrile neutropenia",
        "grade": "3",
        "start_date": "2008-03-03",
        "end_date": "2008-03-01",
        "serious": "yes",
        "relationship": "possible",
        "action_taken": "dose_interrupted",
    }
    refused = browser.post(url, fields)
    assert refused.status_code == 422
    assert error_at(refused.text, "f-end_date").startswith(
        "end_date 2008-03-01 is before start_date 2008-03-03"
    )
    assert 'href="#f-end_date">End date</a>: end_date 2008-03-01 is before' in refused.text
    assert "saved" not in refused.text
    for value in ("Febrile neutropenia", "2008-03-03", "2008-03-01"):
        assert f'value="{value}"' in refused.text
    for name, value in (
        ("grade", "3"),
        ("serious", "yes"),
        ("relationship", "possible"),
        ("action_taken", "dose_interrupted"),
    ):
        select = re.search(rf'<select id="f-{name}".*?</select>', refused.text, re.S)
        assert select, name
        assert f'<option value="{value}" selected>' in select.group(0), name
    assert browser.get(url + "?key=AE-1").status_code == 404  # nothing recorded
    patient = browser.get(f"/patients/{trial.treated}")
    assert "Febrile neutropenia" not in patient.text


def test_soft_check_queries_are_shown_next_to_their_fields_and_at_the_top(
    as_user: AsUser, trial: Trial
) -> None:
    """A record saved with failing soft checks: its queries lead the patient page, each linking
    to its field; on the form page each query sits next to its field and in a summary above."""
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/adverse_event"
    saved = browser.post(url, {"term": "Fatigue", "start_date": "2008-03-03", "serious": "no"})
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("key=AE-1#query-summary")  # opens at the queries
    patient = browser.get(saved.headers["location"]).text
    summary = patient.index('id="query-summary"')
    assert summary < patient.index('id="randomisation"')  # at the top, not below the records
    assert "Adverse event AE-1 saved." in patient
    assert '<p class="notice warn" role="status">Adverse event AE-1 saved. Its checks' in patient
    assert "3 of them on the record just saved." in patient
    # an edit check's message names the record and the item: it is the link, said once
    link = f'href="{url}?key=AE-1#f-grade">Adverse event AE-1: NCI-CTCAE grade is required'
    assert link in patient
    assert "Adverse event AE-1 · NCI-CTCAE grade</a>: Adverse event AE-1" not in patient
    assert f'href="{url}?key=AE-1#f-relationship">' in patient
    # next to the record in the records table
    records = patient[patient.index('id="records"') :]
    assert f'<a href="{url}?key=AE-1#f-grade">NCI-CTCAE grade</a>' in records

    form = browser.get(f"{url}?key=AE-1").text
    top = form.index('id="query-summary"')
    assert top < form.index(f'<form method="post" action="{url}"')
    # the edit check's message names the item by its label, never its internal name
    assert 'href="#f-grade">Adverse event AE-1: NCI-CTCAE grade is required' in form
    assert "NCI-CTCAE grade</a>: Adverse event AE-1" not in form
    grade = re.search(r'<div class="field queried">.*?<select id="f-grade"[^>]*>', form, re.S)
    assert grade
    assert 'id="f-grade-query"' in grade.group(0)
    assert "NCI-CTCAE grade is required" in grade.group(0)
    assert 'aria-describedby="f-grade-query"' in grade.group(0)
    assert 'id="f-term-query"' not in form  # no query on the term


def test_tumour_assessments_show_recist_per_assessment_and_pfs(
    as_user: AsUser, trial: Trial
) -> None:
    browser = as_user("investigator")
    base = f"/patients/{trial.treated}/forms"
    page = browser.get(f"{base}/tumour_baseline")
    assert _unlabelled_inputs(page.text) == []
    missing = browser.post(
        f"{base}/tumour_baseline", {"date": "2008-02-25", "target.0.organ": "liver"}
    )
    assert missing.status_code == 422
    assert error_at(missing.text, "f-target-0-diameter_mm").startswith("needed in every row")
    assert error_at(missing.text, "f-target-0-id").startswith("needed in every row")
    label = "Longest diameter (short axis for a node)"
    assert f'href="#f-target-0-diameter_mm">{label}</a>' in missing.text

    baseline = {
        "date": "2008-02-25",
        "target.0.id": "T1",
        "target.0.organ": "liver",
        "target.0.diameter_mm": "30",
        "target.0.method": "CT",
        "target.1.id": "T2",
        "target.1.organ": "lung",
        "target.1.diameter_mm": "20",
        "non_target.0.id": "NT1",
        "non_target.0.organ": "bone",
    }
    assert browser.post(f"{base}/tumour_baseline", baseline).status_code == 303
    page = browser.get(f"{base}/tumour_assessment")
    assert "Target lesion measurements: T1 (mm)" in page.text
    assert _unlabelled_inputs(page.text) == []
    first = {"date": "2008-04-28", "target.0": "20", "target.1": "12", "non_target.0": "present"}
    # the response as entered, before saving: an htmx fragment, or the whole form without JS
    live = browser.post(
        f"{base}/tumour_assessment/check",
        {**first, "new_lesions": "no"},
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<section id="recist-preview"')
    assert "as entered, not saved" in live.text
    assert "<td><strong>partial response</strong></td>" in live.text
    plain = browser.post(f"{base}/tumour_assessment/check", {**first, "new_lesions": "no"})
    assert "<html" in plain.text
    assert "<td><strong>partial response</strong></td>" in plain.text
    assert 'value="20"' in plain.text  # the entries stay in the form
    wrong = browser.post(
        f"{base}/tumour_assessment/check",
        {**first, "target.0": "big"},
        headers={"HX-Request": "true"},
    )
    assert "Correct the fields marked in the form" in wrong.text
    assert "TA-1" not in browser.get(f"/patients/{trial.treated}").text  # nothing was saved
    assert (
        browser.post(f"{base}/tumour_assessment", {**first, "new_lesions": "no"}).status_code == 303
    )
    patient = browser.get(f"/patients/{trial.treated}")
    assert (
        "<td><strong>partial response</strong></td>" in patient.text
    )  # 50 -> 32 mm: -36%, partial response
    assert "censored" in patient.text  # no progression yet: PFS censored at the last assessment

    second = {"date": "2008-06-23", "target.0": "too small", "target.1": "12"}
    progression = {**second, "non_target.0": "present", "new_lesions": "yes"}
    assert browser.post(f"{base}/tumour_assessment", progression).status_code == 303
    patient = browser.get(f"/patients/{trial.treated}")
    assert "<td><strong>progressive disease</strong></td>" in patient.text
    assert re.search(r'id="best-response">partial response<', patient.text)
    facts = patient.text[patient.text.index('id="pfs-facts"') :]
    assert "<strong>event</strong> on 2008-06-23: Disease progression" in facts
    # 2008-03-03 to 2008-06-23: 112 days plus one (ADaM: ADT - STARTDT + 1)
    assert "113 days" in facts
    assert arm_shown(patient.text) == []
    form = browser.get(f"{base}/tumour_assessment")  # the response so far, beside the form
    assert "Tumour response so far" in form.text
    assert "<td><strong>progressive disease</strong></td>" in form.text

    # a death dated before the last scan contradicts it: the page says so and shows the rest
    assert (
        browser.post(f"{base}/death", {"date": "2008-05-01", "cause": "progression"}).status_code
        == 303
    )
    patient = browser.get(f"/patients/{trial.treated}")
    assert patient.status_code == 200
    assert "PFS cannot be derived from the records as they are:" in patient.text
    assert "after death" in patient.text
    assert "Visit schedule" in patient.text


def test_clinical_dates_not_before_the_patients_birth_are_refused_next_to_the_field(
    as_user: AsUser, trial: Trial
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/adverse_event"
    fields = {"term": "Neutropenia", "grade": "3", "start_date": "1940-03-20", "ongoing": "yes"}
    refused = browser.post(url, fields)
    assert refused.status_code == 422
    message = error_at(refused.text, "f-start_date")
    assert "date of birth (1946-04-12, from the screening record)" in message, message
    assert 'value="Neutropenia"' in refused.text  # what was entered is kept


def test_bad_input_on_a_form_is_never_a_server_error(as_user: AsUser, trial: Trial) -> None:
    browser = as_user("investigator")
    base = f"/patients/{trial.treated}/forms"
    blank = browser.post(f"{base}/adverse_event", {"term": " "})
    assert blank.status_code == 422
    assert error_at(blank.text, "f-form").startswith("Nothing was entered")
    assert browser.get(f"{base}/no_such_form").status_code == 404
    assert browser.get(f"{base}/adverse_event?key=AE-99").status_code == 404
    weird = browser.post(f"{base}/docetaxel_cycle", {"cycle": "nine", "dose_mg": "1e999"})
    assert weird.status_code == 422
    assert "enter a whole number" in weird.text
    assert "enter a number" in weird.text
    too_big = browser.post(f"{base}/docetaxel_cycle", {"cycle": "9"})
    assert too_big.status_code == 422
    assert 'id="f-cycle-error"' in too_big.text
    not_randomised = browser.post(f"/patients/{trial.ready}/forms/death", {"date": "2008-05-01"})
    assert not_randomised.status_code == 422
    assert "is not randomised" in not_randomised.text


# --- queries ------------------------------------------------------------------------------------


def test_open_queries_are_answered_on_the_site_list(as_user: AsUser, trial: Trial) -> None:
    browser = as_user("investigator")
    # an adverse event without its grade: the edit checks open a query on the field
    saved = browser.post(
        f"/patients/{trial.treated}/forms/adverse_event",
        {"term": "Fatigue", "start_date": "2008-03-10"},
    )
    assert saved.status_code == 303
    patient = browser.get(f"/patients/{trial.treated}")
    assert "No open queries." not in patient.text
    listing = browser.get("/queries")
    assert listing.status_code == 200
    assert _unlabelled_inputs(listing.text) == []
    query_id = re.search(r'action="/queries/(\d+)/answer"', listing.text)
    assert query_id
    url = f"/queries/{query_id.group(1)}/answer"
    empty = browser.post(url, {"response": " ", "next": "/queries"})
    assert empty.status_code == 422
    assert f'id="f-response-{query_id.group(1)}-error"' in empty.text
    answered = browser.post(url, {"response": "grade 2, corrected", "next": "https://evil.example"})
    assert answered.status_code == 303
    assert answered.headers["location"].startswith("/queries?answered=")
    assert "grade 2, corrected" in browser.get("/queries").text
    assert as_user("other_investigator").post(url, {"response": "x"}).status_code == 404


# --- emergency unblinding ------------------------------------------------------------------------


def _query_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="query-(\d+)"', html)]


def test_the_monitor_raises_a_query_the_site_answers_and_the_monitor_closes(
    as_user: AsUser, trial: Trial
) -> None:
    site = as_user("investigator")
    saved = site.post(
        f"/patients/{trial.treated}/forms/adverse_event",
        {"term": "Fatigue", "start_date": "2008-03-10", "grade": "2"},
    )
    assert saved.status_code == 303
    key = re.search(r"key=([^&#]+)", saved.headers["location"])
    record = key.group(1) if key else "AE1"
    monitor = as_user("monitor")
    patient_page = monitor.get(f"/patients/{trial.treated}")
    assert f"/forms/adverse_event/query?key={record}" in patient_page.text
    form = monitor.get(f"/patients/{trial.treated}/forms/adverse_event/query?key={record}")
    assert form.status_code == 200
    assert _unlabelled_inputs(form.text) == []
    assert '<option value="grade">' in form.text
    refused = monitor.post(
        f"/patients/{trial.treated}/forms/adverse_event/query",
        {"key": record, "field": "grade", "message": " "},
    )
    assert refused.status_code == 422
    assert error_at(refused.text, "f-message") == "Write the question to the site."
    raised = monitor.post(
        f"/patients/{trial.treated}/forms/adverse_event/query",
        {"key": record, "field": "grade", "message": "Source says grade 3: please check."},
    )
    assert raised.status_code == 303
    query_id = int(re.search(r"done=(\d+)", raised.headers["location"]).group(1))  # type: ignore[union-attr]
    # the site sees it on its list, named in words, and answers
    listed = as_user("investigator").get("/queries")
    assert query_id in _query_ids(listed.text)
    assert "Source says grade 3" in listed.text
    assert ">grade<" not in listed.text
    assert f'action="/queries/{query_id}/close"' not in listed.text
    answered = as_user("investigator").post(
        f"/queries/{query_id}/answer", {"response": "Grade 2 per the notes.", "next": "/queries"}
    )
    assert answered.status_code == 303
    # the monitor re-opens it with a comment, the site answers again, the monitor closes it
    review = as_user("monitor").get("/queries", params={"status": "answered"})
    assert query_id in _query_ids(review.text)
    assert "Grade 2 per the notes." in review.text
    reopened = as_user("monitor").post(
        f"/queries/{query_id}/reopen", {"comment": "The source says 3.", "next": "/queries"}
    )
    assert reopened.status_code == 303
    site_view = as_user("investigator").get("/queries", params={"status": "open"})
    assert "Re-opened: The source says 3." in site_view.text
    as_user("investigator").post(
        f"/queries/{query_id}/answer", {"response": "Corrected to 3.", "next": "/queries"}
    )
    empty = as_user("monitor").post(f"/queries/{query_id}/close", {"resolution": ""})
    assert empty.status_code == 422
    assert error_at(empty.text, f"f-resolution-{query_id}") == "Say why the query is closed."
    closed = as_user("monitor").post(
        f"/queries/{query_id}/close", {"resolution": "Corrected.", "next": "/queries"}
    )
    assert closed.status_code == 303
    assert query_id not in _query_ids(as_user("monitor").get("/queries").text)
    done = as_user("monitor").get("/queries", params={"status": "closed", "form": "adverse_event"})
    assert query_id in _query_ids(done.text)
    assert "Closed: Corrected." in done.text
    # the site may not close, another site's investigator does not see it
    assert (
        as_user("investigator").post(f"/queries/{query_id}/reopen", {"comment": "x"}).status_code
        == 403
    )
    assert query_id not in _query_ids(as_user("other_investigator").get("/queries?status=all").text)


def test_the_query_list_counts_by_site_and_form_and_pages(as_user: AsUser, trial: Trial) -> None:
    site = as_user("investigator")
    for day in range(3):
        site.post(
            f"/patients/{trial.treated}/forms/adverse_event",
            {"term": f"Nausea {day}", "start_date": f"2008-03-1{day}"},
        )
    page = as_user("monitor").get("/queries", params={"per_page": "1", "form": "adverse_event"})
    assert page.status_code == 200
    assert len(_query_ids(page.text)) == 1
    total = re.search(r"1–1 of (\d+) queries", page.text)
    assert total is not None
    assert int(total.group(1)) >= 3  # each AE without its grade opens at least one
    assert 'rel="next"' in page.text
    assert "Queries by site" in page.text
    assert "Queries by form" in page.text
    assert '<th scope="row">Adverse event</th>' in page.text


def test_unblinding_shows_the_arm_once_to_that_investigator_after_the_form(
    as_user: AsUser, trial: Trial, db: Database
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/unblinding"
    page = browser.get(url)
    assert page.status_code == 200
    assert "Warning." in page.text
    assert _unlabelled_inputs(page.text) == []
    assert arm_shown(page.text) == []

    wrong = browser.post(url, {"password": "not it", "reason": "anaphylaxis", "understood": "yes"})
    assert wrong.status_code == 422
    assert error_at(wrong.text, "f-password").startswith("The password is wrong")
    assert arm_shown(wrong.text) == []
    unread = browser.post(url, {"password": PASSWORD, "reason": ""})
    assert unread.status_code == 422
    assert 'id="f-reason-error"' in unread.text
    assert 'id="f-understood-error"' in unread.text

    shown = browser.post(url, {"password": PASSWORD, "reason": "anaphylaxis", "understood": "yes"})
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert [label for label in ARM_LABELS if f"receives: {label}." in shown.text]
    # recorded, and nowhere else shown: the patient page and the form again stay blinded
    assert arm_shown(browser.get(f"/patients/{trial.treated}").text) == []
    assert arm_shown(browser.get(url).text) == []
    with db.sessions() as session:
        notes = session.scalars(select(Notification.body)).all()
    assert any("anaphylaxis" in n for n in notes)
    # nobody else sees it either: the pharmacist's and the monitor's pages stay blinded
    assert arm_shown(as_user("pharmacist").get("/pharmacy").text) == []
    assert arm_shown(as_user("monitor").get(f"/patients/{trial.treated}").text) == []
    assert arm_shown(as_user("monitor").get("/monitor").text) == []


def test_wrong_passwords_on_the_unblinding_form_lock_the_account_as_failed_logins_do(
    as_user: AsUser,
    trial: Trial,
    db: Database,
    security: Security,
    web: TestClient,
    web_world: WebWorld,
) -> None:
    """Each refused unblinding is committed (its own request), counted with failed logins and
    audited: the form is no way round the lock-out."""
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/unblinding"
    for attempt in range(security.max_failed_logins):
        wrong = browser.post(
            url, {"password": f"guess {attempt}", "reason": "x", "understood": "yes"}
        )
        assert wrong.status_code == 422
        assert arm_shown(wrong.text) == []
    assert error_at(wrong.text, "f-password").startswith("Your account is locked")
    right = browser.post(url, {"password": PASSWORD, "reason": "x", "understood": "yes"})
    assert right.status_code == 422
    assert error_at(right.text, "f-password").startswith("Your account is locked")
    assert arm_shown(right.text) == []
    username = web_world.users["investigator"].username
    with db.sessions() as session:
        refused = session.scalars(
            select(AuditEvent.reason)
            .where(AuditEvent.action == "emergency_unblinding_refused")
            .order_by(AuditEvent.seq)
        ).all()
        assert session.scalars(select(Unblinding)).all() == []
    assert refused == ["wrong password"] * security.max_failed_logins + ["account locked"]
    login = web.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert login.status_code == 401
    assert "locked" in login.text


# --- pharmacist ---------------------------------------------------------------------------------


def test_the_pharmacist_dispenses_a_later_cycle(as_user: AsUser, trial: Trial) -> None:
    browser = as_user("pharmacist")
    page = browser.get("/pharmacy")
    assert page.status_code == 200
    assert _unlabelled_inputs(page.text) == []
    assert arm_shown(page.text) == []
    assert "1: " + str(trial.kit) in page.text  # cycle 1, dispensed at randomisation
    assert 'href="/pharmacy/kits?site=IT01&amp;status=dispensed">dispensed: 1</a>' in page.text

    first = browser.post("/pharmacy/dispensings", {"patient_id": str(trial.treated), "cycle": "1"})
    assert first.status_code == 422
    assert error_at(first.text, f"f-cycle-{trial.treated}").startswith("cycle 1")
    word = browser.post("/pharmacy/dispensings", {"patient_id": str(trial.treated), "cycle": "two"})
    assert word.status_code == 422
    assert "whole number" in word.text

    # randomised today: cycle 2 is not due; the page says why, next to the override reason,
    # folded under an early dispensing (the usual case, not an alarm)
    row = page.text[page.text.index(f'id="patient-{trial.treated}"') :]
    row = row[: row.index("</tr>")]
    assert "<summary>Dispense early, with a documented reason</summary>" in row
    assert f'<p class="hint" id="refusal-{trial.treated}">' in row
    assert "notice warn" not in row
    early = browser.post("/pharmacy/dispensings", {"patient_id": str(trial.treated), "cycle": "2"})
    assert early.status_code == 422
    assert "cycle 2 is not due" in error_at(early.text, f"f-override-{trial.treated}")
    # the refused form comes back unfolded, the refusal a warning beside the error
    row = early.text[early.text.index(f'id="patient-{trial.treated}"') :]
    assert f'<p class="notice warn" id="refusal-{trial.treated}">' in row[: row.index("</tr>")]
    done = browser.post(
        "/pharmacy/dispensings",
        {"patient_id": str(trial.treated), "cycle": "2", "override_reason": "travels for 5 weeks"},
    )
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    kit = re.search(r"Kit (\d+) dispensed\.", page.text)
    assert kit
    assert f"2: {kit.group(1)} (override: travels for 5 weeks)" in page.text
    assert arm_shown(page.text) == []
    twice = browser.post("/pharmacy/dispensings", {"patient_id": str(trial.treated), "cycle": "2"})
    assert twice.status_code == 422
    assert "dispensed already" in twice.text


def test_the_pharmacist_receives_a_shipment(
    as_user: AsUser, web_world: WebWorld, trial: Trial, db: Database
) -> None:
    with db.sessions.begin() as session:
        site = session.get(Site, web_world.site_a.id)
        assert site is not None
        request = supply.raise_resupply(
            session,
            trial_id=web_world.trial.id,
            site=site,
            on_date=ENROLMENT_DAY,
            threshold=24,  # the site holds fewer than 24 kits: a top-up, every arm to 12
            target=12,
        )
        assert request is not None
        shipment = supply.ship_resupply(
            session=session, actor=SYSTEM, request_id=request.id, today=ENROLMENT_DAY
        )
    browser = as_user("pharmacist")
    page = browser.get("/pharmacy")
    assert f"Receive shipment {shipment.id}" in page.text
    assert arm_shown(page.text) == []
    url = f"/pharmacy/shipments/{shipment.id}/receipt"
    bad = browser.post(url, {"damaged": "12a"})
    assert bad.status_code == 422
    assert error_at(bad.text, f"f-damaged-{shipment.id}").startswith("List damaged")
    stranger = browser.post(url, {"damaged": "999999"})
    assert stranger.status_code == 422
    assert "not in shipment" in stranger.text
    done = browser.post(url, {"damaged": str(shipment.kit_numbers[0])})
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert f"Shipment {shipment.id} received." in page.text
    assert f"Receive shipment {shipment.id}" not in page.text
    assert as_user("investigator").post(url, {}).status_code in (403, 404)


def test_damaged_kit_numbers_pass_the_boundary_checks_and_are_refused_next_to_the_field(
    as_user: AsUser, web_world: WebWorld, trial: Trial, db: Database
) -> None:
    """A kit number beyond the database's id range, in digits other than ASCII or too long to
    parse is refused (422) next to the damaged-kits field, naming the part; nothing is received."""
    with db.sessions.begin() as session:
        site = session.get(Site, web_world.site_a.id)
        assert site is not None
        request = supply.raise_resupply(
            session,
            trial_id=web_world.trial.id,
            site=site,
            on_date=ENROLMENT_DAY,
            threshold=24,
            target=12,
        )
        assert request is not None
        shipment = supply.ship_resupply(
            session=session, actor=SYSTEM, request_id=request.id, today=ENROLMENT_DAY
        )
    browser = as_user("pharmacist")
    url = f"/pharmacy/shipments/{shipment.id}/receipt"
    first = shipment.kit_numbers[0]
    for part in ("99999999999999999999", "2147483648", "\u00b2", "9" * 5000, "0"):
        refused = browser.post(url, {"damaged": f"{first}, {part}"})
        assert refused.status_code == 422, part[:30]
        message = error_at(refused.text, f"f-damaged-{shipment.id}")
        assert message.startswith("List damaged"), message
        assert part[:10] in message
    assert f"Receive shipment {shipment.id}" in browser.get("/pharmacy").text


def test_the_kit_inventory_is_searched_a_page_at_a_time(as_user: AsUser, trial: Trial) -> None:
    browser = as_user("pharmacist")
    page = browser.get("/pharmacy/kits")
    assert page.status_code == 200
    assert _unlabelled_inputs(page.text) == []
    assert arm_shown(page.text) == []
    assert f'<th scope="row">{trial.kit}</th>' in page.text  # by kit number
    one = browser.get("/pharmacy/kits", params={"number": str(trial.kit)})
    assert re.findall(r'<tr><th scope="row">(\d+)</th>', one.text) == [str(trial.kit)]
    assert re.search(r"<td>P-\d+</td>", one.text)  # the patient it was dispensed to
    paged = browser.get("/pharmacy/kits", params={"per_page": "2", "sort": "-number"})
    numbers = [int(n) for n in re.findall(r'<tr><th scope="row">(\d+)</th>', paged.text)]
    assert len(numbers) == 2
    assert numbers == sorted(numbers, reverse=True)
    assert 'rel="next"' in paged.text
    dispensed = browser.get("/pharmacy/kits", params={"status": "dispensed"})
    assert re.findall(r'<tr><th scope="row">(\d+)</th>', dispensed.text) == [str(trial.kit)]
    bad = browser.get("/pharmacy/kits", params={"number": "many"})
    assert bad.status_code == 422
    assert "number: enter a whole number, not &#39;many&#39;" in bad.text
    blank = browser.get("/pharmacy/kits?status=&number=&expires_by=")  # the search form, empty
    assert blank.status_code == 200
    assert as_user("investigator").get("/pharmacy/kits").status_code == 403


def test_only_pharmacists_open_the_pharmacy_and_investigators_the_query_list(
    as_user: AsUser,
) -> None:
    assert as_user("monitor").get("/pharmacy").status_code == 403
    assert as_user("investigator").get("/pharmacy").status_code == 403
    assert as_user("pharmacist").get("/queries").status_code == 403
    assert as_user("statistician").get("/queries").status_code == 403


def test_the_patient_list_shows_who_is_randomised(as_user: AsUser, trial: Trial) -> None:
    page = as_user("investigator").get("/patients")
    assert page.text.count("randomised (number ") == 1
    assert arm_shown(page.text) == []


def test_every_page_shows_the_one_enrolment_state(as_user: AsUser, trial: Trial) -> None:
    """Home, randomise, monitor and forecast read the state the service computes (one
    randomised of 220 here): the home page once said open while the forecast said complete."""
    state = 'data-enrolment="open">enrolment open: 1 of 220 patients randomised'
    investigator, monitor = as_user("investigator"), as_user("monitor")
    assert state in investigator.get("/home").text
    assert state in monitor.get("/monitor").text
    gate = investigator.get(f"/patients/{trial.ready}/randomise").text
    assert "enrolment in SOR is open (from 2007-11-22 to 2010-06-30): 1 of 220" in gate
    forecast = monitor.get("/forecast")
    assert forecast.status_code == 200
    assert state in forecast.text


def test_a_dead_patient_reads_dead_and_is_offered_only_the_death_and_end_forms(
    as_user: AsUser, trial: Trial
) -> None:
    browser = as_user("investigator")
    base = f"/patients/{trial.treated}/forms"
    page = browser.get(f"/patients/{trial.treated}")
    assert "randomised, on study treatment" in page.text
    assert f'href="{base}/adverse_event"' in page.text
    died = {"date": "2008-04-01", "cause": "other"}
    assert browser.post(f"{base}/death", died).status_code == 303
    page = browser.get(f"/patients/{trial.treated}")
    status = re.search(r'id="patient-status">([^<]*)<', page.text)
    assert status
    assert status.group(1).startswith("dead (since 2008-04-01")
    offered = re.findall(rf'<a class="button" href="{base}/([a-z_]+)"', page.text)
    assert offered == ["death", "end_of_treatment", "end_of_study"]  # the protocol's order
    listed = browser.get("/patients").text
    assert "randomised (number " in listed
    assert "dead since 2008-04-01" in listed
    assert arm_shown(page.text) == []


def test_a_study_drug_record_shows_its_kits_and_its_interruptions_entered_through_the_api(
    as_user: AsUser, trial: Trial, db: Database, security: Security, web_world: WebWorld
) -> None:
    from tests.sor_forms import Form
    from trialkit.service.capture import capture

    with db.sessions.begin() as session:  # entered through the API, with a dose interruption
        actor = principal(session, security, web_world.users["investigator"])
        capture.record_form(
            session=session,
            actor=actor,
            patient_id=trial.treated,
            form=Form.STUDY_DRUG,
            data={
                "start_date": "2008-03-03",
                "kits_dispensed": [str(trial.kit)],
                "interruptions": [{"start_date": "2008-03-10", "end_date": "2008-03-12"}],
            },
        )
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/study_drug"
    page = browser.get(url + "?key=SD-1")
    assert f'value="{trial.kit}"' in page.text
    assert 'name="interruptions.0.start_date" type="date" value="2008-03-10"' in page.text
    fixed = browser.post(
        url,
        {
            "record_key": "SD-1",
            "start_date": "2008-03-03",
            "kits_dispensed": f"{trial.kit}, 100099",
            "tablets_taken": "84",
            "interruptions.0._row": "1",
            "interruptions.0.start_date": "2008-03-10",
            "interruptions.0.end_date": "2008-03-12",
            "interruptions.1._row": "1",
            "reason": "second kit added",
        },
    )
    assert fixed.status_code == 303, fixed.text
    with db.sessions() as session:
        records = capture.list_records(
            session=session, actor=actor, patient_id=trial.treated, form=Form.STUDY_DRUG
        )
    assert records[-1].version == 2
    assert records[-1].data["kits_dispensed"] == [str(trial.kit), "100099"]
    assert records[-1].data["interruptions"] == [
        {"start_date": "2008-03-10", "end_date": "2008-03-12"}
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{t}/randomise",
        "/patients/{t}/unblinding",
        "/patients/{t}/forms/tumour_baseline",
        "/patients/{t}/forms/tumour_assessment",
        "/patients/{t}/forms/adverse_event",
        "/patients/{t}/forms/study_drug",
        "/patients/{t}/forms/tumour_assessment/check",
        "/patients/{t}/forms/tumour_baseline/check",
        "/queries/999999/answer",
        "/pharmacy/dispensings",
        "/pharmacy/shipments/999999/receipt",
    ],
)
def test_no_bad_input_is_a_server_error(as_user: AsUser, trial: Trial, path: str) -> None:
    url = path.format(t=trial.treated)
    junk = [
        {},
        {"record_key": "AE-77", "reason": "x"},
        {"date": "yesterday", "grade": "0", "target.0.diameter_mm": "-1", "target.0": "NaN"},
        {"cycle": "-3", "patient_id": "abc", "damaged": "1,,2;x"},
        {"term": "x" * 5000, "response": "y" * 5000, "password": "\x00", "reason": "z" * 5000},
        {"new_lesions": "perhaps", "non_target.0": "gone", "kits_dispensed": "," * 50},
    ]
    for who in ("investigator", "pharmacist", "other_investigator", "monitor"):
        browser = as_user(who)
        for data in junk:
            page = browser.post(url, data)
            assert page.status_code < 500, (who, data, page.text[:500])
            if page.status_code != 303:
                assert page.headers["content-type"].startswith("text/html")
            if who != "investigator" or "unblinding" not in url:
                assert arm_shown(page.text) == [], (who, data)


def test_a_monitor_reads_but_cannot_record_clinical_data(as_user: AsUser, trial: Trial) -> None:
    monitor = as_user("monitor")
    page = monitor.get(f"/patients/{trial.treated}")
    assert page.status_code == 200
    assert "Visit schedule" in page.text
    assert f'href="/patients/{trial.treated}/forms/' not in page.text  # no form to fill in
    assert 'action="/queries/' not in page.text
    assert arm_shown(page.text) == []
    refused = monitor.post(f"/patients/{trial.treated}/forms/death", {"date": "2008-05-01"})
    assert refused.status_code == 403


def test_notices_show_no_text_from_the_address(as_user: AsUser, trial: Trial) -> None:
    """A crafted link cannot make a page announce something it did not do."""
    browser = as_user("investigator")
    page = browser.get(f"/patients/{trial.treated}?saved=Kit%20lost&key=call%20me&answered=x")
    assert "Kit lost" not in page.text
    assert "call me" not in page.text
    assert "answered." not in page.text
    assert "Query x" not in browser.get("/queries?answered=x").text
    pharmacy = as_user("pharmacist").get("/pharmacy?done=received-taken")
    assert pharmacy.status_code == 200
    assert "received." not in pharmacy.text


# --- home pages: work lists ---------------------------------------------------------------------


def _main(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<main", 1)[-1]))


def test_the_investigator_s_home_lists_her_site_s_work(as_user: AsUser, trial: Trial) -> None:
    browser = as_user("investigator")
    browser.post(
        f"/patients/{trial.treated}/forms/adverse_event",
        {"term": "Fatigue", "start_date": "2008-03-10"},
    )  # no grade: the edit checks open a query
    page = browser.get("/home")
    assert page.status_code == 200
    text = _main(page.text)
    assert "IT01" in text
    assert re.search(r"\d+ open quer(y|ies)", text)
    assert 'href="/queries?site=IT01&amp;status=open"' in page.text
    # the consented, eligible patient waits for randomisation; the fresh one lacks her screening
    assert "Screened, not yet randomised" in text
    assert "IT01-002" in text
    assert arm_shown(page.text) == []
    assert "(s)" not in text


def test_the_pharmacist_s_home_counts_the_week_s_work(as_user: AsUser, trial: Trial) -> None:
    page = as_user("pharmacist").get("/home")
    assert page.status_code == 200
    text = _main(page.text)
    assert re.search(r"\d+ patients? with a cycle due by", text)
    assert "shipment" in text
    assert 'href="/pharmacy/kits?site=IT01&amp;status=dispensed"' in page.text
    assert arm_shown(page.text) == []


def test_the_monitor_s_home_links_each_count_to_its_list(as_user: AsUser, trial: Trial) -> None:
    as_user("investigator").post(
        f"/patients/{trial.treated}/forms/adverse_event",
        {"term": "Fatigue", "start_date": "2008-03-10"},
    )
    browser = as_user("monitor")
    page = browser.get("/home")
    assert page.status_code == 200
    link = re.search(r'<a href="(/queries\?site=IT01&amp;status=open)">(\d+)</a>', page.text)
    assert link is not None
    listed = browser.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    shown = len(re.findall(r'<tr id="query-\d+"', listed.text))
    assert shown == int(link.group(2))
    assert "DE01" in _main(page.text)
    assert arm_shown(page.text) == []


def test_the_patient_list_is_searched_filtered_and_paged(
    as_user: AsUser, trial: Trial, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    rows = re.compile(r'<th scope="row"><a href="/patients/(\d+)">')
    page = browser.get("/patients")
    assert page.status_code == 200
    # newest first, the register form above the list
    assert page.text.index('action="/patients" class="inline-form"') < page.text.index("<table")
    listed = [int(n) for n in rows.findall(page.text)]
    assert listed == sorted(listed, reverse=True)
    one = browser.get("/patients", params={"q": "01-002"})
    assert [int(n) for n in rows.findall(one.text)] == [web_world.fresh.id]
    treated = browser.get("/patients", params={"status": "on_treatment"})
    assert [int(n) for n in rows.findall(treated.text)] == [trial.treated]
    paged = browser.get("/patients", params={"per_page": "1", "sort": "number"})
    assert len(rows.findall(paged.text)) == 1
    assert "1–1 of 3 patients" in paged.text
    assert 'rel="next"' in paged.text


def test_a_case_report_form_is_saved_section_by_section(
    as_user: AsUser, trial: Trial, db: Database
) -> None:
    """The baseline tumour form (two sections): its date saved first, then its lesions; the
    lesions typed before the first save stay on the page, and the second save needs no
    reason (it fills in what was empty)."""
    browser = as_user("investigator")
    url = f"/patients/{trial.treated}/forms/tumour_baseline"
    page = browser.get(url).text
    assert re.search(r'id="progress" data-done="0" data-total="2"', page)
    lesion = {
        "target": "listed",
        "target.0.id": "T1",
        "target.0.organ": "liver",
        "target.0.lymph_node": "no",
        "target.0.diameter_mm": "30",
        "target.0.method": "CT",
    }
    first = browser.post(url, {"date": "2008-02-25", **lesion, "section": "assessment"})
    assert first.status_code == 200, first.text
    assert "Section “Assessment” saved as version 1." in first.text
    assert re.search(r'id="progress" data-done="1" data-total="2"', first.text)
    assert 'value="liver"' in first.text  # typed in the other section, kept, not saved
    assert 'name="record_key" value="tumour_baseline"' in first.text
    second = browser.post(
        url,
        {"record_key": "tumour_baseline", "date": "2008-02-25", **lesion, "section": "lesions"},
    )
    assert second.status_code == 200, second.text
    assert re.search(r'id="progress" data-done="2" data-total="2"', second.text)
    with db.sessions.begin() as session:
        versions = session.scalars(
            select(CaptureRecord)
            .where(CaptureRecord.patient_id == trial.treated)
            .where(CaptureRecord.form == "tumour_baseline")
            .order_by(CaptureRecord.version)
        ).all()
        assert [(v.version, v.reason) for v in versions] == [(1, None), (2, None)]
        assert versions[0].data == {"date": "2008-02-25"}
        assert versions[1].data["date"] == "2008-02-25"
        assert versions[1].data["target"][0]["organ"] == "liver"
    same = browser.post(
        url,
        {"record_key": "tumour_baseline", "date": "2008-02-25", **lesion, "section": "lesions"},
    )
    assert same.status_code == 422  # nothing changed: no third version
    assert "holds these values already: nothing to save" in same.text
    # an out-of-range diameter is named as the field is filled, by the service's check
    check = browser.post(
        f"{url}/field?field=target.0.diameter_mm",
        {**lesion, "target.0.diameter_mm": "-3"},
        headers={"HX-Request": "true"},
    )
    assert "must be at least 0" in check.text
