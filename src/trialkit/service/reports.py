"""Randomisation reports: blinded enrolment over time, and arm balance for unblinded roles.

The enrolment report counts randomised patients by month, site, country and
stratum and nothing arm-derived. The arm balance by stratum needs a role that
sees arms (unblinded statistician, DSMB); anyone else is refused without a count.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.policy import Action, authorize, site_scope
from trialkit.service.principal import Principal
from trialkit.service.trials import get_trial_or_raise, trial_protocol
from trialkit.service.views import ArmBalanceRow, EnrolmentRow
from trialkit.store.randomisation import AllocationSlot, Randomisation
from trialkit.store.trials import Country, Site

__all__ = ["arm_balance", "enrolment"]


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
