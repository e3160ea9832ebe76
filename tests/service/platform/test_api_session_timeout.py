"""An idle API session (bearer token or cookie): 401 with a JSON message saying why."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, MovableClock
from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security


def test_an_idle_token_is_refused_with_a_clear_message(client: TestClient, world: World) -> None:
    clock = MovableClock()
    security: Security = client.app.state.security  # type: ignore[attr-defined]
    client.app.state.security = dataclasses.replace(security, clock=clock)  # type: ignore[attr-defined]
    headers = world.headers(Role.MONITOR, "own")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    clock.advance(minutes=29)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    clock.advance(minutes=30)
    refused = client.get("/api/auth/me", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {
        "detail": "your session ended after 30 minutes without activity: log in again"
    }
    admin = world.users[(Role.ADMINISTRATOR, "own")].username
    token = client.post("/api/auth/token", json={"username": admin, "password": PASSWORD})
    events = client.get(
        "/api/audit/events?limit=1000",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    ).json()
    monitor = world.users[(Role.MONITOR, "own")].username
    timeouts = [(e["username"], e["field"]) for e in events if e["action"] == "timeout"]
    assert timeouts.count((monitor, "ended_at")) == 1
    # the world's other sessions, idle as long, were swept at the administrator's login
    assert {name for name, _ in timeouts} == {u.username for u in world.users.values()}
    again = client.get("/api/auth/me", headers=headers)
    assert again.status_code == 401
    assert "log in again" in again.json()["detail"]
