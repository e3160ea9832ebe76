"""Persistence: SQLAlchemy tables, the database factory, migrations and the audit chain.

The schema is created and changed only by the Alembic migrations in
``trialkit/service/platform/db/migrations`` (:mod:`trialkit.service.platform.db.migrate`).
"""

from trialkit.service.capture.signoff_tables import MonitoringVisit, Signature, SourceVerification
from trialkit.service.capture.tables import CaptureRecord, DataQuery
from trialkit.service.platform.db.base import Base, utcnow
from trialkit.service.platform.db.database import Database, create_database
from trialkit.service.platform.tables.audit import AuditEntry, AuditEvent, AuditHead, ChainReport
from trialkit.service.platform.tables.notifications import Delivery, Notification
from trialkit.service.platform.tables.people import (
    LoginSession,
    Role,
    RoleAssignment,
    SessionEnd,
    User,
)
from trialkit.service.randomisation.tables.randomisation import (
    AllocationSeal,
    AllocationSlot,
    Randomisation,
    StratumCounter,
    Unblinding,
)
from trialkit.service.randomisation.tables.supply import (
    Dispensing,
    InventoryKit,
    KitListEntry,
    ResupplyRequest,
    Shipment,
)
from trialkit.service.safety.tables import (
    MeddraTerm,
    SaeReportVersion,
    SaeReview,
    SusarUnblinding,
)
from trialkit.service.screening.tables import (
    Consent,
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)
from trialkit.service.trials.tables import Country, EthicsApproval, Site, Trial

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
    "Delivery",
    "Dispensing",
    "EligibilityEvaluation",
    "EthicsApproval",
    "InventoryKit",
    "KitListEntry",
    "LoginSession",
    "MeddraTerm",
    "MonitoringVisit",
    "Notification",
    "Patient",
    "Randomisation",
    "ResupplyRequest",
    "Role",
    "RoleAssignment",
    "SaeReportVersion",
    "SaeReview",
    "ScreeningRecordVersion",
    "SessionEnd",
    "Shipment",
    "Signature",
    "Site",
    "SourceVerification",
    "StratumCounter",
    "SusarUnblinding",
    "Trial",
    "Unblinding",
    "User",
    "create_database",
    "utcnow",
]
