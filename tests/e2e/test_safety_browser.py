"""In a real browser: the investigator reports an SAE on the protocol's SAE form and sees it on
the work list; the safety physician reviews it, opens the demo's unblinded SUSAR and downloads
its E2B export; screenshots under test-artefacts/e2e/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import CALENDAR_DATE
from tests.e2e.test_browser import PASSWORDS, _login


def test_an_sae_from_the_site_to_the_safety_physician(
    browser: Any, server: str, artefacts: Path
) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    page.goto("/patients")
    href = page.locator("a[href^='/patients/']").first.get_attribute("href")
    patient_id = re.search(r"/patients/(\d+)", href or "")
    assert patient_id, href
    page.goto(f"/safety/report/{patient_id.group(1)}")
    page.get_by_label("CTCAE v5.0 term").fill("Pneumonitis")
    page.get_by_label("CTCAE grade").select_option("3")
    page.get_by_label("Onset date").fill(CALENDAR_DATE)
    page.get_by_label("Requires or prolongs hospitalisation").check()
    page.get_by_label("Site became aware", exact=False).fill(f"{CALENDAR_DATE}T08:30")
    page.get_by_label("Outcome").select_option("recovering")
    page.get_by_label("Study drug (sorafenib or placebo, blinded)").select_option("possible")
    page.get_by_label("Docetaxel").select_option("not_related")
    page.get_by_label("Letrozole").select_option("not_related")
    page.get_by_label("Narrative").fill("Cough and dyspnoea; CT shows pneumonitis; admitted.")
    page.screenshot(path=artefacts / "sae-form.png", full_page=True)
    page.get_by_role("button", name="Send the SAE report to the sponsor").click()
    page.wait_for_url(re.compile(r"/safety/cases/\d+/\d+$"))
    case_url = page.url
    assert "reported" in page.locator("#case-status").inner_text()
    page.goto("/safety")
    assert page.locator("#sae-work-list tr", has_text="Pneumonitis").count() == 1
    page.screenshot(path=artefacts / "sae-work-list-site.png", full_page=True)
    page.context.close()

    page = _login(browser, server, "safety", PASSWORDS["safety"])
    page.get_by_role("link", name=re.compile("SAE work list")).click()
    page.wait_for_url("**/safety")
    row = page.locator("#sae-work-list tr", has_text="susar")
    assert row.count() == 1  # the demo's SUSAR, decided after its unblinding
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/safety/cases/\d+/\d+$"))
    assert page.locator("#unblinded").is_visible()
    e2b = page.request.get(page.url + "/e2b")
    assert e2b.status == 200
    assert b"MCCI_IN200100UV01" in e2b.body()
    page.screenshot(path=artefacts / "susar-case.png", full_page=True)
    page.goto(case_url)
    page.get_by_label("Sponsor's causality: Study drug", exact=False).select_option("probable")
    page.get_by_role("button", name="Record the review").click()
    page.wait_for_load_state()
    assert "awaiting unblinding" in page.locator("#decision").inner_text()  # not in the RSI
    assert page.locator("#unblinding-form").is_visible()
    page.screenshot(path=artefacts / "sae-review.png", full_page=True)
    page.context.close()
