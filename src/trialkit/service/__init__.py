"""The trial service: use cases in the caller's transaction, authorised and audited.

The shell is cut into capability slices; each holds its tables, its service functions (keyword-only,
taking the session of a transaction opened with
:func:`trialkit.service.platform.transaction.transaction`), its API routes and its pages. A slice
imports only the slices below it:

=================  ==========================================================================
``platform``       database and transaction, calendar, principal, policy, security, auth,
                   sessions, audit, notifications (outbox, delivery); what the API and the
                   pages share
``trials``         trials, sites, ethics approvals, users, freezes and locks
``screening``      patients, screening records, eligibility, consent
``randomisation``  randomise, allocation and kit lists, supply, dispensing, unblinding
``capture``        forms, records, queries, edit checks, visits, patient status, and the
                   endpoints derived from them (outcomes, one patient's PFS), the patient's
                   grid, sign-off, source data verification, monitoring visits
``safety``         serious adverse events, SUSARs, CIOMS and E2B exports, MedDRA
``oversight``      monitoring, work lists, audit trail, exports (SDTM, ODM), data cuts, trial
                   report, forecast, simulation runs
=================  ==========================================================================

Above them: :mod:`.app` (the API), :mod:`.pages` (the pages), :mod:`.server` (both),
:mod:`.demo` (seeding the demo trial) and :mod:`.tables` (every table, for the migrations).
"""
