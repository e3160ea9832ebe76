"""In a real browser: an investigator screens a patient to eligible, records consent,
randomises her (never seeing the arm), records the baseline tumours and an assessment with
progression and sees PFS appear; the pharmacist, told her next cycle is not yet due, dispenses it
with a documented override; she signs her casebook; an investigator at another site cannot
open her; a blinded monitor verifies her consent against source; every page reachable from a
blinded monitor's home names no arm; screenshots of the main pages are kept under
test-artefacts/e2e/.

One scenario in order (a session-scoped server and browser), as a user would go through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.factories import example_record
from tests.service.capture.test_pages_trial import arm_shown
from tests.service.test_pages import arm_mentions
from trialkit.protocol import load_protocol
from trialkit.service.demo import DEMO_USERS
from trialkit.service.screening.pages.screening_form import (
    all_fields,
    protocol_screening_form,
    record_to_form,
)

SCREENING = protocol_screening_form(load_protocol("sor"))

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


def scan_blinded(page: Any, server: str) -> list[str]:
    """Visit every page reachable from the logged-in user's home; none may name an arm."""
    title = load_protocol("sor").title
    seen: list[str] = []
    queue = [server + "/home"]
    while queue and len(seen) < 60:  # every page reachable from the home page
        url = queue.pop(0)
        if url in seen:
            continue
        page.goto(url)
        seen.append(url)
        # the eligibility checklist (on the patient page, reached from the SDV pages) quotes
        # criteria that name the drugs: arm_shown leaves it out of the scan for names only
        assert arm_shown(page.content()) == [], page.url
        assert arm_mentions(page.content(), title, names=False) == [], page.url
        links = page.locator("a[href]").evaluate_all("l => l.map(a => a.href.split('#')[0])")
        queue += [
            link
            for link in links
            if link.startswith(server)
            and not link.startswith(server + "/static")
            and "export" not in link
            and "/reports/report." not in link  # the report's downloads, not pages
            and not link.endswith(".pdf")  # the casebook's and visit reports' PDF downloads
            and link not in seen
        ]
    return seen


def _fill_screening(page: Any, values: dict[str, str]) -> None:
    """Enter values one input at a time, as a user does (each change refreshes the checklist)."""
    kinds = {f.name: f.kind for f in all_fields(SCREENING, values)}
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

    values = record_to_form(SCREENING, example_record())
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

    # --- consent, then randomisation: the checks, a confirmation, never the arm -----------
    page.get_by_role("link", name="Record consent").click()
    page.get_by_label("Date of consent").fill("2008-03-01")
    page.get_by_label("Version of the patient information sheet").fill("1.0")
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(re.compile(r"/patients/\d+\?saved=consent$"))
    page.get_by_role("link", name="Randomise", exact=True).click()
    page.wait_for_url(re.compile(r"/randomise$"))
    assert page.locator("#gates .b-not_met").count() == 0, page.inner_text("#gates")
    page.screenshot(path=shots / "randomise-confirm.png", full_page=True)
    # by keyboard: tick the confirmation with Space, Tab to the button, Enter
    page.get_by_label(re.compile("I confirm that patient IT01-E2E")).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    refused = page.locator("#error-summary")
    assert refused.count() == 0, "randomisation refused: " + refused.inner_text()
    page.wait_for_url(re.compile(r"/randomise\?done=1$"))
    assert page.locator("#randomisation-number").inner_text().isdigit()
    assert page.locator("#kit-number").inner_text().isdigit()
    assert "Letrozole 2.5 mg orally once daily" in page.inner_text("main")
    assert arm_shown(page.content()) == [], page.url
    page.screenshot(path=shots / "randomised.png", full_page=True)

    # --- baseline tumours and an assessment with progression: RECIST and PFS appear --------
    page.goto(patient_url + "/forms/tumour_baseline")
    page.get_by_label("Date of the baseline assessment").fill("2008-02-25")
    # one empty row a group; a second by the add button (no JavaScript needed)
    page.get_by_role("button", name="Add a row to Target lesions").click()
    page.locator('[name="target.1.organ"]').wait_for()
    page.get_by_label("Date of the baseline assessment").fill("2008-02-25")
    for name, value in {
        "target.0.id": "T1",
        "target.0.organ": "liver",
        "target.0.diameter_mm": "30",
        "target.1.id": "T2",
        "target.1.organ": "lung",
        "target.1.diameter_mm": "20",
        "non_target.0.id": "NT1",
        "non_target.0.organ": "bone",
    }.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"saved=tumour_baseline"))
    page.goto(patient_url + "/forms/tumour_assessment")
    page.get_by_label("Date of the assessment").fill("2008-04-28")
    page.get_by_label("Target lesion measurements: T1 (mm)").fill("36")
    page.get_by_label("Target lesion measurements: T2 (mm)").fill("24")
    page.get_by_label("Non-target lesion status: NT1").select_option("present")
    page.get_by_label("New lesions", exact=True).select_option("yes")
    # htmx: the response of the scans as entered appears before they are saved
    preview = page.locator("#recist-preview")
    preview.get_by_text("as entered, not saved").wait_for()
    assert "PD" in preview.locator("#timepoints").inner_text()
    page.screenshot(path=shots / "tumour-assessment.png", full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"saved=tumour_assessment"))
    assert "PD" in page.locator("#timepoints").inner_text()
    pfs = page.locator("#pfs-facts").inner_text()
    assert "event on 2008-04-28: Disease progression" in pfs, pfs
    assert "57 days" in pfs  # 2008-03-03 to 2008-04-28, ADT - STARTDT + 1
    assert arm_shown(page.content()) == [], page.url
    page.screenshot(path=shots / "patient-pfs.png", full_page=True)

    # --- a serious grade 3 AE ending before it started: refused next to the end date -------
    page.goto(patient_url + "/forms/adverse_event")
    page.get_by_label("Term", exact=True).fill("Febrile neutropenia")
    page.get_by_label("NCI-CTCAE grade").select_option("3")
    page.get_by_label("Start date").fill("2008-03-03")
    page.get_by_label("End date").fill("2008-03-01")
    page.get_by_label("Serious", exact=True).select_option("yes")
    page.get_by_role("button", name="Save", exact=True).click()
    end_error = page.locator("#f-end_date-error")
    end_error.wait_for()
    assert "is before start_date" in end_error.inner_text()
    assert page.locator("#error-summary a[href='#f-end_date']").count() == 1
    assert page.get_by_label("Term", exact=True).input_value() == "Febrile neutropenia"  # kept
    assert page.get_by_label("NCI-CTCAE grade").input_value() == "3"
    assert page.get_by_label("Serious", exact=True).input_value() == "yes"
    page.screenshot(path=shots / "adverse-event-end-before-start.png", full_page=True)
    # corrected, but saved without its relation and action: soft checks, queries at the top
    page.get_by_label("End date").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"saved=adverse_event&key=AE-1#query-summary$"))
    summary = page.locator("#query-summary")
    assert "on the record just saved" in summary.inner_text()
    assert -1 < summary.bounding_box()["y"] < 400  # in view at the top, not below the records
    assert page.evaluate("window.scrollY") < 400
    page.screenshot(path=shots / "patient-queries.png", full_page=False)
    summary.get_by_role("link", name=re.compile("Relation to study drug")).click()
    page.wait_for_url(re.compile(r"key=AE-1#f-relationship$"))
    note = page.locator("#f-relationship-query")
    assert "Relation to study drug is required" in note.inner_text()  # its label, in words
    assert 0 <= note.bounding_box()["y"] < 900  # the link scrolled to the field
    page.screenshot(path=shots / "adverse-event-queries.png", full_page=True)
    assert arm_shown(page.content()) == [], page.url
    page.goto(patient_url)
    page.get_by_role("link", name="Emergency unblinding").click()
    page.locator("#warning").wait_for()
    assert arm_shown(page.content()) == [], page.url  # the form and its warning: no arm
    page.screenshot(path=shots / "unblinding-form.png", full_page=True)
    # she signs the casebook: password again, the meaning stated; the signature is shown
    page.goto(patient_url)
    page.get_by_role("link", name="Casebook and signatures").click()
    page.get_by_label("What you sign").select_option("casebook")
    page.get_by_label("Meaning of your signature").fill("I approve this data as accurate")
    page.get_by_label("Your password, again").fill(PASSWORDS["investigator"])
    page.get_by_role("button", name="Sign", exact=True).click()
    page.locator("#signed").wait_for()
    names = {u.username: u.full_name for u in DEMO_USERS}
    listed = page.locator("#signature-list").inner_text()
    assert re.search(
        rf"Signed by {re.escape(names['investigator'])} on \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC: "
        r"“I approve this data as accurate”",
        listed,
    ), listed
    assert arm_shown(page.content()) == [], page.url
    page.screenshot(path=shots / "casebook-signed.png", full_page=True)
    patient_id = patient_url.rsplit("/", 1)[1]
    page.context.close()

    # --- the pharmacist dispenses her second cycle ----------------------------------------
    page = _login(browser, server, "pharmacist", PASSWORDS["pharmacist"])
    page.get_by_role("link", name="Pharmacy", exact=True).first.click()
    row = page.locator(f"#patient-{patient_id}")
    # her cycle 2 is not due this week: she is among the other patients, folded below
    page.locator(f"details:has(#patient-{patient_id}) > summary").click()
    assert row.get_by_label("Cycle for IT01-E2E").input_value() == "2"
    # randomised today: cycle 2 is not due; dispensing it early is folded away, and unfolded
    # it says why and asks for a documented reason
    assert not row.locator(f"#refusal-{patient_id}").is_visible()
    row.get_by_text("Dispense early, with a documented reason").click()
    assert "cycle 2 is not due" in row.locator(f"#refusal-{patient_id}").inner_text()
    row.get_by_label("Reason to override the refusal (documented, audited)").fill(
        "travels abroad for five weeks"
    )
    row.get_by_role("button", name="Dispense with override").click()
    page.locator("#dispensed").wait_for()
    assert "2: " in page.locator(f"#patient-{patient_id}").inner_text()
    assert arm_mentions(page.content(), title=load_protocol("sor").title, names=True) == []
    page.screenshot(path=shots / "pharmacy.png", full_page=True)
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
    seen = scan_blinded(page, server)
    assert any(url.endswith("/monitor") for url in seen)
    page.goto("/monitor")
    assert "1" in page.locator("tfoot").inner_text()  # the patient screened above
    page.screenshot(path=shots / "monitor-enrolment.png", full_page=True)
    # source data verification of the patient's consent, from the work list
    page.goto("/monitor/sdv")
    assert "informed consent" in page.locator("#work-list").inner_text()
    page.goto(f"/patients/{patient_id}/sdv")
    page.locator("#sdv-consent-consent").get_by_role(
        "button", name="Verify the whole record"
    ).click()
    page.locator("#sdv-notice").wait_for()
    assert "Verified." in page.locator("#sdv-consent-consent").inner_text()
    assert arm_mentions(page.content(), load_protocol("sor").title, names=True) == [], page.url
    page.screenshot(path=shots / "monitor-sdv.png", full_page=True)
    page.context.close()

    # --- the statistician's design page draws the power curve -----------------------------
    page = _login(browser, server, "statistician", PASSWORDS["statistician"])
    page.goto("/design")
    image = page.locator("figure img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=shots / "statistician-design.png", full_page=True)
    page.context.close()
