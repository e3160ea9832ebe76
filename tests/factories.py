"""Factories of test data, built through the service (as a system operator)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from trialkit.service import (
    Grant,
    Principal,
    Role,
    Security,
    allocation,
    auth,
    patients,
    supply,
    trials,
    users,
)
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


ENROLMENT_DAY = dt.date(2008, 3, 3)
"""A day inside SOR's enrolment period (2007-11-22 to 2010-06-30)."""


def seal_trial(session: Session, trial: TrialView, *, kits: int = 200) -> None:
    allocation.seal(session=session, actor=SYSTEM, trial_id=trial.id, kits=kits)


def stock_site(session: Session, trial: TrialView, site: SiteView) -> None:
    """Raise the site's first resupply request, ship it, and receive it as its pharmacist."""
    from trialkit.store.trials import Site

    row = session.get(Site, site.id)
    assert row is not None
    request = supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=ENROLMENT_DAY)
    assert request is not None
    shipment = supply.ship_resupply(
        session=session, actor=SYSTEM, request_id=request.id, today=ENROLMENT_DAY
    )
    receiver = Principal(
        user_id=None,
        username="test-pharmacist",
        grants=(Grant(Role.PHARMACIST, trial.id, site.id),),
    )
    supply.receive_shipment(
        session=session, actor=receiver, shipment_id=shipment.id, today=ENROLMENT_DAY
    )


def make_eligible_patient(
    session: Session, actor: Principal, site: SiteView, *, consent: bool = True
) -> PatientView:
    """A patient with an eligible, fully decided evaluation (endocrine group) and consent."""
    patient = make_patient(session, actor, site)
    patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=example_record()
    )
    evaluation = patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
    assert evaluation.eligible, evaluation.result
    if consent:
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=patient.id,
            consent_date=ENROLMENT_DAY,
            information_sheet_version="1.0",
        )
    return patient
