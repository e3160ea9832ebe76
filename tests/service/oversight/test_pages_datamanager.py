"""The data manager's pages (issue 20 §3): freeze and lock, the administrator's unlock with a
reason, the data cut; an edit of locked data is refused on the page with the lock named."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from tests.service.page_fixtures import Browser, WebWorld
from trialkit.service.oversight.datacut import verify_package

Login = Callable[[str], Browser]


def _consent(browser: Browser, world: WebWorld) -> object:
    return browser.post(
        f"/patients/{world.patient.id}/consent",
        {"consent_date": "2008-03-01", "information_sheet_version": "2.0"},
    )


def test_freeze_lock_and_unlock_on_the_pages(as_user: Login, web_world: WebWorld) -> None:
    manager = as_user("data_manager")
    page = manager.get("/locks")
    assert page.status_code == 200
    assert "Nothing is frozen or locked." in page.text
    assert 'href="/locks"' in manager.get("/home").text
    blank = manager.post("/locks", {"level": "lock", "reason": ""})
    assert blank.status_code == 422
    assert "Say why." in blank.text
    made = manager.post(
        "/locks", {"level": "lock", "patient_id": str(web_world.patient.id), "reason": "SDV done"}
    )
    assert made.status_code == 303
    listed = manager.get("/locks")
    assert f"patient {web_world.patient.id}" in listed.text
    assert "an administrator unlocks" in listed.text  # a data manager cannot unlock

    investigator = as_user("investigator")
    refused = _consent(investigator, web_world)
    assert refused.status_code == 409
    assert "is under lock" in refused.text
    assert "administrator may unlock" in refused.text

    admin = as_user("admin")
    locks_page = admin.get("/locks")
    assert "Unlock" in locks_page.text
    lock_id = locks_page.text.split('action="/locks/')[1].split("/")[0]
    no_reason = admin.post(f"/locks/{lock_id}/release", {"reason": " "})
    assert no_reason.status_code == 422
    assert admin.post(f"/locks/{lock_id}/release", {"reason": "late consent"}).status_code == 303
    assert _consent(as_user("investigator"), web_world).status_code == 303


def test_the_data_cut_page_makes_a_signed_package(
    web: TestClient, as_user: Login, web_world: WebWorld, tmp_path: Path
) -> None:
    manager = as_user("data_manager")
    assert "The database is not locked" in manager.get("/datacut").text
    assert manager.post("/locks", {"level": "lock", "reason": "analysis"}).status_code == 303
    page = manager.get("/datacut")
    assert 'enctype="multipart/form-data"' in page.text
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fields = {"csrf_token": manager.csrf(), "cutoff": "2008-06-30"}
    missing = web.post("/datacut", data=fields)
    assert missing.status_code == 422
    assert "signing key" in missing.text
    bad = web.post("/datacut", data=fields, files={"key": ("k.pem", b"junk", "text/plain")})
    assert bad.status_code == 422
    assert "not an unencrypted PEM private key" in bad.text
    made = web.post("/datacut", data=fields, files={"key": ("k.pem", pem, "text/plain")})
    assert made.status_code == 200, made.text[:500]
    assert made.headers["content-type"] == "application/zip"
    package = tmp_path / "cut.zip"
    package.write_bytes(made.content)
    report = verify_package(package, public=key.public_key())
    assert report.ok, report.summary()
    assert report.manifest is not None
    assert report.manifest["report"] == "blinded"
    with zipfile.ZipFile(io.BytesIO(made.content)) as archive:
        assert "<td>Sorafenib</td>" not in archive.read("report/report.html").decode()


def test_other_roles_may_not_freeze(as_user: Login, web_world: WebWorld) -> None:
    monitor = as_user("monitor")
    assert 'href="/locks"' not in monitor.get("/home").text
    assert monitor.get("/locks").status_code == 403
    assert monitor.get("/datacut").status_code == 403
    refused = monitor.post("/locks", {"level": "freeze", "reason": "x"})
    assert refused.status_code == 403
