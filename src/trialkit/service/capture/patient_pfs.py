"""One patient's derived progression-free survival, for the site that treats her.

The same derivation the analysis datasets use
(:func:`trialkit.service.capture.outcomes.patient_outcome` and :func:`trialkit.endpoints.derive_pfs`
under the protocol's FDA 2018 censoring rules), for
one patient of the caller's own site. It never reads the arm, so blinded roles may see it.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from trialkit.endpoints import CensoringRules, derive_pfs
from trialkit.service.capture.outcomes import patient_outcome
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["PfsView", "patient_pfs"]


class PfsView(BaseModel):
    """PFS of one patient: from randomisation to the event or censoring date (ADaM days)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: int
    start: dt.date
    date: dt.date
    event: bool
    days: int
    months: float
    description: str
    """Why the patient has this value (``EVNTDESC``), e.g. disease progression."""
    date_description: str
    """What the date is (``CNSDTDSC``), e.g. the date of the last adequate assessment."""
    rule: str


def patient_pfs(*, session: Session, actor: Principal, patient_id: int) -> PfsView | None:
    """The patient's PFS as derived now, or ``None`` if she is not randomised.

    Raises
    ------
    RecordError
        When her records contradict each other (e.g. an assessment before randomisation); the
        message names the field.
    """
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    outcome = patient_outcome(session, patient, with_arm=False)
    if outcome is None:
        return None
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    pfs = derive_pfs(outcome, CensoringRules.fda(protocol.schedule))
    return PfsView(
        patient_id=patient.id,
        start=pfs.start,
        date=pfs.date,
        event=pfs.event,
        days=pfs.days,
        months=round(pfs.months, 2),
        description=pfs.rule.evntdesc,
        date_description=pfs.rule.cnsdtdsc,
        rule=pfs.rule.code,
    )
