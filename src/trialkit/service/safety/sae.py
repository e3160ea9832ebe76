"""Serious adverse events: the site's report and follow-ups, work lists on the 24-hour clock,
the sponsor's review, the SUSAR unblinding of one case, and the CIOMS I and E2B exports.

Sites and monitors see cases blinded and without the sponsor's review (a decision such as
"not a SUSAR: placebo" would reveal the arm); the safety role sees the review and, after a
recorded SUSAR unblinding of a case, that case's arm. Details: docs/safety.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, NotFoundError
from trialkit.protocol import Protocol
from trialkit.protocol.model import Safety
from trialkit.protocol.records import validate_record
from trialkit.safety import (
    CAUSALITY,
    Decision,
    SaeReport,
    assess,
    decide,
    parse_sae_report,
    reporting_days,
    reporting_due,
)
from trialkit.safety.case import Case
from trialkit.safety.cioms import cioms_pdf
from trialkit.safety.e2b import icsr_xml
from trialkit.safety.susar import Assessment
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform import audit, auth, notify
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import (
    PERMISSIONS,
    Action,
    authorize,
    patient_or_absent,
    site_scope,
)
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.notifications import Notification
from trialkit.service.platform.tables.people import Role, User
from trialkit.service.randomisation.randomised import randomised_arm
from trialkit.service.safety.tables import SaeReportVersion, SaeReview, SusarUnblinding
from trialkit.service.safety.terms import check_meddra_code
from trialkit.service.safety.views import (
    DrugAssessmentView,
    SaeCaseView,
    SaeVersionView,
    SafetyCaseView,
    SafetyReviewView,
    UnblindedCaseView,
)
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Country, Site, Trial
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "case_link",
    "counts_by_patient",
    "export_case",
    "get_case",
    "list_cases",
    "notify_overdue",
    "report_sae",
    "review_case",
    "unblind_case",
]

_STATUS_ORDER = {"overdue": 0, "not started": 1, "due": 2, "reported late": 3, "reported": 4}


def protocol_safety(protocol: Protocol) -> Safety:
    """The protocol's safety section, or a conflict naming what the protocol file lacks."""
    if protocol.safety is None:
        raise ConflictError(
            f"protocol {protocol.id} has no safety section (reference safety information per "
            "drug); add one to the protocol file to report serious adverse events"
        )
    return protocol.safety


def _parse(protocol: Protocol, data: Mapping[str, Any]) -> SaeReport:
    return parse_sae_report(data, drugs=protocol_safety(protocol).drugs())


def checked_values(protocol: Protocol, values: Mapping[str, Any]) -> dict[str, Any]:
    """The site's item values, checked against the protocol's SAE form (when it defines one)
    and the SAE report's rules; a wrong value raises InputError located at ``values.<item>``.
    """
    safety = protocol_safety(protocol)
    data = dict(values)
    try:
        if safety.sae_form and protocol.forms is not None:
            form = protocol.forms.form(safety.sae_form)
            data = dict(validate_record(protocol.forms, form, data, source="values").data)
        parse_sae_report(data, drugs=safety.drugs())
    except InputError as exc:
        where = exc.location if exc.location.startswith("values") else f"values.{exc.location}"
        raise InputError(exc.message, location=where.rstrip(".")) from None
    return data


def _versions(session: Session, patient_id: int, case_number: int) -> list[SaeReportVersion]:
    return list(
        session.scalars(
            select(SaeReportVersion)
            .where(
                SaeReportVersion.patient_id == patient_id,
                SaeReportVersion.case_number == case_number,
            )
            .order_by(SaeReportVersion.version)
        )
    )


def _seconds(delta: dt.timedelta) -> int:
    return int(delta.total_seconds())


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


@dataclass(frozen=True)
class _Context:
    patient: Patient
    site: Site
    trial: Trial
    protocol: Protocol


def _context(session: Session, patient: Patient) -> _Context:
    site = session.get(Site, patient.site_id)
    if site is None:  # pragma: no cover - a foreign key
        raise NotFoundError(f"site {patient.site_id} not found")
    trial = get_trial_or_raise(session, patient.trial_id)
    return _Context(patient, site, trial, trial_protocol(trial))


def _case_view(
    context: _Context,
    versions: list[SaeReportVersion],
    now: dt.datetime,
    names: Mapping[int, str],
    *,
    detail: bool,
) -> SaeCaseView:
    latest = versions[-1]
    report = _parse(context.protocol, latest.data)
    aware = versions[0].aware_at or report.aware_at or versions[0].recorded_at
    due = aware + dt.timedelta(hours=protocol_safety(context.protocol).sae_report_hours)
    reported = next((v.recorded_at for v in versions if v.complete), None)
    if reported is None:
        status = "overdue" if now > due else "due"
        left: int | None = _seconds(due - now)
    else:
        status = "reported late" if reported > due else "reported"
        left = None
    return SaeCaseView(
        case_id=f"{context.patient.screening_number}/SAE-{latest.case_number}",
        trial_id=context.trial.id,
        patient_id=context.patient.id,
        screening_number=context.patient.screening_number,
        site_id=context.site.id,
        site_code=context.site.code,
        case_number=latest.case_number,
        ae_record_key=report.ae_record_key,
        term=report.term,
        grade=report.grade,
        criteria=list(report.criteria),
        aware_at=aware,
        due_at=due,
        reported_at=reported,
        status=status,
        seconds_left=left,
        versions=len(versions),
        versions_detail=[
            SaeVersionView(
                version=v.version,
                data=v.data,
                complete=v.complete,
                missing=list(_parse(context.protocol, v.data).missing),
                reason=v.reason,
                recorded_at=v.recorded_at,
                recorded_by=names.get(v.recorded_by) if v.recorded_by else None,
            )
            for v in versions
        ]
        if detail
        else [],
    )


def _reviewer(actor: Principal, trial_id: int) -> bool:
    """Whether the actor holds the safety review in this trial (sees reviews and decisions)."""
    return any(
        Action.REVIEW_SAFETY in PERMISSIONS[g.role]
        and (g.trial_id is None or g.trial_id == trial_id)
        for g in actor.grants
    )


def _latest_review(session: Session, patient_id: int, case_number: int) -> SaeReview | None:
    return session.scalars(
        select(SaeReview)
        .where(SaeReview.patient_id == patient_id, SaeReview.case_number == case_number)
        .order_by(SaeReview.version.desc())
        .limit(1)
    ).first()


def _unblinding(session: Session, patient_id: int, case_number: int) -> SusarUnblinding | None:
    return session.scalars(
        select(SusarUnblinding).where(
            SusarUnblinding.patient_id == patient_id,
            SusarUnblinding.case_number == case_number,
        )
    ).first()


def _assessment(
    protocol: Protocol, report: SaeReport, review: SaeReview | None
) -> tuple[Assessment, Safety]:
    safety = protocol_safety(protocol)
    return (
        assess(
            report,
            sponsor_causality=dict(review.causality) if review else {},
            expected=safety.expected(),
            blinded=safety.blinded(),
        ),
        safety,
    )


def _safety_view(
    session: Session,
    context: _Context,
    versions: list[SaeReportVersion],
    now: dt.datetime,
    names: Mapping[int, str],
    *,
    detail: bool,
) -> SafetyCaseView:
    base = _case_view(context, versions, now, names, detail=detail)
    case_number = versions[-1].case_number
    review = _latest_review(session, context.patient.id, case_number)
    unblinding = _unblinding(session, context.patient.id, case_number)
    arm = None
    if unblinding is not None:  # this case only, recorded: the arm for the safety role
        arm_id = randomised_arm(session=session, patient=context.patient)
        arm = context.protocol.arm(arm_id) if arm_id else None
    review_view = None
    if review is not None:
        report = _parse(context.protocol, versions[-1].data)
        assessment, safety = _assessment(context.protocol, report, review)
        labels = {d.drug: d.label for d in safety.reference_safety_information}
        decision = decide(assessment, active=None if arm is None else arm.role == "treatment")
        clock = reporting_days(report) if decision is Decision.SUSAR else None
        due = reporting_due(report, versions[0].recorded_at) if clock else None
        review_view = SafetyReviewView(
            version=review.version,
            report_version=review.report_version,
            comment=review.comment,
            reviewed_at=review.reviewed_at,
            reviewed_by=names.get(review.reviewed_by) if review.reviewed_by else None,
            drugs=[
                DrugAssessmentView(
                    drug=d.drug,
                    label=labels.get(d.drug, d.drug),
                    investigator=d.investigator,
                    sponsor=d.sponsor,
                    related=d.related,
                    expected=d.expected,
                    suspect=d.suspect,
                )
                for d in assessment.drugs
            ],
            decision=decision.value,
            needs_unblinding=assessment.needs_unblinding,
            clock_days=clock,
            reporting_due_at=due,
            reporting_seconds_left=_seconds(due - now) if due else None,
        )
    fields = base.model_dump()
    fields["versions_detail"] = base.versions_detail
    fields["review_status"] = (
        "to review"
        if review is None or review.report_version < versions[-1].version
        else "reviewed"
    )
    fields["review"] = review_view
    if unblinding is None or arm is None:
        return SafetyCaseView(**fields)
    return UnblindedCaseView(
        **fields,
        unblinded_at=unblinding.unblinded_at,
        unblinded_by=names.get(unblinding.user_id),
        arm=arm.id,
        arm_label=arm.label,
    )


def _view(
    session: Session,
    actor: Principal,
    context: _Context,
    versions: list[SaeReportVersion],
    now: dt.datetime,
    *,
    detail: bool,
) -> SaeCaseView:
    review = _latest_review(session, context.patient.id, versions[-1].case_number)
    unblinding = _unblinding(session, context.patient.id, versions[-1].case_number)
    names = _usernames(
        session,
        {v.recorded_by for v in versions}
        | {review.reviewed_by if review else None, unblinding.user_id if unblinding else None},
    )
    if _reviewer(actor, context.trial.id):
        return _safety_view(session, context, versions, now, names, detail=detail)
    return _case_view(context, versions, now, names, detail=detail)


def report_sae(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    values: Mapping[str, Any],
    case_number: int | None = None,
    reason: str | None = None,
) -> SaeCaseView:
    """Record an SAE report (``case_number=None``: a new case) or a follow-up version of one.

    A report with items missing is kept (the site reports what it knows within 24 hours)
    and stays due until a complete version arrives. A follow-up needs a reason.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.REPORT_SAE)
    context = _context(session, patient)
    values = checked_values(context.protocol, values)
    report = _parse(context.protocol, values)
    if report.meddra_llt is not None:
        try:
            check_meddra_code(session, report.meddra_llt)
        except InputError as exc:
            raise InputError(exc.message, location="values.meddra_llt") from None
    if case_number is None:
        latest = session.scalar(
            select(func.max(SaeReportVersion.case_number)).where(
                SaeReportVersion.patient_id == patient.id
            )
        )
        number, version, previous = (latest or 0) + 1, 1, None
    else:
        versions = _versions(session, patient.id, case_number)
        if not versions:
            raise NotFoundError(f"patient {patient.id} has no SAE case {case_number}")
        if not (reason or "").strip():
            raise InputError(
                "give the reason for the follow-up report (new information, correction)",
                location="reason",
            )
        number, version, previous = case_number, versions[-1].version + 1, versions[0]
    aware = previous.aware_at if previous is not None and previous.aware_at else report.aware_at
    row = SaeReportVersion(
        trial_id=patient.trial_id,
        site_id=patient.site_id,
        patient_id=patient.id,
        case_number=number,
        version=version,
        data=dict(values),
        complete=report.complete,
        aware_at=aware,
        reason=(reason or "").strip() or None,
        recorded_at=utcnow(),
        recorded_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="sae_report",
        entity_id=row.id,
        values={"patient_id": patient.id, "case_number": number, "version": version},
        reason=row.reason,
    )
    if version == 1:  # the sponsor's safety role and the site's monitors hear of it at once
        hours = protocol_safety(context.protocol).sae_report_hours
        aware_at = aware or row.recorded_at
        notify.notify(
            session,
            trial_id=patient.trial_id,
            kind=notify.Kind.SAE_RECEIVED,
            to=(
                notify.To.role(Role.SAFETY_PHYSICIAN),
                notify.To.role(Role.MONITOR, site_id=patient.site_id),
            ),
            message=notify.sae_received_message(
                trial=context.trial.acronym,
                site_code=context.site.code,
                screening_number=patient.screening_number,
                term=report.term or "term not given yet",
                aware_at=aware_at,
                due_at=aware_at + dt.timedelta(hours=hours),
            ),
            site_id=patient.site_id,
            link=case_link(patient.id, number),
        )
    return _view(
        session, actor, context, _versions(session, patient.id, number), utcnow(), detail=True
    )


def case_link(patient_id: int, case_number: int) -> str:
    """The case's page: each reader's own permissions decide what it shows."""
    return f"/safety/cases/{patient_id}/{case_number}"


def _susar_clock(session: Session, context: _Context, view: SaeCaseView) -> None:
    """Tell the safety role that a SUSAR's reporting clock runs (once per case)."""
    if not isinstance(view, SafetyCaseView) or view.review is None:
        return
    review = view.review
    if review.decision != Decision.SUSAR.value or review.reporting_due_at is None:
        return
    link = case_link(context.patient.id, view.case_number or 0)
    sent = session.scalar(
        select(Notification.id).where(
            Notification.trial_id == context.trial.id,
            Notification.kind == notify.Kind.SUSAR_CLOCK.value,
            Notification.link == link,
        )
    )
    if sent is not None:
        return
    clock = review.clock_days or 0
    notify.notify(
        session,
        trial_id=context.trial.id,
        kind=notify.Kind.SUSAR_CLOCK,
        to=notify.To.role(Role.SAFETY_PHYSICIAN),
        message=notify.susar_clock_message(
            trial=context.trial.acronym,
            case=view.case_id,
            days=clock,
            aware_on=(review.reporting_due_at - dt.timedelta(days=clock)).date(),
            due_on=review.reporting_due_at.date(),
        ),
        link=link,
    )


def notify_overdue(*, session: Session, trial_id: int, now: dt.datetime | None = None) -> list[str]:
    """Tell the site's investigators, its monitors and the safety role of each SAE report
    past its deadline (once per case); returns the case ids told now.

    Run by ``trialkit safety overdue`` (for example from cron, every few minutes).
    """
    trial = get_trial_or_raise(session, trial_id)
    protocol = trial_protocol(trial)
    hours = protocol_safety(protocol).sae_report_hours
    now = now or utcnow()
    cases: dict[tuple[int, int], list[SaeReportVersion]] = {}
    for row in session.scalars(
        select(SaeReportVersion)
        .where(SaeReportVersion.trial_id == trial_id)
        .order_by(
            SaeReportVersion.patient_id, SaeReportVersion.case_number, SaeReportVersion.version
        )
    ):
        cases.setdefault((row.patient_id, row.case_number), []).append(row)
    told = set(
        session.scalars(
            select(Notification.link).where(
                Notification.trial_id == trial_id,
                Notification.kind == notify.Kind.SAE_OVERDUE.value,
            )
        )
    )
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.trial_id == trial_id))}
    done: list[str] = []
    for (patient_id, number), versions in cases.items():
        if any(v.complete for v in versions):
            continue
        aware = versions[0].aware_at or versions[0].recorded_at
        due = aware + dt.timedelta(hours=hours)
        link = case_link(patient_id, number)
        if now <= due or link in told:
            continue
        patient = session.get(Patient, patient_id)
        assert patient is not None
        site = sites[patient.site_id]
        report = _parse(protocol, versions[-1].data)
        notify.notify(
            session,
            trial_id=trial_id,
            kind=notify.Kind.SAE_OVERDUE,
            to=(
                notify.To.role(Role.INVESTIGATOR, site_id=site.id),
                notify.To.role(Role.MONITOR, site_id=site.id),
                notify.To.role(Role.SAFETY_PHYSICIAN),
            ),
            message=notify.sae_overdue_message(
                trial=trial.acronym,
                site_code=site.code,
                screening_number=patient.screening_number,
                term=report.term or "term not given yet",
                due_at=due,
            ),
            site_id=site.id,
            link=link,
        )
        done.append(f"{patient.screening_number}/SAE-{number}")
    return done


def counts_by_patient(
    session: Session, *, trial_id: int, cutoff: dt.date, with_susars: bool
) -> dict[int, tuple[int, int]]:
    """Each patient's SAE cases reported by ``cutoff`` and, ``with_susars`` (for a report that
    shows arms, already authorised by its caller), how many the safety role decided are
    SUSARs: ``{patient_id: (cases, susars)}``."""
    trial = get_trial_or_raise(session, trial_id)
    protocol = trial_protocol(trial)
    cases: dict[tuple[int, int], list[SaeReportVersion]] = {}
    for row in session.scalars(
        select(SaeReportVersion)
        .where(SaeReportVersion.trial_id == trial_id)
        .order_by(SaeReportVersion.version)
    ):
        if row.recorded_at.date() <= cutoff:
            cases.setdefault((row.patient_id, row.case_number), []).append(row)
    counts: dict[int, tuple[int, int]] = {}
    for (patient_id, number), versions in cases.items():
        susar = 0
        if with_susars:
            review = _latest_review(session, patient_id, number)
            unblinding = _unblinding(session, patient_id, number)
            if review is not None:
                assessment, _ = _assessment(protocol, _parse(protocol, versions[-1].data), review)
                active = None
                if unblinding is not None:
                    patient = session.get(Patient, patient_id)
                    arm_id = randomised_arm(session=session, patient=patient) if patient else None
                    active = None if arm_id is None else protocol.arm(arm_id).role == "treatment"
                susar = int(decide(assessment, active=active) is Decision.SUSAR)
        cases_so_far, susars_so_far = counts.get(patient_id, (0, 0))
        counts[patient_id] = (cases_so_far + 1, susars_so_far + susar)
    return counts


def _case_or_absent(
    session: Session, actor: Principal, patient_id: int, case_number: int, action: Action
) -> tuple[_Context, list[SaeReportVersion], Grant]:
    patient, grant = patient_or_absent(session, actor, patient_id, action)
    versions = _versions(session, patient.id, case_number)
    if not versions:
        raise NotFoundError(f"patient {patient_id} has no SAE case {case_number}")
    return _context(session, patient), versions, grant


def get_case(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    case_number: int,
    now: dt.datetime | None = None,
) -> SaeCaseView:
    """One case with its versions: blinded, with the review for the safety role."""
    context, versions, _ = _case_or_absent(
        session, actor, patient_id, case_number, Action.VIEW_SAES
    )
    return _view(session, actor, context, versions, now or utcnow(), detail=True)


def _serious_without_report(
    session: Session,
    safety: Safety,
    trial_id: int,
    sites: frozenset[int] | None,
    reported: set[tuple[int, str]],
) -> list[tuple[Patient, CaptureRecord, dt.datetime]]:
    """Adverse events marked serious (latest version) that no SAE case names yet."""
    if safety.adverse_event_form is None:
        return []
    statement = (
        select(Patient, CaptureRecord)
        .join(CaptureRecord, CaptureRecord.patient_id == Patient.id)
        .where(Patient.trial_id == trial_id, CaptureRecord.form == safety.adverse_event_form)
        .order_by(CaptureRecord.patient_id, CaptureRecord.record_key, CaptureRecord.version)
    )
    if sites is not None:
        statement = statement.where(Patient.site_id.in_(sites))
    latest: dict[tuple[int, str], tuple[Patient, CaptureRecord, dt.datetime]] = {}
    for patient, record in session.execute(statement).all():
        key = (patient.id, record.record_key)
        first = latest[key][2] if key in latest else record.recorded_at
        latest[key] = (patient, record, first)
    return [
        (patient, record, first)
        for key, (patient, record, first) in latest.items()
        if record.data.get(safety.serious_item) is True and key not in reported
    ]


def list_cases(
    *, session: Session, actor: Principal, trial_id: int, now: dt.datetime | None = None
) -> list[SaeCaseView]:
    """The work list: every SAE case the actor may see, overdue first, then by due time.

    An adverse event marked serious without an SAE report is listed as ``not started``,
    due 24 hours after the adverse event was first recorded.
    """
    authorize(actor, Action.VIEW_SAES, trial_id=trial_id)
    trial = get_trial_or_raise(session, trial_id)
    protocol = trial_protocol(trial)
    hours = protocol_safety(protocol).sae_report_hours
    sites = site_scope(actor, Action.VIEW_SAES, trial_id=trial_id)
    now = now or utcnow()
    statement = select(SaeReportVersion).where(SaeReportVersion.trial_id == trial_id)
    if sites is not None:
        statement = statement.where(SaeReportVersion.site_id.in_(sites))
    cases: dict[tuple[int, int], list[SaeReportVersion]] = {}
    for row in session.scalars(
        statement.order_by(
            SaeReportVersion.patient_id, SaeReportVersion.case_number, SaeReportVersion.version
        )
    ):
        cases.setdefault((row.patient_id, row.case_number), []).append(row)
    site_rows = {s.id: s for s in session.scalars(select(Site).where(Site.trial_id == trial_id))}
    patients = {
        p.id: p
        for p in session.scalars(select(Patient).where(Patient.id.in_({k[0] for k in cases})))
    }
    rows: list[SaeCaseView] = []
    reported: set[tuple[int, str]] = set()
    for (patient_id, _), versions in cases.items():
        patient = patients[patient_id]
        context = _Context(patient, site_rows[patient.site_id], trial, protocol)
        view = _view(session, actor, context, versions, now, detail=False)
        if view.ae_record_key:
            reported.add((patient_id, view.ae_record_key))
        rows.append(view)
    for patient, record, first in _serious_without_report(
        session, protocol_safety(protocol), trial_id, sites, reported
    ):
        due = first + dt.timedelta(hours=hours)
        rows.append(
            SaeCaseView(
                case_id=f"{patient.screening_number}/{record.record_key}",
                trial_id=trial_id,
                patient_id=patient.id,
                screening_number=patient.screening_number,
                site_id=patient.site_id,
                site_code=site_rows[patient.site_id].code,
                case_number=None,
                ae_record_key=record.record_key,
                term=record.data.get("term"),
                grade=record.data.get("grade"),
                criteria=[],
                aware_at=None,
                due_at=due,
                reported_at=None,
                status="overdue" if now > due else "not started",
                seconds_left=_seconds(due - now),
                versions=0,
            )
        )
    return sorted(
        rows,
        key=lambda r: (_STATUS_ORDER[r.status], r.due_at, r.site_code, r.screening_number),
    )


def _review_grant(
    session: Session, actor: Principal, patient_id: int, case_number: int, action: Action
) -> tuple[_Context, list[SaeReportVersion], Grant]:
    context, versions, grant = _case_or_absent(
        session, actor, patient_id, case_number, Action.VIEW_SAES
    )
    if action not in PERMISSIONS[grant.role]:
        grant = authorize(actor, action, trial_id=context.trial.id)
    return context, versions, grant


def review_case(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    case_number: int,
    causality: Mapping[str, str],
    comment: str | None = None,
) -> SafetyCaseView:
    """Record the sponsor's review of the case's latest version: causality per drug.

    Expectedness is read from the protocol's reference safety information; the decision
    (SUSAR or not, or awaiting the case's unblinding) follows from both.
    """
    context, versions, grant = _review_grant(
        session, actor, patient_id, case_number, Action.REVIEW_SAFETY
    )
    drugs = protocol_safety(context.protocol).drugs()
    for drug, value in causality.items():
        if drug not in drugs:
            raise InputError(
                f"{drug!r} is not one of the trial's drugs ({', '.join(drugs)})",
                location=f"causality.{drug}",
            )
        if value not in CAUSALITY:
            raise InputError(
                f"{value!r} is not one of {', '.join(CAUSALITY)}", location=f"causality.{drug}"
            )
    previous = _latest_review(session, context.patient.id, case_number)
    review = SaeReview(
        trial_id=context.trial.id,
        patient_id=context.patient.id,
        case_number=case_number,
        version=(previous.version + 1) if previous else 1,
        report_version=versions[-1].version,
        causality=dict(causality),
        comment=(comment or "").strip() or None,
        reviewed_at=utcnow(),
        reviewed_by=actor.user_id,
    )
    session.add(review)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="sae_review",
        entity_id=review.id,
        values={
            "patient_id": context.patient.id,
            "case_number": case_number,
            "causality": review.causality,
        },
        # not the comment: written once the case is unblinded it may name the arm, and
        # blinded administrators read the audit trail; it is kept, unchanged, with the review
        reason="sponsor's review" + (" with a comment" if review.comment else ""),
    )
    view = _view(session, actor, context, versions, utcnow(), detail=True)
    assert isinstance(view, SafetyCaseView)
    _susar_clock(session, context, view)
    return view


def unblind_case(
    *,
    session: Session,
    security: Security,
    actor: Principal,
    patient_id: int,
    case_number: int,
    password: str,
    reason: str,
) -> UnblindedCaseView:
    """Unblind one case whose review suspects the blinded study drug (a possible SUSAR).

    Password re-entered (:func:`~trialkit.service.platform.auth.require_reentered_password`), reason
    given, recorded and audited without the arm. Only the safety role's view of this case
    shows the arm; every other role's pages, API and exports are unchanged.
    """
    context, versions, grant = _review_grant(
        session, actor, patient_id, case_number, Action.UNBLIND_SUSAR
    )
    if not reason.strip():
        raise InputError("give the reason for unblinding this case", location="reason")
    existing = _unblinding(session, context.patient.id, case_number)
    if existing is not None:
        raise ConflictError(
            f"SAE case {case_number} of patient {context.patient.screening_number} was "
            f"unblinded on {existing.unblinded_at:%Y-%m-%d %H:%M} UTC; its arm is on the case"
        )
    review = _latest_review(session, context.patient.id, case_number)
    report = _parse(context.protocol, versions[-1].data)
    assessment, _ = _assessment(context.protocol, report, review)
    if review is None or not assessment.needs_unblinding:
        raise ConflictError(
            "only a case whose review suspects the blinded study drug (related and "
            "unexpected) is unblinded; review the case first"
        )
    if randomised_arm(session=session, patient=context.patient) is None:
        raise ConflictError(f"patient {context.patient.screening_number} is not randomised")
    user = auth.require_reentered_password(
        session,
        security=security,
        actor=actor,
        grant=grant,
        password=password,
        act="SUSAR unblinding",
        entity="sae_case",
        entity_id=f"{context.patient.id}/{case_number}",
    )
    row = SusarUnblinding(
        trial_id=context.trial.id,
        patient_id=context.patient.id,
        case_number=case_number,
        user_id=user.id,
        reason=reason.strip(),
        unblinded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="susar_unblinding",
        entity_id=row.id,
        values={"patient_id": context.patient.id, "case_number": case_number},
        reason=row.reason,
    )
    view = _view(session, actor, context, versions, utcnow(), detail=True)
    assert isinstance(view, UnblindedCaseView)
    _susar_clock(session, context, view)
    return view


def case_for_regulators(
    session: Session, actor: Principal, patient_id: int, case_number: int
) -> Case:
    """The case as the exports give it (safety role only): the blinded study drug is named by
    its active substance only when this case has been unblinded."""
    context, versions, _ = _review_grant(
        session, actor, patient_id, case_number, Action.REVIEW_SAFETY
    )
    review = _latest_review(session, context.patient.id, case_number)
    report = _parse(context.protocol, versions[-1].data)
    assessment, safety = _assessment(context.protocol, report, review)
    unblinding = _unblinding(session, context.patient.id, case_number)
    arm_id = randomised_arm(session=session, patient=context.patient) if unblinding else None
    blinded_name = " or ".join(a.product for a in context.protocol.arms) + " (blinded)"
    products = {
        d.drug: (
            (context.protocol.arm(arm_id).product if arm_id else blinded_name)
            if d.blinded
            else d.label
        )
        for d in safety.reference_safety_information
    }
    country = session.scalar(
        select(Country.code)
        .join(Site, Site.country_id == Country.id)
        .where(Site.id == context.site.id)
    )
    return Case(
        case_id=f"{context.patient.screening_number}-SAE{case_number}",
        version=versions[-1].version,
        sender=context.protocol.sponsor.name,
        trial_acronym=context.trial.acronym,
        protocol_id=context.protocol.id,
        trial_title=context.trial.title,
        country=country or "",
        site_code=context.site.code,
        patient=context.patient.screening_number,
        sex="female" if context.protocol.population.sex == "female" else "unknown",
        age_years=None,
        report=report,
        assessment=assessment,
        products=products,
        first_received=versions[0].recorded_at,
        latest_received=versions[-1].recorded_at,
        created=utcnow(),
    )


def export_case(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    case_number: int,
    kind: Literal["cioms", "e2b"],
) -> tuple[bytes, str, str]:
    """The case's CIOMS I form (PDF) or E2B(R3) ICSR (XML): (content, media type, file name)."""
    case = case_for_regulators(session, actor, patient_id, case_number)
    name = f"{case.protocol_id}-{case.case_id}-v{case.version}".replace("/", "-")
    if kind == "cioms":
        return cioms_pdf(case), "application/pdf", f"{name}-CIOMS-I.pdf"
    if kind == "e2b":
        return icsr_xml(case), "application/xml", f"{name}-E2B-R3.xml"
    raise InputError(f"no export {kind!r}; choose cioms or e2b", location="kind")
