"""The third protocol (COLO, test data only) in Chromium: its own screening form and a CRF.

A server of its own, on a SQLite database holding only COLO: an investigator screens a patient
on COLO's screening form (the live checklist, a show_when item appearing), and, the patient
randomised, adds a row of lesions to the baseline CT and records a CT assessment (RECIST preview).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET, test_settings
from tests.e2e.conftest import _free_port, chromium_or_skip
from tests.factories import PASSWORD, SYSTEM, make_user, restock, seal_trial
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction
from trialkit.service.randomisation import supply
from trialkit.service.trials import trials
from trialkit.service.trials.tables import Site

COLO = Path(__file__).resolve().parents[1] / "protocol" / "data" / "colorectal.yaml"
TODAY = dt.date(2021, 3, 1)


@pytest.fixture(scope="module")
def colo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over a database holding COLO, a site and its investigator; (URL, username)."""
    chromium_or_skip()
    folder = tmp_path_factory.mktemp("colo")
    url = f"sqlite:///{folder / 'colo.db'}"
    database = create_database(url, pool_size=1)
    upgrade(database.engine)
    security = Security.from_settings(test_settings(url))
    with transaction(database) as session:
        trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(COLO))
        site = trials.add_site(
            session=session,
            actor=SYSTEM,
            trial_id=trial.id,
            code="IT01",
            name="Ospedale di Prova",
            city="Milano",
            country="IT",
        )
        trials.record_ethics_approval(
            session=session,
            actor=SYSTEM,
            site_id=site.id,
            committee="Test EC",
            approval_date=dt.date(2020, 2, 1),
            protocol_version=trial.protocol_version,
        )
        site = trials.activate_site(session=session, actor=SYSTEM, site_id=site.id)
        seal_trial(session, trial, kits=60)
        row = session.get(Site, site.id)
        assert row is not None
        assert supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=TODAY)
        restock(session, site, TODAY)
        investigator = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    database.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "TRIALKIT_DATABASE_URL": url,
        "TRIALKIT_SECRET_KEY": TEST_SECRET,
        "TRIALKIT_CALENDAR_DATE": TODAY.isoformat(),
        "TRIALKIT_ARGON2_TIME_COST": "1",
        "TRIALKIT_ARGON2_MEMORY_KIB": "8",
        "TRIALKIT_ARGON2_PARALLELISM": "1",
    }
    env.pop("TRIALKIT_DEMO", None)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "trialkit.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("the server did not start:\n" + (folder / "server.log").read_text())
                time.sleep(0.2)
        yield base, investigator.username
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_colo_screening_form_and_a_crf_in_chromium(
    browser: Any, colo_server: tuple[str, str]
) -> None:
    """``browser``: the session's Chromium (one Playwright a process)."""
    server, username = colo_server
    _screen_and_record(browser, server, username)


def _open_sections(page: Any) -> None:
    """Open each folded section of the screening form, as a person filling it in does."""
    page.locator("details.section-fold").evaluate_all("folds => folds.forEach(f => f.open = true)")


def _screen_and_record(browser: Any, server: str, username: str) -> None:
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    page.wait_for_url(re.compile(r"/home$"))
    page.goto("/patients")
    page.get_by_label("New patient: screening number").fill("IT01-001")
    page.get_by_role("button", name="Register and screen").click()
    page.wait_for_url(re.compile(r"/patients/\d+/screening$"))
    patient_url = page.url.removesuffix("/screening")
    _open_sections(page)

    # --- COLO's own screening form, the live checklist beside it ---------------------------
    page.get_by_label("Sex").select_option("male")
    page.get_by_label("Date of birth").fill("1955-06-01")
    page.get_by_label("Planned randomisation date").fill("2021-03-01")
    page.get_by_label("ECOG performance status").fill("1")
    page.get_by_label("RAS mutation status").select_option("wild_type")
    page.get_by_label("Primary tumour site").select_option("rectum")
    assert page.locator("details.conditional", has_text="Induction cycles given").count() == 1
    page.get_by_label("Progression on induction chemotherapy").select_option("no")
    page.get_by_label("Height").fill("170")
    page.get_by_label("Weight").fill("70")
    checklist = page.locator("#checklist")
    # I3's reason, live (htmx), the code in words from the code list
    checklist.get_by_text("RAS wild-type").first.wait_for()
    page.get_by_role("button", name="Save screening record").click()
    page.wait_for_url(re.compile(r"saved=screening"))
    # the form again: induction cycles now asked (its show_when holds), not folded away
    page.goto(patient_url + "/screening")
    _open_sections(page)
    assert page.locator("details.conditional", has_text="Induction cycles given").count() == 0
    assert page.get_by_label("Induction cycles given").is_visible()

    # --- consent, randomisation, and a CRF: the baseline CT with a row added ---------------
    page.goto(patient_url + "/consent")
    page.get_by_label("Date of consent").fill("2021-02-25")
    page.get_by_label("Version of the patient information sheet").fill("1.0")
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(re.compile(r"saved=consent"))
    page.get_by_role("link", name="Randomise", exact=True).click()
    page.wait_for_url(re.compile(r"/randomise$"))
    page.get_by_label(re.compile("I confirm that patient IT01-001")).check()
    page.get_by_role("button", name="Randomise now").click()
    page.wait_for_url(re.compile(r"/randomise\?done=1$"))
    assert "cetuximab" in page.inner_text("main")  # RAS wild-type: the protocol's rule
    page.goto(patient_url + "/forms/tumour_baseline")
    page.get_by_label("Date of the baseline CT").fill("2021-02-20")
    page.get_by_role("button", name="Add a row to Target lesions").click()
    page.locator('[name="target.1.organ"]').wait_for()
    for name, value in {
        "target.0.id": "T1",
        "target.0.organ": "liver",
        "target.0.diameter_mm": "40",
        "target.1.id": "T2",
        "target.1.organ": "lung",
        "target.1.diameter_mm": "15",
    }.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"saved=tumour_baseline"))
    page.goto(patient_url + "/forms/tumour_assessment")
    page.get_by_label("Date of the CT").fill("2021-05-03")
    page.get_by_label("Target lesion: T1 (mm)").fill("20")
    page.get_by_label("Target lesion: T2 (mm)").fill("10")
    page.get_by_label("New lesions", exact=True).select_option("no")
    preview = page.locator("#recist-preview")
    preview.get_by_text("as entered, not saved").wait_for()  # the RECIST preview, live
    assert "partial response" in preview.locator("#timepoints").inner_text()  # RECIST in words
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"saved=tumour_assessment"))
    context.close()
