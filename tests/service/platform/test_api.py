"""The API's edges: health, OpenAPI, login cookies, and no 500 for any malformed request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.service.api_fixtures import World
from trialkit.config import load_settings
from trialkit.errors import ConfigError
from trialkit.service.app import create_app
from trialkit.service.platform.policy import Role


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "reachable"}
    spec = client.get("/openapi.json").json()
    assert "/api/patients/{patient_id}/screening-records" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_health_reports_an_unreachable_database() -> None:
    # nothing listens on port 1 of the loopback: the connection is refused at once
    settings = load_settings(demo=True, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 503


def test_the_service_refuses_to_start_without_a_real_secret() -> None:
    for secret in (None, "changethis", "short"):
        with pytest.raises(ConfigError, match="TRIALKIT_SECRET_KEY"):
            create_app(load_settings(secret_key=secret, demo=False))
    create_app(load_settings(secret_key=None, demo=True))  # a demo makes its own


def test_cookie_login(client: TestClient, world: World) -> None:
    user = world.users[(Role.INVESTIGATOR, "own")]
    response = client.post(
        "/api/auth/session", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "trialkit_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "access_token" not in response.text  # the token travels only in the cookie
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}  # a cookie write carries it
    assert client.post("/api/auth/logout", headers=csrf).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_a_cookie_authenticated_write_from_a_foreign_origin_without_the_csrf_token_is_refused(
    client: TestClient, world: World
) -> None:
    user = world.users[(Role.INVESTIGATOR, "own")]
    opened = client.post(
        "/api/auth/session", json={"username": user.username, "password": PASSWORD}
    )
    token = opened.json()["csrf_token"]
    checks = f"/api/patients/{world.randomised}/edit-checks"
    forged = client.post(checks, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "X-CSRF-Token" in forged.json()["detail"]
    assert client.post(checks).status_code == 403  # no Origin and no token: refused too
    evil_with_token = {"Origin": "https://evil.example", "X-CSRF-Token": token}
    assert client.post(checks, headers=evil_with_token).status_code == 200
    assert client.post(checks, headers={"X-CSRF-Token": token + "0"}).status_code == 403
    assert client.post(checks, headers={"Origin": "http://127.0.0.1"}).status_code == 200
    assert client.get(f"/api/patients/{world.randomised}/queries").status_code == 200  # reads
    client.cookies.clear()  # a bearer token is never sent by a browser on its own: unaffected
    bearer = {**world.headers(Role.INVESTIGATOR, "own"), "Origin": "https://evil.example"}
    assert client.post(checks, headers=bearer).status_code == 200


def test_request_ids_are_echoed(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    assert (
        len(client.get("/health", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"])
        == 32
    )


def _post_record(client: TestClient, world: World, content: str | bytes) -> tuple[int, object]:
    response = client.post(
        f"/api/patients/{world.patient.id}/screening-records",
        content=content,
        headers={**world.headers(Role.INVESTIGATOR, "own"), "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("content", "path"),
    [
        ('{"data": {', None),  # malformed JSON
        (b"\xff\xfe\x00garbage", None),  # not UTF-8
        ("[1, 2, 3]", None),  # wrong top-level type
        ('{"data": "a string"}', ["body", "data"]),  # wrong type
        ('{"data": {}, "reason": 42}', ["body", "reason"]),
        ('{"data": {}, "extra": 1}', ["body", "extra"]),  # unknown field
        (
            '{"data": {"ecog": 99999999999999999999999999999}, "reason": "x"}',
            ["body", "data", "ecog"],
        ),
        ('{"data": {"ecog": 1e999}, "reason": "x"}', ["body", "data", "ecog"]),  # overflows to inf
        ('{"data": {"ecog": 9}, "reason": "x"}', ["body", "data", "ecog"]),  # the record's check
        ('{"data": {"labs": {"anc": {"value": 1e999, "unit": "/mm3"}}}, "reason": "x"}', None),
        ('{"data": {"labs": {"anc": {"value": NaN, "unit": "/mm3"}}}, "reason": "x"}', None),
        ('{"data": {"unknown_section": true}, "reason": "x"}', ["body", "data", "unknown_section"]),
        ('{"data": {"patient": {"date_of_birth": "1946-13-45"}}, "reason": "x"}', None),
        ('{"data": {}, "reason": "x\\u0000y"}', ["body", "reason"]),
        ('{"data": ' + "[" * 5000 + "]" * 5000 + "}", None),  # deep nesting
        ('{"data": {"ecog": ' + "9" * 5000 + '}, "reason": "x"}', None),  # beyond int parsing
    ],
)
def test_malformed_requests_never_500(
    client: TestClient, world: World, content: str | bytes, path: list[str] | None
) -> None:
    status, body = _post_record(client, world, content)
    assert status in {400, 422}, body
    if path is not None:
        assert status == 422
        assert isinstance(body, dict)
        assert path in [error["loc"][: len(path)] for error in body["detail"]], body


@pytest.mark.parametrize(
    "url",
    [
        "/api/patients/99999999999999999999999",
        "/api/patients/-1",
        "/api/patients/abc",
        "/api/audit/events?after=99999999999999999999999999",
        "/api/audit/events?limit=0",
    ],
)
def test_out_of_range_identifiers_are_422(client: TestClient, world: World, url: str) -> None:
    # as a role allowed the route: one that is not is refused (403) before its input is read
    role = Role.ADMINISTRATOR if url.startswith("/api/audit") else Role.INVESTIGATOR
    response = client.get(url, headers=world.headers(role, "own"))
    assert response.status_code == 422, response.text


def test_inputs_that_would_overflow_columns_are_422(client: TestClient, world: World) -> None:
    admin = world.headers(Role.ADMINISTRATOR, "own")
    too_long = {"code": "DE99", "name": "x" * 1000, "city": "Köln", "country": "DE"}
    assert (
        client.post(f"/api/trials/{world.trial.id}/sites", json=too_long, headers=admin).status_code
        == 422
    )
    nul = {"username": "nul-user", "full_name": "a\u0000b", "password": "long enough password"}
    assert client.post("/api/users", json=nul, headers=admin).status_code == 422
    huge_id = {"trial_id": 10**30, "role": "monitor"}
    user = world.users[(Role.STATISTICIAN, "own")]
    assert (
        client.post(f"/api/users/{user.id}/roles", json=huge_id, headers=admin).status_code == 422
    )
    far_date = {"committee": "EC", "approval_date": "99999-01-01", "protocol_version": "1"}
    response = client.post(
        f"/api/sites/{world.site_a.id}/ethics-approvals", json=far_date, headers=admin
    )
    assert response.status_code == 422


def test_domain_errors_map_to_http(client: TestClient, world: World) -> None:
    investigator = world.headers(Role.INVESTIGATOR, "own")
    duplicate = client.post(
        f"/api/sites/{world.site_a.id}/patients",
        json={"screening_number": "A-1"},
        headers=investigator,
    )
    assert duplicate.status_code == 409
    inactive = client.post(
        f"/api/sites/{world.pending.id}/patients",
        json={"screening_number": "P-1"},
        headers=investigator,
    )
    assert inactive.status_code == 404  # not their site
    correction = client.post(
        f"/api/patients/{world.patient.id}/screening-records",
        json={"data": {}},
        headers=investigator,
    )
    assert correction.status_code == 422
    assert correction.json()["detail"][0]["loc"] == ["body", "reason"]


def test_an_unexpected_error_is_a_generic_500(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trialkit.service.trials import trials

    def broken(**_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(trials, "list_trials", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get("/api/trials", headers=world.headers(Role.MONITOR, "own"))
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "request id" in response.json()["detail"]
