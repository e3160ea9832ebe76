"""Blinded drug supply: the sealed kit list, the inventory, shipments, dispensings, resupply.

``kit_list`` holds each kit's arm and its order keys (sealed); ``kits`` is the inventory that
blinded staff work with (number, where, expiry, status) and has no arm. A kit
is dispensed at most once (``dispensings.kit_id`` is unique).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trialkit.service.platform.db.base import Base, UTCDateTime

__all__ = ["Dispensing", "InventoryKit", "KitListEntry", "ResupplyRequest", "Shipment"]


class KitListEntry(Base):
    """One kit of the sealed kit list (it holds the arm: sealed).

    ``ship_key`` and ``dispense_key`` break ties of expiry when the depot packs a shipment
    and when a site dispenses (:func:`trialkit.randomisation.kits.kit_order_keys`); they are
    sealed too, since knowing them would let a pharmacist read arms off the dispensings.
    """

    __tablename__ = "kit_list"
    __table_args__ = (UniqueConstraint("trial_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    number: Mapped[int]
    arm: Mapped[str] = mapped_column(String(8))
    batch: Mapped[int]
    ship_key: Mapped[int] = mapped_column(BigInteger)
    dispense_key: Mapped[int] = mapped_column(BigInteger)


class Shipment(Base):
    """Kits sent from the depot to a site; received (and counted) by the site pharmacist."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    shipped_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    shipped_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InventoryKit(Base):
    """A kit as the inventory knows it: where it is, when it expires, its status (no arm).

    ``site_id`` empty: at the depot. Status: ``depot``, ``in_transit``, ``available``
    (at the site), ``dispensed``, ``damaged``.
    """

    __tablename__ = "kits"
    __table_args__ = (UniqueConstraint("trial_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    number: Mapped[int]
    expiry: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))


class Dispensing(Base):
    """A kit given to a patient at a treatment cycle (cycle 1: at randomisation).

    ``dispensed_on`` is the trial's calendar date of the dispensing (the cycle's day, from
    which the next cycle is due); ``override_reason`` the pharmacist's documented reason when
    the dispensing overrode a refusal (empty otherwise).
    """

    __tablename__ = "dispensings"
    __table_args__ = (UniqueConstraint("patient_id", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id"), unique=True)
    cycle: Mapped[int]
    dispensed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    dispensed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispensed_on: Mapped[dt.date | None] = mapped_column(Date)
    override_reason: Mapped[str | None] = mapped_column(String(2000))


class ResupplyRequest(Base):
    """Kits to ship to a site because its stock fell below the threshold (kit numbers only)."""

    __tablename__ = "resupply_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kit_numbers: Mapped[list[Any]] = mapped_column(JSON)
    complete: Mapped[bool]
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
