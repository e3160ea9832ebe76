"""The audit trail's search (both databases): newest first, a patient's records, a date range."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests.factories import example_record, make_patient, make_site, make_trial, make_user
from tests.factories import principal as principal_of
from trialkit.service.oversight import audit_trail
from trialkit.service.platform import audit
from trialkit.service.platform.listing import Listing
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.screening import patients


def test_a_patient_s_history_newest_first_within_a_date_range(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial)
    nurse = principal_of(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    admin = principal_of(session, security, make_user(session, security, trial, Role.ADMINISTRATOR))
    her = make_patient(session, nurse, site)
    other = make_patient(session, nurse, site)
    patients.submit_screening_record(
        session=session, actor=nurse, patient_id=her.id, data=example_record()
    )
    listing = Listing.from_params({}, sorts=tuple(audit.AUDIT_SORTS), default_sort="-seq")
    found = audit_trail.search_trail(
        session=session,
        actor=admin,
        search=audit.AuditSearch(),
        listing=listing,
        patient=her.screening_number,
    )
    seqs = [int(str(e["seq"])) for e in found.items]
    assert seqs == sorted(seqs, reverse=True)
    about = {(e["entity"], e["entity_id"]) for e in found.items}
    assert ("patient", str(her.id)) in about
    assert {kind for kind, _ in about} == {"patient", "screening_record"}
    assert ("patient", str(other.id)) not in about
    today = dt.datetime.now(dt.UTC).date()
    later = audit.AuditSearch(date_from=today + dt.timedelta(days=2))
    assert (
        audit.search_events(session=session, actor=admin, search=later, listing=listing).total == 0
    )
    around = audit.AuditSearch(
        date_from=today - dt.timedelta(days=2), date_to=today + dt.timedelta(days=2)
    )
    assert audit.search_events(session=session, actor=admin, search=around, listing=listing).total
