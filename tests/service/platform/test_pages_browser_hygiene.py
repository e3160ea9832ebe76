"""Browser hygiene: security headers on every page, the login form's cookie over HTTPS only."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.service.page_fixtures import Browser, WebWorld
from trialkit.config import Settings
from trialkit.service.platform.db.database import Database
from trialkit.service.server import create_server

PAGE_MODULES = [
    "trialkit.service.platform.pages.auth",
    "trialkit.service.platform.pages.home",
    "trialkit.service.trials.pages",
    "trialkit.service.randomisation.pages.pharmacy",
    "trialkit.service.randomisation.pages.randomise",
    "trialkit.service.capture.pages.clinical",
    "trialkit.service.capture.pages.patients",
    "trialkit.service.capture.pages.signoff",
    "trialkit.service.oversight.pages.design",
    "trialkit.service.oversight.pages.forecast",
    "trialkit.service.oversight.pages.monitor",
    "trialkit.service.oversight.pages.reports",
    "trialkit.service.oversight.pages.datamanager",
]
"""Every module of page routes (the server includes each one's router)."""


def _page_paths(world: WebWorld) -> list[str]:
    ids = {"patient_id": world.patient.id, "site_id": world.site_a.id, "form_name": "death"}
    paths = []
    for name in PAGE_MODULES:
        for route in importlib.import_module(name).router.routes:
            assert isinstance(route, APIRoute)
            if "GET" in route.methods and "{fmt}" not in route.path and ".pdf" not in route.path:
                paths.append(re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m[1], 1)), route.path))
    return paths


def _assert_hygienic(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "script-src 'self';" in policy, where  # no inline script
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("cache-control") == "no-store", where


def test_every_page_sends_the_security_headers_and_is_never_cached(
    as_user: Callable[[str], Browser], web_world: WebWorld
) -> None:
    paths = _page_paths(web_world)
    assert len(paths) > 20
    for who in ("investigator", "admin", "unblinded"):
        browser = as_user(who)
        for path in paths:
            response = browser.get(path)
            _assert_hygienic(response, f"{path} as {who} ({response.status_code})")
    anonymous = as_user("investigator").client
    anonymous.cookies.clear()
    for path in ("/login", "/patients", "/no-such-page"):  # the login page, a redirect, a 404
        _assert_hygienic(anonymous.get(path), path)


def test_the_api_answers_carry_the_headers_too(web: TestClient) -> None:
    _assert_hygienic(web.get("/health"), "/health")
    _assert_hygienic(web.get("/api/auth/me"), "/api/auth/me (401)")


def test_static_files_may_be_cached_but_not_sniffed(web: TestClient) -> None:
    response = web.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("cache-control") != "no-store"


def test_the_login_forms_csrf_cookie_is_secure_when_cookies_must_be(
    settings: Settings, db: Database
) -> None:
    for secure in (True, False):
        app = create_server(settings.model_copy(update={"cookie_secure": secure}), database=db)
        with TestClient(app, base_url="https://127.0.0.1", follow_redirects=False) as client:
            cookie = client.get("/login").headers["set-cookie"]
            assert "trialkit_login_csrf=" in cookie
            assert ("Secure" in cookie) is secure, cookie
            refused = client.post("/login", data={"username": "x", "password": "y"})
            assert ("Secure" in refused.headers["set-cookie"]) is secure
