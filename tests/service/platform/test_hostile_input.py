"""Hostile input at every route and page form: never a server error, never an echoed secret.

Every operation of the API (read from the application's own OpenAPI document) and every page
route (read from the pages' routers, with the form fields the pages read) is sent NaN,
Infinity, ``1e999``, huge numbers, NUL, unpaired surrogates, far-future and far-past dates and
huge ids: first each kind in every field of every route (a sweep), then a bounded
property-based search (hypothesis) that puts one hostile value into an otherwise plausible
request, as any of the trial's roles or as nobody. Passwords are a sentinel that must appear
in no answer and no log line. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ENROLMENT_DAY
from tests.service.api_fixtures import World
from trialkit.config import Settings
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages.deps import COOKIE_NAME, csrf_token
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.screening.pages.screening_form import all_fields, protocol_screening_form
from trialkit.service.server import create_server

SECRET = "Sentinel-Pa55word-7d1c"
_NUMBER = "__NUMBER__"  # a placeholder replaced by a raw JSON number literal

# each kind: (the JSON value, the text sent in an address or a form)
HOSTILE: dict[str, tuple[Any, str]] = {
    "nan": (float("nan"), "nan"),
    "infinity": (float("inf"), "Infinity"),
    "1e999": (_NUMBER + "1e999", "1e999"),
    "huge_number": (10**30, "1" + "0" * 30),
    "nul": ("a\x00b", "a\x00b"),
    "surrogate": ("a\ud800b", "a\ud800b"),
    "far_future": ("9999-12-31", "9999-12-31"),
    "far_past": ("0001-01-01", "0001-01-01"),
    "huge_id": (99999999999999999999, "99999999999999999999"),
}
SECRET_HOSTILE = [SECRET + "\x00", SECRET * 20, SECRET + "\ud800"]
PAGE_MODULES = [
    "trialkit.service.platform.pages.auth",
    "trialkit.service.platform.pages.home",
    "trialkit.service.trials.pages",
    "trialkit.service.randomisation.pages.pharmacy",
    "trialkit.service.randomisation.pages.randomise",
    "trialkit.service.capture.pages.clinical",
    "trialkit.service.capture.pages.patients",
    "trialkit.service.oversight.pages.design",
    "trialkit.service.oversight.pages.forecast",
    "trialkit.service.oversight.pages.monitor",
    "trialkit.service.oversight.pages.reports",
    "trialkit.service.oversight.pages.datamanager",
]
PAGE_FIELDS = sorted(
    {
        *[
            "approval_date",
            "committee",
            "confirm",
            "consent_date",
            "cycle",
            "damaged",
            "date",
            "full_name",
            "grid",
            "information_sheet_version",
            "new_lesions",
            "next",
            "password",
            "patient_id",
            "protocol_version",
            "reason",
            "role",
            "screening_number",
            "site_id",
            "understood",
            "username",
            "response",
            "record_key",
            "resolution",
            "cutoff",
            "view",
            "median_control",
            "median_treatment",
            "hr",
            "trials",
            "seed",
            "term",
            "grade",
            "start_date",
            "end_date",
            "serious",
            "relationship",
            "action_taken",
            "cause",
            "therapy",
            "dose_mg",
        ],
        *(f.name for f in all_fields(protocol_screening_form(load_protocol("sor")))),
    }
)
PASSWORD_FIELDS = {"password", "old_password", "new_password"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    query: tuple[str, ...]
    body: dict[str, Any] | None  # the JSON schema of the body (API), or None
    page: bool


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _operations(server: Any) -> list[Operation]:
    spec = server.openapi()
    found: list[Operation] = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            query = tuple(p["name"] for p in op.get("parameters", []) if p["in"] == "query")
            body = None
            if "requestBody" in op:
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                body = _resolve(spec, schema)
            found.append(Operation(method.upper(), path, query, body, page=False))
    for name in PAGE_MODULES:
        router = importlib.import_module(name).router
        for route in router.routes:
            assert isinstance(route, APIRoute)
            query = tuple(p.alias for p in route.dependant.query_params)
            for method in sorted(route.methods):
                found.append(Operation(method, route.path, query, None, page=True))
    return found


def _plausible(name: str, world: World) -> Any:
    """A value the field could really hold, so that one hostile value reaches deep."""
    ids = {
        "trial_id": world.trial.id,
        "site_id": world.site_a.id,
        "patient_id": world.randomised,
        "query_id": world.query,
        "user_id": world.users[(Role.MONITOR, "own")].id,
        "assignment_id": world.spare_assignment,
        "request_id": world.request,
        "shipment_id": world.shipment,
    }
    if name in ids:
        return ids[name]
    if name in PASSWORD_FIELDS:
        return SECRET
    if name.endswith("date") or name in {"cutoff", "today", "on", "at"}:
        return ENROLMENT_DAY.isoformat()
    plain: dict[str, Any] = {
        "form": "adverse_event",
        "form_name": "adverse_event",
        "fmt": "csv",
        "cycle": 2,
        "grade": 2,
        "sims": 10,
        "trials": 100,
        "seed": 1,
        "role": "monitor",
        "code": "FZ01",
        "country": "IT",
        "username": "fuzz.user",
        "screening_number": "F-1",
        "damaged": [],
        "status": "open",
        "unblinded": False,
        "coordinating": False,
        "data": {"term": "Fatigue", "grade": 2, "start_date": ENROLMENT_DAY.isoformat()},
        "view": "blinded",
        "model": "average",
        "target": 3,
        "limit": 10,
        "after": 0,
    }
    return plain.get(name, "text")


def _body_fields(op: Operation) -> list[str]:
    return list((op.body or {}).get("properties", {}))


def _fill(template: str, values: dict[str, Any]) -> str:
    def segment(match: re.Match[str]) -> str:
        return quote(str(values[match[1]]).encode("utf-8", "surrogatepass"), safe="")

    return re.sub(r"\{(\w+)\}", segment, template)


def _encoded(fields: dict[str, Any]) -> str:
    """A query or form as a raw client may send it (a lone surrogate as its UTF-8 bytes)."""
    return urlencode(fields, encoding="utf-8", errors="surrogatepass")


def _json_text(body: dict[str, Any]) -> str:
    text = json.dumps(body, allow_nan=True)  # NaN, Infinity; surrogates and NUL as \\u escapes
    return re.sub(r'"' + _NUMBER + r'([^"]*)"', r"\1", text)


@dataclass
class Request:
    op: Operation
    hostile: str  # the kind
    target: str | None  # the one field made hostile; None: every field


def _send(
    client: TestClient, world: World, security: Security, request: Request, who: Role | None
) -> Any:
    op, (json_value, text_value) = request.op, HOSTILE[request.hostile]

    def value(name: str, *, as_text: bool) -> Any:
        hostile = request.target is None or request.target == name
        if hostile and name in PASSWORD_FIELDS:
            return SECRET_HOSTILE[hash(request.hostile) % len(SECRET_HOSTILE)]
        if hostile:
            return text_value if as_text else json_value
        plain = _plausible(name, world)
        return str(plain) if as_text else plain

    path_names = re.findall(r"\{(\w+)\}", op.path)
    url = _fill(op.path, {n: value(n, as_text=True) for n in path_names})
    query = _encoded({n: value(n, as_text=True) for n in op.query})
    url += f"?{query}" if query else ""
    headers: dict[str, str] = {}
    client.cookies.clear()
    token = world.tokens[(who, "own")] if who is not None else None
    if token and op.page:
        client.cookies.set(COOKIE_NAME, token)
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    if op.method in {"GET", "HEAD"}:
        return client.request(op.method, url, headers=headers)
    if op.page:
        form = {n: value(n, as_text=True) for n in PAGE_FIELDS}
        if token:
            form["csrf_token"] = csrf_token(security, token)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return client.request(op.method, url, content=_encoded(form), headers=headers)
    body = {n: value(n, as_text=False) for n in _body_fields(op)}
    if request.target is not None and request.target.startswith("data."):
        body["data"] = {**body.get("data", {}), request.target[5:]: json_value}
    return client.request(
        op.method,
        url,
        content=_json_text(body).encode("utf-8", "surrogatepass"),
        headers={**headers, "Content-Type": "application/json"},
    )


def _check(response: Any, request: Request, who: Role | None) -> None:
    where = f"{request.op.method} {request.op.path} ({request.hostile} in "
    where += f"{request.target or 'every field'}, as {who.value if who else 'nobody'})"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    assert SECRET not in response.text, f"{where}: the password is echoed"
    assert SECRET not in str(response.headers), f"{where}: the password is echoed in a header"


@pytest.fixture
def server(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_server(settings.model_copy(update={"calendar_date": ENROLMENT_DAY}), database=db)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


ROLES: list[Role | None] = [None, *Role]


def _no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + str(record.exc_info or "") + str(record.exc_text or "")
        assert SECRET not in text, f"the password is in a log line: {text[:200]}"


def test_every_route_and_page_form_refuses_hostile_input_without_a_server_error(
    server: TestClient, world: World, security: Security, caplog: pytest.LogCaptureFixture
) -> None:
    """The sweep: every kind of hostile value in every field of every route, cycling roles."""
    caplog.set_level(logging.INFO)
    operations = [op for op in _operations(server.app) if op.method != "HEAD"]
    assert len(operations) > 90  # the API and the pages, found from the application itself
    count = 0
    for i, op in enumerate(operations):
        for j, kind in enumerate(HOSTILE):
            who = ROLES[(i + j) % len(ROLES)]
            request = Request(op, kind, None)
            _check(_send(server, world, security, request, who), request, who)
            count += 1
    assert count == len(operations) * len(HOSTILE)
    _no_secret_logged(caplog)


def _targets(op: Operation) -> list[str]:
    fields = re.findall(r"\{(\w+)\}", op.path) + list(op.query)
    if op.page and op.method == "POST":
        fields += PAGE_FIELDS
    elif op.body is not None:
        fields += _body_fields(op)
        if "data" in fields:
            fields += ["data.start_date", "data.grade", "data.term", "data.date", "data.dose_mg"]
    return fields or [""]


@st.composite
def _requests(draw: Callable[..., Any], operations: list[Operation]) -> tuple[Request, Any]:
    op = draw(st.sampled_from(operations))
    target = draw(st.sampled_from(_targets(op)))
    kind = draw(st.sampled_from(sorted(HOSTILE)))
    who = draw(st.sampled_from(ROLES))
    return Request(op, kind, target or None), who


def test_one_hostile_value_in_a_plausible_request_never_reaches_a_server_error(
    server: TestClient, world: World, security: Security
) -> None:
    """The search: one hostile field in an otherwise plausible request, any role (bounded)."""
    # the PDF renderings are the HTML reports' twins (swept above), and slow to make
    operations = [
        op for op in _operations(server.app) if op.method != "HEAD" and not op.path.endswith(".pdf")
    ]

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(_requests(operations))
    def search(drawn: tuple[Request, Any]) -> None:
        request, who = drawn
        _check(_send(server, world, security, request, who), request, who)

    search()
