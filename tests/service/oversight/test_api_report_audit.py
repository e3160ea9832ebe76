"""The report through the API: a (trial-wide) monitor gets the blinded one, and each view is
audited."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import login, make_user
from tests.service.api_fixtures import World
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security


def test_report_views_through_the_api_are_in_the_audit_trail(
    client: TestClient, world: World, db: Database, security: Security
) -> None:
    with db.sessions.begin() as session:  # the world's monitors hold one site each
        wide = {
            "Authorization": "Bearer "
            + login(session, security, make_user(session, security, world.trial, Role.MONITOR))
        }
    url = f"/api/trials/{world.trial.id}/report"
    monitor = client.get(f"{url}?cutoff=2008-12-31", headers=wide)
    assert monitor.status_code == 200
    assert "BLINDED" in monitor.text
    refused = client.get(f"{url}?unblinded=true", headers=wide)
    assert refused.status_code == 403
    dsmb = world.headers(Role.DSMB_MEMBER, "own")
    assert (
        client.get(f"{url}.pdf?unblinded=true&cutoff=2008-12-31", headers=dsmb).status_code == 200
    )
    events = client.get(
        "/api/audit/events?limit=1000", headers=world.headers(Role.ADMINISTRATOR, "own")
    ).json()
    seen = [(e["action"], e["role"], e["reason"]) for e in events if e["entity"] == "trial_report"]
    cut = "report at the 2008-12-31 data cut-off"
    assert seen == [
        ("view_blinded_report", "monitor", f"blinded {cut} (html)"),
        ("view_unblinded_report", "dsmb_member", f"unblinded {cut} (pdf)"),
    ]
