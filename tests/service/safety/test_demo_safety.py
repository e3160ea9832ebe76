"""The demo holds SAE reports (one overdue) and one SUSAR, unblinded for the safety role only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.demo_fixtures import SeededDemo
from trialkit.service.platform.policy import Role
from trialkit.service.safety import sae
from trialkit.service.safety.views import SafetyCaseView, UnblindedCaseView


def test_the_demo_shows_the_whole_safety_flow(session: Session, demo_trial: SeededDemo) -> None:
    safety = demo_trial.actor(Role.SAFETY_PHYSICIAN)
    rows = sae.list_cases(session=session, actor=safety, trial_id=demo_trial.trial_id)
    assert len(rows) >= 2
    assert all(isinstance(r, SafetyCaseView) for r in rows)
    assert rows[0].status == "overdue"  # the report still without its narrative
    susars = [r for r in rows if isinstance(r, UnblindedCaseView)]
    assert len(susars) == 1
    [susar] = susars
    assert susar.review is not None
    assert susar.review.decision == "susar"
    assert susar.review.clock_days == 7
    monitor = demo_trial.actor(Role.MONITOR)
    blinded = sae.list_cases(session=session, actor=monitor, trial_id=demo_trial.trial_id)
    assert [r.case_id for r in blinded] == [r.case_id for r in rows]
    assert not any(isinstance(r, SafetyCaseView) for r in blinded)
