"""Use cases of the trial service, each in the caller's transaction, authorised and audited.

The API, the web pages and the CLI call these functions and nothing below them: every
function is keyword-only, takes the session of a transaction opened with
:func:`transaction`, decides authorisation with :mod:`.policy`, records the audit trail,
and raises domain errors from :mod:`trialkit.errors`.

Importing the package imports none of its modules but :mod:`.transaction`: each is imported on
first use
(``trialkit.service.capture``, ``from trialkit.service import capture``), so a command that
needs one use case does not pay for the others (the demo seeding, the report's statistics,
the forecast's simulation). A module ``__getattr__`` (PEP 562) does it in a few lines, which a
lazy-import library would not shorten.

Use cases (one module each):

=================  ==========================================================================
``trials``         trials, sites and site activation
``users``          user accounts and role assignments
``auth``           logging in and out, tokens, passwords
``sessions``       how login sessions end; the sweep of the ones that ran out
``patients``       screening: registration, screening records, eligibility, consent
``screening``      a dry run of a screening record against the protocol
``allocation``     sealing, verifying and extending the allocation and kit lists
``randomisation``  randomising a patient, reading a randomisation, emergency unblinding
``supply``         site inventory, shipments, receipt, dispensing and resupply
``dispensings``    which kit went to which patient (kit numbers only)
``dispensing_check`` whether a cycle's kit may be dispensed today, and why not
``capture``        clinical data after randomisation: versioned form records
``edit_checks``    edit checks over a patient's records, opening queries
``queries``        data queries on one field of one record
``visits``         each randomised patient's expected visits and windows
``recist_preview`` the RECIST 1.1 response a tumour record would give, before saving
``patient_pfs``    one patient's derived progression-free survival
``patient_status`` a patient's status derived from the records, and the forms it allows
``monitoring``     the monitor's blinded overview
``reports``        randomisation reports (blinded enrolment, arm balance if unblinded)
``forecast``       event prediction from the blinded database
``simulation``     simulation runs of the trial's design, bounded for a page request
``outcomes``       endpoints from the database: ADSL, ADTTE
``exports``        SDTM domains with define.xml, checked; CDISC ODM 1.3 XML
``sdtm``           the SDTM domains (SDTMIG 3.3) of every randomised patient
``sdtm_spec``      SDTM metadata: variables, labels, codelists, derivations
``define_xml``     define.xml 2.1 describing the SDTM domains
``sdtm_checks``    the SDTMIG rules the domains and define.xml are checked against
``trial_report``   the trial report's analysis inputs at a data cut-off
``audit``          recording, verifying and exporting the audit trail
``health``         whether the database answers
``demo``           seeding the demo trial (demo mode only)
=================  ==========================================================================

What they share: ``boundary`` (what any input must be: finite, printable, plausible dates and
ids), ``request_boundary`` (each HTTP request's retry and error answer, for the API and the
pages), ``policy`` (who may do what), ``principal`` (who is acting), ``security`` (password
hashing and tokens), ``transaction`` (the unit of work and the lock order), ``calendar`` (the
service's date), ``views`` (the frozen read models returned), ``forms`` (case report form
schemas), ``clinical`` (records and RECIST of one patient), ``randomised`` (the seam to
randomisation).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported now, not on first use: the module and the function share the name, and importing the
# module later would bind the package attribute to the module (the import system sets it).
from trialkit.service.transaction import transaction

if TYPE_CHECKING:
    from trialkit.service import (
        allocation,
        audit,
        auth,
        boundary,
        calendar,
        capture,
        clinical,
        define_xml,
        demo,
        dispensing_check,
        dispensings,
        edit_checks,
        exports,
        forecast,
        forms,
        health,
        monitoring,
        outcomes,
        patient_pfs,
        patient_status,
        patients,
        policy,
        principal,
        queries,
        randomisation,
        randomised,
        recist_preview,
        reports,
        request_boundary,
        screening,
        sdtm,
        sdtm_checks,
        sdtm_spec,
        security,
        sessions,
        simulation,
        supply,
        trial_report,
        trials,
        users,
        views,
        visits,
    )
    from trialkit.service.policy import Action, Role, authorize, can_see_arm
    from trialkit.service.principal import Grant, Principal
    from trialkit.service.security import Security
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
    "boundary",
    "calendar",
    "can_see_arm",
    "capture",
    "clinical",
    "define_xml",
    "demo",
    "dispensing_check",
    "dispensings",
    "edit_checks",
    "enrolment_open",
    "exports",
    "forecast",
    "forms",
    "health",
    "monitoring",
    "outcomes",
    "patient_pfs",
    "patient_status",
    "patients",
    "policy",
    "principal",
    "queries",
    "randomisation",
    "randomised",
    "recist_preview",
    "reports",
    "request_boundary",
    "screening",
    "sdtm",
    "sdtm_checks",
    "sdtm_spec",
    "security",
    "sessions",
    "simulation",
    "supply",
    "transaction",
    "trial_report",
    "trials",
    "users",
    "views",
    "visits",
]
"""Every module of the package and the names it re-exports (a test checks the modules)."""

_NAMES = {
    "Action": "policy",
    "Role": "policy",
    "authorize": "policy",
    "can_see_arm": "policy",
    "Grant": "principal",
    "Principal": "principal",
    "Security": "security",
    "enrolment_open": "trials",
}
"""Names the package re-exports, by the module that defines them."""


def __getattr__(name: str) -> Any:
    """Import a module, or the module defining a re-exported name, on first use."""
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    elif name in __all__:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
