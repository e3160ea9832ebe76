"""Trials and sites: listing, adding sites, ethics approvals and activation."""

from __future__ import annotations

from fastapi import APIRouter, status

from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.api.schemas import ActivationBody, EthicsApprovalCreate, SiteCreate
from trialkit.service.platform.policy import Action
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.trials import trials

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["trials and sites"])


@router.get("/trials", dependencies=[requires(Action.VIEW_TRIAL)], response_model=list[TrialView])
def list_trials(session: DbSession, actor: CurrentPrincipal, today: Today) -> list[TrialView]:
    return trials.list_trials(session=session, actor=actor, today=today)


@router.get(
    "/trials/{trial_id}", dependencies=[requires(Action.VIEW_TRIAL)], response_model=TrialView
)
def get_trial(trial_id: Id, session: DbSession, actor: CurrentPrincipal, today: Today) -> TrialView:
    return trials.get_trial(session=session, actor=actor, trial_id=trial_id, today=today)


@router.get(
    "/trials/{trial_id}/sites",
    dependencies=[requires(Action.VIEW_TRIAL)],
    response_model=list[SiteView],
)
def list_sites(trial_id: Id, session: DbSession, actor: CurrentPrincipal) -> list[SiteView]:
    return trials.list_sites(session=session, actor=actor, trial_id=trial_id)


@router.post(
    "/trials/{trial_id}/sites",
    dependencies=[requires(Action.MANAGE_TRIAL)],
    response_model=SiteView,
    status_code=status.HTTP_201_CREATED,
)
def add_site(
    trial_id: Id, body: SiteCreate, session: DbSession, actor: CurrentPrincipal
) -> SiteView:
    return trials.add_site(
        session=session,
        actor=actor,
        trial_id=trial_id,
        code=body.code,
        name=body.name,
        city=body.city,
        country=body.country,
        coordinating=body.coordinating,
    )


@router.get("/sites/{site_id}", dependencies=[requires(Action.VIEW_TRIAL)], response_model=SiteView)
def get_site(site_id: Id, session: DbSession, actor: CurrentPrincipal) -> SiteView:
    return trials.get_site(session=session, actor=actor, site_id=site_id)


@router.post(
    "/sites/{site_id}/ethics-approvals",
    dependencies=[requires(Action.MANAGE_TRIAL)],
    response_model=SiteView,
    status_code=status.HTTP_201_CREATED,
)
def record_ethics_approval(
    site_id: Id,
    body: EthicsApprovalCreate,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
) -> SiteView:
    return trials.record_ethics_approval(
        session=session,
        actor=actor,
        site_id=site_id,
        committee=body.committee,
        approval_date=body.approval_date,
        protocol_version=body.protocol_version,
        today=today,
    )


@router.post(
    "/sites/{site_id}/activation",
    dependencies=[requires(Action.MANAGE_TRIAL)],
    response_model=SiteView,
)
def activate_site(
    site_id: Id, body: ActivationBody, session: DbSession, actor: CurrentPrincipal
) -> SiteView:
    """The sponsor's activation: the site recruits from now on."""
    return trials.activate_site(session=session, actor=actor, site_id=site_id, reason=body.reason)
