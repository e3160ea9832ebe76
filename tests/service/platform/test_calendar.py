"""Every date the service stamps or judges comes from the one clock (platform.db.base.utcnow)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from sqlalchemy.orm import Session

from tests.factories import principal
from tests.report_world import fill_trial
from trialkit.service.oversight.exports import odm_xml
from trialkit.service.platform.calendar import on_calendar
from trialkit.service.platform.security import Security

PINNED = dt.date(2009, 6, 30)


def test_an_odm_snapshot_is_created_on_the_pinned_calendar_date(
    session: Session, security: Security
) -> None:
    world = fill_trial(session, security, patients_n=2)
    statistician = principal(session, security, world.statistician)
    with on_calendar(PINNED):
        root = ET.fromstring(odm_xml(session=session, actor=statistician, trial_id=world.trial_id))
    created = dt.datetime.fromisoformat(root.attrib["CreationDateTime"])
    assert created.date() == PINNED
    assert PINNED.isoformat() in root.attrib["FileOID"]
