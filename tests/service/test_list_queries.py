"""The data behind the list pages costs a fixed number of SQL statements, however many patients
a site has (no per-patient query in a loop), and says what the per-patient functions say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from trialkit.errors import NotFoundError
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import SiteView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.dispensing_check import (
    dispensing_check,
    site_dispensing_checks,
)
from trialkit.service.screening import patients
from trialkit.service.trials import trials


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_list_functions_cost_the_same_for_two_patients_as_for_six(
    session: Session, security: Security
) -> None:
    trial = make_trial(session)
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    pharmacist = principal(
        session, security, make_user(session, security, trial, Role.PHARMACIST, site=site)
    )
    calls: dict[str, Callable[[], object]] = {
        "patients": lambda: patients.list_patients(
            session=session, actor=investigator, site_id=site.id
        ),
        "numbers": lambda: randomisation.randomisation_numbers(
            session=session, actor=investigator, site_id=site.id
        ),
        "checks": lambda: site_dispensing_checks(
            session=session, actor=pharmacist, site_id=site.id, on_date=ENROLMENT_DAY
        ),
    }

    def costs() -> dict[str, int]:
        session.expire_all()
        found: dict[str, int] = {}
        for name, call in calls.items():
            with counted(session) as seen:
                call()
            found[name] = len(seen)
        return found

    for _ in range(2):
        randomise_patient(session, investigator, site, ENROLMENT_DAY)
    make_eligible_patient(session, investigator, site)  # screened, not randomised
    few = costs()
    for _ in range(3):
        randomise_patient(session, investigator, site, ENROLMENT_DAY)
    make_eligible_patient(session, investigator, site)
    assert costs() == few

    # and the batch answers are the per-patient ones
    listed = patients.list_patients(session=session, actor=investigator, site_id=site.id)
    assert listed == [
        patients.get_patient(session=session, actor=investigator, patient_id=p.id) for p in listed
    ]
    numbers = randomisation.randomisation_numbers(
        session=session, actor=investigator, site_id=site.id
    )
    assert len(numbers) == 5
    for patient_id, number in numbers.items():
        shown = randomisation.get_randomisation(
            session=session, actor=investigator, patient_id=patient_id
        )
        assert shown.randomisation_number == number
    checks = site_dispensing_checks(
        session=session, actor=pharmacist, site_id=site.id, on_date=ENROLMENT_DAY
    )
    assert set(checks) == set(numbers)
    for patient_id, check in checks.items():
        assert check == dispensing_check(
            session=session,
            actor=pharmacist,
            patient_id=patient_id,
            cycle=None,
            on_date=ENROLMENT_DAY,
        )


def test_a_site_outside_the_grant_reads_as_absent(session: Session, security: Security) -> None:
    trial = make_trial(session)
    mine = make_site(session, trial, country="DE")
    other = make_site(session, trial, country="PL")
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=mine)
    )
    with pytest.raises(NotFoundError, match="not found"):
        randomisation.randomisation_numbers(session=session, actor=actor, site_id=other.id)


def test_list_sites_costs_the_same_for_two_sites_as_for_five(
    session: Session, security: Security
) -> None:
    """Every site's view (country, ethics approvals, whether it recruits) in a fixed number of
    statements, and the same views as one site read at a time."""
    trial = make_trial(session)
    for country, approved, active in (("DE", True, True), ("IT", False, False)):
        make_site(session, trial, country=country, approved=approved, active=active)
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))

    def listed() -> tuple[list[SiteView], int]:
        session.expire_all()
        with counted(session) as seen:
            views = trials.list_sites(session=session, actor=monitor, trial_id=trial.id)
        return views, len(seen)

    two, fewer = listed()
    for country, approved, active in (("PL", True, False), ("RU", True, True), ("DE", True, True)):
        make_site(session, trial, country=country, approved=approved, active=active)
    five, more = listed()
    assert (len(two), len(five)) == (2, 5)
    assert more == fewer
    assert [v.recruiting for v in five] == [True, False, False, True, True]
    assert [v.country for v in five] == ["DE", "IT", "PL", "RU", "DE"]
    session.expire_all()
    one_by_one = [trials.get_site(session=session, actor=monitor, site_id=v.id) for v in five]
    assert five == one_by_one
