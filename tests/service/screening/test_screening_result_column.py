"""An eligibility evaluation stores its screening result as JSON and reads it back typed."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.factories import example_record, make_site, make_trial, make_user, principal
from trialkit.screening import ScreeningResult
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.screening import patients
from trialkit.service.screening.tables import EligibilityEvaluation


def test_the_stored_screening_result_reads_back_as_the_typed_model(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    actor = principal(session, security, user)
    patient = patients.register_patient(
        session=session, actor=actor, site_id=site.id, screening_number="ST-1"
    )
    patients.submit_screening_record(
        session=session, actor=actor, patient_id=patient.id, data=example_record()
    )
    shown = patients.evaluate_eligibility(session=session, actor=actor, patient_id=patient.id)
    session.expire_all()
    row = session.scalars(
        select(EligibilityEvaluation).where(EligibilityEvaluation.id == shown.id)
    ).one()
    assert isinstance(row.result, ScreeningResult)
    assert row.result.background_therapy == "endocrine"
    assert row.result.eligibility.eligible is True
    assert row.result.as_dict() == shown.result  # the API's JSON shape, unchanged
    raw = session.execute(
        text("SELECT result FROM eligibility_evaluations WHERE id = :id"), {"id": shown.id}
    ).scalar_one()
    stored = raw if isinstance(raw, dict) else json.loads(raw)
    assert stored == shown.result  # the column holds the same JSON as before
