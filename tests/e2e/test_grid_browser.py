"""In a real browser: the patient's grid on the demo (issue 22 §3) shows each cell's status in
words with a legend, links each record to its form and its item history, and names no arm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.test_browser import PASSWORDS, _login
from tests.service.capture.test_pages_trial import arm_shown

WORDS = {
    "open queries",
    "overdue",
    "expected",
    "locked",
    "frozen",
    "signed",
    "verified",
    "entered",
    "not applicable",
}


def test_the_patient_grid_in_a_browser(browser: Any, server: str, artefacts: Path) -> None:
    page = _login(browser, server, "monitor", PASSWORDS["monitor"])
    page.goto("/monitor/sdv")
    links = page.locator("main a[href^='/patients/']").evaluate_all(
        "l => l.map(a => a.getAttribute('href').split('#')[0])"
    )
    patients = sorted({m.group(0) for h in links if (m := re.match(r"/patients/\d+", h))})
    assert patients, "the demo's SDV work list names no patient"
    shown = None
    for url in patients:
        page.goto(url)
        if page.locator("#grid-title").count():
            shown = url
            break
    assert shown, "no patient page of the demo shows the grid"
    grid = page.locator("table.patient-grid")
    assert grid.is_visible()
    legend = page.locator("ul.grid-legend li").all_inner_texts()
    assert set(legend) == WORDS
    cells = grid.locator("td.g-cell")
    texts = cells.all_inner_texts()
    assert texts
    assert all(any(word in text for word in WORDS) for text in texts), texts
    status = page.locator("#grid-status").inner_text()
    assert re.search(r"Status: (randomised|follow-up|dead|withdrawn|off study)", status), status
    section = page.locator("section.grid-section").inner_html()
    assert arm_shown(section) == []
    page.screenshot(path=artefacts / "patient-grid.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1400 + 20, f"the page scrolls sideways ({width} px): the grid must scroll alone"

    history = grid.locator("a", has_text="history").first
    assert history.count(), "no record in the grid"
    history.click()
    page.wait_for_url(re.compile(r"/records/[a-z_]+/[^/]+/history$"))
    assert page.locator("#item-history tbody tr").count() >= 1
    assert arm_shown(page.content()) == []
    page.context.close()
