"""Every endpoint, for every role, at its own site and at another: the expected status.

Site roles (and a site monitor) at another site get 404 for site-scoped resources,
as if absent; roles without the permission get 403; blinded roles never receive
an ``arm`` key in any response, unblinded roles see it on patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, example_record, login, make_user
from tests.service.api_fixtures import World
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role, can_see_arm
from trialkit.service.platform.security import Security

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMINISTRATOR})
CLINICAL_READERS = frozenset(
    {
        Role.INVESTIGATOR,
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.UNBLINDED_STATISTICIAN,
        Role.DSMB_MEMBER,
    }
)
INVESTIGATOR = frozenset({Role.INVESTIGATOR})
MONITOR = frozenset({Role.MONITOR, Role.DATA_MANAGER})  # queries: raised and closed
VERIFIER = frozenset({Role.MONITOR})  # source data verification and monitoring visits
DATA_MANAGER = frozenset({Role.DATA_MANAGER})
LOCK_READERS = frozenset({Role.DATA_MANAGER, Role.ADMINISTRATOR})
UNBLINDED = frozenset({Role.UNBLINDED_STATISTICIAN, Role.DSMB_MEMBER})
VIEW_PATIENT = frozenset(
    {
        Role.INVESTIGATOR,
        Role.PHARMACIST,
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.UNBLINDED_STATISTICIAN,
        Role.DSMB_MEMBER,
    }
)
SUPPLY = frozenset({Role.PHARMACIST, Role.MONITOR, Role.ADMINISTRATOR})
FORECAST = frozenset(
    {
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.STATISTICIAN,
        Role.UNBLINDED_STATISTICIAN,
        Role.DSMB_MEMBER,
        Role.ADMINISTRATOR,
    }
)
SAES = frozenset({Role.INVESTIGATOR, Role.MONITOR, Role.SAFETY_PHYSICIAN})
SAFETY = frozenset({Role.SAFETY_PHYSICIAN})
REPORTS = frozenset(  # the monitor and the data manager: the blinded report only
    {
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.STATISTICIAN,
        Role.UNBLINDED_STATISTICIAN,
        Role.DSMB_MEMBER,
        Role.ADMINISTRATOR,
    }
)


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # a template over World's attributes
    ok: int
    allowed: frozenset[Role]  # roles that may, at the resource's site
    site_scoped: bool = False  # site roles elsewhere get 404
    body: Callable[[World], Any] | None = None
    authenticated: bool = True
    reveals_arm: bool = False  # the one response that shows a blinded role an arm
    pools_sites: bool = False  # pools every site: refused (403) to a monitor of some sites


def _site_body(w: World) -> dict[str, Any]:
    return {"code": "DE77", "name": "New centre", "city": "Köln", "country": "DE"}


def _sae(w: World) -> dict[str, Any]:
    return {"values": {"term": "Sepsis", "criteria": ["hospitalisation"]}}


CASES = [
    Case("GET", "/api/auth/me", 200, ALL),
    # SAEs: the world's randomised patient has case 1; the safety role reviews, then unblinds
    Case("GET", "/api/safety/terms", 200, SAES),
    Case("GET", "/api/safety/meddra?q=rash", 200, SAES),
    Case("GET", "/api/trials/{trial}/saes", 200, SAES),
    Case("POST", "/api/patients/{randomised}/saes", 201, INVESTIGATOR, site_scoped=True, body=_sae),
    Case("GET", "/api/patients/{randomised}/saes/1", 200, SAES, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/saes/1/versions",
        201,
        INVESTIGATOR,
        site_scoped=True,
        body=lambda w: {**_sae(w), "reason": "follow-up"},
    ),
    Case(
        "POST",
        "/api/patients/{randomised}/saes/1/review",
        201,
        SAFETY,
        body=lambda w: {"causality": {"study_drug": "probable"}},
    ),
    Case("GET", "/api/patients/{randomised}/saes/1/e2b", 200, SAFETY),
    Case(
        "POST",
        "/api/patients/{randomised}/saes/1/unblinding",
        200,
        SAFETY,
        body=lambda w: {"password": PASSWORD, "reason": "possible SUSAR"},
        reveals_arm=True,  # this case's arm, to the safety role only
    ),
    Case("GET", "/api/notifications", 200, ALL),
    Case("POST", "/api/notifications/read", 200, ALL, body=lambda w: {}),
    # nobody holds that item (their own: tests/service/platform/test_notifications_web.py)
    Case("POST", "/api/notifications/{no_item}/read", 404, ALL, body=lambda w: {}),
    Case(
        "POST",
        "/api/auth/password",
        403,
        ALL,
        body=lambda w: {"old_password": "wrong", "new_password": "x" * 12},
    ),
    Case("GET", "/api/trials", 200, ALL),
    Case("GET", "/api/trials/{trial}", 200, ALL),
    Case("GET", "/api/trials/{trial}/forms", 200, ALL),
    Case("GET", "/api/trials/{trial}/sites", 200, ALL),
    # pooled over every site (not for the world's monitors, who hold one site each); the
    # world has no PFS event yet: 422 says so
    Case("GET", "/api/trials/{trial}/forecast?sims=100", 422, FORECAST, pools_sites=True),
    Case("GET", "/api/trials/{trial}/forecast.svg?sims=100", 422, FORECAST, pools_sites=True),
    Case("POST", "/api/trials/{trial}/sites", 201, ADMIN, body=_site_body),
    Case("GET", "/api/sites/{site_a}", 200, ALL),
    Case(
        "POST",
        "/api/sites/{site_a}/ethics-approvals",
        201,
        ADMIN,
        body=lambda w: {
            "committee": "EC",
            "approval_date": "2007-07-01",
            "protocol_version": w.trial.protocol_version,
        },
    ),
    Case("POST", "/api/sites/{pending}/activation", 200, ADMIN, body=lambda w: {}),
    Case("GET", "/api/users", 200, ADMIN),
    Case("GET", "/api/trials/{trial}/report", 200, REPORTS, pools_sites=True),
    Case("GET", "/api/trials/{trial}/report?unblinded=true", 200, UNBLINDED),
    Case("GET", "/api/trials/{trial}/report.pdf?cutoff=2008-12-31", 200, REPORTS, pools_sites=True),
    Case(
        "POST",
        "/api/users",
        201,
        ADMIN,
        body=lambda w: {
            "username": "new-user",
            "full_name": "New User",
            "password": "a long password",
        },
    ),
    Case("GET", "/api/users/{user}", 200, ADMIN),
    Case(
        "POST",
        "/api/users/{user}/roles",
        201,
        ADMIN,
        body=lambda w: {"trial_id": w.trial.id, "role": "monitor"},
    ),
    Case(
        "POST",
        "/api/role-assignments/{assignment}/revocation",
        200,
        ADMIN,
        body=lambda w: {"reason": "left"},
    ),
    Case(
        "GET",
        "/api/sites/{site_a}/patients",
        200,
        VIEW_PATIENT,
        site_scoped=True,
    ),
    Case(
        "POST",
        "/api/sites/{site_a}/patients",
        201,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
        body=lambda w: {"screening_number": "A-2"},
    ),
    Case(
        "GET",
        "/api/patients/{patient}",
        200,
        VIEW_PATIENT,
        site_scoped=True,
    ),
    Case(
        "GET",
        "/api/patients/{patient}/screening-records",
        200,
        CLINICAL_READERS,
        site_scoped=True,
    ),
    Case(
        "POST",
        "/api/patients/{patient}/screening-records",
        201,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
        # a correction changes a value (the same values again are refused: nothing to save)
        body=lambda w: {
            "data": example_record() | {"ecog": example_record()["ecog"] + 1},
            "reason": "recheck",
        },
    ),
    Case(
        "GET",
        "/api/patients/{patient}/eligibility",
        200,
        CLINICAL_READERS,
        site_scoped=True,
    ),
    Case(
        "POST",
        "/api/patients/{patient}/eligibility",
        201,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
    ),
    Case(
        "GET",
        "/api/patients/{patient}/consents",
        200,
        CLINICAL_READERS,
        site_scoped=True,
    ),
    Case(
        "POST",
        "/api/patients/{patient}/consents",
        201,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
        body=lambda w: {"consent_date": "2008-03-01", "information_sheet_version": "1.0"},
    ),
    Case("GET", "/api/patients/{randomised}/records", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/records/{form}",
        201,
        INVESTIGATOR,
        site_scoped=True,
        body=lambda w: {"data": {"term": "Fatigue", "grade": 1, "start_date": "2008-04-01"}},
    ),
    Case(
        "GET", "/api/patients/{randomised}/tumour-response", 200, CLINICAL_READERS, site_scoped=True
    ),
    Case(
        "POST",
        "/api/patients/{randomised}/tumour-response/preview",
        200,
        CLINICAL_READERS,
        site_scoped=True,
        body=lambda w: {"form": "tumour_baseline", "data": {"date": "2008-03-01"}},
    ),
    Case("GET", "/api/patients/{randomised}/pfs", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/edit-checks",
        200,
        INVESTIGATOR | MONITOR,
        site_scoped=True,
    ),
    Case("GET", "/api/patients/{randomised}/queries", 200, CLINICAL_READERS, site_scoped=True),
    Case("GET", "/api/patients/{randomised}/schedule", 200, CLINICAL_READERS, site_scoped=True),
    Case("GET", "/api/patients/{randomised}/grid", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "GET",
        "/api/patients/{randomised}/records/{form}/AE-1/history",
        200,
        CLINICAL_READERS,
        site_scoped=True,
    ),
    Case(
        "POST",
        "/api/patients/{randomised}/queries?form=adverse_event",
        201,
        MONITOR,
        site_scoped=True,
        body=lambda w: {"record_key": "AE-1", "field": "term", "message": "Source says anaemia"},
    ),
    Case("GET", "/api/sites/{site_a}/queries", 200, CLINICAL_READERS, site_scoped=True),
    Case("GET", "/api/trials/{trial}/queries", 200, CLINICAL_READERS),
    Case(
        "POST",
        "/api/queries/{query}/answer",
        200,
        INVESTIGATOR,
        site_scoped=True,
        body=lambda w: {"response": "Grade 3 per source; corrected"},
    ),
    Case(
        "POST",
        "/api/queries/{query}/closure",
        200,
        MONITOR,
        site_scoped=True,
        body=lambda w: {"resolution": "Corrected"},
    ),
    Case(  # after the closure above: closed, so it can be re-opened
        "POST",
        "/api/queries/{query}/reopen",
        200,
        MONITOR,
        site_scoped=True,
        body=lambda w: {"comment": "Source still says grade 2"},
    ),
    Case("GET", "/api/patients/{randomised}/signoff", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/signatures",
        201,
        INVESTIGATOR,
        site_scoped=True,
        body=lambda w: {"scope": "casebook", "password": PASSWORD, "meaning": "I approve"},
    ),
    Case("GET", "/api/sites/{site_a}/casebooks-to-sign", 200, INVESTIGATOR, site_scoped=True),
    Case("GET", "/api/patients/{randomised}/sdv", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/sdv",
        200,
        VERIFIER,
        site_scoped=True,
        body=lambda w: {"form": "consent", "record_key": "consent"},
    ),
    Case("GET", "/api/trials/{trial}/sdv-work-list", 200, VERIFIER),
    Case("GET", "/api/sites/{site_a}/monitoring-visits", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "POST",
        "/api/sites/{site_a}/monitoring-visits",
        201,
        VERIFIER,
        site_scoped=True,
        body=lambda w: {"visit_date": "2008-04-01"},
    ),
    Case("GET", "/api/monitoring-visits/{visit}", 200, CLINICAL_READERS, site_scoped=True),
    Case(
        "PUT",
        "/api/monitoring-visits/{visit}/findings",
        200,
        VERIFIER,
        site_scoped=True,
        body=lambda w: {"findings": "Source documents complete."},
    ),
    Case(
        "POST",
        "/api/monitoring-visits/{visit}/signature",
        200,
        VERIFIER,
        site_scoped=True,
        body=lambda w: {"password": PASSWORD, "meaning": "I confirm this report"},
    ),
    Case("GET", "/api/audit/events", 200, ADMIN),
    Case(
        "POST",
        "/api/patients/{to_randomise}/randomisation",
        201,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
    ),
    Case("GET", "/api/patients/{randomised}/randomisation", 200, VIEW_PATIENT, site_scoped=True),
    Case(
        "POST",
        "/api/patients/{randomised}/unblinding",
        200,
        frozenset({Role.INVESTIGATOR}),
        site_scoped=True,
        body=lambda w: {"password": PASSWORD, "reason": "anaphylactic reaction"},
        reveals_arm=True,
    ),
    Case(
        "POST",
        "/api/patients/{randomised}/dispensings",
        201,
        frozenset({Role.PHARMACIST}),
        site_scoped=True,
        # randomised today: cycle 2 is not due, so the pharmacist overrides (documented)
        body=lambda w: {"cycle": 2, "override_reason": "patient travels abroad for 5 weeks"},
    ),
    Case(
        "GET",
        "/api/patients/{randomised}/dispensing-check",
        200,
        frozenset({Role.PHARMACIST}),
        site_scoped=True,
    ),
    Case("GET", "/api/sites/{site_a}/kits", 200, SUPPLY, site_scoped=True),
    Case("GET", "/api/sites/{site_a}/dispensings", 200, SUPPLY, site_scoped=True),
    Case("GET", "/api/trials/{trial}/resupply-requests", 200, SUPPLY),
    Case("POST", "/api/resupply-requests/{request}/shipment", 201, ADMIN),
    Case(
        "POST",
        "/api/shipments/{shipment}/receipt",
        200,
        frozenset({Role.PHARMACIST}),
        site_scoped=True,
        body=lambda w: {},
    ),
    Case(
        "GET",
        "/api/trials/{trial}/reports/enrolment",
        200,
        frozenset(
            {
                Role.MONITOR,
                Role.DATA_MANAGER,
                Role.STATISTICIAN,
                Role.UNBLINDED_STATISTICIAN,
                Role.DSMB_MEMBER,
                Role.ADMINISTRATOR,
            }
        ),
    ),
    Case("GET", "/api/trials/{trial}/reports/arm-balance", 200, UNBLINDED),
    Case("GET", "/api/trials/{trial}/allocation-audit", 200, UNBLINDED),
    # freezes and locks: late, since a freeze stops the edits of the cases above
    Case("GET", "/api/trials/{trial}/locks", 200, LOCK_READERS),
    Case(
        "POST",
        "/api/trials/{trial}/locks",
        201,
        DATA_MANAGER,
        body=lambda w: {"level": "freeze", "reason": "review", "patient_id": w.patient.id},
    ),
    # no such lock: 404 to those who may release one, 403 to the others
    Case("POST", "/api/locks/{lock}/release", 404, LOCK_READERS, body=lambda w: {"reason": "x"}),
    # last: it ends the session
    Case("POST", "/api/auth/logout", 204, ALL),
]
UNAUTHENTICATED = [
    Case("GET", "/health", 200, ALL, authenticated=False),
    Case("GET", "/openapi.json", 200, ALL, authenticated=False),
    Case("GET", "/docs", 200, ALL, authenticated=False),
    Case("GET", "/docs/oauth2-redirect", 200, ALL, authenticated=False),
    Case("GET", "/redoc", 200, ALL, authenticated=False),
    Case(
        "POST",
        "/api/auth/session",
        401,
        ALL,
        authenticated=False,
        body=lambda w: {"username": "x", "password": "y"},
    ),
    Case(
        "POST",
        "/api/auth/token",
        401,
        ALL,
        authenticated=False,
        body=lambda w: {"username": "x", "password": "y"},
    ),
]


def _path(case: Case, world: World) -> str:
    return case.path.format(
        trial=world.trial.id,
        site_a=world.site_a.id,
        pending=world.pending.id,
        patient=world.patient.id,
        user=world.users[(Role.STATISTICIAN, "own")].id,
        assignment=world.spare_assignment,
        form="adverse_event",
        query=world.query,
        to_randomise=world.to_randomise,
        randomised=world.randomised,
        request=world.request,
        shipment=world.shipment,
        visit=world.monitoring_visit,
        no_item=2**31 - 1,
        lock=2_147_483_647,
    )


def _expected(case: Case, role: Role, where: str) -> int:
    if role not in case.allowed:
        return 403
    holds_site = role in {Role.INVESTIGATOR, Role.PHARMACIST, Role.MONITOR}
    if case.pools_sites and holds_site:
        return 403
    if case.site_scoped and where == "other" and holds_site:
        return 404
    return case.ok


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_route_is_in_the_matrix(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = {(method.upper(), path) for path, item in paths.items() for method in item}
    routes |= {("GET", p) for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")}
    names = {"trial": "trial_id", "site_a": "site_id", "pending": "site_id"}
    names |= {"patient": "patient_id", "user": "user_id", "assignment": "assignment_id"}
    names |= {"query": "query_id", "form": "form"}
    names |= {"to_randomise": "patient_id", "randomised": "patient_id"}
    names |= {
        "request": "request_id",
        "shipment": "shipment_id",
        "no_item": "item_id",
        "lock": "lock_id",
    }
    names |= {"visit": "visit_id"}
    covered = set()
    for case in CASES + UNAUTHENTICATED:
        path = case.path.partition("?")[0]
        for template, parameter in names.items():
            path = path.replace("{" + template + "}", "{" + parameter + "}")
        path = path.replace("/saes/1", "/saes/{case_number}").replace("/e2b", "/{kind}")
        path = path.replace("/AE-1/history", "/{record_key}/history")
        covered.add((case.method, path))
    assert routes == covered


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_matrix(client: TestClient, world: World, role: Role) -> None:
    failures = []
    site_held = role in {Role.INVESTIGATOR, Role.PHARMACIST, Role.MONITOR}
    for where in ("own", "other") if site_held else ("own",):  # trial-wide: no other site
        for case in CASES:
            body = case.body(world) if case.body else None
            path = _path(case, world)
            headers = world.headers(role, where)
            response = client.request(case.method, path, json=body, headers=headers)
            expected = _expected(case, role, where)
            if response.status_code != expected:
                failures.append(
                    f"{where} {case.method} {case.path}: {response.status_code} != {expected} "
                    f"{response.text[:200]}"
                )
                continue
            kind = response.headers.get("content-type", "")
            if response.status_code < 300 and kind.startswith("text/html"):
                if not can_see_arm(role):  # the blinded report: no arm label in any table
                    assert "<td>Sorafenib</td>" not in response.text
                    assert "<td>Placebo</td>" not in response.text
            elif response.status_code < 300 and response.content and "json" in kind:
                keys = _keys(response.json())
                if case.reveals_arm:
                    assert "arm" in keys  # one patient, to the investigator who unblinded
                elif not can_see_arm(role):
                    assert "arm" not in keys, f"{role} received an arm from {case.path}"
                elif "/patients" in case.path and "screening_number" in keys:
                    assert "arm" in keys
    assert not failures, "\n".join(failures)


def test_without_a_session(client: TestClient, world: World) -> None:
    for case in CASES:
        response = client.request(
            case.method, _path(case, world), json=case.body(world) if case.body else None
        )
        assert response.status_code == 401, f"{case.method} {case.path}"
        assert response.headers["www-authenticate"] == "Bearer"
    for case in UNAUTHENTICATED:
        response = client.request(
            case.method, _path(case, world), json=case.body(world) if case.body else None
        )
        assert response.status_code == case.ok, f"{case.method} {case.path}"


def test_a_blinded_patient_view_has_no_arm_field_at_all(client: TestClient, world: World) -> None:
    blinded = client.get(
        f"/api/patients/{world.patient.id}", headers=world.headers(Role.MONITOR, "own")
    )
    unblinded = client.get(
        f"/api/patients/{world.patient.id}", headers=world.headers(Role.DSMB_MEMBER, "own")
    )
    assert "arm" not in blinded.json()
    assert unblinded.json()["arm"] is None  # nothing randomised yet


def test_a_monitor_of_some_sites_is_refused_pooled_reports_and_forecasts_with_the_reason(
    client: TestClient, world: World, db: Database, security: Security
) -> None:
    """A site-scoped monitor sees only their sites' data; the trial report, the forecast and
    the pooled event count pool every site, so they are refused with why (a trial-wide
    monitor gets them)."""
    with db.sessions.begin() as session:
        wide = make_user(session, security, world.trial, Role.MONITOR)
        token = login(session, security, wide)
    pooled = [c for c in CASES if c.pools_sites]
    assert len(pooled) == 4
    for case in pooled:
        path = _path(case, world)
        scoped = client.get(path, headers=world.headers(Role.MONITOR, "own"))
        assert scoped.status_code == 403, path
        message = scoped.text  # the problem document, whatever its shape
        assert "every site" in message
        assert "trial-wide" in message
        trial_wide = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert trial_wide.status_code == case.ok, (path, trial_wide.text[:200])
