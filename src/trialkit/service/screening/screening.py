"""Screening before saving: the trial's protocol, and a dry run of a screening record against it.

The web form shows the eligibility checklist as data are entered; this is the
use case behind it. Nothing is stored or audited: a preview is not a record.
Saving stays :func:`trialkit.service.screening.patients.submit_screening_record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from trialkit.errors import RecordError
from trialkit.protocol import Protocol
from trialkit.screening import ScreeningOutcome, parse_screening_record, screen
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.trials import get_trial, get_trial_or_raise, trial_protocol

__all__ = ["FieldProblem", "ScreeningPreview", "get_protocol", "preview_screening"]


@dataclass(frozen=True)
class FieldProblem:
    """One invalid value: its field path in the record (``labs.alt.value``) and what is wrong.

    ``kind`` and ``context`` are pydantic's error type and context, so that a page
    can say the same in plainer words.
    """

    path: str
    message: str
    kind: str = "value_error"
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScreeningPreview:
    """The checklist for a record as entered so far, or the problems that prevent one."""

    outcome: ScreeningOutcome | None
    problems: tuple[FieldProblem, ...]


def get_protocol(*, session: Session, actor: Principal, trial_id: int) -> Protocol:
    """The protocol a trial runs under, for any member of the trial."""
    get_trial(session=session, actor=actor, trial_id=trial_id)  # authorises (or reads absent)
    return trial_protocol(get_trial_or_raise(session, trial_id))


def preview_screening(
    *, session: Session, actor: Principal, patient_id: int, data: dict[str, Any]
) -> ScreeningPreview:
    """Validate ``data`` as a screening record and screen it, storing nothing.

    Every invalid value the form's validation finds is reported, each with its path in the
    record (the first is the one saving would refuse at).
    """
    patient, _ = patient_or_absent(session, actor, patient_id, Action.EDIT_PATIENTS)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    try:
        record = parse_screening_record(protocol, data, source="$")
    except RecordError as exc:  # every invalid value, each at its path
        return ScreeningPreview(
            outcome=None,
            problems=tuple(
                FieldProblem(path=where.removeprefix("$."), message=message)
                for where, message in exc.problems
            ),
        )
    try:
        outcome = screen(protocol, record)
    except RecordError as exc:  # a lab unit the criteria cannot convert, for example
        return ScreeningPreview(
            outcome=None,
            problems=(FieldProblem(path=exc.location.removeprefix("$."), message=exc.message),),
        )
    return ScreeningPreview(outcome=outcome, problems=())
