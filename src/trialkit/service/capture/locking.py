"""Lock data only after sign-off and SDV: the lock use case every caller goes through.

A lock (not a freeze) of a patient, a site or the whole trial is refused while any of its
randomised patients' casebooks has records to sign or the protocol's SDV plan has records
awaiting verification; the freeze and lock themselves live in :mod:`.trials.locks`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError
from trialkit.service.capture.sdv import awaiting_verification, trial_sdv_plan
from trialkit.service.capture.signatures import records_to_sign
from trialkit.service.platform.anchors import Anchoring
from trialkit.service.platform.principal import Principal
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.trials import locks
from trialkit.service.trials.locks import Level, LockView

__all__ = ["FIRST_FEW", "require_ready", "set_lock"]

FIRST_FEW = 3
"""How many of the records in the way a refusal names."""


def _named(patient: Patient, form: str, record_key: str) -> str:
    return f"{patient.screening_number} {form}" + ("" if record_key == form else f" {record_key}")


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:FIRST_FEW])
    more = len(names) - FIRST_FEW
    return shown + (f" and {more} more" if more > 0 else "")


def require_ready(
    session: Session, trial_id: int, site_id: int | None, patient_id: int | None
) -> None:
    """Refuse (409, with counts and the first few) a lock of the trial, a site or a patient
    while a randomised patient's casebook has records to sign or a record the SDV plan
    requires awaits verification; in a fixed number of statements, whatever the patients."""
    query = select(Patient).where(Patient.trial_id == trial_id)
    if site_id is not None:
        query = query.where(Patient.site_id == site_id)
    if patient_id is not None:
        query = query.where(Patient.id == patient_id)
    patients = list(session.scalars(query.order_by(Patient.site_id, Patient.screening_number)))
    randomised = set(
        session.scalars(
            select(Randomisation.patient_id).where(
                Randomisation.patient_id.in_([p.id for p in patients])
            )
        )
    )
    signing = records_to_sign(session, [p for p in patients if p.id in randomised])
    unsigned = [
        _named(p, r.form, r.record_key) for p in patients for r in signing.get(p.id, ([], False))[0]
    ]
    _, _, awaiting = awaiting_verification(session, trial_sdv_plan(session, trial_id), patients)
    unverified = [_named(p, v.form, v.record_key) for p, v in awaiting]
    if not unsigned and not unverified:
        return
    if patient_id is not None:
        what = f"patient {patient_id}"
    elif site_id is not None:
        what = f"site {site_id}"
    else:
        what = f"the database of trial {trial_id}"
    missing = []
    if unsigned:
        missing.append(
            f"{len(unsigned)} record(s) not signed by the investigator ({_listed(unsigned)})"
        )
    if unverified:
        missing.append(
            f"{len(unverified)} record(s) awaiting source data verification under the "
            f"protocol's SDV plan ({_listed(unverified)})"
        )
    raise ConflictError(
        f"{what} cannot be locked before sign-off and SDV: " + "; ".join(missing) + ". "
        "Have the casebooks signed and the records verified, or freeze instead",
        location="level",  # the lock form shows it by the choice of freeze or lock
    )


def set_lock(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    level: Level,
    reason: str | None,
    site_id: int | None = None,
    patient_id: int | None = None,
    form: str | None = None,
    record_key: str | None = None,
    anchoring: Anchoring | None = None,
) -> LockView:
    """Freeze or lock the trial, a site, a patient or one form record (see
    :func:`.trials.locks.set_lock`); a lock of the trial, a site or a patient only after
    sign-off and SDV (:func:`require_ready`)."""
    return locks.set_lock(
        session=session,
        actor=actor,
        trial_id=trial_id,
        level=level,
        reason=reason,
        site_id=site_id,
        patient_id=patient_id,
        form=form,
        record_key=record_key,
        anchoring=anchoring,
        ready=require_ready,
    )
