"""Emergency unblinding through the API: a wrong password is a failed password check that
survives the request (it is returned, not raised, so the transaction commits it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD
from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security


def test_wrong_unblinding_passwords_through_the_api_lock_the_account_as_logins_do(
    client: TestClient, world: World, security: Security
) -> None:
    url = f"/api/patients/{world.randomised}/unblinding"
    headers = world.headers(Role.INVESTIGATOR, "own")
    for attempt in range(security.max_failed_logins):
        wrong = client.post(
            url, json={"password": f"guess {attempt}", "reason": "rash"}, headers=headers
        )
        assert wrong.status_code == 401
        assert "arm" not in wrong.json()
    assert "locked" in wrong.text
    right = client.post(url, json={"password": PASSWORD, "reason": "rash"}, headers=headers)
    assert right.status_code == 401
    assert "locked" in right.text
    username = world.users[(Role.INVESTIGATOR, "own")].username
    login = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert login.status_code == 401
    assert "locked" in login.text
