"""A small trial with real randomisations and captured outcomes, for the report tests.

Built only through the service functions (register, screen, consent, randomise from the sealed
list, record forms): twelve randomised patients, alternately at a German and an Italian site (six
each, so that the sites' first kit shipments suffice whatever the sealed list), one screening
failure. Patient ``k`` progresses when ``k`` is odd; two of them die; most have adverse events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    TestUser,
    example_record,
    make_eligible_patient,
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.service.capture import capture
from trialkit.service.platform.db.base import on_calendar
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation
from trialkit.service.screening import patients

CUTOFF = dt.date(2009, 1, 31)
ARM_LABELS = ("Sorafenib", "Placebo")


@dataclass(frozen=True)
class ReportWorld:
    trial_id: int
    statistician: TestUser
    unblinded: TestUser
    dsmb: TestUser
    monitor: TestUser
    investigator: TestUser
    randomised: int


def _day(offset: int) -> str:
    return (ENROLMENT_DAY + dt.timedelta(days=offset)).isoformat()


def fill_trial(session: Session, security: Security, *, patients_n: int = 12) -> ReportWorld:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    other = make_site(session, trial, country="IT")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    stock_site(session, trial, other)
    users = {
        role: make_user(
            session, security, trial, role, site=site if role == Role.INVESTIGATOR else None
        )
        for role in (
            Role.INVESTIGATOR,
            Role.STATISTICIAN,
            Role.UNBLINDED_STATISTICIAN,
            Role.DSMB_MEMBER,
            Role.MONITOR,
        )
    }
    investigator: Principal = principal(session, security, users[Role.INVESTIGATOR])
    investigators = (
        investigator,
        principal(
            session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=other)
        ),
    )
    with on_calendar(ENROLMENT_DAY):  # screened during enrolment, as the records say
        failed = make_patient(session, investigator, site)
        record = example_record()
        record["receptors"] = dict(record["receptors"], her2={"ihc": "3+", "fish": "not_done"})
        patients.submit_screening_record(
            session=session, actor=investigator, patient_id=failed.id, data=record
        )
        patients.evaluate_eligibility(session=session, actor=investigator, patient_id=failed.id)
    for k in range(patients_n):
        actor = investigators[k % 2]
        patient = make_eligible_patient(session, actor, (site, other)[k % 2])
        randomisation.randomise(
            session=session, actor=actor, patient_id=patient.id, on_date=ENROLMENT_DAY
        )

        def form(
            kind: Form, data: dict[str, object], pid: int = patient.id, by: Principal = actor
        ) -> None:
            capture.record_form(session=session, actor=by, patient_id=pid, form=kind, data=data)

        form(Form.STUDY_DRUG, {"start_date": _day(1), "end_date": _day(40 + 10 * k)})
        form(
            Form.TUMOUR_BASELINE,
            {
                "date": _day(-7),
                "target": [{"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 50}],
                "non_target": [],
            },
        )
        first = 30 if k % 3 == 0 else 48  # a PR for every third patient
        form(
            Form.TUMOUR_ASSESSMENT,
            {"date": _day(56), "target": {"T1": first}, "new_lesions": False},
        )
        if k % 2 == 1:
            form(
                Form.TUMOUR_ASSESSMENT,
                {"date": _day(112 + 7 * k), "target": {"T1": 70}, "new_lesions": False},
            )
            form(Form.END_OF_TREATMENT, {"date": _day(113 + 7 * k), "reason": "progression"})
        else:
            form(
                Form.TUMOUR_ASSESSMENT,
                {"date": _day(112), "target": {"T1": first}, "new_lesions": False},
            )
        if k in (1, 5):
            form(Form.DEATH, {"date": _day(200 + k), "cause": "progression"})
        if k % 4 != 3:
            form(
                Form.ADVERSE_EVENT,
                {
                    "term": "Hand-foot skin reaction" if k % 2 else "Diarrhoea",
                    "grade": 1 + k % 4,
                    "start_date": _day(20),
                    "serious": k % 4 == 2,
                    "relationship": "possible",
                    "action_taken": "none",
                },
            )
    return ReportWorld(
        trial_id=trial.id,
        statistician=users[Role.STATISTICIAN],
        unblinded=users[Role.UNBLINDED_STATISTICIAN],
        dsmb=users[Role.DSMB_MEMBER],
        monitor=users[Role.MONITOR],
        investigator=users[Role.INVESTIGATOR],
        randomised=patients_n,
    )
