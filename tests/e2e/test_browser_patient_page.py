"""In a real browser at 1,280 pixels wide: every patient page of the demo is shorter than 5,000
pixels, its status header and grid on top, the long histories (earlier records, a long visit
schedule) folded below."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_browser import PASSWORDS

MAX_HEIGHT = 5000
WIDTH = 1280


def test_every_patient_page_is_short_with_the_status_and_grid_on_top(
    browser: Any, server: str
) -> None:
    context = browser.new_context(base_url=server, viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill("investigator")
    page.get_by_label("Password").fill(PASSWORDS["investigator"])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/home$"))
    page.goto("/patients?status=on_treatment&sort=number")
    links = page.locator('table a[href^="/patients/"]').evaluate_all(
        "l => l.map(a => a.getAttribute('href'))"
    )
    patients = [h for h in links if re.fullmatch(r"/patients/\d+", h)]
    assert patients, "no patient on treatment in the demo"
    heights = {}
    for href in patients:
        page.goto(href)
        heights[href] = page.evaluate("document.documentElement.scrollHeight")
        # the status header, then the grid, then the history
        tops = [
            page.locator(f"#{name}").bounding_box()
            for name in ("patient-status", "grid-title", "records")
        ]
        ys = [box["y"] for box in tops if box is not None]
        assert len(ys) == 3, href
        assert ys == sorted(ys), href
    tallest = max(heights, key=heights.__getitem__)
    assert heights[tallest] < MAX_HEIGHT, f"{tallest}: {heights[tallest]} px at {WIDTH} wide"
    # the latest ten records shown, the earlier ones folded away, there to open
    page.goto(tallest)
    assert page.locator("section:has(#records) table").first.locator("tbody tr").count() <= 10
    earlier = page.locator("#records-earlier")
    if earlier.count():
        assert not earlier.locator("table").is_visible()
        earlier.locator("summary").click()
        assert earlier.locator("table").is_visible()
    context.close()
