"""The demo trial: SOR in progress, seeded through the service functions (demo mode only).

:func:`seed_demo` creates the trial, sites and users, seals the lists and replays the
demo plan in date order through the same service functions a site uses.

Details and reasoning: docs/operations.md, section `trialkit.service.demo`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialkit.demodata import (
    DEMO_SITES,
    Candidate,
    Course,
    CourseRecord,
    DemoSite,
    Scenario,
    clinical_course,
    pfs_medians,
    plan_screening,
    replay,
    visible_records,
)
from trialkit.errors import ConfigError, ConflictError, InputError
from trialkit.protocol import load_protocol
from trialkit.service.capture import capture
from trialkit.service.platform import audit, notify
from trialkit.service.platform.calendar import on_calendar
from trialkit.service.platform.notify import Kind
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.people import Role, User
from trialkit.service.randomisation import allocation, randomisation, randomised, supply
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.randomisation.tables.supply import ResupplyRequest
from trialkit.service.safety.demo import seed_safety
from trialkit.service.screening import patients
from trialkit.service.screening.tables import Patient
from trialkit.service.trials import trials, users
from trialkit.service.trials.tables import Site, Trial

__all__ = [
    "DEFAULT_PATIENTS",
    "DEFAULT_SEED",
    "DEMO_SITES",
    "DEMO_USERS",
    "DemoOptions",
    "DemoSeed",
    "DemoSite",
    "DemoUser",
    "demo_cutoff",
    "seed_demo",
]

DEFAULT_SEED = 20070620
DEFAULT_PATIENTS = 240
DEMO_KITS = 4000
"""Kits sealed for the demo: every 28-day period of every patient, and the sites' stock."""


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    role: Role
    site: str | None


DEMO_USERS = (
    DemoUser(
        "investigator", "demo-investigator", "Demo Investigator (Milano)", Role.INVESTIGATOR, "IT01"
    ),
    DemoUser("pharmacist", "demo-pharmacist", "Demo Pharmacist (Milano)", Role.PHARMACIST, "IT01"),
    DemoUser(
        "investigator-de",
        "demo-investigator-de",
        "Demo Investigator (Berlin)",
        Role.INVESTIGATOR,
        "DE01",
    ),
    DemoUser(
        "pharmacist-de", "demo-pharmacist-de", "Demo Pharmacist (Berlin)", Role.PHARMACIST, "DE01"
    ),
    DemoUser("monitor", "demo-monitor", "Demo Monitor", Role.MONITOR, None),
    DemoUser("datamanager", "demo-data-manager", "Demo Data Manager", Role.DATA_MANAGER, None),
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
    DemoUser(
        "safety",
        "demo-safety-physician",
        "Demo Safety Physician (sponsor)",
        Role.SAFETY_PHYSICIAN,
        None,
    ),
)


@dataclass(frozen=True)
class DemoOptions:
    """How to draw the demo: the true effect (``alt``: the design's medians; ``null``: none, as
    the trial actually found), the seed, and how many women are screened."""

    scenario: Scenario = "alt"
    seed: int = DEFAULT_SEED
    patients: int = DEFAULT_PATIENTS

    def __post_init__(self) -> None:
        if self.scenario not in ("alt", "null"):
            raise InputError(
                f"unknown demo scenario {self.scenario!r}: use alt or null", location="scenario"
            )
        if not 1 <= self.patients <= 1000:
            raise InputError(
                f"the demo screens 1 to 1000 patients (got {self.patients})", location="patients"
            )
        if self.seed < 0:
            raise InputError(f"the seed must be >= 0 (got {self.seed})", location="seed")


@dataclass(frozen=True)
class DemoSeed:
    """What :func:`seed_demo` did (``created`` false: the demo existed and was left alone)."""

    users: tuple[DemoUser, ...]
    cutoff: dt.date | None
    created: bool
    screened: int = 0
    randomised: int = 0
    pfs_events: int | None = None
    """PFS events the recorded data show at the cut-off (the generator's count; ``None`` when
    the demo existed: derive them with ``trialkit endpoints derive``)."""


def _site_actor(session: Session, trial_id: int, site: Site, role: Role) -> Principal:
    """The site's demo user of this role (the audit trail names them), else a seeding actor."""
    user = next((u for u in DEMO_USERS if u.site == site.code and u.role == role), None)
    user_id = (
        session.scalars(select(User.id).where(User.username == user.username)).first()
        if user
        else None
    )
    return Principal(
        user_id=user_id,
        username=user.username if user and user_id else f"demo-seed-{role.value}",
        grants=(Grant(role, trial_id, site.id),),
        request_id="demo-seed",
    )


_SYSTEM = Principal.system(request_id="demo-seed")


def _trial_actor(session: Session, trial_id: int, demo_user: DemoUser) -> Principal:
    """A trial-wide demo user as the actor of seeded data (their own account)."""
    user_id = session.scalars(select(User.id).where(User.username == demo_user.username)).one()
    return Principal(
        user_id=user_id,
        username=demo_user.username,
        grants=(Grant(demo_user.role, trial_id, None),),
        request_id="demo-seed",
    )


class _Seeder:
    """Replays the plan through the service, in date order, up to the cut-off."""

    def __init__(self, session: Session, trial_id: int, options: DemoOptions) -> None:
        self.session = session
        self.trial_id = trial_id
        self.options = options
        self.protocol = trials.trial_protocol(trials.get_trial_or_raise(session, trial_id))
        self.sites = {
            s.code: trials.find_site(session, trial_id=trial_id, code=s.code) for s in DEMO_SITES
        }
        self.actors = {
            code: _site_actor(session, trial_id, site, Role.INVESTIGATOR)
            for code, site in self.sites.items()
        }
        self.pharmacists = {
            code: _site_actor(session, trial_id, site, Role.PHARMACIST)
            for code, site in self.sites.items()
        }
        self.patient_ids: dict[int, int] = {}
        self.kits: dict[int, int] = {}
        self.courses: dict[int, Course] = {}

    def restock(self, site: Site, on_date: dt.date) -> None:
        """Ship and receive the site's pending resupply request (the sponsor and the pharmacy)."""
        pending = self.session.scalars(
            select(ResupplyRequest.id).where(
                ResupplyRequest.site_id == site.id, ResupplyRequest.shipment_id.is_(None)
            )
        ).all()
        for request_id in pending:
            shipment = supply.ship_resupply(
                session=self.session, actor=_SYSTEM, request_id=request_id, today=on_date
            )
            supply.receive_shipment(
                session=self.session,
                actor=self.pharmacists[site.code],
                shipment_id=shipment.id,
                today=on_date,
            )

    def first_kits(self) -> None:
        on_date = self.protocol.dates.first_enrolment
        for site in self.sites.values():
            if site.activated_at is not None:
                with on_calendar(on_date):
                    supply.raise_resupply(
                        self.session, trial_id=self.trial_id, site=site, on_date=on_date
                    )
                    self.restock(site, on_date)

    def screen(self, candidate: Candidate) -> None:
        with on_calendar(candidate.screening.screening_date):
            self._screen(candidate)

    def _screen(self, candidate: Candidate) -> None:
        actor = self.actors[candidate.site.code]
        patient = patients.register_patient(
            session=self.session,
            actor=actor,
            site_id=self.sites[candidate.site.code].id,
            screening_number=candidate.screening_number,
        )
        self.patient_ids[candidate.index] = patient.id
        patients.record_consent(
            session=self.session,
            actor=actor,
            patient_id=patient.id,
            consent_date=candidate.screening.screening_date,
            information_sheet_version="1.0 (20 June 2007)",
            today=candidate.screening.screening_date,
        )
        patients.submit_screening_record(
            session=self.session,
            actor=actor,
            patient_id=patient.id,
            data=candidate.screening.record,
        )
        patients.evaluate_eligibility(session=self.session, actor=actor, patient_id=patient.id)

    def randomise(self, candidate: Candidate) -> Course:
        with on_calendar(candidate.screening.randomisation_date):
            return self._randomise(candidate)

    def _randomise(self, candidate: Candidate) -> Course:
        site = self.sites[candidate.site.code]
        patient_id = self.patient_ids[candidate.index]
        view = randomisation.randomise(
            session=self.session,
            actor=self.actors[candidate.site.code],
            patient_id=patient_id,
            on_date=candidate.screening.randomisation_date,
        )
        self.restock(site, candidate.screening.randomisation_date)
        assert view.kit_number is not None
        self.kits[candidate.index] = view.kit_number
        patient = self.session.get(Patient, patient_id)
        assert patient is not None
        arm = randomised.randomised_arm(session=self.session, patient=patient)  # never shown
        assert arm is not None
        medians = pfs_medians(self.protocol, self.options.scenario)
        self.courses[candidate.index] = clinical_course(
            np.random.default_rng([self.options.seed, 1, candidate.index]),
            self.protocol,
            candidate.screening,
            arm=arm,
            median_months=medians[arm],
            slow_site=candidate.site.code == "RU02",
        )
        return self.courses[candidate.index]

    def record_courses(self, candidates: dict[int, Candidate], cutoff: dt.date) -> None:
        pending = sorted(
            (
                (record.known_on, index, order, record)
                for index, course in self.courses.items()
                for order, record in enumerate(visible_records(course, cutoff))
            ),
            key=lambda item: item[:3],
        )
        for known_on, index, _, record in pending:
            with on_calendar(known_on):  # recorded on the day it became known
                self._record(candidates[index], index, record, cutoff)

    def _record(
        self, candidate: Candidate, index: int, record: CourseRecord, cutoff: dt.date
    ) -> None:
        actor = self.actors[candidate.site.code]
        patient_id = self.patient_ids[index]
        data: dict[str, Any] = dict(record.data)
        if record.dispensings:
            numbers = []
            for cycle, on_date in record.dispensings:
                if cycle == 1:  # dispensed at randomisation
                    numbers.append(self.kits[index])
                    continue
                with on_calendar(on_date):
                    numbers.append(
                        supply.dispense(
                            session=self.session,
                            actor=self.pharmacists[candidate.site.code],
                            patient_id=patient_id,
                            cycle=cycle,
                            on_date=on_date,
                        ).kit_number
                    )
                    self.restock(self.sites[candidate.site.code], on_date)
            data["kits_dispensed"] = [str(n) for n in numbers]
        capture.record_form(
            session=self.session,
            actor=actor,
            patient_id=patient_id,
            form=record.form,
            data=data,
            reason=record.reason,
            today=cutoff,  # the demo's calendar date (course records hold end dates early)
        )


_SET_UP_DAY = min(s.approval_date for s in DEMO_SITES if s.approval_date is not None)
"""The demo's trial, sites and users are set up on the first ethics approval's day."""


def _create_trial(session: Session, protocol_name: str, options: DemoOptions) -> int:
    trial_id = trials.create_trial(session=session, actor=_SYSTEM, protocol_name=protocol_name).id
    version = trials.get_trial_or_raise(session, trial_id).protocol_version
    for demo_site in DEMO_SITES:
        site = trials.add_site(
            session=session,
            actor=_SYSTEM,
            trial_id=trial_id,
            code=demo_site.code,
            name=demo_site.name,
            city=demo_site.city,
            country=demo_site.country,
            coordinating=demo_site.coordinating,
        )
        if demo_site.committee and demo_site.approval_date:
            with on_calendar(demo_site.approval_date):
                trials.record_ethics_approval(
                    session=session,
                    actor=_SYSTEM,
                    site_id=site.id,
                    committee=demo_site.committee,
                    approval_date=demo_site.approval_date,
                    protocol_version=version,
                    today=demo_site.approval_date,
                )
        if demo_site.activate:
            with on_calendar(demo_site.recruits_from or demo_site.approval_date):
                trials.activate_site(session=session, actor=_SYSTEM, site_id=site.id, reason="demo")
    allocation.seal(
        session=session,
        actor=_SYSTEM,
        trial_id=trial_id,
        kits=DEMO_KITS,
        seed=hashlib.sha256(f"trialkit demo allocation {options.seed}".encode()).digest(),
    )
    return trial_id


def _seed_data(
    session: Session, security: Security, trial_id: int, options: DemoOptions
) -> DemoSeed:
    seeder = _Seeder(session, trial_id, options)
    seeder.first_kits()
    candidates = plan_screening(
        np.random.default_rng([options.seed, 0]), seeder.protocol, patients=options.patients
    )
    done = replay(seeder.protocol, candidates, screen=seeder.screen, randomise=seeder.randomise)
    cutoff = done.cutoff
    by_index = {c.index: c for c in candidates}
    seeder.record_courses(by_index, cutoff)
    safety_user = next(u for u in DEMO_USERS if u.role == Role.SAFETY_PHYSICIAN)
    seed_safety(
        session,
        security=security,
        protocol=seeder.protocol,
        trial_id=trial_id,
        investigators={seeder.sites[c].id: a for c, a in seeder.actors.items()},
        safety_physician=_trial_actor(session, trial_id, safety_user),
        password=safety_user.password,
        cutoff=cutoff,
    )
    _settle_inboxes(session, trial_id, cutoff)
    audit.record_created(
        session,
        actor=_SYSTEM,
        grant=None,
        entity="demo_data",
        entity_id=trial_id,
        values={"cutoff": cutoff, "seed": options.seed, "patients": options.patients},
        reason="demo data drawn from a seed; the cut-off is the demo's calendar date",
    )
    return DemoSeed(
        users=DEMO_USERS,
        cutoff=cutoff,
        created=True,
        screened=len(done.screened),
        randomised=len(done.courses),
        pfs_events=done.pfs_events,
    )


INBOX_DAYS = 14
"""The demo's inboxes keep unread only the resupply requests and SAE arrivals of the last two
weeks before the cut-off: the replay's older ones (hundreds of resupply requests over two
years) were dealt with at the time, as a depot reads its requests and the safety physician
the cases. Query notifications stay unread: the replay's queries are still open."""
SETTLED_KINDS = (Kind.RESUPPLY_REQUEST.value, Kind.SAE_RECEIVED.value)


def _settle_inboxes(session: Session, trial_id: int, cutoff: dt.date) -> None:
    """Mark the replayed past's inbox entries read, a day after each was raised (demo only:
    a live trial's entries are read by their recipients, :func:`~trialkit.service.platform.
    notify.mark_read`)."""
    notify.settle_past_inboxes(
        session=session,
        trial_id=trial_id,
        kinds=SETTLED_KINDS,
        raised_before=dt.datetime.combine(
            cutoff - dt.timedelta(days=INBOX_DAYS), dt.time(), dt.UTC
        ),
        read_after=dt.timedelta(days=1),
    )


def demo_cutoff(session: Session, trial_id: int) -> dt.date | None:
    """The data cut-off of the seeded demo trial (``None`` if it holds no demo data)."""
    value = session.scalars(
        select(AuditEvent.new_value).where(
            AuditEvent.entity == "demo_data",
            AuditEvent.entity_id == str(trial_id),
            AuditEvent.field == "cutoff",
        )
    ).first()
    return None if value is None else dt.date.fromisoformat(value)


def _create_users(session: Session, security: Security, trial_id: int) -> None:
    """The demo users (and their roles) that do not exist yet."""
    for demo_user in DEMO_USERS:
        if session.scalars(select(User.id).where(User.username == demo_user.username)).first():
            continue
        user = users.create_user(
            session=session,
            security=security,
            actor=_SYSTEM,
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
            actor=_SYSTEM,
            user_id=user.id,
            trial_id=trial_id,
            role=demo_user.role,
            site_id=site_id,
            reason="demo",
        )


def seed_demo(
    *,
    session: Session,
    security: Security,
    protocol_name: str = "sor",
    options: DemoOptions | None = None,
) -> DemoSeed:
    """Create the demo trial, its data and users unless the trial exists (see the module doc)."""
    if not security.demo:
        raise ConfigError("demo data exist only in demo mode: set TRIALKIT_DEMO=1")
    options = options or DemoOptions()
    acronym = load_protocol(protocol_name).acronym
    trial = session.scalars(select(Trial).where(Trial.acronym == acronym)).one_or_none()
    if trial is None:
        with on_calendar(_SET_UP_DAY):
            trial_id = _create_trial(session, protocol_name, options)
            _create_users(session, security, trial_id)  # first: the site users record the data
        outcome = _seed_data(session, security, trial_id, options)
    else:
        trial_id = trial.id
        if demo_cutoff(session, trial_id) is None:
            raise ConflictError(
                f"trial {acronym} exists but holds no demo data: seed the demo into an empty "
                "database (set TRIALKIT_DATABASE_URL to another one)"
            )
        outcome = DemoSeed(
            users=DEMO_USERS,
            cutoff=demo_cutoff(session, trial_id),
            created=False,
            screened=session.scalar(
                select(func.count()).select_from(Patient).where(Patient.trial_id == trial_id)
            )
            or 0,
            randomised=session.scalar(
                select(func.count())
                .select_from(Randomisation)
                .where(Randomisation.trial_id == trial_id)
            )
            or 0,
        )
    with on_calendar(_SET_UP_DAY):
        _create_users(session, security, trial_id)
    return outcome
