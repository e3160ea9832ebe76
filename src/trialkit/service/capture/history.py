"""One record's history item by item: who changed what, when, from what to what, and why.

The record's versions give the values and the reason; the audit trail's event of each version
gives who recorded it, in what role. Details: docs/capture.md, `trialkit.service.capture.history`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError
from trialkit.service.capture.forms import case_report_form
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import User
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["ItemChange", "RecordHistory", "record_history"]


class ItemChange(BaseModel):
    """One item's value set or changed by one version (``old`` is ``None`` when first set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: str
    label: str
    version: int
    recorded_at: dt.datetime
    recorded_by: str | None
    role: str | None
    old: str | None
    new: str | None
    reason: str | None


class RecordHistory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    form: str
    form_label: str
    record_key: str
    versions: int
    changes: list[ItemChange]
    """Newest version first; within a version, in the form's order."""


def _flat(value: Any, path: str, into: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(item, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for index, item in enumerate(value):
            _flat(item, f"{path}[{index + 1}]", into)
    else:
        into[path] = value
    return into


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def record_history(
    *, session: Session, actor: Principal, patient_id: int, form: str, record_key: str
) -> RecordHistory:
    """Every item change of one record of the patient, newest first (a blinded role sees the
    same: no form of the casebook holds the arm)."""
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    definition = case_report_form(
        trial_protocol(get_trial_or_raise(session, patient.trial_id)), form
    )
    rows = session.scalars(
        select(CaptureRecord)
        .where(
            CaptureRecord.patient_id == patient.id,
            CaptureRecord.form == definition.name,
            CaptureRecord.record_key == record_key,
        )
        .order_by(CaptureRecord.version)
    ).all()
    if not rows:
        raise NotFoundError(
            f"patient {patient.id} has no {definition.name} record {record_key!r}",
            location="record_key",
        )
    labels: dict[str, str] = {}
    order: dict[str, int] = {}
    for section in definition.sections:
        for item in section.items:
            root = f"{section.key}.{item.name}" if section.key else item.name
            for path, inner in item.walk(root):
                labels[path] = inner.label
                order.setdefault(path, len(order))
    events = {
        event.entity_id: event
        for event in session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity == definition.name,
                AuditEvent.entity_id.in_([str(r.id) for r in rows]),
            )
            .order_by(AuditEvent.seq)
        )
    }
    names = dict(
        session.execute(
            select(User.id, User.full_name).where(
                User.id.in_({r.recorded_by for r in rows if r.recorded_by is not None})
            )
        ).all()
    )

    def label(path: str) -> str:
        bare = path.split("[")[0] if "[" in path else path
        return labels.get(path) or labels.get(bare.replace("]", ""), path)

    changes: list[ItemChange] = []
    before: dict[str, Any] = {}
    for row in rows:
        after = _flat(row.data, "", {})
        event = events.get(str(row.id))
        who = names.get(row.recorded_by) if row.recorded_by is not None else None
        changed = [
            path
            for path in sorted(set(before) | set(after), key=lambda p: (order.get(p, 1 << 30), p))
            if before.get(path) != after.get(path)
        ]
        changes[:0] = [
            ItemChange(
                item=path,
                label=label(path),
                version=row.version,
                recorded_at=row.recorded_at,
                recorded_by=who or (event.username if event else None),
                role=event.role if event else None,
                old=_text(before.get(path)),
                new=_text(after.get(path)),
                reason=row.reason,
            )
            for path in changed
        ]
        before = after
    return RecordHistory(
        patient_id=patient.id,
        form=definition.name,
        form_label=definition.label,
        record_key=record_key,
        versions=len(rows),
        changes=changes,
    )
