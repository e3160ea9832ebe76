"""Each randomised patient's expected visits and windows, with overdue and out-of-window flags.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.visits`.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.endpoints import ActualVisit, check_visits, patient_schedule
from trialkit.endpoints.schedule import visit_forms
from trialkit.protocol.forms import FormRole
from trialkit.protocol.model import Protocol, VisitForm
from trialkit.service.capture.clinical import evaluate_patient, latest_records, require_randomised
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit
from trialkit.service.platform.cache import LruCache
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation import randomised
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol
from trialkit.therapy import group_assignment

__all__ = ["ScheduleView", "VisitView", "follow_up_contacts", "patient_visits"]


class VisitView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    label: str
    target: dt.date
    earliest: dt.date
    latest: dt.date
    status: str
    actual: dt.date | None
    days_off: int | None


class ScheduleView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    randomisation_date: dt.date
    today: dt.date
    visits: list[VisitView]
    overdue: int
    out_of_window: int
    unscheduled: list[tuple[str, dt.date]]


def _date(value: object) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


def _latest_of_role(
    protocol: Protocol, records: list[CaptureRecord], role: FormRole
) -> CaptureRecord | None:
    """The record of the form that plays ``role`` in the protocol (forms recorded once)."""
    name = None if protocol.forms is None else protocol.forms.role(role)
    return None if name is None else next((r for r in records if r.form == name), None)


def _cycle(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def follow_up_contacts(
    session: Session, patient_id: int, visits: tuple[VisitForm, ...]
) -> list[dt.date]:
    """Every survival follow-up contact: each dated version of each record of the forms the
    schedule records at survival follow-up (``visits``; SOR's last-known-alive).

    The form is moved forward as new versions, one per contact, so the latest version alone
    would hide the earlier contacts. A version dated on or before a contact kept so far
    corrects it: the later dates it replaces are dropped (a mistyped date corrected back).
    """
    rows = session.scalars(
        select(CaptureRecord)
        .where(
            CaptureRecord.patient_id == patient_id,
            CaptureRecord.form.in_([v.form for v in visits]),
        )
        .order_by(CaptureRecord.record_key, CaptureRecord.version)
    )
    contacts: dict[tuple[str, str], list[dt.date]] = {}
    date_items = {v.form: v.date for v in visits}
    for row in rows:
        when = _date(row.data.get(date_items[row.form]))
        kept = contacts.setdefault((row.form, row.record_key), [])
        if when is None:
            continue
        kept[:] = [d for d in kept if d < when] + [when]
    return sorted({d for dates in contacts.values() for d in dates})


def patient_visits(
    *, session: Session, actor: Principal, patient_id: int, today: dt.date | None = None
) -> ScheduleView:
    """The patient's expected visits up to one interval after ``today``.

    ``today``: the trial's calendar date (``Clock.today()``; default: the record clock's).
    Cached per patient, day and data version
    (:func:`~trialkit.service.platform.audit.data_version`), served only after the caller
    may see the patient's clinical data; the schedule holds no arm and nothing that depends
    on who asks.
    """
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    today = calendar_date(today)
    key = (patient.id, today, audit.data_version(session))
    return _schedules.get_or_make(key, lambda: _schedule(session, patient, today))


_schedules: LruCache[tuple[int, dt.date, str], ScheduleView] = LruCache(1024)
"""Patients' schedules by patient, day and data version (per process)."""


def _schedule(session: Session, patient: Patient, today: dt.date) -> ScheduleView:
    randomised_on = require_randomised(session, patient)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    group = randomised.randomised_therapy(session=session, patient=patient)
    assignment = None if group is None else group_assignment(protocol, group)
    records = latest_records(session, patient.id)
    evaluation = evaluate_patient(session, patient, records, randomised_on)
    progressed = evaluation.date_of_progression if evaluation else None
    death = _latest_of_role(protocol, records, "death")
    ended = _latest_of_role(protocol, records, "end_of_treatment")
    left = _latest_of_role(protocol, records, "end_of_study")
    schedule = protocol.schedule
    interval = schedule.tumour_assessments.interval_days if schedule else 56
    kinds = visit_forms(protocol)
    actual: list[ActualVisit] = []
    cycle_dates: dict[int, dt.date] = {}
    for r in records:
        found = kinds.get(r.form)
        if found is None:
            continue
        kind, visit = found
        when = _date(r.data.get(visit.date))
        if when is None:
            continue
        if isinstance(visit.cycle, int):
            cycle: int | None = visit.cycle  # a fixed cycle (0: the switch after the cycles)
        else:
            cycle = None if visit.cycle is None else _cycle(r.data.get(visit.cycle))
            if cycle is not None:
                # a cycle recorded twice: the earlier date is the cycle, the other unscheduled
                cycle_dates[cycle] = min(when, cycle_dates.get(cycle, when))
        actual.append(ActualVisit(kind, when, cycle))
    if progressed is not None and schedule is not None:
        # contacts count as follow-up visits after progression only
        actual += [
            ActualVisit("survival_follow_up", when)
            for when in follow_up_contacts(session, patient.id, schedule.survival_follow_up.forms)
            if when > progressed
        ]
    plan = patient_schedule(
        protocol,
        randomised_on,
        until=today + dt.timedelta(days=interval),
        assignment=assignment,
        progression_date=progressed,
        death_date=_date(None if death is None else death.data.get("date")),
        cycle_dates=cycle_dates,
        treatment_end=_date(None if ended is None else ended.data.get("date")),
        study_end=_date(None if left is None else left.data.get("date")),
    )
    report = check_visits(plan, actual, today=today)
    return ScheduleView(
        patient_id=patient.id,
        randomisation_date=randomised_on,
        today=today,
        visits=[
            VisitView(
                kind=c.visit.kind,
                label=c.visit.label,
                target=c.visit.target,
                earliest=c.visit.earliest,
                latest=c.visit.latest,
                status=c.status,
                actual=c.actual,
                days_off=c.days_off,
            )
            for c in report.checks
        ],
        overdue=len(report.overdue),
        out_of_window=len(report.out_of_window),
        unscheduled=[(v.kind, v.date) for v in report.unscheduled],
    )
