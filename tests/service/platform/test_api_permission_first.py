"""A refusal for lack of a role is 403, not 422: what a route requires is decided first.

Every route of the API is read from the application's own route table, with the requirement it
declares (:func:`trialkit.service.platform.api.permissions.requires`); each is sent bad input of
every kind the framework refuses (a date out of range in the address, an id out of range in the
path, JSON that
does not parse, NaN, a body that fails its schema) by every role that lacks the requirement, and
by nobody. A role without it gets 403 and nobody 401, whatever the input; a role with it gets the
422 that says what is wrong with the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.service.api_fixtures import World
from trialkit.service.platform.policy import Role

PUBLIC = {("POST", "/api/auth/session"), ("POST", "/api/auth/token"), ("GET", "/health")}


@dataclass(frozen=True)
class Bad:
    """One kind of bad input: its name, the address's tail or the body as sent."""

    name: str
    query: str = ""
    zero_id: bool = False
    body: str | None = None


BAD_ADDRESS = [Bad("date out of range in the query", query="?when=9999-12-31")]
BAD_ID = Bad("id 0 in the path", zero_id=True)
BAD_BODIES = [
    Bad("JSON that does not parse", body='{"a": '),
    Bad("NaN", body='{"a": NaN}'),
    Bad("a body that fails its schema", body='{"unexpected": 1}'),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    roles: frozenset[str]  # the roles that meet the route's requirement
    has_body: bool


def _operations(client: TestClient) -> list[Operation]:
    """Every operation of the application's OpenAPI document, with what it requires."""
    found = []
    for path, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in operations.items():
            if (method.upper(), path) in PUBLIC:
                assert "x-requires" not in operation
                continue
            assert "x-requires" in operation, f"{method} {path} declares no requirement"
            roles = frozenset(operation["x-requires"]["roles"])
            found.append(Operation(method.upper(), path, roles, "requestBody" in operation))
    return found


def _url(route: Operation, world: World, bad: Bad) -> str:
    ids = {
        "trial_id": world.trial.id,
        "site_id": world.site_a.id,
        "patient_id": world.randomised,
        "query_id": world.query,
        "user_id": world.users[(Role.MONITOR, "own")].id,
        "assignment_id": world.spare_assignment,
        "request_id": world.request,
        "shipment_id": world.shipment,
        "lock_id": 1,
        "visit_id": world.monitoring_visit,
        "item_id": 1,  # an inbox item: the caller's own or not, the input is refused first
        "form": "adverse_event",
        "record_key": "AE-1",
        "case_number": 1,
        "kind": "e2b",
    }

    def value(match: re.Match[str]) -> str:
        name = match[1]
        return "0" if bad.zero_id and name.endswith("_id") else str(ids[name])

    return re.sub(r"\{(\w+)\}", value, route.path) + bad.query


def _bad_inputs(route: Operation) -> list[Bad]:
    kinds = list(BAD_ADDRESS)
    if "_id}" in route.path:
        kinds.append(BAD_ID)
    if route.has_body:
        kinds += BAD_BODIES
    return kinds


def _send(client: TestClient, route: Operation, url: str, bad: Bad, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = bad.body.encode() if bad.body is not None else None
    return client.request(route.method, url, content=content, headers=headers).status_code


def test_every_route_declares_what_it_requires(client: TestClient) -> None:
    operations = _operations(client)
    assert len(operations) > 50
    assert any(len(o.roles) == len(Role) for o in operations)  # a session only: one's account
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    audit = paths["/api/trials/{trial_id}/allocation-audit"]["get"]
    assert audit["x-requires"]["roles"] == ["dsmb_member", "unblinded_statistician"]
    assert set(audit["responses"]) >= {"401", "403"}


def test_a_refusal_for_lack_of_a_role_is_403_not_422(client: TestClient, world: World) -> None:
    failures: list[str] = []
    sent = 0
    for route in _operations(client):
        allowed = route.roles
        for bad in _bad_inputs(route):
            url = _url(route, world, bad)
            for role in Role:
                expected = 422 if role.value in allowed else 403
                status = _send(client, route, url, bad, world.tokens[(role, "own")])
                sent += 1
                if status != expected:
                    failures.append(f"{route.path} {bad.name} as {role.value}: {status}")
            status = _send(client, route, url, bad, None)
            if status != 401:
                failures.append(f"{route.path} {bad.name} as nobody: {status}")
    assert sent > 500
    assert not failures, "\n".join(failures)
