"""Freezes and locks of a trial's data: set (data manager), list, release or unlock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from trialkit.service.platform.anchors import Anchoring
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import IdField, Reason
from trialkit.service.platform.policy import Action
from trialkit.service.trials import locks
from trialkit.service.trials.locks import Level, LockView

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["freeze and lock"])

_Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class LockCreate(BaseModel):
    """What to freeze or lock: nothing named is the whole trial (the database lock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    reason: Reason
    site_id: IdField | None = None
    patient_id: IdField | None = None
    form: _Key | None = None
    record_key: _Key | None = None


class LockRelease(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Reason


def _anchoring(request: Request) -> Anchoring | None:
    anchoring: Anchoring | None = getattr(request.app.state, "anchoring", None)
    return anchoring


AnchoringDep = Annotated[Anchoring | None, Depends(_anchoring)]


@router.get(
    "/trials/{trial_id}/locks",
    dependencies=[requires()],
    response_model=list[LockView],
)
def list_locks(
    trial_id: Id, session: DbSession, actor: CurrentPrincipal, released: bool = False
) -> list[LockView]:
    """The trial's freezes and locks in force (with ?released=true, released ones too);
    data managers and administrators."""
    return locks.list_locks(session=session, actor=actor, trial_id=trial_id, active=not released)


@router.post(
    "/trials/{trial_id}/locks",
    dependencies=[requires(Action.FREEZE_DATA)],
    response_model=LockView,
    status_code=status.HTTP_201_CREATED,
)
def set_lock(
    trial_id: Id,
    body: LockCreate,
    session: DbSession,
    actor: CurrentPrincipal,
    anchoring: AnchoringDep,
) -> LockView:
    """Freeze or lock the trial, a site, a patient or one form record, with a reason."""
    return locks.set_lock(
        session=session,
        actor=actor,
        trial_id=trial_id,
        level=body.level,
        reason=body.reason,
        site_id=body.site_id,
        patient_id=body.patient_id,
        form=body.form,
        record_key=body.record_key,
        anchoring=anchoring,
    )


@router.post(
    "/locks/{lock_id}/release",
    dependencies=[requires()],
    response_model=LockView,
)
def release(
    lock_id: Id,
    body: LockRelease,
    session: DbSession,
    actor: CurrentPrincipal,
    anchoring: AnchoringDep,
) -> LockView:
    """Release a freeze (data manager) or unlock a lock (administrator), with a reason."""
    return locks.release(
        session=session, actor=actor, lock_id=lock_id, reason=body.reason, anchoring=anchoring
    )
