"""Trials, sites and site activation: a site recruits only once approved and activated.

A site recruits when (1) its ethics committee has approved the trial's current
protocol version and (2) the sponsor (an administrator) has activated it.
Enrolment is open between the protocol's first and final enrolment dates
(:func:`enrolment_open`) and below the protocol's cap; :func:`enrolment_state` is the one
state every page, the API and randomisation read.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Protocol as TypingProtocol

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import Session

from trialkit.errors import (
    ConflictError,
    InactiveSiteError,
    InputError,
    NotFoundError,
    ProtocolError,
)
from trialkit.protocol import Protocol, load_protocol
from trialkit.service.platform import audit
from trialkit.service.platform.calendar import calendar_date
from trialkit.service.platform.db.base import kept, utcnow
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import EnrolmentView, EthicsApprovalView, SiteView, TrialView
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.trials.tables import Country, EthicsApproval, Site, Trial

__all__ = [
    "activate_site",
    "add_site",
    "create_trial",
    "enrolment_open",
    "enrolment_state",
    "get_site",
    "get_trial",
    "list_sites",
    "list_trials",
    "lock_enrolment",
    "record_ethics_approval",
    "require_enrolment_open",
    "require_recruiting",
    "require_supported_allocation",
    "trial_protocol",
]


class _EnrolmentPeriod(TypingProtocol):
    @property
    def first_enrolment(self) -> dt.date: ...

    @property
    def final_enrolment(self) -> dt.date: ...


def enrolment_open(trial: _EnrolmentPeriod, on_date: dt.date) -> bool:
    """Whether the trial enrols on ``on_date`` (first and final enrolment dates included)."""
    return trial.first_enrolment <= on_date <= trial.final_enrolment


def _randomised_count(session: Session, trial_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Randomisation)
            .where(Randomisation.trial_id == trial_id)
        )
        or 0
    )


def enrolment_state(session: Session, trial: Trial, on_date: dt.date) -> EnrolmentView:
    """The trial's one enrolment state on ``on_date``, for every page, the API and randomise.

    ``closed``: outside the enrolment period; ``open``: below the target; ``target_reached``:
    at or past the protocol's ``enrolment.target`` and below its ``cap`` (randomisation goes
    on, with a warning); ``closed_at_cap``: the cap is reached. Counts every randomisation of
    the trial (no arm, no site).
    """
    spec = trial_protocol(trial).enrolment
    target, cap = (spec.target, spec.cap) if spec is not None else (None, None)
    randomised = _randomised_count(session, trial.id)
    period = f"from {trial.first_enrolment} to {trial.final_enrolment}"
    warning = None
    if not enrolment_open(trial, on_date):
        status, may = "closed", False
        message = f"enrolment in {trial.acronym} is closed on {on_date}: it is open {period}"
    elif cap is not None and randomised >= cap:
        status, may = "closed_at_cap", False
        message = (
            f"enrolment in {trial.acronym} is closed: {randomised} patients are randomised, the "
            f"protocol's cap of {cap} (target {target}) is reached"
        )
    elif target is not None and randomised >= target:
        status, may = "target_reached", True
        message = warning = (
            f"{trial.acronym} has reached its target of {target} randomised patients "
            f"({randomised} randomised): a further patient is randomised over the target, up "
            f"to the protocol's cap of {cap}"
        )
    else:
        status, may = "open", True
        message = f"enrolment in {trial.acronym} is open ({period})"
        if target is not None:
            message += f": {randomised} of {target} patients randomised"
    return EnrolmentView(
        status=status,
        may_randomise=may,
        randomised=randomised,
        target=target,
        cap=cap,
        on_date=on_date,
        message=message,
        warning=warning,
    )


TRIAL_ENROLMENT_LOCK = 0x454E_524C  # "ENRL": the class of PostgreSQL advisory lock keyed by trial
"""The first key of a trial's enrolment lock (:func:`lock_enrolment`); the second is its id."""
_LOCK_ENROLMENT = select(
    func.pg_advisory_xact_lock(
        bindparam("lock_class", type_=Integer), bindparam("lock_trial", type_=Integer)
    )
)


def lock_enrolment(session: Session, trial: Trial) -> None:
    """Take the trial's enrolment lock until the transaction ends, when its protocol caps
    enrolment: randomisations in different strata then count the trial's randomised patients
    one after the other, and two cannot both take the last place under the cap.

    PostgreSQL: a transaction-scoped advisory lock on (:data:`TRIAL_ENROLMENT_LOCK`, trial id),
    not ``FOR UPDATE`` on the trials row, which every insert naming the trial checks with
    ``FOR KEY SHARE``. SQLite: nothing to take (``BEGIN IMMEDIATE`` serialises writers).
    Taken by randomise before any other lock of its own (see the lock order in
    docs/architecture.md).
    """
    spec = trial_protocol(trial).enrolment
    if spec is None or spec.cap is None:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _LOCK_ENROLMENT, {"lock_class": TRIAL_ENROLMENT_LOCK, "lock_trial": trial.id}
        )


def require_enrolment_open(session: Session, trial: Trial, on_date: dt.date) -> EnrolmentView:
    """Refuse (randomisation) unless :func:`enrolment_state` allows it; the state otherwise."""
    state = enrolment_state(session, trial, on_date)
    if not state.may_randomise:
        raise ConflictError(state.message)
    return state


@lru_cache(maxsize=16)
def _load(name: str) -> Protocol:
    return load_protocol(name)


def trial_protocol(trial: Trial) -> Protocol:
    """The trial's protocol (loaded once per process); it must be the version the trial runs."""
    protocol = _load(trial.protocol_name)
    if protocol.version != trial.protocol_version:
        raise ConflictError(
            f"{trial.acronym} runs protocol version {trial.protocol_version!r} but "
            f"{trial.protocol_name!r} is now version {protocol.version!r}: record the amendment"
        )
    return protocol


_SUPPORTED_ALLOCATION = "permuted_blocks"
"""The one allocation method the service seals and randomises from (stratified permuted blocks)."""


def require_supported_allocation(protocol: Protocol, *, source: str) -> None:
    """Refuse a protocol whose ``allocation.method`` the service cannot run yet.

    The core has Pocock-Simon minimisation (:mod:`trialkit.randomisation.minimisation`), but
    the service seals and takes permuted-block lists only, so a protocol asking for
    minimisation would be run, silently, as a block list. Checked when a trial is added and
    when its lists are sealed.
    """
    method = protocol.allocation.method
    if method != _SUPPORTED_ALLOCATION:
        raise ProtocolError(
            f"protocol {source!r} asks for allocation.method {method}, which the trial service "
            f"does not run yet (it seals and randomises from {_SUPPORTED_ALLOCATION} lists only, "
            f"and would run this trial as one without saying so): set allocation.method to "
            f"{_SUPPORTED_ALLOCATION}, or wait for a release that implements {method}",
            location="allocation.method",
        )


def _trial_view(session: Session, trial: Trial, today: dt.date | None = None) -> TrialView:
    codes = session.scalars(
        select(Country.code).where(Country.trial_id == trial.id).order_by(Country.code)
    ).all()
    enrolment = enrolment_state(session, trial, calendar_date(today))
    return TrialView(
        id=trial.id,
        acronym=trial.acronym,
        title=trial.title,
        protocol_version=trial.protocol_version,
        blinding=trial.blinding,
        first_enrolment=trial.first_enrolment,
        final_enrolment=trial.final_enrolment,
        enrolment_open_today=enrolment.may_randomise,
        enrolment=enrolment,
        countries=list(codes),
    )


def get_trial_or_raise(session: Session, trial_id: int) -> Trial:
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise NotFoundError(f"trial {trial_id} not found")
    return kept(session, trial)


def create_trial(*, session: Session, actor: Principal, protocol_name: str) -> TrialView:
    """Start running a trial under a (bundled or file) protocol; its countries come along."""
    grant = authorize(actor, Action.MANAGE_TRIAL, trial_id=None)
    protocol = _load(protocol_name)
    require_supported_allocation(protocol, source=protocol_name)
    if session.scalars(select(Trial.id).where(Trial.acronym == protocol.acronym)).first():
        raise ConflictError(f"trial {protocol.acronym} exists already")
    trial = Trial(
        acronym=protocol.acronym,
        protocol_name=protocol_name,
        protocol_version=protocol.version,
        title=protocol.title,
        blinding=protocol.allocation.blinding,
        first_enrolment=protocol.dates.first_enrolment,
        final_enrolment=protocol.dates.final_enrolment,
        created_at=utcnow(),
    )
    session.add(trial)
    session.flush()
    session.add_all(
        Country(trial_id=trial.id, code=c.code, name=c.name) for c in protocol.countries
    )
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="trial",
        entity_id=trial.id,
        values={
            "acronym": trial.acronym,
            "protocol_name": protocol_name,
            "protocol_version": trial.protocol_version,
            "first_enrolment": trial.first_enrolment,
            "final_enrolment": trial.final_enrolment,
            "countries": [c.code for c in protocol.countries],
        },
    )
    return _trial_view(session, trial)


def find_trial(session: Session, acronym: str) -> Trial:
    trial = session.scalars(select(Trial).where(Trial.acronym == acronym)).one_or_none()
    if trial is None:
        raise NotFoundError(f"no trial {acronym!r}: create it with 'trialkit trials add'")
    return trial


def list_trials(
    *, session: Session, actor: Principal, today: dt.date | None = None
) -> list[TrialView]:
    """The trials the actor belongs to; ``today``: the calendar date (default: UTC today)."""
    trials = session.scalars(select(Trial).order_by(Trial.id)).all()
    return [_trial_view(session, t, today) for t in trials if _member(actor, t.id)]


def _member(actor: Principal, trial_id: int) -> bool:
    return any(g.trial_id is None or g.trial_id == trial_id for g in actor.grants)


def _view_or_absent(actor: Principal, trial_id: int, absent: str) -> None:
    """Every role may view its own trial; another trial reads as absent."""
    if not _member(actor, trial_id):
        raise NotFoundError(absent)
    authorize(actor, Action.VIEW_TRIAL, trial_id=trial_id)


def get_trial(
    *, session: Session, actor: Principal, trial_id: int, today: dt.date | None = None
) -> TrialView:
    trial = get_trial_or_raise(session, trial_id)
    _view_or_absent(actor, trial.id, f"trial {trial_id} not found")
    return _trial_view(session, trial, today)


def _recruiting(trial: Trial, site: Site, approvals: list[EthicsApproval]) -> str | None:
    """Why the site may not recruit, or ``None`` when it may."""
    approved = any(a.protocol_version == trial.protocol_version for a in approvals)
    return _why_not_recruiting(trial, site, approved=approved)


def _why_not_recruiting(trial: Trial, site: Site, *, approved: bool) -> str | None:
    if not approved:
        return (
            f"site {site.code} has no ethics approval of protocol version "
            f"{trial.protocol_version!r} recorded"
        )
    if site.activated_at is None:
        return f"site {site.code} is approved but not yet activated by the sponsor"
    return None


def _approvals(session: Session, site_id: int) -> list[EthicsApproval]:
    return list(
        session.scalars(
            select(EthicsApproval)
            .where(EthicsApproval.site_id == site_id)
            .order_by(EthicsApproval.id)
        )
    )


def site_view(session: Session, site: Site) -> SiteView:
    country = session.get(Country, site.country_id)
    return _site_view(
        get_trial_or_raise(session, site.trial_id),
        site,
        country.code if country else "",
        _approvals(session, site.id),
    )


def _site_view(trial: Trial, site: Site, country: str, approvals: list[EthicsApproval]) -> SiteView:
    why_not = _recruiting(trial, site, approvals)
    return SiteView(
        id=site.id,
        trial_id=site.trial_id,
        code=site.code,
        name=site.name,
        city=site.city,
        country=country,
        coordinating=site.coordinating,
        activated_at=site.activated_at,
        recruiting=why_not is None,
        not_recruiting_because=why_not,
        ethics_approvals=[
            EthicsApprovalView(
                id=a.id,
                committee=a.committee,
                approval_date=a.approval_date,
                protocol_version=a.protocol_version,
                recorded_at=a.recorded_at,
            )
            for a in approvals
        ],
    )


def get_site_or_raise(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"site {site_id} not found")
    kept(session, site)
    return site


def find_site(session: Session, *, trial_id: int, code: str) -> Site:
    site = session.scalars(
        select(Site).where(Site.trial_id == trial_id, Site.code == code)
    ).one_or_none()
    if site is None:
        raise NotFoundError(f"no site {code!r} in this trial: add it with 'trialkit sites add'")
    return site


def require_recruiting(session: Session, site: Site, *, approved: bool | None = None) -> None:
    """Refuse work that needs a recruiting site (screening, randomisation), with the reason.

    ``approved``: whether the site holds an ethics approval of the trial's protocol version,
    if the caller read it already
    (:func:`~trialkit.service.platform.policy.patient_with_site_or_absent`).
    """
    trial = get_trial_or_raise(session, site.trial_id)
    if approved is None:
        found = session.scalar(  # one indexed probe, not the site's approvals as entities
            select(EthicsApproval.id)
            .where(
                EthicsApproval.site_id == site.id,
                EthicsApproval.protocol_version == trial.protocol_version,
            )
            .limit(1)
        )
        approved = found is not None
    why_not = _why_not_recruiting(trial, site, approved=approved)
    if why_not is not None:
        raise InactiveSiteError(why_not)


def add_site(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    code: str,
    name: str,
    city: str,
    country: str,
    coordinating: bool = False,
) -> SiteView:
    """Add a centre to a trial (it recruits after its ethics approval and activation)."""
    trial = get_trial_or_raise(session, trial_id)
    grant = authorize(actor, Action.MANAGE_TRIAL, trial_id=trial.id)
    country_row = session.scalars(
        select(Country).where(Country.trial_id == trial.id, Country.code == country)
    ).one_or_none()
    if country_row is None:
        codes = session.scalars(select(Country.code).where(Country.trial_id == trial.id)).all()
        raise InputError(
            f"{trial.acronym} recruits in {', '.join(sorted(codes))}, not {country!r}",
            location="country",
        )
    if session.scalars(select(Site.id).where(Site.trial_id == trial.id, Site.code == code)).first():
        raise ConflictError(f"site {code!r} exists already in {trial.acronym}", location="code")
    if (
        coordinating
        and session.scalars(
            select(Site.id).where(Site.trial_id == trial.id, Site.coordinating.is_(True))
        ).first()
    ):
        raise ConflictError(
            f"{trial.acronym} has a coordinating centre already", location="coordinating"
        )
    site = Site(
        trial_id=trial.id,
        country_id=country_row.id,
        code=code,
        name=name,
        city=city,
        coordinating=coordinating,
        created_at=utcnow(),
    )
    session.add(site)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="site",
        entity_id=site.id,
        values={
            "code": code,
            "name": name,
            "city": city,
            "country": country,
            "coordinating": coordinating,
        },
        site_id=site.id,
    )
    return site_view(session, site)


def record_ethics_approval(
    *,
    session: Session,
    actor: Principal,
    site_id: int,
    committee: str,
    approval_date: dt.date,
    protocol_version: str,
    today: dt.date | None = None,
) -> SiteView:
    """Record an ethics committee's approval of a protocol version for a site.

    ``today``: the trial's calendar date (``Clock.today()``; default: UTC today); an
    approval date after it is refused.
    """
    site = get_site_or_raise(session, site_id)
    grant = authorize(actor, Action.MANAGE_TRIAL, trial_id=site.trial_id)
    if approval_date > calendar_date(today):
        raise InputError("an approval date cannot lie in the future", location="approval_date")
    approval = EthicsApproval(
        site_id=site.id,
        committee=committee,
        approval_date=approval_date,
        protocol_version=protocol_version,
        recorded_at=utcnow(),
        recorded_by=actor.user_id,
    )
    session.add(approval)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="ethics_approval",
        entity_id=approval.id,
        values={
            "site_id": site.id,
            "committee": committee,
            "approval_date": approval_date,
            "protocol_version": protocol_version,
        },
        site_id=site.id,
    )
    return site_view(session, site)


def activate_site(
    *, session: Session, actor: Principal, site_id: int, reason: str | None = None
) -> SiteView:
    """The sponsor's activation of a site; refused without an approval of the current protocol."""
    site = get_site_or_raise(session, site_id)
    grant = authorize(actor, Action.MANAGE_TRIAL, trial_id=site.trial_id)
    trial = get_trial_or_raise(session, site.trial_id)
    if site.activated_at is not None:
        raise ConflictError(
            f"site {site.code} was activated already on {site.activated_at:%Y-%m-%d}"
        )
    if not any(a.protocol_version == trial.protocol_version for a in _approvals(session, site.id)):
        raise ConflictError(
            f"site {site.code} cannot be activated: record its ethics committee's approval of "
            f"protocol version {trial.protocol_version!r} first"
        )
    site.activated_at, site.activated_by = utcnow(), actor.user_id
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="update",
        entity="site",
        entity_id=site.id,
        changes={"activated_at": (None, site.activated_at)},
        reason=reason,
    )
    return site_view(session, site)


def list_sites(*, session: Session, actor: Principal, trial_id: int) -> list[SiteView]:
    trial = get_trial_or_raise(session, trial_id)
    _view_or_absent(actor, trial.id, f"trial {trial_id} not found")
    rows = session.execute(
        select(Site, Country.code)
        .outerjoin(Country, Country.id == Site.country_id)
        .where(Site.trial_id == trial.id)
        .order_by(Site.id)
    ).all()
    approvals: dict[int, list[EthicsApproval]] = {}
    for approval in session.scalars(
        select(EthicsApproval)
        .join(Site, Site.id == EthicsApproval.site_id)
        .where(Site.trial_id == trial.id)
        .order_by(EthicsApproval.id)
    ):
        approvals.setdefault(approval.site_id, []).append(approval)
    return [
        _site_view(trial, site, country or "", approvals.get(site.id, [])) for site, country in rows
    ]


def get_site(*, session: Session, actor: Principal, site_id: int) -> SiteView:
    site = get_site_or_raise(session, site_id)
    _view_or_absent(actor, site.trial_id, f"site {site_id} not found")
    return site_view(session, site)
