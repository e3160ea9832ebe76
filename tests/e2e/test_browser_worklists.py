"""In a real browser: each role's home work list leads into its task; a monitor raises a query
that the site answers and the monitor closes; the audit page finds a patient's whole history
newest first; no page is taller than about 5,000 pixels at 1,400 pixels wide."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_browser import PASSWORDS, _login

MAX_HEIGHT = 5000
PAGES = {
    "investigator": ["/home", "/patients", "/queries", "/patients/{p}", "/patients/{p}/screening"],
    "pharmacist": ["/home", "/pharmacy", "/pharmacy/kits"],
    "monitor": ["/home", "/queries", "/monitor", "/monitor/data", "/patients/{p}"],
    "admin": ["/home", "/admin/audit", "/admin/users", "/admin/sites"],
    "dsmb": ["/home", "/allocation-audit", "/allocation-audit?stratum=2"],
}
"""The trial report (``/reports``) is a document with its own sections, measured elsewhere."""


def _height(page: Any) -> int:
    height: int = page.evaluate("document.documentElement.scrollHeight")
    return height


def _a_treated_patient(page: Any) -> str:
    """The address of the first patient on study treatment in the investigator's list."""
    page.goto("/patients?status=on_treatment&sort=number")
    link = page.locator('table a[href^="/patients/"]').first
    href: str = link.get_attribute("href")
    return href


def test_no_page_is_taller_than_about_5000_pixels(browser: Any, server: str) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    patient = _a_treated_patient(page)
    page.context.close()
    too_tall = []
    for user, paths in PAGES.items():
        page = _login(browser, server, user, PASSWORDS[user])
        for path in paths:
            response = page.goto(path.format(p=patient.rsplit("/", 1)[1]))
            assert response is not None
            assert response.status == 200, (user, path)
            if _height(page) > MAX_HEIGHT:
                too_tall.append(f"{user} {path}: {_height(page)} px")
        page.context.close()
    assert too_tall == []


def test_each_home_work_list_leads_into_its_task(browser: Any, server: str) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    page.get_by_role("link", name=re.compile(r"^\d+ open quer")).first.click()
    page.wait_for_url(re.compile(r"/queries\?site=IT01&status=open$"))
    assert page.get_by_role("heading", name="Queries").is_visible()
    page.context.close()

    page = _login(browser, server, "pharmacist", PASSWORDS["pharmacist"])
    page.get_by_role("link", name=re.compile(r"with a cycle due by")).first.click()
    page.wait_for_url(re.compile(r"/pharmacy#dispense-\d+$"))
    assert page.get_by_role("heading", name="Kits to dispense this week").first.is_visible()
    page.goto("/home")
    page.get_by_role("link", name=re.compile(r"^available: \d+")).first.click()
    page.wait_for_url(re.compile(r"/pharmacy/kits\?site=IT01&status=available$"))
    assert page.locator("tbody tr").count() > 0
    page.context.close()

    page = _login(browser, server, "monitor", PASSWORDS["monitor"])
    cell = page.locator('a[href^="/queries?site=IT01&status=open"]').first
    shown = int(cell.inner_text())
    cell.click()
    page.wait_for_url(re.compile(r"/queries\?site=IT01&status=open$"))
    assert page.locator('tr[id^="query-"]').count() == min(shown, 20)
    page.context.close()


def test_a_monitor_raises_a_query_the_site_answers_and_the_monitor_closes(
    browser: Any, server: str
) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    patient = _a_treated_patient(page)
    page.context.close()

    monitor = _login(browser, server, "monitor", PASSWORDS["monitor"])
    monitor.goto(patient)
    monitor.get_by_role("link", name=re.compile("^Raise a query")).first.click()
    monitor.get_by_label("Item").select_option(index=1)
    monitor.get_by_label("Question to the site").fill("Please check this against the source.")
    monitor.get_by_role("button", name="Raise query").click()
    monitor.wait_for_url(re.compile(r"/queries\?done=\d+"))
    query_id = re.search(r"done=(\d+)", monitor.url).group(1)  # type: ignore[union-attr]

    site = _login(browser, server, "investigator", PASSWORDS["investigator"])
    site.goto("/queries?status=open&sort=-id")
    site.get_by_label(f"Answer to query {query_id}").fill("Checked: the value stands.")
    site.locator(f'form[action="/queries/{query_id}/answer"] button').click()
    site.wait_for_url(re.compile(rf"answered={query_id}"))
    site.context.close()

    monitor.goto("/queries?status=answered&sort=-id")
    assert "Checked: the value stands." in monitor.inner_text(f"#query-{query_id} + tr")
    monitor.get_by_label(f"Why query {query_id} is closed").fill("Verified against the source.")
    monitor.locator(f'form[action="/queries/{query_id}/close"] button').click()
    monitor.wait_for_url(re.compile(rf"done={query_id}"))
    monitor.goto("/queries?status=closed&sort=-id")
    assert monitor.locator(f"#query-{query_id}").is_visible()
    monitor.context.close()


def test_the_audit_page_finds_a_patient_s_whole_history_newest_first(
    browser: Any, server: str
) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    patient = _a_treated_patient(page)
    number = page.locator(f'a[href="{patient}"]').first.inner_text()
    page.context.close()
    page = _login(browser, server, "admin", PASSWORDS["admin"])
    page.goto("/admin/audit")
    page.get_by_label("Patient").fill(number)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"patient="))
    first = [int(n) for n in page.locator("table.audit tbody th").all_inner_texts()]
    assert first
    assert first == sorted(first, reverse=True)
    records = set(page.locator("table.audit tbody td:nth-child(5)").all_inner_texts())
    last = page.get_by_role("link", name="Last").first
    if last.count():  # her history runs over several pages: the oldest end is her registration
        last.click()
        page.wait_for_url(re.compile(r"page=\d+"))
        older = [int(n) for n in page.locator("table.audit tbody th").all_inner_texts()]
        assert older == sorted(older, reverse=True)
        assert max(older) < min(first)
        records |= set(page.locator("table.audit tbody td:nth-child(5)").all_inner_texts())
    kinds = {r.rsplit(" ", 1)[0] for r in records}
    assert "patient" in kinds, kinds
    assert len(kinds) >= 3, kinds  # her registration and the records after it
    page.context.close()
