"""The patient as a grid: her visits (columns) by the trial's forms (rows), each cell's status.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.grid`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trialkit.errors import TrialkitError
from trialkit.service.capture import sdv, visits
from trialkit.service.capture.casebook import CasebookRecord, casebook_records, record_date
from trialkit.service.capture.forms import FormDefinition
from trialkit.service.capture.patient_status import PatientStatus, expected_forms, patient_state
from trialkit.service.capture.signoff_tables import Signature, SourceVerification
from trialkit.service.capture.tables import DataQuery
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.tables import DataLock
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["CellStatus", "GridCell", "GridColumn", "GridRow", "PatientGrid", "patient_grid"]

BASELINE = "baseline"
EVENTS = "events"


class CellStatus(StrEnum):
    """A cell's status, the most pressing first when several apply to its records."""

    OPEN_QUERIES = "open_queries"
    OVERDUE = "overdue"
    EXPECTED = "expected"
    LOCKED = "locked"
    FROZEN = "frozen"
    SIGNED = "signed"
    VERIFIED = "verified"
    ENTERED = "entered"
    NOT_APPLICABLE = "not_applicable"


class GridColumn(BaseModel):
    """A visit (or the baseline, or the events column) with its window and schedule status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    label: str
    kind: str
    target: dt.date | None
    earliest: dt.date | None
    latest: dt.date | None
    visit_status: str | None


class GridCell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    status: CellStatus
    record_keys: list[str]
    open_queries: int


class GridRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    form: str
    label: str
    repeats: bool
    cells: list[GridCell]


class PatientGrid(BaseModel):
    """The grid and the status header; nothing in it depends on the arm."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    status: PatientStatus
    status_since: dt.date | None
    status_reason: str | None
    today: dt.date
    columns: list[GridColumn]
    rows: list[GridRow]
    problem: str | None
    """Why no visit could be drawn (the records as they are), or ``None``."""


def _applies(form: FormDefinition, column: GridColumn) -> bool:
    """Whether ``form`` belongs in ``column``: a baseline form at baseline, a per-visit form
    at a tumour assessment, a per-cycle or once form at the treatment visit it names (the
    docetaxel form at ``docetaxel cycle 2 day 1``, the letrozole form at ``start letrozole``),
    a once or event form in the events column (survival contacts are events)."""
    if column.kind == BASELINE:
        return form.used == "baseline"
    if column.kind == EVENTS:
        return form.used in ("once", "event")
    if column.kind == "treatment":
        word = form.label.split()[0].lower()
        return form.used in ("per_cycle", "once") and word in column.label.lower().split()
    # a tumour assessment; survival follow-up contacts are recorded as events
    return column.kind != "survival_follow_up" and form.used == "per_visit"


def _column_of(record: CasebookRecord, columns: list[GridColumn], form: FormDefinition) -> str:
    """The column a record sits in: the visit whose window holds its date, else events."""
    if form.used == "baseline":
        return BASELINE
    when = record_date(record.data)
    if when is not None:
        day = dt.date.fromisoformat(when)
        for column in columns:
            if (
                column.kind not in (BASELINE, EVENTS)
                and _applies(form, column)
                and column.earliest is not None
                and column.latest is not None
                and column.earliest <= day <= column.latest
            ):
                return column.key
    return EVENTS


def patient_grid(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    today: dt.date | None = None,
    schedule: visits.ScheduleView | None = None,
) -> PatientGrid:
    """The patient's visits by the trial's forms, each cell's status, in a fixed number of
    statements however many visits, forms and records she has. ``schedule``: her visits
    (:func:`~trialkit.service.capture.visits.patient_visits` for this actor and ``today``)
    where the caller has them already.

    A cell with records: open queries (any not closed), else locked or frozen (a lock or
    freeze covering the trial, site, patient or record), else signed (a valid signature
    covering every record's current version), else verified (every record source-verified),
    else entered. A cell without: overdue or expected as the visit is, or as the status
    asks for (a dead patient's end of study), else not applicable.
    """
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    state = patient_state(session, patient)
    today = calendar_date(today)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    forms = [f for f in (protocol.forms.forms if protocol.forms else ()) if f.used != "screening"]
    columns: list[GridColumn] = []
    problem = None
    if not state.randomised:
        schedule = None
    elif schedule is None:
        try:
            schedule = visits.patient_visits(
                session=session, actor=actor, patient_id=patient.id, today=today
            )
        except TrialkitError as exc:  # records that no schedule can be drawn from
            problem = exc.message
    if schedule is not None:
        today = schedule.today
        columns.append(
            GridColumn(
                key=BASELINE,
                label="Baseline",
                kind=BASELINE,
                target=schedule.randomisation_date,
                earliest=None,
                latest=None,
                visit_status=None,
            )
        )
        columns += [
            GridColumn(
                key=f"v{index}",
                label=v.label,
                kind=v.kind,
                target=v.target,
                earliest=v.earliest,
                latest=v.latest,
                visit_status=v.status,
            )
            for index, v in enumerate(schedule.visits, 1)
        ]
    columns.append(
        GridColumn(
            key=EVENTS,
            label="Events and unscheduled",
            kind=EVENTS,
            target=None,
            earliest=None,
            latest=None,
            visit_status=None,
        )
    )
    casebook = casebook_records(session, patient)
    records = [r for r in casebook if r.form not in ("screening", "consent", "randomisation")]
    queries: dict[tuple[str, str], int] = {}
    for queried, key in session.execute(
        select(DataQuery.form, DataQuery.record_key).where(
            DataQuery.patient_id == patient.id, DataQuery.status != "closed"
        )
    ):
        queries[(queried, key)] = queries.get((queried, key), 0) + 1
    signed: set[tuple[str, str, str]] = set()
    current = {(r.form, r.record_key): r.sha256 for r in casebook}  # a casebook's, too
    for refs in session.scalars(
        select(Signature.records).where(
            Signature.patient_id == patient.id, Signature.voided_at.is_(None)
        )
    ):
        if all(current.get((ref["form"], ref["record_key"])) == ref["sha256"] for ref in refs):
            signed.update((ref["form"], ref["record_key"], ref["sha256"]) for ref in refs)
    marks: dict[tuple[str, str], list[SourceVerification]] = {}
    for mark in session.scalars(
        select(SourceVerification)
        .where(SourceVerification.patient_id == patient.id)
        .order_by(SourceVerification.id)
    ):
        marks.setdefault((mark.form, mark.record_key), []).append(mark)
    locks = session.execute(
        select(DataLock.level, DataLock.form, DataLock.record_key).where(
            DataLock.trial_id == patient.trial_id,
            DataLock.released_at.is_(None),
            or_(DataLock.site_id.is_(None), DataLock.site_id == patient.site_id),
            or_(DataLock.patient_id.is_(None), DataLock.patient_id == patient.id),
        )
    ).all()

    def locked(record: CasebookRecord) -> CellStatus | None:
        levels = {
            level
            for level, form, key in locks
            if form is None or (form == record.form and key == record.record_key)
        }
        if "lock" in levels:
            return CellStatus.LOCKED
        return CellStatus.FROZEN if levels else None

    def record_status(record: CasebookRecord) -> CellStatus:
        if queries.get((record.form, record.record_key)):
            return CellStatus.OPEN_QUERIES
        if (status := locked(record)) is not None:
            return status
        if (record.form, record.record_key, record.sha256) in signed:
            return CellStatus.SIGNED
        if sdv._record_view(record, marks.get((record.form, record.record_key), []), None).verified:
            return CellStatus.VERIFIED
        return CellStatus.ENTERED

    expected_events = expected_forms(
        state.status, protocol.forms.roles if protocol.forms is not None else None
    )
    rank = list(CellStatus)
    rows: list[GridRow] = []
    for form in forms:
        placed: dict[str, list[CasebookRecord]] = {}
        for record in (r for r in records if r.form == form.name):
            placed.setdefault(_column_of(record, columns, form), []).append(record)
        cells: list[GridCell] = []
        for column in columns:
            found = placed.get(column.key, [])
            if found:
                status = min((record_status(r) for r in found), key=rank.index)
            elif column.kind == EVENTS and form.name in expected_events:
                status = CellStatus.EXPECTED
            elif not _applies(form, column) or column.kind == EVENTS:
                status = CellStatus.NOT_APPLICABLE
            elif column.kind == BASELINE:
                status = CellStatus.EXPECTED
            elif column.visit_status == "overdue":
                status = CellStatus.OVERDUE
            else:  # due, upcoming, or done without this form
                status = CellStatus.EXPECTED
            cells.append(
                GridCell(
                    column=column.key,
                    status=status,
                    record_keys=[r.record_key for r in found],
                    open_queries=sum(queries.get((r.form, r.record_key), 0) for r in found),
                )
            )
        rows.append(GridRow(form=form.name, label=form.label, repeats=form.repeats, cells=cells))
    return PatientGrid(
        patient_id=patient.id,
        status=state.status,
        status_since=state.since,
        status_reason=state.reason,
        today=today,
        columns=columns,
        rows=rows,
        problem=problem,
    )
