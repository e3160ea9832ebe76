"""The forms of a trial through the API: listed with their schemas, records keep the form's
version, and a form the protocol does not define is refused naming the forms it has."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role


def test_the_trials_forms_are_listed_with_their_versions_and_schemas(
    client: TestClient, world: World
) -> None:
    headers = world.headers(Role.STATISTICIAN, "own")
    listed = client.get(f"/api/trials/{world.trial.id}/forms", headers=headers)
    assert listed.status_code == 200
    forms = {f["name"]: f for f in listed.json()}
    assert forms["screening"]["used"] == "screening"
    assert forms["adverse_event"]["key_prefix"] == "AE"
    assert forms["adverse_event"]["version"] == "1"
    grade = forms["adverse_event"]["record_schema"]["properties"]["grade"]["anyOf"][0]
    assert grade == {"enum": [1, 2, 3, 4, 5]}
    openapi = client.get("/openapi.json").json()
    assert "/api/trials/{trial_id}/forms" in openapi["paths"]


def test_a_record_keeps_its_form_version(client: TestClient, world: World) -> None:
    headers = world.headers(Role.INVESTIGATOR, "own")
    url = f"/api/patients/{world.randomised}/records"
    saved = client.post(
        f"{url}/new_therapy",
        json={"data": {"start_date": "2008-03-01", "therapy": "capecitabine"}},
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["form_version"] == "1"
    listed = client.get(url, headers=headers, params={"form": "new_therapy"}).json()
    assert [r["form_version"] for r in listed] == ["1"]
    screening = client.get(f"/api/patients/{world.patient.id}/screening-records", headers=headers)
    assert screening.status_code == 200, screening.text
    assert {r["form_version"] for r in screening.json()} == {"1"}


def test_a_form_the_protocol_does_not_define_is_refused(client: TestClient, world: World) -> None:
    headers = world.headers(Role.INVESTIGATOR, "own")
    refused = client.post(
        f"/api/patients/{world.randomised}/records/quality_of_life",
        json={"data": {}},
        headers=headers,
    )
    assert refused.status_code == 404
    assert "no case report form 'quality_of_life'" in refused.text
    assert "adverse_event" in refused.text
    bad_name = client.post(
        f"/api/patients/{world.randomised}/records/Not-A-Form", json={"data": {}}, headers=headers
    )
    assert bad_name.status_code == 422
