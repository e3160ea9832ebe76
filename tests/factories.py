"""Factories of test data, built through the service (as a system operator)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from trialkit.service import Principal, Role, Security, auth, patients, trials, users
from trialkit.service.views import PatientView, SiteView, TrialView

SYSTEM = Principal.system(request_id="test")
PASSWORD = "correct horse battery staple"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sor" / "01_endocrine_bone_only.json"
_numbers = itertools.count(1)


def example_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def make_trial(session: Session) -> TrialView:
    return trials.create_trial(session=session, actor=SYSTEM, protocol_name="sor")


def make_site(
    session: Session,
    trial: TrialView,
    *,
    code: str | None = None,
    country: str = "IT",
    approved: bool = True,
    active: bool = True,
) -> SiteView:
    site = trials.add_site(
        session=session,
        actor=SYSTEM,
        trial_id=trial.id,
        code=code or f"S{next(_numbers):03d}",
        name="Test centre",
        city="Testville",
        country=country,
    )
    if approved:
        site = trials.record_ethics_approval(
            session=session,
            actor=SYSTEM,
            site_id=site.id,
            committee="Test ethics committee",
            approval_date=dt.date(2007, 6, 20),
            protocol_version=trial.protocol_version,
        )
    if active:
        site = trials.activate_site(session=session, actor=SYSTEM, site_id=site.id)
    return site


@dataclass(frozen=True)
class TestUser:
    id: int
    username: str
    role: Role
    site_id: int | None

    __test__ = False


def make_user(
    session: Session,
    security: Security,
    trial: TrialView,
    role: Role,
    *,
    site: SiteView | None = None,
    is_demo: bool = False,
) -> TestUser:
    username = f"{role.value.replace('_', '-')}-{next(_numbers)}"
    user = users.create_user(
        session=session,
        security=security,
        actor=SYSTEM,
        username=username,
        full_name=username,
        password=PASSWORD,
        is_demo=is_demo,
    )
    users.grant_role(
        session=session,
        actor=SYSTEM,
        user_id=user.id,
        trial_id=trial.id,
        role=role,
        site_id=site.id if site else None,
    )
    return TestUser(user.id, username, role, site.id if site else None)


def login(session: Session, security: Security, user: TestUser) -> str:
    outcome = auth.login(
        session=session, security=security, username=user.username, password=PASSWORD, kind="bearer"
    )
    return outcome.token_or_raise().token


def principal(session: Session, security: Security, user: TestUser) -> Principal:
    token = login(session, security, user)
    return auth.authenticate(session=session, security=security, token=token)


def make_patient(session: Session, actor: Principal, site: SiteView) -> PatientView:
    return patients.register_patient(
        session=session, actor=actor, site_id=site.id, screening_number=f"P-{next(_numbers)}"
    )
