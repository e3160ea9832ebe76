"""The seam to randomisation: when a patient was randomised, and to which arm.

The randomise transaction (allocation slot + kit + audit record) is built on another branch.
Until it lands these functions answer from nothing: no patient is randomised, so no clinical
data can be captured. When it lands, the lead replaces the two bodies with a read of the
randomisation record; every capture, edit check, schedule and export goes through here.
Tests stand in for the randomisation record by patching :func:`randomisation_date` (and
:func:`randomised_arm`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from trialkit.store.patients import Patient

__all__ = ["randomisation_date", "randomised_arm"]


def randomisation_date(*, session: Session, patient: Patient) -> dt.date | None:
    """The date ``patient`` was randomised, or ``None`` if not (yet) randomised."""
    return None


def randomised_arm(*, session: Session, patient: Patient) -> str | None:
    """The arm ``patient`` was randomised to (callers must hold an unblinded role), or ``None``."""
    return None
