"""The seam to randomisation: when a patient was randomised, and to which arm.

Every capture, edit check and schedule of one patient asks here, and the answer is read from the
randomisation record that the randomise transaction writes (``randomisations`` and the
allocation slot it took). Readers of many patients read the same records in one statement
(:func:`trialkit.service.capture.outcomes.trial_outcomes`); tests randomise through the sealed list
(``tests.factories.randomise_patient``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.service.randomisation.tables.randomisation import AllocationSlot, Randomisation
from trialkit.service.screening.tables import Patient

__all__ = ["randomisation_date", "randomised_arm", "randomised_therapy"]


def randomisation_date(*, session: Session, patient: Patient) -> dt.date | None:
    """The date ``patient`` was randomised, or ``None`` if not (yet) randomised."""
    return session.scalar(
        select(Randomisation.enrolment_date).where(Randomisation.patient_id == patient.id)
    )


def randomised_therapy(*, session: Session, patient: Patient) -> str | None:
    """The background-therapy group ``patient`` was randomised in (her stratum), or ``None``."""
    return session.scalar(
        select(Randomisation.background_therapy).where(Randomisation.patient_id == patient.id)
    )


def randomised_arm(*, session: Session, patient: Patient) -> str | None:
    """The arm ``patient`` was randomised to (callers must hold an unblinded role), or ``None``."""
    return session.scalar(
        select(AllocationSlot.arm)
        .join(Randomisation, Randomisation.slot_id == AllocationSlot.id)
        .where(Randomisation.patient_id == patient.id)
    )
