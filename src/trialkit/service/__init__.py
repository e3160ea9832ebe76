"""Use cases of the trial service, each in the caller's transaction, authorised and audited.

The API and the CLI call these functions and nothing below them: every function
is keyword-only, takes the session of a transaction opened with
:func:`transaction`, decides authorisation with :mod:`.policy`, records the
audit trail, and raises domain errors from :mod:`trialkit.errors`.
"""

from trialkit.service import (
    allocation,
    audit,
    auth,
    demo,
    patients,
    randomisation,
    reports,
    supply,
    trials,
    users,
)
from trialkit.service.policy import Action, Role, authorize, can_see_arm
from trialkit.service.principal import Grant, Principal
from trialkit.service.security import Security
from trialkit.service.transaction import transaction
from trialkit.service.trials import enrolment_open

__all__ = [
    "Action",
    "Grant",
    "Principal",
    "Role",
    "Security",
    "allocation",
    "audit",
    "auth",
    "authorize",
    "can_see_arm",
    "demo",
    "enrolment_open",
    "patients",
    "randomisation",
    "reports",
    "supply",
    "transaction",
    "trials",
    "users",
]
