"""The monitor's visit tallies are cached per data version: a write shows on the next read,
and a cached tally is served only to a caller who may read that site."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from trialkit.service.oversight import monitoring
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security

LATER = ENROLMENT_DAY + dt.timedelta(days=70)


def test_a_write_shows_in_the_next_tally_and_a_cached_one_stays_in_its_grant(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    other = make_site(session, trial, country="PL")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))
    elsewhere = principal(
        session, security, make_user(session, security, trial, Role.MONITOR, site=other)
    )
    randomise_patient(session, investigator, site, ENROLMENT_DAY)

    def tally() -> monitoring.VisitTally:
        found = monitoring.visit_completeness(
            session=session, actor=monitor, trial_id=trial.id, today=LATER
        )
        return next(t for t in found if t.site == site.code)

    first = tally()
    assert first.patients == 1
    assert tally() == first  # the same data version: the cached tally
    randomise_patient(session, investigator, site, ENROLMENT_DAY)
    second = tally()
    assert second.patients == 2  # the randomisation made a new version
    assert second.expected > first.expected
    # a monitor of another site never gets this site's (cached) tally
    theirs = monitoring.visit_completeness(
        session=session, actor=elsewhere, trial_id=trial.id, today=LATER
    )
    assert [t.site for t in theirs] == [other.code]
