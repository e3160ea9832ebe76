"""Who may do what: roles, actions, site scope and blinding, decided here for every use case.

A site role (investigator, pharmacist) acts at its own site only; a monitor acts
at the sites assigned to them, or at all sites when assigned trial-wide; the
other roles are trial-wide. Another site's patients read as absent
(:class:`~trialkit.errors.NotFoundError`), so an identifier reveals nothing.
Blinded roles never see an arm: responses are built through :func:`can_see_arm`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, PermissionDenied
from trialkit.service.platform.db.base import kept
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.people import Role
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import EthicsApproval, Site, Trial

__all__ = [
    "PERMISSIONS",
    "SITE_ROLES",
    "TRIAL_WIDE_ROLES",
    "UNBLINDED_ROLES",
    "Action",
    "Role",
    "authorize",
    "authorize_trial_wide",
    "can_see_arm",
    "patient_or_absent",
]


class Action(StrEnum):
    VIEW_TRIAL = "view the trial and its sites"
    MANAGE_TRIAL = "manage trials, sites and ethics approvals"
    MANAGE_USERS = "manage users and roles"
    VIEW_PATIENTS = "view patients"
    EDIT_PATIENTS = "register and screen patients"
    VIEW_SCREENING = "view screening records, eligibility and consent"
    VIEW_AUDIT = "read the audit trail"
    VIEW_CLINICAL = "view clinical data, its schedule and its queries"
    EDIT_CLINICAL = "record clinical data and answer queries"
    REVIEW_QUERIES = "raise and close data queries"
    SIGN_CASEBOOK = "sign patients' casebooks, visits and forms electronically"
    VERIFY_SOURCE = "verify data against source and report monitoring visits"
    RUN_EDIT_CHECKS = "run the edit checks"
    EXPORT_DATA = "derive analysis datasets and export the trial's data"
    RANDOMISE = "randomise patients"
    VIEW_RANDOMISATION = "view randomisations (blinded unless the role sees arms)"
    EMERGENCY_UNBLIND = "unblind one of their own patients in an emergency"
    HANDLE_KITS = "receive shipments and dispense kits"
    VIEW_SUPPLY = "view site inventories, shipments and resupply requests"
    MANAGE_SUPPLY = "seal the allocation and kit lists and ship kits from the depot"
    VIEW_ENROLMENT = "view blinded enrolment reports"
    VIEW_ARMS = "view arm balance and other unblinded reports"
    AUDIT_ALLOCATION = (
        "audit the allocation list (every slot in order with its arm, used or not); "
        "only unblinded roles may, since it shows every patient's arm"
    )
    VIEW_FORECAST = "view blinded event forecasts and pooled event counts"
    RUN_SIMULATIONS = "run simulations of the trial's design"
    VIEW_REPORTS = "view the trial report (blinded unless the role sees arms)"
    FREEZE_DATA = (
        "freeze and lock a form record, a patient, a site or the trial's database, "
        "and release a freeze"
    )
    UNLOCK_DATA = "unlock locked data, with a reason"
    MAKE_DATA_CUT = "make a signed data cut package (its report blinded unless the role sees arms)"
    REPORT_SAE = "report serious adverse events of their site's patients, and follow-ups"
    VIEW_SAES = "view serious adverse events and when their reports are due (blinded)"
    REVIEW_SAFETY = (
        "review serious adverse events (causality, expectedness), decide SUSARs and export cases"
    )
    UNBLIND_SUSAR = (
        "unblind one suspected unexpected serious adverse reaction (the arm shown to the "
        "safety role only)"
    )


_UNBLINDED = frozenset(
    {
        Action.VIEW_TRIAL,
        Action.VIEW_PATIENTS,
        Action.VIEW_SCREENING,
        Action.VIEW_RANDOMISATION,
        Action.VIEW_ENROLMENT,
        Action.VIEW_ARMS,
        Action.AUDIT_ALLOCATION,
        Action.VIEW_CLINICAL,
        Action.EXPORT_DATA,
        Action.VIEW_FORECAST,
        Action.RUN_SIMULATIONS,
        Action.VIEW_REPORTS,
    }
)
_DATA_MANAGER = frozenset(
    {
        Action.VIEW_TRIAL,
        Action.VIEW_PATIENTS,
        Action.VIEW_SCREENING,
        Action.VIEW_CLINICAL,
        Action.REVIEW_QUERIES,
        Action.RUN_EDIT_CHECKS,
        Action.VIEW_RANDOMISATION,  # blinded: a data manager never holds VIEW_ARMS
        Action.VIEW_ENROLMENT,
        Action.VIEW_FORECAST,
        Action.VIEW_REPORTS,
        Action.EXPORT_DATA,
        Action.FREEZE_DATA,
        Action.MAKE_DATA_CUT,
    }
)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.INVESTIGATOR: frozenset(
        {
            Action.VIEW_TRIAL,
            Action.VIEW_PATIENTS,
            Action.EDIT_PATIENTS,
            Action.VIEW_SCREENING,
            Action.VIEW_CLINICAL,
            Action.EDIT_CLINICAL,
            Action.SIGN_CASEBOOK,
            Action.RUN_EDIT_CHECKS,
            Action.RANDOMISE,
            Action.VIEW_RANDOMISATION,
            Action.EMERGENCY_UNBLIND,
            Action.REPORT_SAE,
            Action.VIEW_SAES,
        }
    ),
    Role.PHARMACIST: frozenset(
        {
            Action.VIEW_TRIAL,
            Action.VIEW_PATIENTS,
            Action.VIEW_RANDOMISATION,
            Action.HANDLE_KITS,
            Action.VIEW_SUPPLY,
        }
    ),
    Role.MONITOR: frozenset(
        {
            Action.VIEW_TRIAL,
            Action.VIEW_PATIENTS,
            Action.VIEW_SCREENING,
            Action.VIEW_CLINICAL,
            Action.REVIEW_QUERIES,
            Action.VERIFY_SOURCE,
            Action.RUN_EDIT_CHECKS,
            Action.VIEW_RANDOMISATION,
            Action.VIEW_SUPPLY,
            Action.VIEW_ENROLMENT,
            Action.VIEW_FORECAST,
            Action.VIEW_REPORTS,  # the blinded report only: a monitor never holds VIEW_ARMS
            Action.VIEW_SAES,
        }
    ),
    Role.STATISTICIAN: frozenset(
        {
            Action.VIEW_TRIAL,
            Action.EXPORT_DATA,
            Action.VIEW_ENROLMENT,
            Action.VIEW_FORECAST,
            Action.RUN_SIMULATIONS,
            Action.VIEW_REPORTS,
        }
    ),
    Role.DATA_MANAGER: _DATA_MANAGER,
    Role.UNBLINDED_STATISTICIAN: _UNBLINDED | {Action.MAKE_DATA_CUT},
    Role.DSMB_MEMBER: _UNBLINDED,
    Role.ADMINISTRATOR: frozenset(
        {
            Action.VIEW_TRIAL,
            Action.MANAGE_TRIAL,
            Action.MANAGE_USERS,
            Action.VIEW_AUDIT,
            Action.UNLOCK_DATA,
            Action.EXPORT_DATA,
            Action.VIEW_SUPPLY,
            Action.MANAGE_SUPPLY,
            Action.VIEW_ENROLMENT,
            Action.VIEW_FORECAST,
            Action.VIEW_REPORTS,
        }
    ),
    # blinded: one case's arm only, after a recorded SUSAR unblinding (never VIEW_ARMS)
    Role.SAFETY_PHYSICIAN: frozenset(
        {Action.VIEW_TRIAL, Action.VIEW_SAES, Action.REVIEW_SAFETY, Action.UNBLIND_SUSAR}
    ),
}
SITE_ROLES = frozenset({Role.INVESTIGATOR, Role.PHARMACIST})
"""Roles held at one site: the assignment must name it."""
TRIAL_WIDE_ROLES = frozenset(
    {
        Role.DATA_MANAGER,
        Role.STATISTICIAN,
        Role.UNBLINDED_STATISTICIAN,
        Role.DSMB_MEMBER,
        Role.ADMINISTRATOR,
        Role.SAFETY_PHYSICIAN,
    }
)
"""Roles held for the whole trial: the assignment names no site. (A monitor may be either.)"""
UNBLINDED_ROLES = frozenset({Role.UNBLINDED_STATISTICIAN, Role.DSMB_MEMBER})


def can_see_arm(role: Role | str) -> bool:
    """Whether a role may receive an arm, or anything derived from it, in a response."""
    return Role(role) in UNBLINDED_ROLES


def authorize(
    actor: Principal,
    action: Action,
    *,
    trial_id: int | None,
    site_id: int | None = None,
    absent: str = "not found",
) -> Grant:
    """The grant that allows ``actor`` to do ``action`` (in a trial, at a site), or an error.

    ``trial_id=None`` asks for the action in any trial. A role that allows the
    action but not at this site raises :class:`NotFoundError` with ``absent``
    (the resource is not theirs to know of); no role allowing it raises
    :class:`PermissionDenied`.
    """
    allowed = [
        grant
        for grant in actor.grants
        if action in PERMISSIONS[grant.role]
        and (trial_id is None or grant.trial_id is None or grant.trial_id == trial_id)
    ]
    if not allowed:
        roles = ", ".join(sorted({g.role.value for g in actor.grants})) or "no role"
        raise PermissionDenied(f"{actor.username} ({roles}) may not {action.value}")
    if site_id is None:
        return allowed[0]
    at_site = [g for g in allowed if g.site_id is None or g.site_id == site_id]
    if not at_site:
        raise NotFoundError(absent)
    # prefer the site's own assignment: it is what the audit trail should name
    return sorted(at_site, key=lambda g: g.site_id is None)[0]


def authorize_trial_wide(actor: Principal, action: Action, *, trial_id: int, what: str) -> Grant:
    """The grant for ``action`` on an output that pools every site (``what``), or a refusal.

    A monitor assigned to some sites only must see only their sites' data, and the trial
    report, the pooled event count and the event forecast are trial-wide by nature (the
    events are counted against the trial's target, the report is the trial's): a subset
    of sites would not be the document a monitor asks for, so it is refused (403) with the
    reason, rather than silently narrowed.
    """
    grant = authorize(actor, action, trial_id=trial_id)
    if site_scope(actor, action, trial_id=trial_id) is not None:
        raise PermissionDenied(
            f"{what} pools the data of every site of the trial, and {actor.username} may see "
            "only the data of the sites assigned to them; ask the sponsor for a trial-wide "
            "assignment to see it"
        )
    return grant


def site_scope(actor: Principal, action: Action, *, trial_id: int) -> frozenset[int] | None:
    """The sites where ``actor`` may do ``action`` (``None``: every site); an empty set if none."""
    grants = [
        g
        for g in actor.grants
        if action in PERMISSIONS[g.role] and (g.trial_id is None or g.trial_id == trial_id)
    ]
    if any(g.site_id is None for g in grants):
        return None
    return frozenset(g.site_id for g in grants if g.site_id is not None)


def patient_or_absent(
    session: Session, actor: Principal, patient_id: int, action: Action
) -> tuple[Patient, Grant]:
    """The patient and the actor's grant for ``action`` there.

    Another site's patient reads as absent (404), and a role without the permission is
    refused the same way whether or not the patient exists, so a refusal reveals nothing.
    """
    absent = f"patient {patient_id} not found"
    patient = session.get(Patient, patient_id)
    if patient is None:
        authorize(actor, action, trial_id=None)
        raise NotFoundError(absent)
    kept(session, patient)
    grant = authorize(
        actor, action, trial_id=patient.trial_id, site_id=patient.site_id, absent=absent
    )
    return patient, grant


class PatientAtSite(NamedTuple):
    """A patient with their site and trial, the actor's grant, and whether the site holds an
    ethics approval of the protocol version the trial runs (for ``require_recruiting``)."""

    patient: Patient
    site: Site
    trial: Trial
    grant: Grant
    approved: bool


_PATIENT_AT_SITE = (  # built once: it runs on every screening record and randomisation
    select(
        Patient,
        Site,
        Trial,
        select(EthicsApproval.id)
        .where(
            EthicsApproval.site_id == Site.id,
            EthicsApproval.protocol_version == Trial.protocol_version,
        )
        .limit(1)
        .exists(),
    )
    .join(Site, Site.id == Patient.site_id)
    .join(Trial, Trial.id == Patient.trial_id)
    .where(Patient.id == bindparam("patient"))
)


def patient_with_site_or_absent(
    session: Session, actor: Principal, patient_id: int, action: Action
) -> PatientAtSite:
    """:func:`patient_or_absent`, with the patient's site, trial and the site's approval of
    the trial's protocol version read in the same statement.

    For the use cases that read all of them on every request (a screening record, a
    randomisation): one statement instead of four.
    """
    found = session.execute(_PATIENT_AT_SITE, {"patient": patient_id}).first()
    if found is None:
        authorize(actor, action, trial_id=None)
        raise NotFoundError(f"patient {patient_id} not found")
    patient, site, trial, is_approved = found
    grant = authorize(
        actor,
        action,
        trial_id=patient.trial_id,
        site_id=patient.site_id,
        absent=f"patient {patient_id} not found",
    )
    return PatientAtSite(patient, site, trial, grant, bool(is_approved))


def site_or_absent(
    session: Session, actor: Principal, site_id: int, action: Action
) -> tuple[Site, Grant]:
    """The site and the actor's grant for ``action`` there.

    A site the actor holds no grant for reads as absent (404), the same answer as a site
    that does not exist, so site-scoped work lists never reveal another site's data.
    """
    absent = f"site {site_id} not found"
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(absent)
    kept(session, site)
    grant = authorize(actor, action, trial_id=site.trial_id, site_id=site.id, absent=absent)
    return site, grant
