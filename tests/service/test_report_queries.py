"""The report reads the database in a fixed number of statements, whatever the number of patients.

Before, ``report_inputs`` asked five or six questions per patient (about 1,100 statements for the
221 randomised patients of the demo); now one per record kind for all patients. The statements are
counted with a SQLAlchemy ``before_cursor_execute`` listener on a small and a larger trial, and the
batched outcomes are checked equal to the per-patient ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.factories import principal
from tests.report_world import CUTOFF, ReportWorld, fill_trial
from trialkit.service import Security
from trialkit.service.outcomes import patient_outcome, trial_outcomes
from trialkit.service.trial_report import report_inputs
from trialkit.store.patients import Patient
from trialkit.store.trials import Site, Trial


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def count(_conn: Connection, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _report_statements(session: Session, security: Security, world: ReportWorld) -> int:
    actor = principal(session, security, world.unblinded)
    session.expire_all()  # read from the database, not from objects the fill left in the session
    with _statements(session) as seen:
        inputs = report_inputs(
            session=session, actor=actor, trial_id=world.trial_id, unblinded=True, cutoff=CUTOFF
        )
    assert len(inputs.adsl) == world.randomised
    return len(seen)


def test_report_statements_do_not_grow_with_the_patients(
    session: Session, security: Security
) -> None:
    small_world = session.begin_nested()  # one trial per database: drop the small one after
    small = _report_statements(session, security, fill_trial(session, security, patients_n=2))
    small_world.rollback()
    large = _report_statements(session, security, fill_trial(session, security, patients_n=10))
    assert large == small, (small, large)
    assert small <= 8, small


def test_batched_outcomes_equal_the_per_patient_ones(session: Session, security: Security) -> None:
    world = fill_trial(session, security, patients_n=6)
    trial = session.get(Trial, world.trial_id)
    assert trial is not None
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.trial_id == trial.id))}
    patients = session.scalars(select(Patient).where(Patient.trial_id == trial.id)).all()
    for with_arm in (False, True):
        batched = trial_outcomes(session, trial, sites, with_arm=with_arm)
        assert len(batched) == world.randomised
        for patient in patients:
            one = patient_outcome(session, patient, with_arm=with_arm)
            assert (batched[patient.id][0] if patient.id in batched else None) == one
        assert all((o.arm is not None) == with_arm for o, _ in batched.values())
