"""Freeze and lock (issue 20 §3): a freeze refuses edits and allows queries; a lock refuses
everything with 409 naming the lock; unlocking needs an administrator and a reason, audited;
the database lock refuses every change of the trial's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, example_record
from tests.service.api_fixtures import World
from trialkit.service.platform.anchors import Anchoring, generate_key
from trialkit.service.platform.policy import Role

AE = {"term": "Nausea", "start_date": "2008-03-21", "grade": 1, "serious": False}


def _lock(client: TestClient, world: World, level: str, **scope: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/trials/{world.trial.id}/locks",
        json={"level": level, "reason": "interim analysis", **scope},
        headers=world.headers(Role.DATA_MANAGER, "own"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _record(client: TestClient, world: World, **extra: Any) -> Any:
    return client.post(
        f"/api/patients/{world.randomised}/records/adverse_event",
        json={"data": AE, **extra},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )


def _raise_query(client: TestClient, world: World) -> Any:
    return client.post(
        f"/api/patients/{world.randomised}/queries?form=adverse_event",
        json={"record_key": "AE-1", "field": "grade", "message": "grade missing?"},
        headers=world.headers(Role.MONITOR, "own"),
    )


def _answer(client: TestClient, world: World) -> Any:
    return client.post(
        f"/api/queries/{world.query}/answer",
        json={"response": "grade 2 per source"},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )


def test_a_freeze_refuses_edits_and_allows_queries(client: TestClient, world: World) -> None:
    freeze = _lock(client, world, "freeze", patient_id=world.randomised)
    assert freeze["scope"] == "patient"
    assert freeze["site_id"] == world.site_a.id
    refused = _record(client, world)
    assert refused.status_code == 409
    assert f"freeze {freeze['id']}" in refused.json()["detail"]
    assert _raise_query(client, world).status_code == 201
    assert _answer(client, world).status_code == 200
    # another patient is not frozen
    consent = client.post(
        f"/api/patients/{world.patient.id}/consents",
        json={"consent_date": "2008-03-01", "information_sheet_version": "2.0"},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert consent.status_code == 201, consent.text
    # a data manager releases a freeze, with a reason; then edits pass again
    release = client.post(
        f"/api/locks/{freeze['id']}/release",
        json={"reason": "queries resolved"},
        headers=world.headers(Role.DATA_MANAGER, "own"),
    )
    assert release.status_code == 200, release.text
    assert _record(client, world).status_code == 201


def test_a_lock_refuses_everything_with_409_naming_it(client: TestClient, world: World) -> None:
    lock = _lock(client, world, "lock", patient_id=world.randomised)
    for response in (
        _record(client, world),
        _raise_query(client, world),
        _answer(client, world),
        client.post(
            f"/api/patients/{world.randomised}/dispensings",
            json={"cycle": 2, "override_reason": "documented"},
            headers=world.headers(Role.PHARMACIST, "own"),
        ),
    ):
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        assert f"lock {lock['id']}" in detail
        assert "administrator may unlock" in detail


def test_a_record_lock_covers_that_record_only(client: TestClient, world: World) -> None:
    lock = _lock(
        client, world, "lock", patient_id=world.randomised, form="adverse_event", record_key="AE-1"
    )
    assert lock["scope"] == "record"
    correction = _record(client, world, record_key="AE-1", reason="grade from source")
    assert correction.status_code == 409
    assert "adverse_event record AE-1" in correction.json()["detail"]
    assert _record(client, world).status_code == 201  # a new AE is another record
    missing = client.post(
        f"/api/trials/{world.trial.id}/locks",
        json={"level": "lock", "reason": "x", "patient_id": world.randomised,
              "form": "adverse_event", "record_key": "AE-99"},
        headers=world.headers(Role.DATA_MANAGER, "own"),
    )  # fmt: skip
    assert missing.status_code == 404


def test_the_database_lock_refuses_every_change(client: TestClient, world: World) -> None:
    lock = _lock(client, world, "lock")
    assert lock["scope"] == "trial"
    investigator = world.headers(Role.INVESTIGATOR, "own")
    attempts = [
        client.post(
            f"/api/sites/{world.site_a.id}/patients",
            json={"screening_number": "A-99"},
            headers=investigator,
        ),
        client.post(
            f"/api/patients/{world.patient.id}/screening-records",
            json={"data": example_record(), "reason": "typo"},
            headers=investigator,
        ),
        client.post(f"/api/patients/{world.patient.id}/eligibility", headers=investigator),
        client.post(f"/api/patients/{world.to_randomise}/randomisation", headers=investigator),
        _record(client, world),
        _raise_query(client, world),
        client.post(
            f"/api/queries/{world.query}/closure",
            json={"resolution": "x"},
            headers=world.headers(Role.MONITOR, "own"),
        ),
    ]
    for response in attempts:
        assert response.status_code == 409, response.text
        assert f"database lock {lock['id']}" in response.json()["detail"]


def test_a_site_freeze_leaves_other_sites_alone(client: TestClient, world: World) -> None:
    _lock(client, world, "freeze", site_id=world.site_a.id)
    refused = client.post(
        f"/api/sites/{world.site_a.id}/patients",
        json={"screening_number": "A-98"},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert refused.status_code == 409
    allowed = client.post(
        f"/api/sites/{world.site_b.id}/patients",
        json={"screening_number": "B-98"},
        headers=world.headers(Role.INVESTIGATOR, "other"),
    )
    assert allowed.status_code == 201, allowed.text


def test_unlock_needs_an_administrator_and_a_reason(client: TestClient, world: World) -> None:
    lock = _lock(client, world, "lock", patient_id=world.randomised)
    path = f"/api/locks/{lock['id']}/release"
    by_data_manager = client.post(
        path, json={"reason": "x"}, headers=world.headers(Role.DATA_MANAGER, "own")
    )
    assert by_data_manager.status_code == 403
    admin = world.headers(Role.ADMINISTRATOR, "own")
    no_reason = client.post(path, json={"reason": "  "}, headers=admin)
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    assert client.post(path, json={}, headers=admin).status_code == 422
    unlocked = client.post(path, json={"reason": "late SAE follow-up"}, headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["release_reason"] == "late SAE follow-up"
    assert client.post(path, json={"reason": "again"}, headers=admin).status_code == 409
    assert _record(client, world).status_code == 201
    events, after = [], 0
    while page := client.get(f"/api/audit/events?after={after}&limit=1000", headers=admin).json():
        events += page
        after = page[-1]["seq"]
    actions = [
        (e["action"], e["reason"], e["role"])
        for e in events
        if e["entity"] == "data_lock" and e["entity_id"] == str(lock["id"])
    ]
    assert ("unlock", "late SAE follow-up", "administrator") in actions
    assert ("create", "interim analysis", "data_manager") in actions
    listed = client.get(f"/api/trials/{world.trial.id}/locks", headers=admin).json()
    assert listed == []


def test_only_a_data_manager_freezes_and_a_reason_is_needed(
    client: TestClient, world: World
) -> None:
    path = f"/api/trials/{world.trial.id}/locks"
    body = {"level": "lock", "reason": "analysis"}
    for role in (Role.INVESTIGATOR, Role.MONITOR, Role.ADMINISTRATOR, Role.STATISTICIAN):
        assert client.post(path, json=body, headers=world.headers(role, "own")).status_code == 403
    manager = world.headers(Role.DATA_MANAGER, "own")
    blank = client.post(path, json={"level": "lock", "reason": " "}, headers=manager)
    assert blank.status_code == 422
    assert client.post(path, json=body, headers=manager).status_code == 201
    assert client.post(path, json=body, headers=manager).status_code == 409  # already locked


def test_a_lock_anchors_the_audit_chain(client: TestClient, world: World, tmp_path: Path) -> None:
    generate_key(tmp_path / "operator.pem")
    anchoring = Anchoring.from_paths(tmp_path / "operator.pem", tmp_path / "anchors")
    client.app.state.anchoring = anchoring  # type: ignore[attr-defined]
    _lock(client, world, "freeze", patient_id=world.randomised)
    assert not (tmp_path / "anchors").exists()  # a freeze is not anchored
    lock = _lock(client, world, "lock")
    (written,) = (tmp_path / "anchors").glob("*.json")
    anchor = json.loads(written.read_text())["anchor"]
    assert anchor["reason"] == f"the database of trial {world.trial.id} locked (lock {lock['id']})"


def test_an_emergency_unblinding_is_never_refused_by_a_lock(
    client: TestClient, world: World
) -> None:
    """Patient safety: the database lock refuses every change of data, not an unblinding."""
    _lock(client, world, "lock")
    unblinded = client.post(
        f"/api/patients/{world.randomised}/unblinding",
        json={"password": PASSWORD, "reason": "anaphylactic reaction"},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert unblinded.status_code == 200, unblinded.text


def test_a_screening_record_or_consent_lock_covers_that_record(
    client: TestClient, world: World
) -> None:
    investigator = world.headers(Role.INVESTIGATOR, "own")
    _lock(
        client,
        world,
        "freeze",
        patient_id=world.patient.id,
        form="screening_record",
        record_key="screening_record",
    )
    refused = client.post(
        f"/api/patients/{world.patient.id}/screening-records",
        json={"data": example_record(), "reason": "typo"},
        headers=investigator,
    )
    assert refused.status_code == 409
    assert f"the screening record of patient {world.patient.id}" in refused.json()["detail"]
    consent = client.post(
        f"/api/patients/{world.patient.id}/consents",
        json={"consent_date": "2008-03-01", "information_sheet_version": "2.0"},
        headers=investigator,
    )
    assert consent.status_code == 201  # another record of hers
