"""The API routes over the service functions the investigator and pharmacist pages use:
a patient's PFS, the site's dispensings and the RECIST preview (thin, same service, no arm)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.factories import ENROLMENT_DAY
from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role

BASELINE = {"date": "2008-02-25", "target": [{"id": "T1", "organ": "liver", "diameter_mm": 30}]}


def test_pfs_of_a_randomised_patient_and_null_before(client: TestClient, world: World) -> None:
    headers = world.headers(Role.INVESTIGATOR, "own")
    pfs = client.get(f"/api/patients/{world.randomised}/pfs", headers=headers)
    assert pfs.status_code == 200
    body = pfs.json()
    # randomised today, nothing recorded since: censored on the day of randomisation
    assert body["start"] == body["date"] == ENROLMENT_DAY.isoformat()
    assert body["event"] is False
    assert body["days"] == 1
    assert "arm" not in body
    waiting = client.get(f"/api/patients/{world.to_randomise}/pfs", headers=headers)
    assert waiting.status_code == 200
    assert waiting.json() is None
    elsewhere = world.headers(Role.INVESTIGATOR, "other")
    assert client.get(f"/api/patients/{world.randomised}/pfs", headers=elsewhere).status_code == 404


def test_dispensings_name_kits_never_arms(client: TestClient, world: World) -> None:
    """Cycle 2 on the day of randomisation is refused (not due) with the reason; the
    pharmacist's documented override dispenses it and is shown with the kit, never an arm."""
    pharmacist = world.headers(Role.PHARMACIST, "own")
    early = client.post(
        f"/api/patients/{world.randomised}/dispensings", json={"cycle": 2}, headers=pharmacist
    )
    assert early.status_code == 409
    assert "cycle 2 is not due" in early.text
    assert "override_reason" in early.text
    reason = "patient travels abroad for 5 weeks"
    given = client.post(
        f"/api/patients/{world.randomised}/dispensings",
        json={"cycle": 2, "override_reason": reason},
        headers=pharmacist,
    )
    assert given.status_code == 201
    listed = client.get(f"/api/sites/{world.site_a.id}/dispensings", headers=pharmacist)
    assert listed.status_code == 200
    rows = [r for r in listed.json() if r["cycle"] == 2]
    assert rows == [
        {
            "patient_id": world.randomised,
            "cycle": 2,
            "kit_number": given.json()["kit_number"],
            "dispensed_at": rows[0]["dispensed_at"],
            "dispensed_on": ENROLMENT_DAY.isoformat(),
            "override_reason": reason,
        }
    ]
    keys = {"patient_id", "cycle", "kit_number", "dispensed_at", "dispensed_on", "override_reason"}
    assert all(set(r) == keys for r in listed.json())


def test_the_preview_evaluates_without_saving(client: TestClient, world: World) -> None:
    headers = world.headers(Role.INVESTIGATOR, "own")
    url = f"/api/patients/{world.randomised}/tumour-response/preview"
    preview = client.post(url, json={"form": "tumour_baseline", "data": BASELINE}, headers=headers)
    assert preview.status_code == 200
    evaluation = preview.json()["evaluation"]
    assert evaluation["baseline"]["sum_mm"] == 30
    assert evaluation["timepoints"] == []
    records = client.get(f"/api/patients/{world.randomised}/records", headers=headers).json()
    assert not [r for r in records if r["form"] == "tumour_baseline"]  # nothing saved


def test_a_bad_preview_says_what_is_wrong(client: TestClient, world: World) -> None:
    headers = world.headers(Role.INVESTIGATOR, "own")
    url = f"/api/patients/{world.randomised}/tumour-response/preview"
    wrong_form = client.post(url, json={"form": "adverse_event", "data": {}}, headers=headers)
    assert wrong_form.status_code == 422
    assert "form" in wrong_form.text
    bad_value = {"form": "tumour_baseline", "data": {"date": "2008-02-25", "target": "big"}}
    bad = client.post(url, json=bad_value, headers=headers)
    assert bad.status_code == 422
    assert "target" in bad.text


def test_a_refused_record_names_each_invalid_value(client: TestClient, world: World) -> None:
    """Every value the form refuses comes back, each at its path, the first one first."""
    headers = world.headers(Role.INVESTIGATOR, "own")
    url = f"/api/patients/{world.randomised}/tumour-response/preview"
    both = {"form": "tumour_baseline", "data": {"date": "someday", "target": "big"}}
    refused = client.post(url, json=both, headers=headers)
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["detail"]] == [
        ["body", "data", "date"],
        ["body", "data", "target"],
    ]


def test_end_before_start_is_refused_with_422_and_the_field_path(
    client: TestClient, world: World
) -> None:
    """A serious grade 3 AE ending before it started is refused: 422 naming data.end_date."""
    headers = world.headers(Role.INVESTIGATOR, "own")
    start = ENROLMENT_DAY.isoformat()
    end = (ENROLMENT_DAY - dt.timedelta(days=3)).isoformat()
    ae = {
        "term": "Neutropenia",
        "grade": 3,
        "serious": True,
        "start_date": start,
        "end_date": end,
        "relationship": "possible",
        "action_taken": "dose_interrupted",
    }
    url = f"/api/patients/{world.randomised}/records"
    before = client.get(url, headers=headers).json()
    refused = client.post(f"{url}/adverse_event", json={"data": ae}, headers=headers)
    assert refused.status_code == 422
    (detail,) = refused.json()["detail"]
    assert detail["loc"] == ["body", "data", "end_date"]
    assert f"end_date {end} is before start_date {start}" in detail["msg"]
    assert client.get(url, headers=headers).json() == before  # nothing saved
