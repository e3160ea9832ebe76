"""Monitoring visit reports: per site visit, the date, what was verified, the queries raised
and the findings, signed by the monitor (password re-entered, meaning stated).

What a report lists is what the monitor did at the site while the visit was open: the
verifications linked to it or made by them there, and the queries they raised there. Once
signed, the report is fixed (its content hash is stored with the signature).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trialkit.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
)
from trialkit.service.capture.signoff_tables import MonitoringVisit, SourceVerification
from trialkit.service.capture.tables import DataQuery
from trialkit.service.platform import audit, auth
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, site_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import User
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Site

__all__ = [
    "MonitoringVisitView",
    "get_visit",
    "list_visits",
    "open_visit",
    "sign_visit",
    "update_findings",
]


class VerifiedLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    screening_number: str
    form: str
    record_key: str
    version: int
    item: str | None
    verified_at: dt.datetime
    still_verified: bool


class RaisedQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    screening_number: str
    form: str
    record_key: str
    field: str
    message: str
    status: str


class MonitoringVisitView(BaseModel):
    """A monitoring visit report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    site_id: int
    site_code: str
    site_name: str
    visit_date: dt.date
    monitor_name: str
    findings: str
    verified: list[VerifiedLine]
    queries: list[RaisedQuery]
    signed: bool
    signer_name: str | None
    signed_at: dt.datetime | None
    meaning: str | None
    report_sha256: str | None


def _visit_or_absent(
    session: Session, actor: Principal, visit_id: int, action: Action
) -> tuple[MonitoringVisit, Site]:
    visit = session.get(MonitoringVisit, visit_id)
    if visit is None:
        raise NotFoundError(f"monitoring visit {visit_id} not found")
    site, _ = site_or_absent(session, actor, visit.site_id, action)
    return visit, site


def _content(session: Session, visit: MonitoringVisit, site: Site) -> MonitoringVisitView:
    end = visit.signed_at or dt.datetime.max.replace(tzinfo=dt.UTC)
    numbers: dict[int, str] = dict(
        session.execute(
            select(Patient.id, Patient.screening_number).where(Patient.site_id == site.id)
        ).all()
    )
    marks = session.scalars(
        select(SourceVerification)
        .where(
            SourceVerification.patient_id.in_(list(numbers)),
            or_(
                SourceVerification.monitoring_visit_id == visit.id,
                (SourceVerification.verified_by == visit.created_by)
                & (SourceVerification.verified_at >= visit.created_at)
                & (SourceVerification.verified_at <= end),
            ),
        )
        .order_by(SourceVerification.id)
    )
    queries = session.scalars(
        select(DataQuery)
        .where(
            DataQuery.site_id == site.id,
            DataQuery.source == "manual",
            DataQuery.opened_by == visit.created_by,
            DataQuery.opened_at >= visit.created_at,
            DataQuery.opened_at <= end,
        )
        .order_by(DataQuery.id)
    )
    monitor = session.get(User, visit.created_by)
    return MonitoringVisitView(
        id=visit.id,
        site_id=site.id,
        site_code=site.code,
        site_name=site.name,
        visit_date=visit.visit_date,
        monitor_name=monitor.full_name if monitor else "?",
        findings=visit.findings,
        verified=[
            VerifiedLine(
                screening_number=numbers[m.patient_id],
                form=m.form,
                record_key=m.record_key,
                version=m.version,
                item=m.item,
                verified_at=m.verified_at,
                still_verified=m.reset_at is None,
            )
            for m in marks
        ],
        queries=[
            RaisedQuery(
                id=q.id,
                screening_number=numbers[q.patient_id],
                form=q.form,
                record_key=q.record_key,
                field=q.field,
                message=q.message,
                status=q.status,
            )
            for q in queries
        ],
        signed=visit.signed_at is not None,
        signer_name=visit.signer_name,
        signed_at=visit.signed_at,
        meaning=visit.meaning,
        report_sha256=visit.report_sha256,
    )


def open_visit(
    *, session: Session, actor: Principal, site_id: int, visit_date: dt.date, findings: str = ""
) -> MonitoringVisitView:
    """Start a monitoring visit report at a site."""
    site, grant = site_or_absent(session, actor, site_id, Action.VERIFY_SOURCE)
    if actor.user_id is None:
        raise AuthenticationError("a monitoring visit needs a user account")
    visit = MonitoringVisit(
        site_id=site.id,
        visit_date=visit_date,
        findings=findings.strip(),
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(visit)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="monitoring_visit",
        entity_id=visit.id,
        values={"site_id": site.id, "visit_date": visit_date, "findings": visit.findings},
    )
    return _content(session, visit, site)


def list_visits(*, session: Session, actor: Principal, site_id: int) -> list[MonitoringVisitView]:
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_CLINICAL)
    visits = session.scalars(
        select(MonitoringVisit)
        .where(MonitoringVisit.site_id == site.id)
        .order_by(MonitoringVisit.visit_date, MonitoringVisit.id)
    )
    return [_content(session, v, site) for v in visits]


def get_visit(*, session: Session, actor: Principal, visit_id: int) -> MonitoringVisitView:
    visit, site = _visit_or_absent(session, actor, visit_id, Action.VIEW_CLINICAL)
    return _content(session, visit, site)


def _require_open(visit: MonitoringVisit) -> None:
    if visit.signed_at is not None:
        raise ConflictError(
            f"monitoring visit {visit.id} was signed on {visit.signed_at:%Y-%m-%d %H:%M} UTC "
            "and is fixed; open a new visit report for further work"
        )


def update_findings(
    *, session: Session, actor: Principal, visit_id: int, findings: str
) -> MonitoringVisitView:
    visit, site = _visit_or_absent(session, actor, visit_id, Action.VERIFY_SOURCE)
    _require_open(visit)
    if visit.created_by != actor.user_id:
        raise ConflictError("only the monitor who opened the visit report may change it")
    old, visit.findings = visit.findings, findings.strip()
    site_grant = site_or_absent(session, actor, site.id, Action.VERIFY_SOURCE)[1]
    audit.record(
        session,
        actor=actor,
        grant=site_grant,
        action="update",
        entity="monitoring_visit",
        entity_id=visit.id,
        changes={"findings": (old, visit.findings)},
    )
    return _content(session, visit, site)


def sign_visit(
    *,
    session: Session,
    security: Security,
    actor: Principal,
    visit_id: int,
    password: str,
    meaning: str,
) -> MonitoringVisitView:
    """Sign the report (password re-entered, meaning stated); it is fixed from then on."""
    visit, site = _visit_or_absent(session, actor, visit_id, Action.VERIFY_SOURCE)
    grant = site_or_absent(session, actor, site.id, Action.VERIFY_SOURCE)[1]
    _require_open(visit)
    if actor.user_id is None or actor.user_id != visit.created_by:
        raise ConflictError("only the monitor who opened the visit report may sign it")
    if not meaning.strip():
        raise InputError("state the meaning of the signature", location="meaning")
    user = auth.require_reentered_password(
        session,
        security=security,
        actor=actor,
        grant=grant,
        password=password,
        act="monitoring visit signature",
        refused="signature_refused",
        entity="monitoring_visit",
        entity_id=visit.id,
    )
    now = utcnow()
    visit.signed_at, visit.signed_by, visit.signer_name = now, user.id, user.full_name
    visit.meaning = meaning.strip()
    content = _content(session, visit, site).model_dump(mode="json", exclude={"report_sha256"})
    visit.report_sha256 = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="sign",
        entity="monitoring_visit",
        entity_id=visit.id,
        changes={
            "signed_at": (None, now),
            "meaning": (None, visit.meaning),
            "report_sha256": (None, visit.report_sha256),
        },
    )
    return _content(session, visit, site)
