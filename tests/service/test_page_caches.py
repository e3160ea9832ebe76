"""The work lists and the monitor's tallies are cached per data version and the caller's
grants: a write shows on the next view, a login does not empty the cache, and a caller with
other grants (another site, some sites only) never gets a view cached for someone else."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import ENROLMENT_DAY, login, make_user, principal
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.errors import NotFoundError
from trialkit.service.oversight import worklists
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.screening import patients


def test_a_site_work_list_is_cached_until_a_write_and_kept_to_its_site(
    session: Session, security: Security, web_world: WebWorld
) -> None:
    investigator = principal(session, security, web_world.users["investigator"])
    site = web_world.site_a.id

    def work() -> worklists.SiteWork:
        return worklists.investigator_work(
            session=session, actor=investigator, site_id=site, today=ENROLMENT_DAY
        )

    first = work()
    principal(session, security, web_world.users["monitor"])  # a login in between
    assert work() is first  # the same data version: not computed again
    patients.register_patient(
        session=session, actor=investigator, site_id=site, screening_number="IT01-003"
    )
    assert work() is not first  # a write made a new data version
    other = principal(session, security, web_world.users["other_investigator"])
    with pytest.raises(NotFoundError):  # authorised before the cache is read
        worklists.investigator_work(session=session, actor=other, site_id=site, today=ENROLMENT_DAY)


def _registered(page: str, code: str) -> int:
    """The "Registered" cell of a site's row on /monitor."""
    found = re.search(rf"<th scope=\"row\">{code} · [^<]*</th>\s*<td>\d+</td><td>(\d+)</td>", page)
    assert found is not None, code
    return int(found.group(1))


def test_the_monitor_tallies_follow_writes_and_stay_within_a_monitors_sites(
    web: TestClient,
    web_world: WebWorld,
    db: Database,
    security: Security,
    as_user: Callable[[str], Browser],
) -> None:
    page = as_user("monitor").get("/monitor")
    assert page.status_code == 200
    assert _registered(page.text, "IT01") == 2
    with db.sessions.begin() as session:
        some = make_user(session, security, web_world.trial, Role.MONITOR, site=web_world.site_b)
        token = login(session, security, some)
    limited = Browser(web, token).get("/monitor")  # after the all-sites view was cached
    assert limited.status_code == 200
    assert "IT01 ·" not in limited.text
    assert _registered(limited.text, "DE01") == 0

    with db.sessions.begin() as session:
        actor = principal(session, security, web_world.users["investigator"])
        patients.register_patient(
            session=session, actor=actor, site_id=web_world.site_a.id, screening_number="IT01-009"
        )
    assert _registered(as_user("monitor").get("/monitor").text, "IT01") == 3
