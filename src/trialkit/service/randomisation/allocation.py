"""The sealed allocation and kit lists of a trial: sealing, verification, extension.

Details and reasoning: docs/randomisation.md, section `trialkit.service.randomisation.allocation`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, RandomisationError
from trialkit.randomisation import (
    AllocationList,
    AllocationSpec,
    Kit,
    Slot,
    allocation_spec,
    extend_stratum,
    generate_allocation_list,
    generate_kit_list,
    regenerate,
    verify,
    verify_kit_list,
)
from trialkit.service.platform import audit
from trialkit.service.platform.cache import LruCache
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import Action, authorize
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.views import SealVerificationView, SealView
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSeal,
    AllocationSlot,
    StratumCounter,
)
from trialkit.service.randomisation.tables.supply import InventoryKit, KitListEntry
from trialkit.service.trials.tables import Trial
from trialkit.service.trials.trials import (
    get_trial_or_raise,
    require_supported_allocation,
    trial_protocol,
)

__all__ = [
    "DEFAULT_KITS",
    "SealedList",
    "extend",
    "seal",
    "sealed_spec",
    "sealed_verification",
    "verified_list",
    "verify_sealed",
]

DEFAULT_KITS = 2000
"""Kits in the initial batch: SOR's 220 patients x a kit per cycle, with a margin."""
_CACHE_SIZE = 8


@dataclass(frozen=True)
class SealedList:
    """The allocation list the sealed seed regenerates, verified against the stored slots."""

    spec: AllocationSpec
    allocation: AllocationList
    hash: str


_verified: LruCache[tuple[int, str, int], SealedList] = LruCache(_CACHE_SIZE)
"""Regenerated, verified lists per (trial, seal hash, extensions), per process."""


def sealed_spec(trial: Trial, seal_row: AllocationSeal) -> AllocationSpec:
    """The spec the list was generated under (the protocol's, with the sealed list length)."""
    if seal_row.protocol_version != trial.protocol_version:
        raise ConflictError(
            f"the allocation list was sealed under protocol version {seal_row.protocol_version!r}"
            f" but {trial.acronym} now runs {trial.protocol_version!r}: verify and re-seal"
        )
    spec = allocation_spec(trial_protocol(trial))
    return dataclasses.replace(spec, slots_per_stratum=seal_row.slots_per_stratum)


_SEAL = select(AllocationSeal).where(AllocationSeal.trial_id == bindparam("trial"))
_SEAL_LOCKED = _SEAL.with_for_update()


def _seal_row(session: Session, trial: Trial, *, lock: bool = False) -> AllocationSeal:
    row = session.scalars(_SEAL_LOCKED if lock else _SEAL, {"trial": trial.id}).one_or_none()
    if row is None:
        raise ConflictError(
            f"{trial.acronym} has no sealed allocation list: an administrator seals it with "
            f"'trialkit randomisation seal --trial {trial.acronym}'"
        )
    return row


def _stored_slots(session: Session, trial_id: int) -> list[Slot]:
    rows = session.execute(
        select(
            AllocationSlot.stratum,
            AllocationSlot.sequence,
            AllocationSlot.block,
            AllocationSlot.block_size,
            AllocationSlot.arm,
            AllocationSlot.randomisation_number,
            AllocationSlot.extension,
        ).where(AllocationSlot.trial_id == trial_id)
    ).all()
    return [Slot(*row) for row in rows]


def _stored_kits(session: Session, trial_id: int) -> list[Kit]:
    rows = session.execute(
        select(
            KitListEntry.number,
            KitListEntry.arm,
            KitListEntry.batch,
            KitListEntry.ship_key,
            KitListEntry.dispense_key,
        ).where(KitListEntry.trial_id == trial_id)
    ).all()
    return [Kit(*row) for row in rows]


def seal(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    kits: int = DEFAULT_KITS,
    kit_expiry: dt.date | None = None,
    slots_per_stratum: int | None = None,
    seed: bytes | None = None,
) -> SealView:
    """Seal the trial's allocation and kit lists from a fresh CSPRNG seed (once per trial).

    ``kits`` kits enter the depot's inventory, expiring on ``kit_expiry``
    (default: one year after the final enrolment date). ``slots_per_stratum``
    lengthens the list beyond the protocol's minimum (never shortens it). ``seed`` is for
    the demo trial only (:mod:`.demo`, reproducible from its seed): a real list is sealed from
    a fresh seed, and the audit trail says which was used.
    """
    trial = get_trial_or_raise(session, trial_id)
    grant = authorize(actor, Action.MANAGE_SUPPLY, trial_id=trial.id)
    if session.get(AllocationSeal, trial.id) is not None:
        raise ConflictError(
            f"{trial.acronym}'s allocation list is sealed already; a list is generated once "
            "and extended, never replaced"
        )
    protocol = trial_protocol(trial)
    require_supported_allocation(protocol, source=trial.protocol_name)
    spec = allocation_spec(protocol)
    if slots_per_stratum is not None:
        if slots_per_stratum < spec.slots_per_stratum:
            raise InputError(
                f"slots_per_stratum must be at least the protocol's {spec.slots_per_stratum}",
                location="slots_per_stratum",
            )
        spec = dataclasses.replace(spec, slots_per_stratum=slots_per_stratum)
    given = seed is not None
    if seed is None:
        seed = secrets.token_bytes(32)
    elif len(seed) < 16:
        raise InputError("an allocation seed needs at least 16 bytes", location="seed")
    allocation = generate_allocation_list(seed, spec)
    kit_list = generate_kit_list(seed, spec, kits)
    expiry = kit_expiry or trial.final_enrolment + dt.timedelta(days=365)
    now = utcnow()
    row = AllocationSeal(
        trial_id=trial.id,
        seed=seed,
        protocol_version=trial.protocol_version,
        slots_per_stratum=spec.slots_per_stratum,
        list_hash=allocation.hash,
        kit_list_hash=kit_list.hash,
        extensions=0,
        sealed_at=now,
        sealed_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    _insert_slots(session, trial.id, allocation.slots)
    session.execute(
        insert(StratumCounter),
        [
            {"trial_id": trial.id, "stratum": key, "used": 0, "slots": len(slots)}
            for key, slots in ((k, allocation.stratum_slots(k)) for k in allocation.strata)
        ],
    )
    session.execute(
        insert(KitListEntry),
        [
            {
                "trial_id": trial.id,
                "number": k.number,
                "arm": k.arm,
                "batch": k.batch,
                "ship_key": k.ship_key,
                "dispense_key": k.dispense_key,
            }
            for k in kit_list.kits
        ],
    )
    session.execute(
        insert(InventoryKit),
        [
            {"trial_id": trial.id, "number": k.number, "expiry": expiry, "status": "depot"}
            for k in kit_list.kits
        ],
    )
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="allocation_list",
        entity_id=trial.id,
        values={
            "list_hash": allocation.hash,
            "kit_list_hash": kit_list.hash,
            "slots": len(allocation.slots),
            "strata": len(allocation.strata),
            "kits": len(kit_list.kits),
            "kit_expiry": expiry,
            "protocol_version": trial.protocol_version,
        },
        reason=(
            "sealed from a seed given by the demo seeding (reproducible demo data)"
            if given
            else "sealed from a fresh seed (secrets.token_bytes(32)); the seed is not recorded here"
        ),
    )
    _verified.put((trial.id, allocation.hash, 0), SealedList(spec, allocation, allocation.hash))
    return _seal_view(row, len(allocation.slots), len(allocation.strata), len(kit_list.kits))


def _insert_slots(session: Session, trial_id: int, slots: tuple[Slot, ...] | list[Slot]) -> None:
    session.execute(
        insert(AllocationSlot),
        [{"trial_id": trial_id, **dataclasses.asdict(slot)} for slot in slots],
    )


def _seal_view(row: AllocationSeal, slots: int, strata: int, kits: int) -> SealView:
    return SealView(
        trial_id=row.trial_id,
        protocol_version=row.protocol_version,
        slots=slots,
        strata=strata,
        kits=kits,
        list_hash=row.list_hash,
        kit_list_hash=row.kit_list_hash,
        extensions=row.extensions,
        sealed_at=row.sealed_at,
    )


def verify_sealed(*, session: Session, actor: Principal, trial_id: int) -> SealVerificationView:
    """Regenerate both lists from the sealed seed and compare them with what is stored."""
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.MANAGE_SUPPLY, trial_id=trial.id)
    return sealed_verification(session, trial)


def sealed_verification(session: Session, trial: Trial) -> SealVerificationView:
    """:func:`verify_sealed` for a caller that has authorised the actor (the allocation audit)."""
    row = _seal_row(session, trial)
    spec = sealed_spec(trial, row)
    slots = _stored_slots(session, trial.id)
    kits = _stored_kits(session, trial.id)
    result = verify(row.seed, spec, slots)
    kit_result = verify_kit_list(row.seed, spec, kits)
    problems = []
    if not result.verified:
        assert result.first_difference is not None
        # blinded: the reader is an administrator, and a slot's value may be its arm
        problems.append(f"allocation list NOT verified: {result.first_difference.blinded()}")
    elif result.stored_hash != row.list_hash:
        problems.append("the allocation list's recorded hash is not the hash of its slots")
    if not kit_result.verified:
        problems.append(f"kit list {kit_result}")
    elif kit_result.stored_hash != row.kit_list_hash:
        problems.append("the kit list's recorded hash is not the hash of its kits")
    return SealVerificationView(
        trial_id=trial.id,
        verified=not problems,
        slots=result.slots,
        kits=kit_result.kits,
        list_hash=result.stored_hash,
        expected_list_hash=result.expected_hash,
        recorded_list_hash=row.list_hash,
        kit_list_hash=kit_result.stored_hash,
        expected_kit_list_hash=kit_result.expected_hash,
        recorded_kit_list_hash=row.kit_list_hash,
        problem="; ".join(problems) or None,
    )


def verified_list(session: Session, trial: Trial) -> tuple[AllocationSeal, SealedList]:
    """The regenerated list, proven equal to the stored one; refuses (no arm named) if not."""
    row = _seal_row(session, trial)
    key = (trial.id, row.list_hash, row.extensions)
    cached = _verified.get(key)
    if cached is not None:
        return row, cached
    spec = sealed_spec(trial, row)
    stored = AllocationList(spec.protocol_id, tuple(_stored_slots(session, trial.id)))
    allocation = regenerate(row.seed, spec, stored.slots)
    if allocation.slots != stored.slots or allocation.hash != row.list_hash:
        raise RandomisationError(
            f"randomisation refused: {trial.acronym}'s stored allocation list differs from the "
            "list its sealed seed regenerates (run 'trialkit randomisation verify --trial "
            f"{trial.acronym}' and inform the sponsor)"
        )
    sealed = SealedList(spec, allocation, row.list_hash)
    _verified.put(key, sealed)
    return row, sealed


def extend(
    session: Session,
    *,
    actor: Principal,
    grant: Grant,
    trial: Trial,
    counter: StratumCounter,
) -> None:
    """Append fresh blocks to a stratum that has run out (audited; the caller holds its lock)."""
    row = _seal_row(session, trial, lock=True)  # one extension at a time: numbers are list-wide
    _, sealed = verified_list(session, trial)
    extended = extend_stratum(
        sealed.allocation, row.seed, sealed.spec, counter.stratum, sealed.spec.slots_per_stratum
    )
    new = [s for s in extended.stratum_slots(counter.stratum) if s.sequence > counter.slots]
    _insert_slots(session, trial.id, new)
    old_hash = row.list_hash
    row.extensions, row.list_hash = extended.extensions, extended.hash
    counter.slots += len(new)
    _verified.put(
        (trial.id, row.list_hash, row.extensions), SealedList(sealed.spec, extended, extended.hash)
    )
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="extend",
        entity="allocation_list",
        entity_id=trial.id,
        changes={
            "list_hash": (old_hash, extended.hash),
            "extension": (extended.extensions - 1, extended.extensions),
            "stratum": (None, counter.stratum),
            "slots_added": (None, len(new)),
        },
        reason=f"stratum {counter.stratum} used all its slots; extended from a fresh stream",
    )
