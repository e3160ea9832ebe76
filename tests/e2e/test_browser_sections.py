"""In a real browser: a nurse fills a field of the screening form with a value out of its range
and sees the service's message under it before saving; she saves one section, and the progress
marker moves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.test_browser import PASSWORDS, _login


def test_a_field_is_checked_as_it_is_filled_and_a_section_is_saved_alone(
    browser: Any, server: str, artefacts: Path
) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    page.goto("/patients")
    page.get_by_label("New patient: screening number").fill("IT01-SEC")
    page.get_by_role("button", name="Register and screen").click()
    page.wait_for_url(re.compile(r"/patients/\d+/screening$"))
    progress = page.locator("#progress")
    assert progress.get_attribute("data-done") == "0"
    total = progress.get_attribute("data-total")

    page.locator("#section-general > summary").click()
    ecog = page.locator('[name="ecog"]')
    ecog.fill("9")
    ecog.dispatch_event("change")
    message = page.locator("#f-ecog-check")
    message.get_by_text("must be at most 5").wait_for()  # before anything is saved
    page.screenshot(path=artefacts / "screening-field-check.png", full_page=False)
    ecog.fill("1")
    ecog.dispatch_event("change")
    message.get_by_text("must be at most 5").wait_for(state="detached")

    page.locator("#section-general").get_by_role("button", name="Save this section").click()
    page.locator("#section-saved").wait_for()
    saved = page.locator("#section-saved").inner_text()
    assert "Section “Randomisation, performance status and tablets” saved as version 1." in saved
    assert progress.get_attribute("data-done") == "1"
    assert progress.get_attribute("data-total") == total
    assert page.locator('[name="ecog"]').input_value() == "1"
    page.screenshot(path=artefacts / "screening-section-saved.png", full_page=False)
    page.context.close()
