"""The trial report from the database: analysis inputs at a data cut-off, authorised by role.

Populations (screened, ITT, safety, per-protocol) and every record are taken as of
the data cut-off; nothing dated after it is used.

Details and reasoning: docs/reports.md, section `trialkit.service.oversight.trial_report`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import trialkit
from trialkit.analysis import AdverseEvent, ConsortPatient
from trialkit.analysis.safety import POOLED
from trialkit.endpoints import (
    CensoringRules,
    PatientOutcome,
    build_adsl,
    build_adtte,
    derive_orr,
    planned_arms,
)
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.report.document import ReportDocument
from trialkit.report.inputs import ArmInfo, DataIssueRow, DesignFacts, ReportInputs
from trialkit.report.trial_report import build_trial_report
from trialkit.safety.dsmb import DsmbPatient
from trialkit.service.capture.outcomes import DataIssue, trial_outcomes
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit
from trialkit.service.platform.cache import LruCache
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.policy import Action, authorize, authorize_trial_wide
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.safety import sae
from trialkit.service.screening.tables import (
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)
from trialkit.service.trials.tables import Country, Site
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["REPORT_ENTITY", "ReportOutput", "at_cutoff", "report_inputs", "trial_report"]

ReportOutput = Literal["page", "html", "pdf"]
"""How the report is delivered: a web page, an HTML file or a PDF (recorded in the audit trail)."""

REPORT_ENTITY = "trial_report"
"""The audit trail's entity of a report view (its id: the trial's id)."""

_documents: LruCache[tuple[int, bool, dt.date, str], ReportDocument] = LruCache(16)
"""Built reports by trial, blinded or not, cut-off and data version (per process)."""


def _date(value: object) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


def _before(value: dt.date | None, cutoff: dt.date) -> dt.date | None:
    return value if value is not None and value <= cutoff else None


def at_cutoff(outcome: PatientOutcome, cutoff: dt.date) -> PatientOutcome:
    """The patient's outcome as known on ``cutoff`` (nothing dated after it)."""
    died = _before(outcome.death_date, cutoff)
    alive = outcome.last_alive_date
    if outcome.death_date is not None and died is None:
        alive = cutoff  # died after the cut-off: alive on it
    elif alive is not None:
        alive = min(alive, cutoff)
    return dataclasses.replace(
        outcome,
        assessments=tuple(a for a in outcome.assessments if a.date <= cutoff),
        progression_date=_before(outcome.progression_date, cutoff),
        death_date=died,
        death_cause=outcome.death_cause if died else None,
        last_alive_date=alive,
        new_therapy_date=_before(outcome.new_therapy_date, cutoff),
        end_of_study=_before(outcome.end_of_study, cutoff),
        first_dose_date=_before(outcome.first_dose_date, cutoff),
    )


def _deciding_criteria(
    evaluation: EligibilityEvaluation | None,
) -> tuple[bool | None, tuple[str, ...]]:
    """The verdict and the numbered criteria that decided it (the engine's ``blocking``).

    An unmet alternative of a met criterion (I3.1 when I3.2 made the patient post-menopausal)
    or a sub-item under its numbered criterion (I10.1 under I10) is no screening failure.
    """
    if evaluation is None:
        return None, ()
    return evaluation.eligible, tuple(c.id for c in evaluation.result.eligibility.blocking)


def _exposure_days(
    records: list[CaptureRecord], cutoff: dt.date, study_drug: str | None
) -> int | None:
    """Days on study drug up to ``cutoff``, from the form of the ``study_drug`` role."""
    days = 0
    seen = False
    for r in records:
        if r.form != study_drug:
            continue
        start = _date(r.data.get("start_date"))
        if start is None or start > cutoff:
            continue
        end = min(_date(r.data.get("end_date")) or cutoff, cutoff)
        days += max(0, (end - start).days + 1)
        seen = True
    return days if seen else None


def _dsmb_patient(
    outcome: PatientOutcome,
    records: list[CaptureRecord],
    exposure_days: int,
    cutoff: dt.date,
    counts: tuple[int, int],
    group: str,
    adverse_event: str | None,
) -> DsmbPatient:
    """A treated patient's SAE cases and SUSARs, and her first grade 3+ adverse event (on the
    form of the protocol's ``adverse_event`` role)."""
    starts = [
        start
        for r in records
        if r.form == adverse_event
        and isinstance(r.data.get("grade"), int)
        and r.data["grade"] >= 3
        and (start := _date(r.data.get("start_date"))) is not None
        and start <= cutoff
    ]
    end = min(d for d in (cutoff, outcome.death_date) if d is not None)
    return DsmbPatient(
        usubjid=outcome.usubjid,
        group=group,
        exposure_days=exposure_days,
        sae_cases=counts[0],
        susars=counts[1],
        grade3_day=(min(starts) - outcome.randomisation_date).days if starts else None,
        follow_days=max(0, (end - outcome.randomisation_date).days),
    )


def _first_screening_dates(session: Session, trial_id: int) -> dict[int, dt.datetime]:
    """When each patient's first screening record was made (patients with one)."""
    rows = session.execute(
        select(ScreeningRecordVersion.patient_id, func.min(ScreeningRecordVersion.recorded_at))
        .join(Patient, Patient.id == ScreeningRecordVersion.patient_id)
        .where(Patient.trial_id == trial_id)
        .group_by(ScreeningRecordVersion.patient_id)
    )
    return dict(rows.all())


def report_inputs(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    unblinded: bool = False,
    cutoff: dt.date,
) -> ReportInputs:
    """Gather the report's analysis inputs from the database (authorised as the report)."""
    trial = get_trial_or_raise(session, trial_id)
    _authorise(actor, trial.id, unblinded=unblinded)
    protocol = trial_protocol(trial)
    labels = {a.id: a.label for a in protocol.arms}
    arms = planned_arms(protocol.arms)
    criteria = protocol.response or DEFAULT_CRITERIA
    roles = protocol.forms.roles if protocol.forms is not None else {}
    rows = session.execute(
        select(Patient, Site, Country)
        .join(Site, Site.id == Patient.site_id)
        .join(Country, Country.id == Site.country_id)
        .where(Patient.trial_id == trial.id)
        .order_by(Patient.id)
    ).all()
    first_screened = _first_screening_dates(session, trial.id)
    evaluations = {
        e.patient_id: e
        for e in session.scalars(
            select(EligibilityEvaluation)
            .join(Patient, Patient.id == EligibilityEvaluation.patient_id)
            .where(Patient.trial_id == trial.id)
            .order_by(EligibilityEvaluation.id)
        )
        if e.evaluated_at.date() <= cutoff
    }  # the latest evaluation of each patient made by the cut-off wins
    outcomes: list[PatientOutcome] = []
    consort: list[ConsortPatient] = []
    events: list[AdverseEvent] = []
    exposure: dict[str, int] = {}
    best: dict[str, str] = {}
    country: dict[str, str] = {}
    issues: list[DataIssue] = []
    randomised = trial_outcomes(
        session, trial, {site.id: site for _, site, _ in rows}, with_arm=unblinded, issues=issues
    )
    sae_counts = (
        sae.counts_by_patient(session, trial_id=trial.id, cutoff=cutoff, with_susars=unblinded)
        if protocol.safety is not None
        else {}
    )
    safety: list[DsmbPatient] = []
    for patient, _site, nation in rows:
        eligible, failed = _deciding_criteria(evaluations.get(patient.id))
        outcome, records = randomised.get(patient.id, (None, []))
        if outcome is None or outcome.randomisation_date > cutoff:
            screened_on = first_screened.get(patient.id, patient.created_at).date()
            if screened_on <= cutoff:  # screened after the cut-off: not in the flow yet
                consort.append(ConsortPatient(eligible=eligible, failed_criteria=failed))
            continue
        outcome = at_cutoff(outcome, cutoff)
        outcomes.append(outcome)
        uid = outcome.usubjid
        country[uid] = nation.code
        stopped = next(
            (
                r
                for r in records
                if r.form == roles.get("end_of_treatment")
                and (d := _date(r.data.get("date"))) is not None
                and d <= cutoff
            ),
            None,
        )
        treated = outcome.first_dose_date is not None
        consort.append(
            ConsortPatient(
                eligible=eligible,
                failed_criteria=failed,
                randomised=True,
                arm=labels.get(outcome.arm or "", outcome.arm) if unblinded else None,
                treated=treated,
                discontinued_reason=None
                if stopped is None
                else str(stopped.data.get("reason") or "unknown"),
                analysed=True,
            )
        )
        if treated:
            days = _exposure_days(records, cutoff, roles.get("study_drug"))
            if days is not None:
                exposure[uid] = days
            for r in records:
                if r.form != roles.get("adverse_event"):
                    continue
                start = _date(r.data.get("start_date"))
                if start is not None and start > cutoff:
                    continue
                events.append(
                    AdverseEvent(
                        usubjid=uid,
                        term=str(r.data.get("term") or "Term not recorded"),
                        grade=r.data.get("grade"),
                        serious=r.data.get("serious"),
                    )
                )
            if protocol.safety is not None:
                safety.append(
                    _dsmb_patient(
                        outcome,
                        records,
                        exposure.get(uid, 0),
                        cutoff,
                        sae_counts.get(patient.id, (0, 0)),
                        labels.get(outcome.arm or "", "") if unblinded else POOLED,
                        roles.get("adverse_event"),
                    )
                )
        best[uid] = derive_orr(outcome, criteria).best.response
    analysed = {o.usubjid for o in outcomes}
    design = protocol.design
    return ReportInputs(
        trial=trial.acronym,
        title=f"{trial.acronym}: {trial.title}",
        cutoff=cutoff,
        software_version=trialkit.__version__,
        blinded=not unblinded,
        arms=tuple(ArmInfo(a.id, a.label, a.role == "control") for a in protocol.arms),
        design=None
        if design is None
        else DesignFacts(
            events=design.events,
            decision_hr=design.decision_hr,
            alternative_hr=design.alternative_hr,
            allocation_ratio=design.allocation_ratio,
            alpha_one_sided=design.alpha_one_sided,
        ),
        adsl=build_adsl(outcomes, studyid=trial.acronym, unblinded=unblinded, arms=arms),
        adtte=build_adtte(
            outcomes,
            studyid=trial.acronym,
            rules=CensoringRules.fda(protocol.schedule),
            criteria=criteria,
            unblinded=unblinded,
            arms=arms,
        ),
        adtte_ema=build_adtte(
            outcomes,
            studyid=trial.acronym,
            rules=CensoringRules.ema(protocol.schedule),
            criteria=criteria,
            unblinded=unblinded,
            arms=arms,
        ),
        best_response=best,
        adverse_events=tuple(events),
        exposure_days=exposure,
        consort=tuple(consort),
        country=country,
        criteria={c.id: c.short_text for c in protocol.eligibility.criteria if c.parent is None},
        data_issues=tuple(
            DataIssueRow(i.usubjid, i.message, i.handling)
            for i in issues
            if i.usubjid in analysed  # randomised after the cut-off: not in this report
        ),
        safety=tuple(safety),
    )


def _authorise(actor: Principal, trial_id: int, *, unblinded: bool) -> Grant:
    """The grant for the report's view: trial-wide, and arms for the unblinded one."""
    grant = authorize_trial_wide(
        actor, Action.VIEW_REPORTS, trial_id=trial_id, what="the trial report"
    )
    return authorize(actor, Action.VIEW_ARMS, trial_id=trial_id) if unblinded else grant


def trial_report(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    unblinded: bool = False,
    cutoff: dt.date | None = None,
    output: ReportOutput = "html",
) -> ReportDocument:
    """The blinded (default) or unblinded trial report at the data cut-off ``cutoff``
    (default: the service's calendar date,
    :func:`~trialkit.service.platform.calendar.calendar_date`).

    With no patient randomised by then the report says so in each section (CONSORT still
    counts the screened patients). The view is recorded in the audit trail (action
    ``view_unblinded_report`` or ``view_blinded_report``; the snapshot hash as the new value;
    the cut-off and ``output`` in the reason), in the caller's transaction.

    The built report is cached per process under the trial, blinded or unblinded (never one
    for the other), the cut-off and the data version
    (:func:`~trialkit.service.platform.audit.data_version`), which the view's own audit event
    does not move; it is served only after the caller is authorised for that view.
    """
    cutoff = calendar_date(cutoff)
    trial = get_trial_or_raise(session, trial_id)
    grant = _authorise(actor, trial.id, unblinded=unblinded)
    key = (trial.id, unblinded, cutoff, audit.data_version(session))
    document = _documents.get_or_make(
        key,
        lambda: build_trial_report(
            report_inputs(
                session=session, actor=actor, trial_id=trial.id, unblinded=unblinded, cutoff=cutoff
            )
        ),
    )
    kind = "unblinded" if unblinded else "blinded"
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action=f"view_{kind}_report",
        entity=REPORT_ENTITY,
        entity_id=trial_id,
        changes={"snapshot_sha256": (None, document.snapshot_sha256)},
        reason=f"{kind} report at the {cutoff.isoformat()} data cut-off ({output})",
        changes_data=False,
    )
    return document
