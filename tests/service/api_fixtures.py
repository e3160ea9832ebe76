"""API fixtures: the app on the test's rolled-back transaction, and a small trial world."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    ENROLMENT_DAY,
    SYSTEM,
    TestUser,
    example_record,
    login,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.config import Settings
from trialkit.service.app import create_app
from trialkit.service.capture import capture, monitoring_visits
from trialkit.service.platform import auth
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import PatientView, SiteView, TrialView
from trialkit.service.randomisation import randomisation, supply
from trialkit.service.safety import sae
from trialkit.service.screening import patients
from trialkit.service.trials import users
from trialkit.service.trials.tables import Site


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    # the service's calendar pinned inside SOR's enrolment period
    app = create_app(settings.model_copy(update={"calendar_date": ENROLMENT_DAY}), database=db)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@dataclass(frozen=True)
class World:
    trial: TrialView
    site_a: SiteView
    site_b: SiteView
    pending: SiteView  # approved, not yet activated
    patient: PatientView  # at site A, with one screening record, not randomised
    spare_assignment: int
    query: int  # an open query on the randomised patient (an incomplete AE)
    to_randomise: int  # at site A: eligible and consented
    randomised: int  # at site A
    request: int  # a resupply request (for site B), not shipped
    shipment: int  # shipped to site A, not received
    users: dict[tuple[Role, str], TestUser]  # (role, "own" | "other")
    tokens: dict[tuple[Role, str], str]
    monitoring_visit: int = 0  # opened at site A by the site A monitor, not signed

    def headers(self, role: Role, where: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(role, where)]}"}


SITE_OPTIONAL = {Role.MONITOR}


@pytest.fixture
def world(db: Database, security: Security) -> World:
    """A trial with sites A and B; every role held 'own' (at A) and 'other' (at B).

    Trial-wide roles have no site: their 'own' and 'other' users are alike.
    """
    with db.sessions.begin() as session:
        trial = make_trial(session)
        site_a, site_b = make_site(session, trial), make_site(session, trial)
        pending = make_site(session, trial, active=False)
        people: dict[tuple[Role, str], TestUser] = {}
        for role in Role:
            for where, site in (("own", site_a), ("other", site_b)):
                scoped = role in {Role.INVESTIGATOR, Role.PHARMACIST} | SITE_OPTIONAL
                people[(role, where)] = make_user(
                    session, security, trial, role, site=site if scoped else None
                )
        investigator = principal(session, security, people[(Role.INVESTIGATOR, "own")])
        patient = patients.register_patient(
            session=session, actor=investigator, site_id=site_a.id, screening_number="A-1"
        )
        patients.submit_screening_record(
            session=session, actor=investigator, patient_id=patient.id, data=example_record()
        )
        spare = make_user(session, security, trial, Role.STATISTICIAN)
        spare_assignment = (
            users.get_user(session=session, actor=SYSTEM, user_id=spare.id).roles[0].id
        )
        seal_trial(session, trial)
        stock_site(session, trial, site_a)
        to_randomise = make_eligible_patient(session, investigator, site_a)
        randomised_patient = make_eligible_patient(session, investigator, site_a)
        randomisation.randomise(
            session=session,
            actor=investigator,
            patient_id=randomised_patient.id,
            on_date=ENROLMENT_DAY,
        )
        record = capture.record_form(
            session=session,
            actor=investigator,
            patient_id=randomised_patient.id,
            form=Form.ADVERSE_EVENT,
            data={"term": "Neutropenia", "start_date": "2008-03-20"},
        )
        query = record.queries_opened[0].id
        sae.report_sae(  # SAE case 1 of the randomised patient: a possible SUSAR
            session=session,
            actor=investigator,
            patient_id=randomised_patient.id,
            values={
                "term": "Stroke",
                "onset_date": "2008-03-03",
                "criteria": ["life_threatening"],
                "aware_at": "2008-03-03T08:00:00+00:00",
                "causality": {
                    "study_drug": "possible",
                    "docetaxel": "not_related",
                    "letrozole": "not_related",
                },
                "outcome": "recovering",
                "narrative": "Admitted with weakness of the left arm.",
            },
        )
        rows = {s.id: session.get(Site, s.id) for s in (site_a, site_b)}
        top_up = supply.raise_resupply(
            session,
            trial_id=trial.id,
            site=rows[site_a.id],
            on_date=ENROLMENT_DAY,
            threshold=24,  # the site holds fewer than 24 kits: a top-up, every arm to 12
            target=12,
        )
        request = supply.raise_resupply(
            session, trial_id=trial.id, site=rows[site_b.id], on_date=ENROLMENT_DAY
        )
        assert top_up is not None
        assert request is not None
        shipment = supply.ship_resupply(
            session=session, actor=SYSTEM, request_id=top_up.id, today=ENROLMENT_DAY
        )
        tokens = {key: login(session, security, user) for key, user in people.items()}
        visit = monitoring_visits.open_visit(  # with the monitor's own session: no second one
            session=session,
            actor=auth.authenticate(
                session=session, security=security, token=tokens[(Role.MONITOR, "own")]
            ),
            site_id=site_a.id,
            visit_date=ENROLMENT_DAY,
        )
    return World(
        trial,
        site_a,
        site_b,
        pending,
        patient,
        spare_assignment,
        query,
        to_randomise.id,
        randomised_patient.id,
        request.id,
        shipment.id,
        people,
        tokens,
        monitoring_visit=visit.id,
    )
