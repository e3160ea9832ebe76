"""Readers of all patients use a fixed number of statements, whatever the number of patients.

Before, ``report_inputs``, the forecast's blinded table, the analysis datasets and the SDTM and
ODM exports asked five or six questions per patient (about 900-1,100 statements for the 221
randomised patients of the demo); now one per record kind for all patients
(:func:`~trialkit.service.capture.outcomes.trial_outcomes`). The statements are counted with a
SQLAlchemy ``before_cursor_execute`` listener on a small and a larger trial, and one patient's
outcome is
checked equal to her entry among all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.factories import principal
from tests.report_world import CUTOFF, ReportWorld, fill_trial
from trialkit.service.capture.outcomes import derive_datasets, patient_outcome, trial_outcomes
from trialkit.service.oversight.exports import odm_xml, sdtm_domains
from trialkit.service.oversight.forecast import blinded_table
from trialkit.service.oversight.trial_report import report_inputs
from trialkit.service.platform.security import Security
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site, Trial


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
    assert small <= 9, small  # 9: the SAE cases of the safety section (one statement)


def _reader_statements(session: Session, security: Security, world: ReportWorld) -> dict[str, int]:
    """Statements of each reader of all patients (each as a role that may call it)."""
    monitor = principal(session, security, world.monitor)
    statistician = principal(session, security, world.statistician)
    unblinded = principal(session, security, world.unblinded)
    readers: dict[str, Callable[[], object]] = {
        "blinded_table": lambda: blinded_table(
            session=session, actor=monitor, trial_id=world.trial_id
        ),
        "derive_datasets": lambda: derive_datasets(
            session=session, actor=unblinded, trial_id=world.trial_id, unblinded=True
        ),
        "sdtm_domains": lambda: sdtm_domains(
            session=session, actor=statistician, trial_id=world.trial_id
        ),
        "odm_xml": lambda: odm_xml(session=session, actor=statistician, trial_id=world.trial_id),
    }
    counts = {}
    for name, read in readers.items():
        session.expire_all()
        with _statements(session) as seen:
            read()
        counts[name] = len(seen)
    table = blinded_table(session=session, actor=monitor, trial_id=world.trial_id)
    assert len(table.rows) == world.randomised
    return counts


def test_forecast_and_export_statements_do_not_grow_with_the_patients(
    session: Session, security: Security
) -> None:
    small_world = session.begin_nested()  # one trial per database: drop the small one after
    small = _reader_statements(session, security, fill_trial(session, security, patients_n=2))
    small_world.rollback()
    large = _reader_statements(session, security, fill_trial(session, security, patients_n=10))
    assert large == small, (small, large)
    assert max(small.values()) <= 8, small


def test_one_patients_outcome_equals_her_entry_among_all(
    session: Session, security: Security
) -> None:
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
