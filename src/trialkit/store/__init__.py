"""Persistence: SQLAlchemy tables, the database factory, migrations and the audit chain.

The schema is created and changed only by the Alembic migrations in
``trialkit/store/migrations`` (:mod:`trialkit.store.migrate`).
"""

from trialkit.store.audit import AuditEntry, AuditEvent, AuditHead, ChainReport
from trialkit.store.base import Base, utcnow
from trialkit.store.capture import CaptureRecord, DataQuery
from trialkit.store.database import Database, create_database
from trialkit.store.patients import Consent, EligibilityEvaluation, Patient, ScreeningRecordVersion
from trialkit.store.people import LoginSession, Role, RoleAssignment, SessionEnd, User
from trialkit.store.randomisation import (
    AllocationSeal,
    AllocationSlot,
    Notification,
    Randomisation,
    StratumCounter,
    Unblinding,
)
from trialkit.store.supply import Dispensing, InventoryKit, KitListEntry, ResupplyRequest, Shipment
from trialkit.store.trials import Country, EthicsApproval, Site, Trial

__all__ = [
    "AllocationSeal",
    "AllocationSlot",
    "AuditEntry",
    "AuditEvent",
    "AuditHead",
    "Base",
    "CaptureRecord",
    "ChainReport",
    "Consent",
    "Country",
    "DataQuery",
    "Database",
    "Dispensing",
    "EligibilityEvaluation",
    "EthicsApproval",
    "InventoryKit",
    "KitListEntry",
    "LoginSession",
    "Notification",
    "Patient",
    "Randomisation",
    "ResupplyRequest",
    "Role",
    "RoleAssignment",
    "ScreeningRecordVersion",
    "SessionEnd",
    "Shipment",
    "Site",
    "StratumCounter",
    "Trial",
    "Unblinding",
    "User",
    "create_database",
    "utcnow",
]
