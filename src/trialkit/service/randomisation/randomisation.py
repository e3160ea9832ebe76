"""Randomising a patient, its preconditions, reading a randomisation, and emergency unblinding.

:func:`readiness` is the one list of the preconditions of randomisation;
:func:`randomise` refuses with the first that fails, then takes the stratum's next slot
and a kit of that arm in the caller's one transaction. Nothing returned to a blinded
role, and no error message, names an arm.

Details and reasoning: docs/randomisation.md, section `trialkit.service.randomisation`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Integer, Select, bindparam, select, update
from sqlalchemy.orm import Session

from trialkit.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RandomisationError,
    SupplyError,
)
from trialkit.protocol import Protocol
from trialkit.randomisation import (
    RandomisationRecord,
    UnblindedRandomisation,
    emergency_view,
    redact,
)
from trialkit.service.platform import audit, auth, notify
from trialkit.service.platform.db.base import insert_unique, utcnow
from trialkit.service.platform.policy import (
    Action,
    PatientAtSite,
    can_see_arm,
    patient_or_absent,
    patient_with_site_or_absent,
    site_or_absent,
)
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.people import Role
from trialkit.service.platform.views import (
    CalendarEntryView,
    EmergencyUnblindingView,
    EnrolmentView,
    RandomisationView,
    UnblindedRandomisationView,
)
from trialkit.service.randomisation.allocation import extend, verified_list
from trialkit.service.randomisation.supply import (
    kit_shortage,
    record_dispensing,
    require_every_arm,
)
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSlot,
    Randomisation,
    StratumCounter,
    Unblinding,
)
from trialkit.service.randomisation.tables.supply import Dispensing, InventoryKit
from trialkit.service.screening.tables import (
    Consent,
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)
from trialkit.service.trials.locks import require_unlocked
from trialkit.service.trials.tables import Country, Site, Trial
from trialkit.service.trials.trials import (
    get_trial_or_raise,
    lock_enrolment,
    require_enrolment_open,
    require_recruiting,
    trial_protocol,
)
from trialkit.therapy import TherapyAssignment, group_assignment, treatment_calendar

__all__ = [
    "Precondition",
    "Readiness",
    "ReadinessCheck",
    "emergency_unblind",
    "get_randomisation",
    "randomisation_numbers",
    "randomise",
    "readiness",
]


def _therapy(protocol: Protocol, group: str) -> TherapyAssignment:
    """The background therapy of a group, as the screening assigned it (no re-evaluation)."""
    assignment = group_assignment(protocol, group)
    if assignment is None:
        raise ConflictError(f"background therapy {group!r} is not one of the protocol's groups")
    return assignment


@dataclass(frozen=True)
class _PatientState:
    """What a randomisation checks about the patient, read in one query."""

    randomisation_number: int | None  # randomised already
    latest_record_id: int | None
    consent_id: int | None
    country_code: str | None
    evaluation: EligibilityEvaluation | None  # the latest


def _patient_state_statement() -> Select[Any]:
    patient: BindParameter[int] = bindparam("patient", type_=Integer)
    done = (
        select(Randomisation.randomisation_number)
        .where(Randomisation.patient_id == patient)
        .scalar_subquery()
    )
    latest_record = (
        select(ScreeningRecordVersion.id)
        .where(ScreeningRecordVersion.patient_id == patient)
        .order_by(ScreeningRecordVersion.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    consent = select(Consent.id).where(Consent.patient_id == patient).limit(1).scalar_subquery()
    country = select(Country.code).where(Country.id == bindparam("country")).scalar_subquery()
    latest_evaluation = (
        select(EligibilityEvaluation.id)
        .where(EligibilityEvaluation.patient_id == patient)
        .order_by(EligibilityEvaluation.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(done, latest_record, consent, country, EligibilityEvaluation)
        .select_from(Patient)
        .outerjoin(EligibilityEvaluation, EligibilityEvaluation.id == latest_evaluation)
        .where(Patient.id == patient)
    )


_PATIENT_STATE = _patient_state_statement()  # built once: it runs on every randomisation


def _patient_state(session: Session, patient: Patient, site: Site) -> _PatientState:
    """One statement instead of five: each precondition is a scalar subquery on an index."""
    row = session.execute(_PATIENT_STATE, {"patient": patient.id, "country": site.country_id}).one()
    return _PatientState(row[0], row[1], row[2], row[3], row[4])


class Precondition(StrEnum):
    """The preconditions of randomisation, in the order :func:`randomise` checks them."""

    SITE_RECRUITING = "site_recruiting"
    ENROLMENT_OPEN = "enrolment_open"
    NOT_RANDOMISED = "not_randomised"
    ELIGIBLE = "eligible"
    BACKGROUND_THERAPY = "background_therapy"
    CONSENT = "consent"
    KIT_STOCK = "kit_stock"


@dataclass(frozen=True)
class ReadinessCheck:
    """One precondition: whether it holds, and why, in words that never name an arm."""

    name: Precondition
    ok: bool
    reason: str


@dataclass(frozen=True)
class Readiness:
    """Every precondition of randomising one patient on one day (:func:`readiness`)."""

    patient_id: int
    on_date: dt.date
    checks: tuple[ReadinessCheck, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> tuple[ReadinessCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def summary(self) -> str:
        head = f"patient {self.patient_id} on {self.on_date}: "
        lines = [head + ("ready to randomise" if self.ready else "not ready")]
        lines += [f"  {'ok' if c.ok else 'NO'} {c.name}: {c.reason}" for c in self.checks]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


_T = TypeVar("_T")


@dataclass
class _Checks:
    """The checks made so far, and the first refusal as :func:`randomise` raises it."""

    checks: list[ReadinessCheck] = field(default_factory=list)
    refusal: ConflictError | RandomisationError | None = None

    def run(
        self, name: Precondition, holds: Callable[[], _T], reason: Callable[[_T], str]
    ) -> _T | None:
        """``holds`` returns what the check found or raises the service's refusal."""
        try:
            found = holds()
        except (ConflictError, RandomisationError) as exc:
            self.checks.append(ReadinessCheck(name, False, exc.message))
            self.refusal = self.refusal or exc
            return None
        self.checks.append(ReadinessCheck(name, True, reason(found)))
        return found


def _not_randomised(state: _PatientState) -> None:
    if state.randomisation_number is not None:
        raise ConflictError(
            f"the patient is randomised already (randomisation number {state.randomisation_number})"
        )


def _eligible(state: _PatientState, protocol: Protocol) -> EligibilityEvaluation:
    """The latest evaluation, if it clears the patient for randomisation; else the missing step."""
    evaluation = state.evaluation
    if evaluation is None:
        raise ConflictError(
            "eligibility has not been evaluated: evaluate the screening record first"
        )
    if state.latest_record_id != evaluation.screening_record_id:
        raise ConflictError(
            "the screening record was corrected after the last eligibility evaluation: "
            "evaluate it again"
        )
    if evaluation.protocol_version != protocol.version:
        raise ConflictError(
            f"eligibility was evaluated under protocol version {evaluation.protocol_version!r}, "
            f"the trial runs {protocol.version!r}: evaluate again"
        )
    result = evaluation.result.eligibility
    undecided = [c.id for c in result.undecided]
    if result.eligible is None or undecided or result.missing:
        raise ConflictError(
            "not every eligibility criterion is decided ("
            + ", ".join(undecided or result.missing)
            + "): record the missing data and evaluate again"
        )
    if not result.eligible:
        blocking = ", ".join(c.id for c in result.blocking)
        raise ConflictError(f"the patient is not eligible ({blocking})")
    return evaluation


def _background_therapy(state: _PatientState, protocol: Protocol) -> TherapyAssignment:
    """The background therapy the latest evaluation assigned (a protocol group)."""
    if state.evaluation is None:
        raise ConflictError(
            "no background therapy is assigned yet: it is assigned when eligibility is evaluated"
        )
    result = state.evaluation.result
    if result.background_therapy is None:
        raise ConflictError(
            "no background therapy was assigned at screening ("
            + (result.background_therapy_reason or "no reason recorded")
            + ")"
        )
    return _therapy(protocol, result.background_therapy)


def _consented(state: _PatientState) -> None:
    if state.consent_id is None:
        raise ConflictError("informed consent is not recorded")


@dataclass(frozen=True)
class _Cleared:
    """What a patient cleared for randomisation brings to it."""

    evaluation: EligibilityEvaluation
    group: str
    country_code: str
    enrolment: EnrolmentView


@dataclass(frozen=True)
class _Assessment:
    readiness: Readiness
    refusal: ConflictError | RandomisationError | None
    cleared: _Cleared | None  # when every check holds

    def cleared_or_raise(self) -> _Cleared:
        if self.refusal is not None:
            raise self.refusal
        assert self.cleared is not None
        return self.cleared


def _assess(
    session: Session, at_site: PatientAtSite, on_date: dt.date, *, resupply: bool
) -> _Assessment:
    """Every precondition, in order; ``resupply``: the kit check raises a resupply request if
    the site's stock calls for one
    (:func:`~trialkit.service.randomisation.supply.require_every_arm`)."""
    patient, site, trial, _, approved = at_site
    protocol = trial_protocol(trial)
    state = _patient_state(session, patient, site)
    checks = _Checks()
    checks.run(
        Precondition.SITE_RECRUITING,
        lambda: require_recruiting(session, site, approved=approved),
        lambda _: (
            f"site {site.code} is approved for protocol version "
            f"{trial.protocol_version!r} and active"
        ),
    )
    enrolment = checks.run(
        Precondition.ENROLMENT_OPEN,
        lambda: require_enrolment_open(session, trial, on_date),
        lambda found: found.message,
    )
    checks.run(
        Precondition.NOT_RANDOMISED,
        lambda: _not_randomised(state),
        lambda _: "the patient is not randomised yet",
    )
    evaluation = checks.run(
        Precondition.ELIGIBLE,
        lambda: _eligible(state, protocol),
        lambda found: (
            f"eligible on the latest screening record, evaluated on {found.evaluated_at:%Y-%m-%d} "
            "under the trial's protocol version"
        ),
    )
    therapy = checks.run(
        Precondition.BACKGROUND_THERAPY,
        lambda: _background_therapy(state, protocol),
        lambda found: f"{found.label}, assigned at screening",
    )
    checks.run(
        Precondition.CONSENT,
        lambda: _consented(state),
        lambda _: "informed consent is recorded",
    )
    checks.run(
        Precondition.KIT_STOCK,
        lambda: _kit_of_every_arm(
            session, trial=trial, site=site, on_date=on_date, resupply=resupply
        ),
        lambda _: (
            f"site {site.code} holds a dispensable kit for whichever treatment the patient receives"
        ),
    )
    cleared = None
    if checks.refusal is None:
        assert evaluation is not None
        assert therapy is not None
        assert therapy.group is not None
        assert enrolment is not None
        assert state.country_code is not None
        cleared = _Cleared(evaluation, therapy.group, state.country_code, enrolment)
    return _Assessment(
        Readiness(patient.id, on_date, tuple(checks.checks)), checks.refusal, cleared
    )


def _kit_of_every_arm(
    session: Session, *, trial: Trial, site: Site, on_date: dt.date, resupply: bool
) -> None:
    """A site short of any arm refuses every patient alike (the reason names no arm)."""
    if resupply:
        require_every_arm(session, trial_id=trial.id, site=site, on_date=on_date, what="randomised")
        return
    why = kit_shortage(session, trial_id=trial.id, site=site, on_date=on_date, what="randomised")
    if why is not None:
        raise SupplyError(why)


def readiness(
    *, session: Session, actor: Principal, patient_id: int, on_date: dt.date
) -> Readiness:
    """Every precondition of randomising the patient on ``on_date``, in the order
    :func:`randomise` checks them (it refuses with the first that fails).

    Reads only: unlike :func:`randomise`, it raises no resupply request.
    """
    at_site = patient_with_site_or_absent(session, actor, patient_id, Action.VIEW_SCREENING)
    return _assess(session, at_site, on_date, resupply=False).readiness


def _calendar(protocol: Protocol, group: str, start: dt.date) -> list[CalendarEntryView]:
    plan = treatment_calendar(_therapy(protocol, group), start)
    return [
        CalendarEntryView(what=e.what, earliest=e.earliest, latest=e.latest, cycle=e.cycle)
        for e in plan.entries
    ]


def _view(
    protocol: Protocol,
    patient: Patient,
    row: Randomisation,
    kit_number: int | None,
    slot: AllocationSlot,
    *,
    sees_arm: bool,
) -> RandomisationView:
    fields: dict[str, Any] = {
        "patient_id": patient.id,
        "site_id": patient.site_id,
        "screening_number": patient.screening_number,
        "randomisation_number": row.randomisation_number,
        "kit_number": kit_number,
        "stratum": row.stratum,
        "background_therapy": row.background_therapy,
        "enrolment_date": row.enrolment_date,
        "randomised_at": row.randomised_at,
        "treatment_calendar": _calendar(protocol, row.background_therapy, row.enrolment_date),
    }
    record = RandomisationRecord(
        row.randomisation_number,
        row.stratum,
        kit_number or 0,
        slot.arm,
        protocol.arm(slot.arm).label,
        slot.sequence,
        slot.block,
        slot.block_size,
    )
    shown = redact(record, sees_arm=sees_arm)
    if isinstance(shown, UnblindedRandomisation):
        return UnblindedRandomisationView(**fields, arm=shown.arm, arm_label=shown.arm_label)
    return RandomisationView(**fields)


# built once, with bound parameters (an UPDATE reserves its columns' names for itself)
_COUNT_SLOT = (
    update(StratumCounter)
    .where(
        StratumCounter.trial_id == bindparam("counter_trial"),
        StratumCounter.stratum == bindparam("counter_stratum"),
    )
    .values(used=StratumCounter.used + 1)
    .returning(StratumCounter.used, StratumCounter.slots)
)
_SLOT = select(AllocationSlot).where(
    AllocationSlot.trial_id == bindparam("trial"),
    AllocationSlot.stratum == bindparam("stratum"),
    AllocationSlot.sequence == bindparam("sequence"),
)


def randomise(
    *, session: Session, actor: Principal, patient_id: int, on_date: dt.date
) -> RandomisationView:
    """Randomise an eligible, consented patient (see the module docstring for the steps)."""
    at_site = patient_with_site_or_absent(session, actor, patient_id, Action.RANDOMISE)
    patient, site, trial, grant, _ = at_site
    require_unlocked(session, patient=patient)
    # the cap counts every stratum's randomisations: count them under the trial's lock
    lock_enrolment(session, trial)
    # every precondition before the list is touched: a refusal takes no slot
    cleared = _assess(session, at_site, on_date, resupply=True).cleared_or_raise()
    evaluation, group, enrolment = cleared.evaluation, cleared.group, cleared.enrolment
    protocol = trial_protocol(trial)
    _, sealed = verified_list(session, trial)
    stratum = sealed.spec.stratum_of({"background_therapy": group, "country": cleared.country_code})

    # the stratum's counter row serialises its randomisations: slots are used in order
    # (an UPDATE takes the row lock and counts the slot in one statement; a concurrent one
    # waits for the commit, then counts on from the committed value)
    sequence, slots = session.execute(
        _COUNT_SLOT, {"counter_trial": trial.id, "counter_stratum": stratum.key}
    ).one()
    if sequence > slots:  # every slot was used: extend the stratum (under the same lock)
        counter = session.get(StratumCounter, (trial.id, stratum.key))
        assert counter is not None
        extend(session, actor=actor, grant=grant, trial=trial, counter=counter)
        _, sealed = verified_list(session, trial)
    slot = session.scalars(
        _SLOT, {"trial": trial.id, "stratum": stratum.key, "sequence": sequence}
    ).one()
    expected = sealed.allocation.stratum_slots(stratum.key)[sequence - 1]
    if (slot.arm, slot.randomisation_number, slot.block, slot.block_size) != (
        expected.arm,
        expected.randomisation_number,
        expected.block,
        expected.block_size,
    ):
        raise RandomisationError(
            f"randomisation refused: stored slot {sequence} of stratum {stratum.key} differs "
            f"from the sealed list (run 'trialkit randomisation verify --trial {trial.acronym}')"
        )
    values: dict[str, Any] = {
        "trial_id": trial.id,
        "patient_id": patient.id,
        "site_id": site.id,
        "slot_id": slot.id,
        "stratum": stratum.key,
        "sequence": sequence,
        "randomisation_number": slot.randomisation_number,
        "background_therapy": group,
        "eligibility_evaluation_id": evaluation.id,
        "enrolment_date": on_date,
        "randomised_at": utcnow(),
        "randomised_by": actor.user_id,
    }
    row_id = insert_unique(session, Randomisation, values)  # flushes the counter first
    if row_id is None:  # the patient was randomised by a concurrent request
        raise ConflictError("the patient was randomised meanwhile: reload")
    row = Randomisation(id=row_id, **values)  # not added: the row is stored
    kit, _ = record_dispensing(
        session,
        actor=actor,
        grant=grant,
        patient=patient,
        site=site,
        arm=slot.arm,
        cycle=1,
        on_date=on_date,
        what="randomised",
    )
    # last: the audit chain's head lock is held from here to the commit
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="randomisation",
        entity_id=row.id,
        values={
            "patient_id": patient.id,
            "randomisation_number": row.randomisation_number,
            "stratum": row.stratum,
            "kit_number": kit.number,
            "background_therapy": group,
            "enrolment_date": on_date,
            "randomised_at": row.randomised_at,
        },
    )
    shown = _view(protocol, patient, row, kit.number, slot, sees_arm=can_see_arm(grant.role))
    return shown.model_copy(update={"warning": enrolment.warning})


def _first_kit(session: Session, patient_id: int) -> int | None:
    return session.scalar(
        select(InventoryKit.number)
        .join(Dispensing, Dispensing.kit_id == InventoryKit.id)
        .where(Dispensing.patient_id == patient_id, Dispensing.cycle == 1)
    )


def _randomisation(session: Session, patient: Patient) -> tuple[Randomisation, AllocationSlot]:
    found = session.execute(
        select(Randomisation, AllocationSlot)
        .join(AllocationSlot, AllocationSlot.id == Randomisation.slot_id)
        .where(Randomisation.patient_id == patient.id)
    ).first()
    if found is None:
        raise NotFoundError(f"patient {patient.id} is not randomised")
    return found[0], found[1]


def get_randomisation(*, session: Session, actor: Principal, patient_id: int) -> RandomisationView:
    """A patient's randomisation: blinded, unless the role sees arms."""
    patient, grant = patient_or_absent(session, actor, patient_id, Action.VIEW_RANDOMISATION)
    row, slot = _randomisation(session, patient)
    protocol = trial_protocol(get_trial_or_raise(session, patient.trial_id))
    return _view(
        protocol,
        patient,
        row,
        _first_kit(session, patient.id),
        slot,
        sees_arm=can_see_arm(grant.role),
    )


def randomisation_numbers(*, session: Session, actor: Principal, site_id: int) -> dict[int, int]:
    """The randomisation number of each randomised patient of a site, by patient id.

    One query for a whole list page; numbers only (nothing of an arm), as
    :func:`get_randomisation` shows them to a blinded role.
    """
    site, _ = site_or_absent(session, actor, site_id, Action.VIEW_RANDOMISATION)
    rows = session.execute(
        select(Randomisation.patient_id, Randomisation.randomisation_number).where(
            Randomisation.site_id == site.id
        )
    )
    return dict(rows.all())


def emergency_unblind(
    *,
    session: Session,
    security: Security,
    actor: Principal,
    patient_id: int,
    password: str,
    reason: str,
) -> EmergencyUnblindingView:
    """Show one own patient's arm to their investigator: password re-entered, reason given.

    Records the unblinding, an audit event (without the arm: the audit trail is
    read by blinded administrators) and a notification to the sponsor (without
    the arm). Nothing else changes: every other response stays blinded.

    The password is re-entered through
    :func:`trialkit.service.platform.auth.require_reentered_password`,
    as for a SUSAR unblinding: a wrong one counts towards the lock-out, and refusals are
    audited (``emergency_unblinding_refused``) and raised as
    :class:`~trialkit.errors.PasswordRefusedError`, which the caller's transaction commits.
    """
    patient, grant = patient_or_absent(session, actor, patient_id, Action.EMERGENCY_UNBLIND)
    if not reason.strip():
        raise InputError("give the medical reason for the emergency unblinding", location="reason")
    user = auth.require_reentered_password(
        session,
        security=security,
        actor=actor,
        grant=grant,
        password=password,
        act="emergency unblinding",
        entity="patient",
        entity_id=patient.id,
    )
    row, slot = _randomisation(session, patient)
    trial = get_trial_or_raise(session, patient.trial_id)
    protocol = trial_protocol(trial)
    site = session.get(Site, patient.site_id)
    now = utcnow()
    unblinding = Unblinding(
        patient_id=patient.id, user_id=user.id, reason=reason.strip(), unblinded_at=now
    )
    session.add(unblinding)
    note = notify.notify(
        session,
        trial_id=trial.id,
        kind=notify.Kind.EMERGENCY_UNBLINDING,
        to=(notify.To.role(Role.MONITOR), notify.To.role(Role.SAFETY_PHYSICIAN)),
        message=notify.emergency_unblinding_message(
            trial=trial.acronym,
            username=actor.username,
            screening_number=patient.screening_number,
            randomisation_number=row.randomisation_number,
            site_code=site.code if site else "?",
            when=now,
            reason=reason.strip(),
        ),
        site_id=patient.site_id,
        link=f"/patients/{patient.id}",
    )
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="emergency_unblinding",
        entity_id=unblinding.id,
        values={"patient_id": patient.id, "randomisation_number": row.randomisation_number},
        reason=reason.strip(),
    )
    shown = emergency_view(
        RandomisationRecord(
            row.randomisation_number,
            row.stratum,
            _first_kit(session, patient.id) or 0,
            slot.arm,
            protocol.arm(slot.arm).label,
            slot.sequence,
            slot.block,
            slot.block_size,
        )
    )
    return EmergencyUnblindingView(
        unblinding_id=unblinding.id,
        patient_id=patient.id,
        randomisation_number=row.randomisation_number,
        arm=shown.arm,
        arm_label=shown.arm_label,
        unblinded_at=now,
        sponsor_notified=bool(notify.recipients_of(session, note.id)),
    )
