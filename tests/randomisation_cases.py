"""Patients that fail exactly one precondition of randomisation, for the service's and the
page's tests: each case builds its patient at a sealed, stocked, recruiting site and names
the precondition that must fail
(:class:`trialkit.service.randomisation.randomisation.Precondition`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import ENROLMENT_DAY, example_record, make_eligible_patient
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.randomisation import Precondition
from trialkit.service.randomisation.tables.supply import InventoryKit, KitListEntry
from trialkit.service.screening import patients
from trialkit.service.screening.tables import EligibilityEvaluation
from trialkit.service.trials.tables import EthicsApproval, Site, Trial

Build = Callable[[Session, Principal, TrialView, SiteView], int]


@dataclass(frozen=True)
class Case:
    """A patient (built by ``build``, returning her id) whom only ``fails`` keeps from
    randomisation on :data:`~tests.factories.ENROLMENT_DAY`."""

    id: str
    fails: Precondition
    build: Build


def _eligible(session: Session, actor: Principal, site: SiteView, **kwargs: bool) -> int:
    return make_eligible_patient(session, actor, site, **kwargs).id


def _site_not_activated(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    patient = _eligible(s, a, site)
    s.execute(update(Site).where(Site.id == site.id).values(activated_at=None))
    return patient


def _no_approval_of_the_protocol_version(
    s: Session, a: Principal, t: TrialView, site: SiteView
) -> int:
    patient = _eligible(s, a, site)
    s.execute(
        update(EthicsApproval)
        .where(EthicsApproval.site_id == site.id)
        .values(protocol_version="0.9 (superseded)")
    )
    return patient


def _enrolment_period_over(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    patient = _eligible(s, a, site)
    s.execute(
        update(Trial)
        .where(Trial.id == t.id)
        .values(final_enrolment=ENROLMENT_DAY - dt.timedelta(days=1))
    )
    return patient


def _randomised_already(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    patient = _eligible(s, a, site)
    randomisation.randomise(session=s, actor=a, patient_id=patient, on_date=ENROLMENT_DAY)
    return patient


def _not_evaluated(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    return _screened(s, a, site, example_record(), evaluate=False)


def _record_corrected(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    patient = _eligible(s, a, site)
    corrected = example_record()
    corrected["body"]["weight_kg"] += 1  # a correction changes a value
    patients.submit_screening_record(
        session=s, actor=a, patient_id=patient, data=corrected, reason="typo"
    )
    return patient


def _evaluated_under_another_protocol_version(
    s: Session, a: Principal, t: TrialView, site: SiteView
) -> int:
    patient = _eligible(s, a, site)
    s.execute(
        update(EligibilityEvaluation)
        .where(EligibilityEvaluation.patient_id == patient)
        .values(protocol_version="0.9 (superseded)")
    )
    return patient


def _screened(
    s: Session, a: Principal, site: SiteView, record: dict[str, Any], *, evaluate: bool = True
) -> int:
    """A consented patient with ``record`` (evaluated unless told otherwise)."""
    patient = patients.register_patient(
        session=s, actor=a, site_id=site.id, screening_number=f"SC-{site.id}"
    )
    patients.submit_screening_record(session=s, actor=a, patient_id=patient.id, data=record)
    if evaluate:
        patients.evaluate_eligibility(session=s, actor=a, patient_id=patient.id)
    patients.record_consent(
        session=s,
        actor=a,
        patient_id=patient.id,
        consent_date=ENROLMENT_DAY,
        information_sheet_version="1.0",
    )
    return patient.id


def _criterion_undecided(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    record = example_record()
    del record["labs"]["anc"]
    return _screened(s, a, site, record)


def _not_eligible(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    record = example_record()
    record["labs"]["anc"]["value"] = 500  # I10: ANC >= 1500/mm3
    return _screened(s, a, site, record)


def _stored_therapy(group: str | None) -> Build:
    def build(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
        patient = _eligible(s, a, site)
        evaluation = s.scalars(
            select(EligibilityEvaluation).where(EligibilityEvaluation.patient_id == patient)
        ).one()
        evaluation.result = dataclasses.replace(
            evaluation.result,
            background_therapy=group,
            background_therapy_reason="HER2 status unknown" if group is None else "a rule",
        )
        s.flush()
        return patient

    return build


def _no_consent(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    return _eligible(s, a, site, consent=False)


def _no_kit_of_one_arm(s: Session, a: Principal, t: TrialView, site: SiteView) -> int:
    patient = _eligible(s, a, site)
    arm_a = select(KitListEntry.number).where(
        KitListEntry.trial_id == t.id, KitListEntry.arm == "A"
    )
    s.execute(
        update(InventoryKit)
        .where(
            InventoryKit.site_id == site.id,
            InventoryKit.status == "available",
            InventoryKit.number.in_(arm_a),
        )
        .values(status="damaged")
    )
    return patient


CASES = [
    Case("site_not_activated", Precondition.SITE_RECRUITING, _site_not_activated),
    Case(
        "no_approval_of_the_protocol_version",
        Precondition.SITE_RECRUITING,
        _no_approval_of_the_protocol_version,
    ),
    Case("enrolment_period_over", Precondition.ENROLMENT_OPEN, _enrolment_period_over),
    Case("randomised_already", Precondition.NOT_RANDOMISED, _randomised_already),
    Case("not_evaluated", Precondition.ELIGIBLE, _not_evaluated),
    Case("record_corrected", Precondition.ELIGIBLE, _record_corrected),
    Case(
        "evaluated_under_another_protocol_version",
        Precondition.ELIGIBLE,
        _evaluated_under_another_protocol_version,
    ),
    Case("criterion_undecided", Precondition.ELIGIBLE, _criterion_undecided),
    Case("not_eligible", Precondition.ELIGIBLE, _not_eligible),
    Case("no_background_therapy", Precondition.BACKGROUND_THERAPY, _stored_therapy(None)),
    Case(
        "background_therapy_not_of_the_protocol",
        Precondition.BACKGROUND_THERAPY,
        _stored_therapy("no-such-group"),
    ),
    Case("no_consent", Precondition.CONSENT, _no_consent),
    Case("no_kit_of_one_arm", Precondition.KIT_STOCK, _no_kit_of_one_arm),
]
"""Every precondition, each failing alone (the enrolment cap: ``test_randomise_readiness``)."""
