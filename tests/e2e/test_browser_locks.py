"""In a real browser (issue 20 §3): the data manager's pages name no arm; she locks a site and
the investigator's edit there is refused with the lock named; the administrator unlocks with a
reason; she locks the database and downloads a signed data cut package that verifies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.e2e.test_browser import PASSWORDS, _login, scan_blinded
from trialkit.service.oversight.datacut import verify_package


def _unlock_all(browser: Any, server: str, reason: str) -> None:
    page = _login(browser, server, "admin", PASSWORDS["admin"])
    page.goto("/locks")
    while page.get_by_role("button", name="Unlock").count():
        page.get_by_label("Reason").first.fill(reason)
        page.get_by_role("button", name="Unlock").first.click()
        page.wait_for_url(re.compile(r"/locks\?done=released$"))
    assert "Nothing is frozen or locked." in page.inner_text("main")
    page.context.close()


def test_freeze_lock_and_data_cut_in_a_browser(
    browser: Any, server: str, artefacts: Path, tmp_path: Path
) -> None:
    shots = artefacts
    page = _login(browser, server, "datamanager", PASSWORDS["datamanager"])
    seen = scan_blinded(page, server)  # a blinded data manager: no page names an arm
    assert any(url.endswith("/locks") for url in seen)
    assert any(url.endswith("/datacut") for url in seen)

    # --- she locks site IT01 ------------------------------------------------------------
    page.goto("/locks")
    page.get_by_label("Kind").select_option("lock")
    site = page.locator("#f-site_id option", has_text="IT01").get_attribute("value")
    page.get_by_label("Site").select_option(site)
    page.get_by_label("Reason", exact=True).fill("site audit")
    page.get_by_role("button", name="Freeze or lock").click()
    page.wait_for_url(re.compile(r"/locks\?done=lock$"))
    assert "Locked." in page.inner_text("main")
    assert f"site {site}" in page.inner_text("table")
    page.screenshot(path=shots / "datamanager-locks.png", full_page=True)
    page.context.close()

    # --- the investigator at IT01 cannot register a patient there ------------------------
    page = _login(browser, server, "investigator", PASSWORDS["investigator"])
    page.goto("/patients")
    page.get_by_label("New patient: screening number").fill("IT01-LOCKED")
    page.get_by_role("button", name="Register and screen").click()
    main = page.inner_text("main")
    assert "is under lock" in main
    assert "an administrator may unlock it" in main
    page.screenshot(path=shots / "investigator-locked.png", full_page=True)
    page.context.close()

    # --- the administrator unlocks with a reason ------------------------------------------
    _unlock_all(browser, server, "audit finished")

    # --- the database lock and the data cut ----------------------------------------------
    page = _login(browser, server, "datamanager", PASSWORDS["datamanager"])
    page.goto("/datacut")
    assert "The database is not locked" in page.inner_text("main")
    page.goto("/locks")
    page.get_by_label("Kind").select_option("lock")
    page.get_by_label("Reason", exact=True).fill("primary analysis")
    page.get_by_role("button", name="Freeze or lock").click()
    page.wait_for_url(re.compile(r"/locks\?done=lock$"))
    assert "database lock" in page.inner_text("table")
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "datamanager.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    page.goto("/datacut")
    page.get_by_label("Data cut-off").fill("2008-03-01")
    page.get_by_label("Your signing key (Ed25519, PEM)").set_input_files(str(pem))
    page.screenshot(path=shots / "datamanager-datacut.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Make the data cut package").click()
    package = tmp_path / "cut.zip"
    download.value.save_as(package)
    report = verify_package(package, public=key.public_key())
    assert report.ok, report.summary()
    assert report.manifest is not None
    assert report.manifest["report"] == "blinded"
    page.context.close()
    _unlock_all(browser, server, "analysis done")
