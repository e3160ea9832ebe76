"""Randomisation tables: sealed seed and lists, stratum counters, randomisations, unblinding.

Sealed tables (``allocation_seals``, ``allocation_slots``, ``kit_list``) hold arms
or the seed; only the service's unblinded-role functions and the randomisation
use case read them. A slot is used at most once and in order: a randomisation
takes the next sequence of its stratum under a row lock on the stratum's
counter (``stratum_counters``), and the unique constraints below make a second
use of a slot, number, patient or kit fail even if that lock were bypassed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = [
    "AllocationSeal",
    "AllocationSlot",
    "Randomisation",
    "StratumCounter",
    "Unblinding",
]


class AllocationSeal(Base):
    """The trial's sealed seed and the hashes of the lists it generated (one row per trial)."""

    __tablename__ = "allocation_seals"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    seed: Mapped[bytes] = mapped_column(LargeBinary(64))
    protocol_version: Mapped[str] = mapped_column(String(100))
    slots_per_stratum: Mapped[int]
    list_hash: Mapped[str] = mapped_column(String(64))
    kit_list_hash: Mapped[str] = mapped_column(String(64))
    extensions: Mapped[int] = mapped_column(default=0)
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sealed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AllocationSlot(Base):
    """One slot of the sealed allocation list (it holds the arm: sealed)."""

    __tablename__ = "allocation_slots"
    __table_args__ = (
        UniqueConstraint("trial_id", "stratum", "sequence"),
        UniqueConstraint("trial_id", "randomisation_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    stratum: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int]
    block: Mapped[int]
    block_size: Mapped[int]
    arm: Mapped[str] = mapped_column(String(8))
    randomisation_number: Mapped[int]
    extension: Mapped[int]


class StratumCounter(Base):
    """How many slots of a stratum are used and how many exist; locked by each randomisation."""

    __tablename__ = "stratum_counters"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(100), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
    slots: Mapped[int]


class Randomisation(Base):
    """A patient's randomisation: the slot taken, the kit given, when and by whom."""

    __tablename__ = "randomisations"
    __table_args__ = (
        UniqueConstraint("trial_id", "stratum", "sequence"),
        UniqueConstraint("trial_id", "randomisation_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("allocation_slots.id"), unique=True)
    stratum: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int]
    randomisation_number: Mapped[int]
    background_therapy: Mapped[str] = mapped_column(String(64))
    eligibility_evaluation_id: Mapped[int] = mapped_column(ForeignKey("eligibility_evaluations.id"))
    enrolment_date: Mapped[dt.date] = mapped_column(Date)
    randomised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    randomised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Unblinding(Base):
    """An emergency unblinding: who saw which patient's arm, when and why."""

    __tablename__ = "unblindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    unblinded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
