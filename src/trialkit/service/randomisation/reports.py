"""Randomisation reports: blinded enrolment over time; arm balance and the allocation audit for
unblinded roles.

The enrolment report counts randomised patients by month, site, country and
stratum and nothing arm-derived. The arm balance by stratum needs a role that
sees arms (unblinded statistician, DSMB); anyone else is refused without a count.

Details and reasoning: docs/reports.md, section `trialkit.service.randomisation.reports`.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby, pairwise
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.platform import audit
from trialkit.service.platform.policy import Action, authorize, site_scope
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import (
    AllocationAuditSlot,
    AllocationAuditStratum,
    AllocationAuditView,
    ArmBalanceRow,
    EnrolmentRow,
)
from trialkit.service.randomisation.allocation import sealed_verification
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSeal,
    AllocationSlot,
    Randomisation,
)
from trialkit.service.screening.tables import Patient
from trialkit.service.trials.tables import Country, Site
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["AUDIT_ACTION", "AuditOutput", "allocation_audit", "arm_balance", "enrolment"]


def enrolment(*, session: Session, actor: Principal, trial_id: int) -> list[EnrolmentRow]:
    """Randomised patients per month (of the enrolment date), site, country and stratum."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_ENROLMENT, trial_id=trial.id)
    scope = site_scope(actor, Action.VIEW_ENROLMENT, trial_id=trial.id)
    query = (
        select(Randomisation.enrolment_date, Site.code, Country.code, Randomisation.stratum)
        .join(Site, Site.id == Randomisation.site_id)
        .join(Country, Country.id == Site.country_id)
        .where(Randomisation.trial_id == trial.id)
    )
    if scope is not None:
        query = query.where(Randomisation.site_id.in_(scope))
    counts = Counter(
        (day.strftime("%Y-%m"), site, country, stratum)
        for day, site, country, stratum in session.execute(query)
    )
    rows, running = [], Counter[tuple[str, str]]()
    for (month, site, country, stratum), n in sorted(counts.items()):
        running[(site, stratum)] += n
        rows.append(
            EnrolmentRow(
                month=month,
                site=site,
                country=country,
                stratum=stratum,
                randomised=n,
                cumulative=running[(site, stratum)],
            )
        )
    return rows


def arm_balance(*, session: Session, actor: Principal, trial_id: int) -> list[ArmBalanceRow]:
    """Patients per arm in each stratum, with the imbalance (max - min); unblinded roles only."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_ARMS, trial_id=trial.id)
    arms = [a.id for a in trial_protocol(trial).arms]
    pairs = session.execute(
        select(Randomisation.stratum, AllocationSlot.arm)
        .join(AllocationSlot, AllocationSlot.id == Randomisation.slot_id)
        .where(Randomisation.trial_id == trial.id)
    ).all()
    by_stratum: dict[str, Counter[str]] = {}
    for stratum, arm in pairs:
        by_stratum.setdefault(stratum, Counter())[arm] += 1
    return [
        ArmBalanceRow(
            stratum=stratum,
            counts={arm: counts[arm] for arm in arms},
            imbalance=max(counts[a] for a in arms) - min(counts[a] for a in arms),
        )
        for stratum, counts in sorted(by_stratum.items())
    ]


AUDIT_ACTION = "view_allocation_audit"
"""The audit trail's action for each look at the allocation audit (entity ``allocation_list``)."""
AuditOutput = Literal["api", "page", "cli"]

_SLOTS = (
    select(
        AllocationSlot.stratum,
        AllocationSlot.sequence,
        AllocationSlot.block,
        AllocationSlot.block_size,
        AllocationSlot.arm,
        AllocationSlot.randomisation_number,
        AllocationSlot.extension,
        Randomisation.patient_id,
        Patient.screening_number,
        Site.code,
        Randomisation.enrolment_date,
    )
    .outerjoin(Randomisation, Randomisation.slot_id == AllocationSlot.id)
    .outerjoin(Patient, Patient.id == Randomisation.patient_id)
    .outerjoin(Site, Site.id == Randomisation.site_id)
)


def _stratum(stratum: str, rows: list[AllocationAuditSlot]) -> AllocationAuditStratum:
    used = [r for r in rows if r.used]
    last = max((r.sequence for r in used), default=0)
    out_of_order = [
        later.sequence
        for earlier, later in pairwise(used)
        if earlier.randomised_on
        and later.randomised_on
        and later.randomised_on < earlier.randomised_on
    ]
    return AllocationAuditStratum(
        stratum=stratum,
        slots=len(rows),
        used=len(used),
        gaps=[r.sequence for r in rows if not r.used and r.sequence < last],
        out_of_order=out_of_order,
        rows=rows,
    )


def allocation_audit(
    *, session: Session, actor: Principal, trial_id: int, output: AuditOutput
) -> AllocationAuditView:
    """Every stratum's slots in order with who took them, the hash and the verification."""
    trial = get_trial_or_raise(session, trial_id)
    grant = authorize(actor, Action.AUDIT_ALLOCATION, trial_id=trial.id)
    verification = sealed_verification(session, trial)  # refuses a trial not sealed yet
    seal = session.get(AllocationSeal, trial.id)
    assert seal is not None  # sealed_verification found it
    rows = [
        (
            stratum,
            AllocationAuditSlot(
                sequence=sequence,
                block=block,
                block_size=block_size,
                arm=arm,
                randomisation_number=number,
                extension=extension,
                used=patient_id is not None,
                patient_id=patient_id,
                screening_number=screening_number,
                site=site,
                randomised_on=on,
            ),
        )
        for (
            stratum,
            sequence,
            block,
            block_size,
            arm,
            number,
            extension,
            patient_id,
            screening_number,
            site,
            on,
        ) in session.execute(_SLOTS.where(AllocationSlot.trial_id == trial.id))
    ]
    # sorted here, not in SQL: the databases' collations may order the stratum keys differently
    rows.sort(key=lambda row: (row[0], row[1].sequence))
    strata = [
        _stratum(stratum, [slot for _, slot in group])
        for stratum, group in groupby(rows, key=lambda row: row[0])
    ]
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action=AUDIT_ACTION,
        entity="allocation_list",
        entity_id=trial.id,
        changes={"list_hash": (None, seal.list_hash)},
        reason=f"unblinded allocation audit ({output}); verified: {verification.verified}",
        changes_data=False,
    )
    return AllocationAuditView(
        trial_id=trial.id,
        acronym=trial.acronym,
        list_hash=seal.list_hash,
        extensions=seal.extensions,
        sealed_at=seal.sealed_at,
        verification=verification,
        strata=strata,
    )
