"""In a real browser: the investigator's inbox (the demo's queries on her site), its unread count
in the header, marking one read and then all; screenshot under test-artefacts/e2e/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.test_browser import PASSWORDS, _login


def _badge(page: Any) -> int:
    badge = page.locator("#inbox-link .badge")
    return int(badge.inner_text()) if badge.count() else 0


def test_the_inbox_in_a_browser(browser: Any, server: str, artefacts: Path) -> None:
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    unread = _badge(page)
    assert unread >= 1  # the demo opened queries on her site
    page.get_by_role("link", name="Inbox").click()
    page.wait_for_url("**/inbox")
    assert page.locator("li.unread").count() == unread
    assert "query" in page.locator("li.unread h2").first.inner_text().lower()
    page.screenshot(path=artefacts / "inbox.png", full_page=True)
    page.locator("li.unread").first.get_by_role("button", name=re.compile("^Mark read")).click()
    page.wait_for_load_state()
    assert _badge(page) == unread - 1
    assert page.locator("li.unread").count() == unread - 1
    if unread > 1:
        page.get_by_role("button", name="Mark all read").click()
        page.wait_for_load_state()
    assert _badge(page) == 0
    assert page.locator("li.unread").count() == 0
    # read ones leave the default view; "all" shows them, and each links to the patient's page
    assert page.locator("li.read").count() == 0
    page.select_option("#inbox-show", "all")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/inbox?show=all*")
    page.locator("li.read a", has_text="Open").first.click()
    page.wait_for_url("**/patients/*")
    page.context.close()
