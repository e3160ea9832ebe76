"""Freeze and lock a trial's data, and the one check every write path makes.

A data manager freezes a form record, a patient, a site or the whole trial (no edits;
queries may still be raised, answered and closed) or locks it (nothing changes); a lock of
the whole trial is the database lock before an analysis. A freeze is released by a data
manager, a lock only by an administrator; both with a reason, audited. Every use case that
changes trial data calls :func:`require_unlocked` once, before it changes anything.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, column, or_, select, table
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from trialkit.service.platform import audit
from trialkit.service.platform.anchors import Anchoring, anchor_on_commit
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.trials.tables import DataLock, Site, Trial

__all__ = [
    "CONSENT_FORM",
    "SCREENING_FORM",
    "Level",
    "LockView",
    "database_lock",
    "list_locks",
    "release",
    "require_unlocked",
    "set_lock",
]

SCREENING_FORM = "screening_record"
"""The form name that freezes or locks a patient's screening record (its key is the same)."""
CONSENT_FORM = "consent"
"""The form name that freezes or locks a patient's consent (its key is the same)."""
Scope = Literal["trial", "site", "patient", "record"]


class Level(StrEnum):
    FREEZE = "freeze"
    """No edits; queries may still be raised, answered and closed."""
    LOCK = "lock"
    """Nothing changes."""


class LockView(BaseModel):
    """One freeze or lock, what it covers and who set (and released) it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    trial_id: int
    scope: Scope
    level: Level
    site_id: int | None
    patient_id: int | None
    form: str | None
    record_key: str | None
    reason: str
    created_at: dt.datetime
    created_by: int | None
    released_at: dt.datetime | None
    released_by: int | None
    release_reason: str | None
    label: str
    """What it covers, in words (``the database of SOR``, ``patient 12``, ...)."""


def _scope(row: DataLock) -> Scope:
    if row.form is not None:
        return "record"
    if row.patient_id is not None:
        return "patient"
    if row.site_id is not None:
        return "site"
    return "trial"


def _label(row: DataLock) -> str:
    scope = _scope(row)
    if scope == "record" and row.form == SCREENING_FORM:
        return f"the screening record of patient {row.patient_id}"
    if scope == "record" and row.form == CONSENT_FORM:
        return f"the consent of patient {row.patient_id}"
    if scope == "record":
        return f"{row.form} record {row.record_key} of patient {row.patient_id}"
    if scope == "patient":
        return f"patient {row.patient_id}"
    if scope == "site":
        return f"site {row.site_id}"
    return f"the database of trial {row.trial_id}"


def _view(row: DataLock) -> LockView:
    return LockView(
        id=row.id,
        trial_id=row.trial_id,
        scope=_scope(row),
        level=Level(row.level),
        site_id=row.site_id,
        patient_id=row.patient_id,
        form=row.form,
        record_key=row.record_key,
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
        released_at=row.released_at,
        released_by=row.released_by,
        release_reason=row.release_reason,
        label=_label(row),
    )


def _refusal(row: DataLock, query: bool) -> ConflictError:
    what = "no query may be raised, answered or closed" if query else "it may not be changed"
    if row.level == Level.LOCK:
        how = "an administrator may unlock it, with a reason"
    else:
        how = "a data manager may release the freeze, with a reason (queries remain possible)"
    kind = "database lock" if _scope(row) == "trial" and row.level == Level.LOCK else row.level
    return ConflictError(
        f"{_label(row)} is under {kind} {row.id} (since {row.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{row.reason}): {what}; {how}"
    )  # no location: it concerns the whole change, and a page shows it as such


class _Patient(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def trial_id(self) -> int: ...
    @property
    def site_id(self) -> int: ...


def require_unlocked(
    session: Session,
    *,
    patient: _Patient | None = None,
    trial_id: int | None = None,
    site_id: int | None = None,
    form: str | None = None,
    record_key: str | None = None,
    query: bool = False,
) -> None:
    """Refuse (409, naming the lock) a change of data that a lock (or, unless ``query``, a
    freeze) covers: the trial's, the site's, the patient's or the form record's.

    The one check of every write path: each use case that changes trial data calls it once,
    with the narrowest scope it writes (a patient's form record, a patient, a site with its
    trial); ``query`` for raising, answering and closing queries, which a freeze allows.
    """
    patient_id = None
    if patient is not None:
        trial_id, site_id, patient_id = patient.trial_id, patient.site_id, patient.id
    if trial_id is None:
        raise ValueError("require_unlocked needs a patient or a trial")
    covering = [
        DataLock.trial_id == trial_id,
        DataLock.released_at.is_(None),
        DataLock.site_id.is_(None)
        if site_id is None
        else or_(DataLock.site_id.is_(None), DataLock.site_id == site_id),
        DataLock.patient_id.is_(None)
        if patient_id is None
        else or_(DataLock.patient_id.is_(None), DataLock.patient_id == patient_id),
        DataLock.form.is_(None)
        if form is None
        else or_(
            DataLock.form.is_(None), and_(DataLock.form == form, DataLock.record_key == record_key)
        ),
    ]
    if query:
        covering.append(DataLock.level == Level.LOCK.value)
    row = session.scalars(
        select(DataLock).where(*covering).order_by(DataLock.level.desc(), DataLock.id).limit(1)
    ).first()  # a lock ("lock" > "freeze") before a freeze, the oldest first
    if row is not None:
        raise _refusal(row, query)


_PATIENTS = table(
    "patients",  # the screening slice's table, read here by name (it sits above trials)
    column("id"),
    column("trial_id"),
    column("site_id"),
)
_RECORDS = table(
    "capture_records",  # the capture slice's table, read here by name (it sits above trials)
    column("patient_id"),
    column("form"),
    column("record_key"),
)


def _manager_grant(actor: Principal, trial_id: int | None) -> Grant:
    """The grant of a data manager (freezes, locks) or else of an administrator (unlocks)."""
    try:
        return authorize(actor, Action.FREEZE_DATA, trial_id=trial_id)
    except PermissionDenied:
        return authorize(actor, Action.UNLOCK_DATA, trial_id=trial_id)


def _reason(reason: str | None, what: str) -> str:
    if not (reason and reason.strip()):
        raise InputError(f"say why you {what} in 'reason'", location="reason")
    return reason.strip()


def set_lock(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    level: Level,
    reason: str | None,
    site_id: int | None = None,
    patient_id: int | None = None,
    form: str | None = None,
    record_key: str | None = None,
    anchoring: Anchoring | None = None,
) -> LockView:
    """Freeze or lock the trial (no site, patient or record named), a site, a patient or one
    form record (``form`` and ``record_key`` of ``patient_id``); audited.

    A lock signs the audit chain's head with the operator's key when anchoring is set up.
    """
    trial = session.get(Trial, trial_id)
    if trial is None:
        authorize(actor, Action.FREEZE_DATA, trial_id=None)
        raise NotFoundError(f"trial {trial_id} not found")
    grant = authorize(actor, Action.FREEZE_DATA, trial_id=trial.id)
    text = _reason(reason, f"{level.value} these data")
    if (form is None) != (record_key is None):
        raise InputError("a form record is named by both 'form' and 'record_key'", location="form")
    if form is not None and patient_id is None:
        raise InputError("name the patient whose form record to lock", location="patient_id")
    if patient_id is not None:
        patient = session.execute(
            select(_PATIENTS.c.site_id).where(
                _PATIENTS.c.id == patient_id, _PATIENTS.c.trial_id == trial.id
            )
        ).first()
        if patient is None:
            raise NotFoundError(f"patient {patient_id} not found in {trial.acronym}")
        if site_id is not None and site_id != patient.site_id:
            raise InputError(
                f"patient {patient_id} is not at site {site_id}; leave 'site_id' out",
                location="site_id",
            )
        site_id = patient.site_id
    elif site_id is not None:
        site = session.get(Site, site_id)
        if site is None or site.trial_id != trial.id:
            raise NotFoundError(f"site {site_id} not found in {trial.acronym}")
    if form in (SCREENING_FORM, CONSENT_FORM) and record_key != form:
        raise InputError(f"the {form} record's key is {form!r}", location="record_key")
    if form is not None and form not in (SCREENING_FORM, CONSENT_FORM):
        stored = session.execute(
            select(_RECORDS.c.record_key)
            .where(
                _RECORDS.c.patient_id == patient_id,
                _RECORDS.c.form == form,
                _RECORDS.c.record_key == record_key,
            )
            .limit(1)
        ).first()
        if stored is None:
            raise NotFoundError(
                f"patient {patient_id} has no {form} record {record_key!r}", location="record_key"
            )
    same = session.scalars(
        select(DataLock).where(
            DataLock.trial_id == trial.id,
            DataLock.released_at.is_(None),
            DataLock.level == level.value,
            DataLock.site_id.is_(None) if site_id is None else DataLock.site_id == site_id,
            DataLock.patient_id.is_(None)
            if patient_id is None
            else DataLock.patient_id == patient_id,
            DataLock.form.is_(None) if form is None else DataLock.form == form,
            DataLock.record_key.is_(None)
            if record_key is None
            else DataLock.record_key == record_key,
        )
    ).first()
    if same is not None:
        raise ConflictError(f"{_label(same)} is already under {level.value} {same.id}")
    row = DataLock(
        trial_id=trial.id,
        site_id=site_id,
        patient_id=patient_id,
        form=form,
        record_key=record_key,
        level=level.value,
        reason=text,
        created_at=utcnow(),
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="data_lock",
        entity_id=row.id,
        values={
            "trial_id": trial.id,
            "scope": _scope(row),
            "level": row.level,
            "site_id": site_id,
            "patient_id": patient_id,
            "form": form,
            "record_key": record_key,
        },
        reason=text,
        site_id=site_id,
    )
    if level == Level.LOCK:
        anchor_on_commit(session, anchoring, reason=f"{_label(row)} locked (lock {row.id})")
    return _view(row)


def release(
    *,
    session: Session,
    actor: Principal,
    lock_id: int,
    reason: str | None,
    anchoring: Anchoring | None = None,
) -> LockView:
    """Release a freeze (data manager or administrator) or unlock a lock (administrator only),
    with a reason; audited."""
    row = session.get(DataLock, lock_id)
    if row is None:
        _manager_grant(actor, None)
        raise NotFoundError(f"lock {lock_id} not found")
    if row.level == Level.LOCK:
        grant = authorize(actor, Action.UNLOCK_DATA, trial_id=row.trial_id)
    else:
        grant = _manager_grant(actor, row.trial_id)
    if row.released_at is not None:
        raise ConflictError(f"{row.level} {row.id} was released on {row.released_at:%Y-%m-%d}")
    what = "unlock" if row.level == Level.LOCK else "release the freeze"
    text = _reason(reason, what)
    row.released_at = utcnow()
    row.released_by = actor.user_id
    row.release_reason = text
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="unlock" if row.level == Level.LOCK else "release",
        entity="data_lock",
        entity_id=row.id,
        changes={"released_at": (None, row.released_at)},
        reason=text,
    )
    if row.level == Level.LOCK:
        anchor_on_commit(session, anchoring, reason=f"{_label(row)} unlocked (lock {row.id})")
    return _view(row)


def list_locks(
    *, session: Session, actor: Principal, trial_id: int, active: bool = True
) -> list[LockView]:
    """The trial's freezes and locks (only those in force, unless ``active`` is false)."""
    trial = session.get(Trial, trial_id)
    if trial is None:
        _manager_grant(actor, None)
        raise NotFoundError(f"trial {trial_id} not found")
    _manager_grant(actor, trial.id)
    query = select(DataLock).where(DataLock.trial_id == trial.id)
    if active:
        query = query.where(DataLock.released_at.is_(None))
    return [_view(r) for r in session.scalars(query.order_by(DataLock.id))]


def database_lock(session: Session, trial_id: int) -> LockView | None:
    """The trial's database lock in force (a lock of the whole trial), if any."""
    row = session.scalars(
        select(DataLock)
        .where(
            DataLock.trial_id == trial_id,
            DataLock.released_at.is_(None),
            DataLock.level == Level.LOCK.value,
            DataLock.site_id.is_(None),
            DataLock.patient_id.is_(None),
        )
        .order_by(DataLock.id)
        .limit(1)
    ).first()
    return None if row is None else _view(row)
