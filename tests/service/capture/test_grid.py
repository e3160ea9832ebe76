"""The patient's grid: each cell's status for a dead patient and for one with open queries,
in a fixed number of statements, and nothing about the arm."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    PASSWORD,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.service.capture import capture, locking, queries, sdv, signatures
from trialkit.service.capture.grid import CellStatus, PatientGrid, patient_grid
from trialkit.service.capture.patient_status import PatientStatus
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.trials.locks import Level

LATER = ENROLMENT_DAY + dt.timedelta(days=400)


def _cell(grid: PatientGrid, form: str, column: str) -> CellStatus:
    row = next(r for r in grid.rows if r.form == form)
    return next(c.status for c in row.cells if c.column == column)


def _setup(session: Session, security: Security) -> tuple[Principal, Principal, Any]:
    return _setup_with_trial(session, security)[:3]


def _setup_with_trial(
    session: Session, security: Security
) -> tuple[Principal, Principal, Any, Any]:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))
    return investigator, monitor, site, trial


def test_a_dead_patients_grid_expects_only_what_the_protocol_still_asks_for(
    session: Session, security: Security
) -> None:
    investigator, monitor, site = _setup(session, security)
    patient = randomise_patient(session, investigator, site, ENROLMENT_DAY)
    died = ENROLMENT_DAY + dt.timedelta(days=200)
    for form, data in (
        (Form.END_OF_TREATMENT, {"date": died.isoformat(), "reason": "death"}),
        (Form.DEATH, {"date": died.isoformat(), "cause": "progression"}),
    ):
        capture.record_form(
            session=session,
            actor=investigator,
            patient_id=patient.id,
            form=form,
            data=data,
            today=LATER,
        )
    grid = patient_grid(session=session, actor=monitor, patient_id=patient.id, today=LATER)
    assert grid.status == PatientStatus.DEAD
    assert grid.status_since == died
    assert grid.problem is None
    visits = [c for c in grid.columns if c.kind not in ("baseline", "events")]
    assert visits
    assert all(c.target is not None and c.target <= died for c in visits)
    assert _cell(grid, "death", "events") == CellStatus.ENTERED
    assert _cell(grid, "end_of_treatment", "events") == CellStatus.ENTERED
    assert _cell(grid, "end_of_study", "events") == CellStatus.EXPECTED
    assert _cell(grid, "adverse_event", "events") == CellStatus.NOT_APPLICABLE
    assessments = [c.key for c in visits if c.kind == "tumour_assessments"]
    assert assessments
    assert {_cell(grid, "tumour_assessment", k) for k in assessments} == {CellStatus.OVERDUE}
    assert _cell(grid, "tumour_assessment", "events") == CellStatus.NOT_APPLICABLE
    assert _cell(grid, "tumour_baseline", "baseline") == CellStatus.EXPECTED
    text = grid.model_dump_json().lower()
    assert "sorafenib" not in text.replace("study drug (sorafenib or matching placebo)", "")
    assert "placebo" not in text.replace("study drug (sorafenib or matching placebo)", "")


def test_open_queries_show_on_their_cell_until_closed_and_the_statements_do_not_grow(
    session: Session, security: Security
) -> None:
    investigator, monitor, site = _setup(session, security)
    patient = randomise_patient(session, investigator, site, ENROLMENT_DAY)
    ended = ENROLMENT_DAY + dt.timedelta(days=100)
    capture.record_form(
        session=session,
        actor=investigator,
        patient_id=patient.id,
        form=Form.END_OF_TREATMENT,
        data={"date": ended.isoformat(), "reason": "progression"},
        today=LATER,
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        before = patient_grid(session=session, actor=monitor, patient_id=patient.id, today=LATER)
        fewer = len(statements)
        query = queries.raise_query(
            session=session,
            actor=monitor,
            patient_id=patient.id,
            form="end_of_treatment",
            record_key="end_of_treatment",
            field="date",
            message="The source notes give another date: please check.",
        )
        for day in (30, 60):
            capture.record_form(
                session=session,
                actor=investigator,
                patient_id=patient.id,
                form=Form.ADVERSE_EVENT,
                data={
                    "term": "Nausea",
                    "start_date": (ENROLMENT_DAY + dt.timedelta(days=day)).isoformat(),
                    "grade": 1,
                    "serious": False,
                    "relationship": "not_related",
                    "action_taken": "none",
                },
                today=LATER,
            )
        statements.clear()
        grid = patient_grid(session=session, actor=monitor, patient_id=patient.id, today=LATER)
        assert len(statements) == fewer, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert before.status == grid.status == PatientStatus.FOLLOW_UP
    assert _cell(before, "end_of_treatment", "events") == CellStatus.ENTERED
    assert _cell(grid, "end_of_treatment", "events") == CellStatus.OPEN_QUERIES
    row = next(r for r in grid.rows if r.form == "end_of_treatment")
    assert next(c for c in row.cells if c.column == "events").open_queries == 1
    queries.close_query(
        session=session, actor=monitor, query_id=query.id, resolution="Checked: correct."
    )
    after = patient_grid(session=session, actor=monitor, patient_id=patient.id, today=LATER)
    assert _cell(after, "end_of_treatment", "events") == CellStatus.ENTERED


def test_a_cell_reads_verified_then_signed_then_frozen_then_locked(
    session: Session, security: Security
) -> None:
    investigator, monitor, site, trial = _setup_with_trial(session, security)
    manager = principal(session, security, make_user(session, security, trial, Role.DATA_MANAGER))
    patient = randomise_patient(session, investigator, site, ENROLMENT_DAY)
    ended = ENROLMENT_DAY + dt.timedelta(days=100)
    capture.record_form(
        session=session,
        actor=investigator,
        patient_id=patient.id,
        form=Form.END_OF_TREATMENT,
        data={"date": ended.isoformat(), "reason": "progression"},
        today=LATER,
    )

    def status() -> CellStatus:
        grid = patient_grid(session=session, actor=monitor, patient_id=patient.id, today=LATER)
        return _cell(grid, "end_of_treatment", "events")

    assert status() == CellStatus.ENTERED
    for verified in ("screening", "consent", "randomisation", "end_of_treatment"):
        sdv.verify(  # every record: the SDV plan wants them verified before a patient lock
            session=session,
            actor=monitor,
            patient_id=patient.id,
            form=verified,
            record_key=verified,
        )
    assert status() == CellStatus.VERIFIED
    signatures.sign(
        session=session,
        security=security,
        actor=investigator,
        patient_id=patient.id,
        scope="casebook",
        password=PASSWORD,
        meaning="I approve this data as accurate and complete",
    )
    assert status() == CellStatus.SIGNED
    record: tuple[str | None, str | None]
    for level, record, expected in (
        (Level.FREEZE, ("end_of_treatment", "end_of_treatment"), CellStatus.FROZEN),
        (Level.LOCK, (None, None), CellStatus.LOCKED),  # the whole patient
    ):
        locking.set_lock(
            session=session,
            actor=manager,
            trial_id=patient.trial_id,
            level=level,
            reason="interim analysis",
            patient_id=patient.id,
            form=record[0],
            record_key=record[1],
        )
        assert status() == expected
