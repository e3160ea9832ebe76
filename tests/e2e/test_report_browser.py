"""In a real browser, 1,280 pixels wide: the trial report page is under about 5,000 pixels,
opens on the primary endpoint, and every other section is one click away from its table of
contents, with all its tables and figures there once unfolded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser import PASSWORDS, _login

MAX_HEIGHT = 5000
CUTOFF = "2009-06-30"
"""A cut-off after the small demo's randomisations (its calendar date is before most)."""


def _height(page: Any) -> int:
    height: int = page.evaluate("document.documentElement.scrollHeight")
    return height


@pytest.mark.parametrize("user", ["unblinded", "statistician", "dsmb"])
def test_the_report_page_is_short_and_every_section_one_click_away(
    browser: Any, server: str, user: str
) -> None:
    from playwright.sync_api import expect  # as the fixtures: only where a browser runs

    page = _login(browser, server, user, PASSWORDS[user])
    page.set_viewport_size({"width": 1280, "height": 900})
    response = page.goto(f"/reports?cutoff={CUTOFF}")
    assert response is not None
    assert response.status == 200
    assert _height(page) < MAX_HEIGHT, _height(page)

    sections = page.locator(".tk-report details.tk-section")
    anchors = [sections.nth(i).get_attribute("id") for i in range(sections.count())]
    assert "pfs" in anchors, anchors
    assert "safety" in anchors, anchors
    opened = [a for a in anchors if page.locator(f"details#{a}").get_attribute("open") is not None]
    assert opened == ["pfs"]  # the primary endpoint, with its figure, shown at once
    assert page.locator("details#pfs figure svg").first.is_visible()
    width = page.evaluate("document.querySelector('details#pfs figure svg').clientWidth")
    assert 300 < width <= 640, width  # sized, not the page's full width

    for anchor in anchors:  # each entry of the contents unfolds its section
        page.locator(f'.tk-report nav a[href="#{anchor}"]').click()
        details = page.locator(f"details#{anchor}")
        expect(details).to_have_attribute("open", "")
        for block in ("table", "figure", "p"):
            for i in range(details.locator(block).count()):
                assert details.locator(block).nth(i).is_visible(), (anchor, block, i)
    page.context.close()
