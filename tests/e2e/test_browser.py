"""In a real browser: an investigator screens a patient to eligible and saves; an investigator
at another site cannot open her; a blinded monitor's pages name no arm; screenshots of the
main pages are kept under test-artefacts/e2e/.

One scenario in order (a session-scoped server and browser), as a user would go through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.factories import example_record
from tests.web.test_pages import arm_mentions
from trialkit.protocol import load_protocol
from trialkit.service.demo import DEMO_USERS
from trialkit.web.screening_form import all_fields, record_to_form

PASSWORDS = {u.username: u.password for u in DEMO_USERS}
OTHER = ("investigator-berlin-2", "another investigator password")


def _login(browser: Any, server: str, username: str, password: str) -> Any:
    """A fresh browser context, logged in through the form by keyboard only."""
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/home$"))
    return page


def _fill_screening(page: Any, values: dict[str, str]) -> None:
    """Enter values one input at a time, as a user does (each change refreshes the checklist)."""
    kinds = {f.path: f.kind for f in all_fields()}
    for name, value in values.items():
        control = page.locator(f'[name="{name}"]')
        if kinds.get(name, "text") in {"yesno", "choice", "unit", "cancers"} or name.endswith(
            ".kind"
        ):
            control.select_option(value)
        else:
            control.fill(value)


def test_the_trial_in_a_browser(browser: Any, server: str, artefacts: Path) -> None:
    shots = artefacts

    # --- an investigator at Milano screens a new patient ---------------------------------
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    page.screenshot(path=shots / "investigator-home.png", full_page=True)
    page.get_by_role("link", name="Patients", exact=True).first.click()
    page.get_by_label("New patient: screening number").fill("IT01-E2E")
    page.get_by_role("button", name="Register and screen").click()
    page.wait_for_url(re.compile(r"/patients/\d+/screening$"))
    patient_url = page.url.removesuffix("/screening")

    values = record_to_form(example_record())
    first = {k: v for k, v in values.items() if k.startswith("patient.")}
    _fill_screening(page, first)
    checklist = page.locator("#checklist")
    # with only the patient section entered, the live checklist is undetermined and says why
    checklist.get_by_text("Undetermined: data missing").wait_for()
    assert checklist.locator(".missing a").count() > 0
    page.screenshot(path=shots / "screening-partial.png", full_page=False)

    # the other sections at once (as a browser's autofill would), then one change event
    rest = {k: v for k, v in values.items() if k not in first}
    page.evaluate(
        """values => {
            for (const [name, value] of Object.entries(values)) {
                document.querySelector(`[name="${name}"]`).value = value;
            }
            document.querySelector('[name="ecog"]').dispatchEvent(
                new Event("change", {bubbles: true}));
        }""",
        rest,
    )
    checklist.locator(".v-eligible").wait_for()
    assert "Eligible" in checklist.inner_text()
    page.screenshot(path=shots / "screening-eligible.png", full_page=True)

    page.get_by_role("button", name="Save screening record").click()
    page.wait_for_url(re.compile(r"/patients/\d+\?saved=screening$"))
    assert "Screening record saved and evaluated." in page.inner_text("main")
    assert "Eligible" in page.locator("#checklist").inner_text()
    page.screenshot(path=shots / "patient.png", full_page=True)
    page.context.close()

    # --- the administrator adds an investigator at the German site -----------------------
    page = _login(browser, server, "admin", PASSWORDS["admin"])
    page.goto("/admin/sites")
    page.screenshot(path=shots / "admin-sites.png", full_page=True)
    page.goto("/admin/users")
    new_user = page.locator("form[action='/admin/users']")
    new_user.get_by_label("Username").fill(OTHER[0])
    new_user.get_by_label("Full name").fill("Investigator in Berlin")
    new_user.get_by_label("Initial password").fill(OTHER[1])
    new_user.get_by_role("button", name="Create user").click()
    page.get_by_text("User created").wait_for()
    page.locator("details").last.locator("summary").click()
    grant = page.locator("form[action$='/roles']").last
    grant.get_by_label(re.compile("Role to grant to")).select_option("investigator")
    grant.get_by_label("Site (site roles only)").select_option(label="DE01")
    grant.get_by_role("button", name="Grant").click()
    page.get_by_text("Role granted.").wait_for()
    page.screenshot(path=shots / "admin-users.png", full_page=True)
    page.goto("/admin/audit?entity=screening_record")
    page.screenshot(path=shots / "admin-audit.png", full_page=False)
    page.context.close()

    # --- she cannot open the Milano patient ------------------------------------------------
    page = _login(browser, server, *OTHER)
    response = page.goto(patient_url)
    assert response is not None
    assert response.status == 404
    assert "Not found" in page.inner_text("main")
    assert "IT01-E2E" not in page.content()
    page.screenshot(path=shots / "other-site-404.png")
    page.context.close()

    # --- a blinded monitor: every page reachable from the menu names no arm ----------------
    page = _login(browser, server, "monitor", PASSWORDS["monitor"])
    title = load_protocol("sor").title
    seen: list[str] = []
    for href in ["/home", *page.locator("header nav a").evaluate_all("l => l.map(a => a.href)")]:
        page.goto(href)
        seen.append(page.url)
        assert arm_mentions(page.content(), title, names=True) == [], page.url
    assert any(url.endswith("/monitor") for url in seen)
    page.goto("/monitor")
    assert "1" in page.locator("tfoot").inner_text()  # the patient screened above
    page.screenshot(path=shots / "monitor-enrolment.png", full_page=True)
    page.context.close()

    # --- the statistician's design page draws the power curve -----------------------------
    page = _login(browser, server, "statistician", PASSWORDS["statistician"])
    page.goto("/design")
    image = page.locator("figure img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=shots / "statistician-design.png", full_page=True)
    page.context.close()
