"""SAEs through the API: the site's report on the 24-hour clock, the work lists, the sponsor's
review, the SUSAR unblinding of one case for the safety role only, and the case exports."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import ENROLMENT_DAY, PASSWORD
from tests.service.api_fixtures import World
from trialkit.safety.e2b import HL7
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.tables.audit import AuditEvent

SAFETY = Role.SAFETY_PHYSICIAN
ONSET = ENROLMENT_DAY  # the record clock is pinned to ENROLMENT_DAY (at the real time of day)


def sae_values(**changes: object) -> dict[str, Any]:
    values: dict[str, Any] = {
        "term": "Stroke",
        "grade": 4,
        "onset_date": ONSET.isoformat(),
        "criteria": ["life_threatening", "hospitalisation"],
        "aware_at": f"{ONSET.isoformat()}T00:00:00+00:00",
        "causality": {
            "study_drug": "possible",
            "docetaxel": "unlikely",
            "letrozole": "not_related",
        },
        "outcome": "recovering",
        "narrative": "Admitted with left-sided weakness; CT showed an ischaemic stroke.",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def report(client: TestClient, world: World, **changes: object) -> dict[str, Any]:
    """A new SAE case of the world's randomised patient (the world holds case 1 already)."""
    response = client.post(
        f"/api/patients/{world.randomised}/saes",
        json={"values": sae_values(**changes)},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def work_list(client: TestClient, world: World, role: Role, where: str = "own") -> list[Any]:
    response = client.get(f"/api/trials/{world.trial.id}/saes", headers=world.headers(role, where))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_reported_sae_is_on_the_sponsors_work_list_with_the_time_left(
    client: TestClient, world: World
) -> None:
    created = report(client, world)
    assert created["status"] == "reported"
    assert created["versions"] == 1
    assert "arm" not in created
    assert "review" not in created
    assert created["case_number"] == 2
    rows = [r for r in work_list(client, world, SAFETY) if r["case_id"] == created["case_id"]]
    assert rows[0]["review_status"] == "to review"
    assert "arm" not in rows[0]
    assert rows[0]["due_at"].startswith(f"{(ONSET + dt.timedelta(days=1)).isoformat()}T00:00")
    assert created["case_id"] in [r["case_id"] for r in work_list(client, world, Role.MONITOR)]
    assert work_list(client, world, Role.INVESTIGATOR, "other") == []  # another site's
    other = client.get(
        f"/api/patients/{world.randomised}/saes/2",
        headers=world.headers(Role.INVESTIGATOR, "other"),
    )
    assert other.status_code == 404


def test_an_incomplete_report_stays_due_and_shows_overdue_after_24_hours(
    client: TestClient, world: World
) -> None:
    early = ONSET - dt.timedelta(days=3)
    created = report(
        client,
        world,
        narrative=None,
        onset_date=early.isoformat(),
        aware_at=f"{early.isoformat()}T08:00:00+00:00",
    )
    assert created["status"] == "overdue"
    assert created["seconds_left"] < -24 * 3600
    assert created["versions_detail"][0]["missing"] == ["narrative"]
    rows = work_list(client, world, Role.INVESTIGATOR)
    assert rows[0]["status"] == "overdue"  # overdue first
    assert rows[0]["case_id"] == created["case_id"]
    follow = client.post(
        f"/api/patients/{world.randomised}/saes/2/versions",
        json={"values": sae_values(onset_date=early.isoformat())},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert follow.status_code == 422  # a follow-up needs its reason
    assert follow.json()["detail"][0]["loc"][-1] == "reason"
    follow = client.post(
        f"/api/patients/{world.randomised}/saes/2/versions",
        json={
            "values": sae_values(onset_date=early.isoformat()),
            "reason": "narrative completed",
        },
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert follow.status_code == 201, follow.text
    assert follow.json()["status"] == "reported late"
    assert follow.json()["versions"] == 2
    # the awareness of the initial report holds: a follow-up cannot move the clock
    assert follow.json()["aware_at"].startswith(f"{early.isoformat()}T08:00")


def test_an_adverse_event_marked_serious_without_a_report_is_on_the_work_list(
    client: TestClient, world: World
) -> None:
    response = client.post(
        f"/api/patients/{world.randomised}/records/adverse_event",
        json={
            "data": {"term": "Sepsis", "grade": 4, "start_date": "2008-03-02", "serious": True},
        },
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert response.status_code == 201, response.text
    rows = work_list(client, world, Role.INVESTIGATOR)
    assert next((r["status"], r["term"], r["versions"]) for r in rows) == (
        "not started",
        "Sepsis",
        0,
    )
    assert [r["term"] for r in rows] == ["Sepsis", "Stroke"]  # and the world's case 1
    key = rows[0]["ae_record_key"]
    report(client, world, ae_record_key=key, term="Sepsis")
    after = work_list(client, world, Role.INVESTIGATOR)
    assert [(r["term"], r["versions"]) for r in after] == [("Stroke", 1), ("Sepsis", 1)]


@pytest.mark.parametrize(
    ("values", "location"),
    [
        ({"criteria": ["hospitalised"]}, ["criteria", 0]),
        ({"causality": {"sorafenib": "related"}}, ["causality", "sorafenib"]),
        ({"term": "Brain fog"}, ["term"]),
    ],
)
def test_a_wrong_item_is_refused_naming_it(
    client: TestClient, world: World, values: dict[str, Any], location: list[object]
) -> None:
    response = client.post(
        f"/api/patients/{world.randomised}/saes",
        json={"values": sae_values(**values)},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "values", *location]


def test_roles_do_only_their_part(client: TestClient, world: World) -> None:
    report(client, world)
    url = f"/api/patients/{world.randomised}/saes"
    body = {"values": sae_values()}
    assert client.post(url, json=body, headers=world.headers(SAFETY, "own")).status_code == 403
    assert (
        client.post(url, json=body, headers=world.headers(Role.MONITOR, "own")).status_code == 403
    )
    review = {"causality": {"study_drug": "related"}}
    for role in (Role.INVESTIGATOR, Role.MONITOR, Role.UNBLINDED_STATISTICIAN):
        refused = client.post(f"{url}/1/review", json=review, headers=world.headers(role, "own"))
        assert refused.status_code == 403, role
        assert client.get(f"{url}/1/e2b", headers=world.headers(role, "own")).status_code == 403


def _arm(client: TestClient, world: World) -> str:
    shown = client.get(
        f"/api/patients/{world.randomised}/randomisation",
        headers=world.headers(Role.UNBLINDED_STATISTICIAN, "own"),
    )
    return str(shown.json()["arm"])


BLINDED_GETS = (
    "/api/patients/{p}",
    "/api/patients/{p}/randomisation",
    "/api/patients/{p}/records",
    "/api/patients/{p}/saes/2",
    "/api/trials/{t}/saes",
    "/api/trials/{t}/queries",
    "/api/trials/{t}/report",
    "/api/trials/{t}/reports/enrolment",
    "/api/trials/{t}/forecast",
)
BLINDED_ROLES = (Role.INVESTIGATOR, Role.MONITOR, Role.STATISTICIAN, Role.PHARMACIST)


def _scan(client: TestClient, world: World) -> dict[tuple[str, str], tuple[int, bytes]]:
    seen = {}
    for role in BLINDED_ROLES:
        for url in BLINDED_GETS:
            path = url.format(p=world.randomised, t=world.trial.id)
            response = client.get(path, headers=world.headers(role, "own"))
            seen[(role.value, path)] = (response.status_code, response.content)
    return seen


def test_a_susar_unblinds_one_case_for_the_safety_role_only(
    client: TestClient, world: World, db: Database
) -> None:
    report(client, world)
    url = f"/api/patients/{world.randomised}/saes/2"
    safety = world.headers(SAFETY, "own")
    reviewed = client.post(
        f"{url}/review",
        json={"causality": {"study_drug": "probable"}, "comment": "plausible"},
        headers=safety,
    )
    assert reviewed.status_code == 201, reviewed.text
    review = reviewed.json()["review"]
    assert review["decision"] == "awaiting_unblinding"
    assert review["needs_unblinding"] is True
    study = next(d for d in review["drugs"] if d["drug"] == "study_drug")
    assert (study["related"], study["expected"], study["suspect"]) == (True, False, True)
    before = _scan(client, world)
    wrong = client.post(
        f"{url}/unblinding", json={"password": "wrong", "reason": "SUSAR"}, headers=safety
    )
    assert wrong.status_code == 401
    assert "arm" not in client.get(url, headers=safety).json()
    opened = client.post(
        f"{url}/unblinding",
        json={"password": PASSWORD, "reason": "possible SUSAR: stroke, unexpected"},
        headers=safety,
    )
    assert opened.status_code == 200, opened.text
    case = opened.json()
    arm = _arm(client, world)
    assert case["arm"] == arm
    active = arm == "A"  # SOR's arm A is sorafenib
    decision = case["review"]["decision"]
    assert decision == ("susar" if active else "not_susar_placebo")
    if active:
        assert case["review"]["clock_days"] == 7  # life-threatening
    again = client.post(
        f"{url}/unblinding", json={"password": PASSWORD, "reason": "again"}, headers=safety
    )
    assert again.status_code == 409
    # the other safety user sees it too (the role), nobody blinded sees any change
    assert client.get(url, headers=world.headers(SAFETY, "other")).json()["arm"] == arm
    assert _scan(client, world) == before
    # a review written once the arm is known may name it: its comment stays with the review
    # (the safety role's), never in the audit trail that blinded administrators read
    comment = f"unblinded: on arm {arm}, causality confirmed"
    revised = client.post(
        f"{url}/review",
        json={"causality": {"study_drug": "probable"}, "comment": comment},
        headers=safety,
    )
    assert revised.status_code == 201, revised.text
    assert revised.json()["review"]["comment"] == comment
    with db.sessions() as session:
        trail = session.execute(
            select(AuditEvent.reason, AuditEvent.old_value, AuditEvent.new_value)
        ).all()
    assert trail
    assert not [row for row in trail if "causality confirmed" in str(row)]


def test_a_susar_on_placebo_is_not_reported_and_on_sorafenib_runs_15_days(
    client: TestClient, world: World
) -> None:
    report(client, world, criteria=["hospitalisation"])
    url = f"/api/patients/{world.randomised}/saes/2"
    safety = world.headers(SAFETY, "own")
    client.post(f"{url}/review", json={"causality": {}}, headers=safety)
    case = client.post(
        f"{url}/unblinding", json={"password": PASSWORD, "reason": "SUSAR"}, headers=safety
    ).json()
    if case["arm"] == "A":
        assert case["review"]["decision"] == "susar"
        assert case["review"]["clock_days"] == 15
    else:
        assert case["review"]["decision"] == "not_susar_placebo"
        assert case["review"]["clock_days"] is None


def test_an_expected_reaction_is_no_susar_and_is_not_unblinded(
    client: TestClient, world: World
) -> None:
    report(client, world, term="Hypertension", grade=3)
    url = f"/api/patients/{world.randomised}/saes/2"
    safety = world.headers(SAFETY, "own")
    reviewed = client.post(f"{url}/review", json={"causality": {}}, headers=safety).json()
    assert reviewed["review"]["decision"] == "not_susar"
    refused = client.post(
        f"{url}/unblinding", json={"password": PASSWORD, "reason": "curious"}, headers=safety
    )
    assert refused.status_code == 409


@pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")  # a system library
def test_each_case_exports_as_cioms_i_and_e2b(client: TestClient, world: World) -> None:
    report(client, world)
    url = f"/api/patients/{world.randomised}/saes/2"
    safety = world.headers(SAFETY, "own")
    client.post(f"{url}/review", json={"causality": {"study_drug": "probable"}}, headers=safety)
    pdf = client.get(f"{url}/cioms", headers=safety)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    xml = client.get(f"{url}/e2b", headers=safety)
    assert xml.status_code == 200
    root = ET.fromstring(xml.content)
    products = [p.findtext(f"{{{HL7}}}name") for p in root.iter(f"{{{HL7}}}kindOfProduct")]
    assert products[0] == "sorafenib or matching placebo (blinded)"  # not unblinded yet
    client.post(f"{url}/unblinding", json={"password": PASSWORD, "reason": "x"}, headers=safety)
    root = ET.fromstring(client.get(f"{url}/e2b", headers=safety).content)
    products = [p.findtext(f"{{{HL7}}}name") for p in root.iter(f"{{{HL7}}}kindOfProduct")]
    assert products[0] in {"sorafenib", "matching placebo"}
