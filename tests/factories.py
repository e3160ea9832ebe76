"""Factories of test data, built through the service (as a system operator)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.platform import auth
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import PatientView, SiteView, TrialView
from trialkit.service.randomisation import allocation, randomisation, supply
from trialkit.service.randomisation.tables.supply import ResupplyRequest
from trialkit.service.screening import patients
from trialkit.service.trials import trials, users

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
    email: str | None = None,
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
        email=email,
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
    issued = auth.login(
        session=session, security=security, username=user.username, password=PASSWORD, kind="bearer"
    )
    return issued.token


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
    from trialkit.service.trials.tables import Site

    row = session.get(Site, site.id)
    assert row is not None
    request = supply.raise_resupply(session, trial_id=trial.id, site=row, on_date=ENROLMENT_DAY)
    assert request is not None
    restock(session, site, ENROLMENT_DAY)


def make_eligible_patient(
    session: Session,
    actor: Principal,
    site: SiteView,
    *,
    consent: bool = True,
    consent_date: dt.date = ENROLMENT_DAY,
    record: dict[str, Any] | None = None,
) -> PatientView:
    """A patient with an eligible, fully decided evaluation and consent.

    ``record``: her screening record (default: the endocrine-group example).
    """
    patient = make_patient(session, actor, site)
    patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=record or example_record()
    )
    evaluation = patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
    assert evaluation.eligible, evaluation.result
    if consent:
        patients.record_consent(
            session=session,
            actor=actor,
            patient_id=patient.id,
            consent_date=consent_date,
            information_sheet_version="1.0",
        )
    return patient


def restock(session: Session, site: SiteView, on_date: dt.date) -> None:
    """Ship and receive, on ``on_date``, the site's open resupply requests, if any were raised."""
    pending = session.scalars(
        select(ResupplyRequest.id).where(
            ResupplyRequest.site_id == site.id, ResupplyRequest.shipment_id.is_(None)
        )
    ).all()
    for request_id in pending:
        shipment = supply.ship_resupply(
            session=session, actor=SYSTEM, request_id=request_id, today=on_date
        )
        receiver = Principal(
            user_id=None,
            username="test-pharmacist",
            grants=(Grant(Role.PHARMACIST, site.trial_id, site.id),),
        )
        supply.receive_shipment(
            session=session, actor=receiver, shipment_id=shipment.id, today=on_date
        )


def randomise_patient(
    session: Session,
    actor: Principal,
    site: SiteView,
    on_date: dt.date,
    *,
    record: dict[str, Any] | None = None,
) -> PatientView:
    """An eligible patient, consented and randomised on ``on_date`` from the sealed list.

    The trial must be sealed (:func:`seal_trial`) and the site stocked (:func:`stock_site`);
    the kit the randomisation takes is replaced, so any number of patients can follow.
    """
    patient = make_eligible_patient(session, actor, site, consent_date=on_date, record=record)
    randomisation.randomise(session=session, actor=actor, patient_id=patient.id, on_date=on_date)
    restock(session, site, on_date)
    return patient


class MovableClock:
    """A clock for :attr:`trialkit.service.Security.clock` that tests move (no sleeping)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now
