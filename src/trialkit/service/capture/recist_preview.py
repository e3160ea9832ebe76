"""The RECIST 1.1 response a tumour record would give, before it is saved.

The same evaluation :func:`trialkit.service.capture.capture.record_form` keeps on save, over the
patient's latest tumour records with the entered one in place of (or beside) them; nothing
is stored and nothing is audited. The investigator's assessment form shows it as it is
filled in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from trialkit.errors import InputError
from trialkit.service.capture.clinical import (
    date_of_birth,
    evaluate_patient,
    latest_records,
    require_randomised,
    tumour_forms,
)
from trialkit.service.capture.forms import validate_form
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.policy import Action, patient_or_absent
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["preview_tumour_response"]

_PREVIEW_KEY = "preview"


def preview_tumour_response(
    *,
    session: Session,
    actor: Principal,
    patient_id: int,
    form: str,
    data: dict[str, Any],
    record_key: str | None = None,
) -> dict[str, Any] | None:
    """The RECIST evaluation with ``data`` entered as ``record_key`` (a new record if ``None``).

    ``None`` without a dated baseline. Raises :class:`~trialkit.errors.RecordError` (with the
    field's path) when ``data`` does not fit the form, as saving would.
    """
    patient, _ = patient_or_absent(session, actor, patient_id, Action.VIEW_CLINICAL)
    randomised_on = require_randomised(session, patient)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    baseline, assessment = tumour_forms(protocol.forms.roles if protocol.forms else {})
    if form not in (baseline, assessment):
        tumour = " and ".join(f for f in (baseline, assessment) if f) or "none"
        raise InputError(
            f"{form!r} gives no tumour response; the protocol's tumour forms: {tumour}",
            location="form",
        )
    values = validate_form(protocol, form, data, born=date_of_birth(session, patient.id)).data
    key = form if form == baseline else record_key or _PREVIEW_KEY
    records = [
        r for r in latest_records(session, patient.id) if (r.form, r.record_key) != (form, key)
    ]
    # a transient row, never added to the session: the evaluation reads its form and data only
    records.append(
        CaptureRecord(patient_id=patient.id, form=str(form), record_key=key, data=values)
    )
    evaluation = evaluate_patient(session, patient, records, randomised_on)
    return None if evaluation is None else evaluation.as_dict()
