"""The built trial report is kept per data version: a second view is not recomputed (yet is
audited), a blinded view never gets the unblinded report nor the other way round, and a change
of data gives a new report."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import principal
from tests.report_world import ARM_LABELS, CUTOFF, ReportWorld, fill_trial
from trialkit.errors import PermissionDenied
from trialkit.report.document import ReportDocument
from trialkit.service.oversight.trial_report import REPORT_ENTITY, trial_report
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import on_calendar
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import iter_events
from trialkit.service.screening import patients


@pytest.fixture
def world(session: Session, security: Security) -> ReportWorld:
    return fill_trial(session, security)


def _view(
    session: Session, actor: Principal, world: ReportWorld, *, unblinded: bool
) -> ReportDocument:
    return trial_report(
        session=session,
        actor=actor,
        trial_id=world.trial_id,
        unblinded=unblinded,
        cutoff=CUTOFF,
        output="page",
    )


def _views(session: Session) -> int:
    return sum(1 for e in iter_events(session) if e.entity == REPORT_ENTITY)


def test_a_second_view_is_served_from_the_cache_and_still_audited(
    session: Session, security: Security, world: ReportWorld
) -> None:
    actor = principal(session, security, world.statistician)
    version = audit.data_version(session)
    views = _views(session)
    first = _view(session, actor, world, unblinded=False)
    second = _view(session, actor, world, unblinded=False)
    assert audit.data_version(session) == version  # the views' audit events do not move it
    assert second is first  # the same object: not built again
    assert _views(session) == views + 2


def test_blinded_and_unblinded_reports_never_mix(
    session: Session, security: Security, world: ReportWorld
) -> None:
    dsmb = principal(session, security, world.dsmb)
    statistician = principal(session, security, world.statistician)
    unblinded = _view(session, dsmb, world, unblinded=True)
    blinded = _view(session, statistician, world, unblinded=False)
    assert not unblinded.blinded
    assert blinded.blinded
    for table in blinded.tables():
        text = " ".join((table.caption, *table.header, *map(" ".join, table.rows)))
        assert not any(label in text for label in ARM_LABELS)
    # the cached unblinded report is still refused to a blinded role
    with pytest.raises(PermissionDenied):
        _view(session, statistician, world, unblinded=True)
    again = _view(session, dsmb, world, unblinded=True)
    assert again is unblinded
    pooled = _view(session, dsmb, world, unblinded=False)
    assert pooled is blinded


def test_a_change_of_data_gives_a_new_report(
    session: Session, security: Security, world: ReportWorld
) -> None:
    actor = principal(session, security, world.statistician)
    before = _view(session, actor, world, unblinded=False)
    investigator = principal(session, security, world.investigator)
    site_id = investigator.grants[0].site_id
    assert site_id is not None
    with on_calendar(CUTOFF):  # registered by the cut-off: counted as screened
        patients.register_patient(
            session=session, actor=investigator, site_id=site_id, screening_number="late-comer"
        )
    after = _view(session, actor, world, unblinded=False)
    assert after is not before
    assert after.sections != before.sections  # one more patient screened in the CONSORT flow
