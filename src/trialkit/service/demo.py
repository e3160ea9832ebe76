"""The demo trial: SOR with a site in each country and one user per role (demo mode only).

The allocation and kit lists are sealed, and the recruiting sites receive their first kits.

Demo users are marked as such and cannot log in outside demo mode, so these
published passwords are harmless on a real deployment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.errors import ConfigError
from trialkit.protocol import load_protocol
from trialkit.service import allocation, supply, trials, users
from trialkit.service.principal import Grant, Principal
from trialkit.service.security import Security
from trialkit.store.people import Role, User
from trialkit.store.trials import Trial

__all__ = ["DEMO_SITES", "DEMO_USERS", "DemoSite", "DemoUser", "seed_demo"]


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    city: str
    country: str
    coordinating: bool = False
    committee: str | None = None
    approval_date: dt.date | None = None
    activate: bool = False


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    role: Role
    site: str | None


DEMO_SITES = (
    DemoSite(
        "IT01",
        "Fondazione IRCC Istituto Nazionale Tumori di Milano",
        "Milano",
        "IT",
        coordinating=True,
        committee="Independent Ethics Committee of the Istituto Nazionale Tumori of Milano",
        approval_date=dt.date(2007, 6, 20),
        activate=True,
    ),
    # the registry names only the coordinating centre; these are demo placeholders
    DemoSite(
        "DE01",
        "Demo centre Germany",
        "Berlin",
        "DE",
        committee="Demo ethics committee (Germany)",
        approval_date=dt.date(2007, 9, 12),
        activate=True,
    ),
    DemoSite(
        "PL01",
        "Demo centre Poland",
        "Warszawa",
        "PL",
        committee="Demo ethics committee (Poland)",
        approval_date=dt.date(2007, 10, 3),
    ),
    DemoSite("RU01", "Demo centre Russian Federation", "Moskva", "RU"),
)

DEMO_USERS = (
    DemoUser(
        "investigator", "demo-investigator", "Demo Investigator (Milano)", Role.INVESTIGATOR, "IT01"
    ),
    DemoUser("pharmacist", "demo-pharmacist", "Demo Pharmacist (Milano)", Role.PHARMACIST, "IT01"),
    DemoUser("monitor", "demo-monitor", "Demo Monitor", Role.MONITOR, None),
    DemoUser(
        "statistician", "demo-statistician", "Demo Statistician (blinded)", Role.STATISTICIAN, None
    ),
    DemoUser(
        "unblinded",
        "demo-unblinded-statistician",
        "Demo Unblinded Statistician",
        Role.UNBLINDED_STATISTICIAN,
        None,
    ),
    DemoUser("dsmb", "demo-dsmb-member", "Demo DSMB Member", Role.DSMB_MEMBER, None),
    DemoUser("admin", "demo-administrator", "Demo Administrator", Role.ADMINISTRATOR, None),
)


def seed_demo(
    *, session: Session, security: Security, protocol_name: str = "sor"
) -> list[DemoUser]:
    """Create the demo trial, sites and users unless they exist; returns the demo users."""
    if not security.demo:
        raise ConfigError("demo data exist only in demo mode: set TRIALKIT_DEMO=1")
    actor = Principal.system(request_id="demo-seed")
    acronym = load_protocol(protocol_name).acronym
    trial = session.scalars(select(Trial).where(Trial.acronym == acronym)).one_or_none()
    if trial is None:
        trial_id = trials.create_trial(session=session, actor=actor, protocol_name=protocol_name).id
        version = trials.get_trial_or_raise(session, trial_id).protocol_version
        for demo_site in DEMO_SITES:
            site = trials.add_site(
                session=session,
                actor=actor,
                trial_id=trial_id,
                code=demo_site.code,
                name=demo_site.name,
                city=demo_site.city,
                country=demo_site.country,
                coordinating=demo_site.coordinating,
            )
            if demo_site.committee and demo_site.approval_date:
                trials.record_ethics_approval(
                    session=session,
                    actor=actor,
                    site_id=site.id,
                    committee=demo_site.committee,
                    approval_date=demo_site.approval_date,
                    protocol_version=version,
                )
            if demo_site.activate:
                trials.activate_site(session=session, actor=actor, site_id=site.id, reason="demo")
        allocation.seal(session=session, actor=actor, trial_id=trial_id)
        on_date = trials.get_trial_or_raise(session, trial_id).first_enrolment
        for demo_site in DEMO_SITES:
            if demo_site.activate:  # first kits to the recruiting sites (received on arrival)
                row = trials.find_site(session, trial_id=trial_id, code=demo_site.code)
                request = supply.raise_resupply(
                    session, trial_id=trial_id, site=row, on_date=on_date
                )
                if request is not None:
                    shipment = supply.ship_resupply(
                        session=session, actor=actor, request_id=request.id
                    )
                    receiver = Principal(
                        user_id=None,
                        username="demo-seed",
                        grants=(Grant(Role.PHARMACIST, trial_id, row.id),),
                        request_id="demo-seed",
                    )
                    supply.receive_shipment(
                        session=session, actor=receiver, shipment_id=shipment.id
                    )
    else:
        trial_id = trial.id
    for demo_user in DEMO_USERS:
        if session.scalars(select(User.id).where(User.username == demo_user.username)).first():
            continue
        user = users.create_user(
            session=session,
            security=security,
            actor=actor,
            username=demo_user.username,
            full_name=demo_user.full_name,
            password=demo_user.password,
            is_demo=True,
        )
        site_id = (
            trials.find_site(session, trial_id=trial_id, code=demo_user.site).id
            if demo_user.site
            else None
        )
        users.grant_role(
            session=session,
            actor=actor,
            user_id=user.id,
            trial_id=trial_id,
            role=demo_user.role,
            site_id=site_id,
            reason="demo",
        )
    return list(DEMO_USERS)
