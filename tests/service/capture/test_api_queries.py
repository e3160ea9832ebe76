"""The monitor's query cycle through the API: close, then re-open with a comment (the pages'
service function, the pages' permission)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role


def test_a_monitor_reopens_a_closed_query_with_a_comment(client: TestClient, world: World) -> None:
    monitor = world.headers(Role.MONITOR, "own")
    url = f"/api/queries/{world.query}"
    still_open = client.post(f"{url}/reopen", json={"comment": "x"}, headers=monitor)
    assert still_open.status_code == 409
    assert "already open" in still_open.json()["detail"]
    closed = client.post(f"{url}/closure", json={"resolution": "Corrected"}, headers=monitor)
    assert closed.json()["status"] == "closed"

    blank = client.post(f"{url}/reopen", json={"comment": ""}, headers=monitor)
    assert blank.status_code == 422
    investigator = world.headers(Role.INVESTIGATOR, "own")
    refused = client.post(f"{url}/reopen", json={"comment": "no"}, headers=investigator)
    assert refused.status_code == 403
    other_site = world.headers(Role.MONITOR, "other")
    assert (
        client.post(f"{url}/reopen", json={"comment": "no"}, headers=other_site).status_code == 404
    )

    reopened = client.post(
        f"{url}/reopen", json={"comment": "Source still says grade 2"}, headers=monitor
    )
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["resolution"]) == ("open", "Source still says grade 2")
    listed = client.get(f"/api/trials/{world.trial.id}/queries?status=open", headers=monitor)
    assert world.query in [q["id"] for q in listed.json()]
