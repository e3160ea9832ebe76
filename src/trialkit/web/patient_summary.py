"""What the patient page shows after randomisation, gathered from the service in one place.

The randomisation (blinded for blinded roles), the visit schedule with its windows and
flags, the latest version of every record, the RECIST evaluation per assessment, the
derived PFS, and the open queries. A patient who is not randomised has none of these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from trialkit.errors import TrialkitError
from trialkit.service import capture, queries, visits
from trialkit.service.capture import CaptureView
from trialkit.service.patient_pfs import PfsView, patient_pfs
from trialkit.service.queries import QueryView
from trialkit.service.views import RandomisationView
from trialkit.service.visits import ScheduleView
from trialkit.web.deps import Viewer
from trialkit.web.labels import N_
from trialkit.web.routes.clinical import latest_versions
from trialkit.web.routes.randomise import randomisation_or_none

__all__ = ["VISIT_STATUS", "Clinical", "clinical_summary"]

VISIT_STATUS = {
    "done": N_("done in its window"),
    "out_of_window": N_("done out of its window"),
    "overdue": N_("overdue"),
    "due": N_("due now"),
    "upcoming": N_("upcoming"),
}
"""The words for :data:`trialkit.endpoints.schedule.VisitStatus`."""


@dataclass(frozen=True)
class Clinical:
    randomisation: RandomisationView
    schedule: ScheduleView
    records: list[CaptureView]
    """The latest version of each record, by form then key."""
    response: dict[str, Any] | None
    """The RECIST evaluation (``None`` before a dated baseline)."""
    pfs: PfsView | None
    pfs_problem: str | None
    queries: list[QueryView]
    """Open and answered queries (closed ones are done)."""


def clinical_summary(
    session: Session, viewer: Viewer, patient_id: int, today: dt.date
) -> Clinical | None:
    actor = viewer.principal
    randomised = randomisation_or_none(session, viewer, patient_id)
    if randomised is None:
        return None
    schedule = visits.patient_visits(
        session=session, actor=actor, patient_id=patient_id, today=today
    )
    records = latest_versions(
        capture.list_records(session=session, actor=actor, patient_id=patient_id)
    )
    response = capture.tumour_response(session=session, actor=actor, patient_id=patient_id)
    pfs: PfsView | None = None
    problem: str | None = None
    try:
        pfs = patient_pfs(session=session, actor=actor, patient_id=patient_id)
    except TrialkitError as exc:  # contradictory records: say which, the page still shows
        problem = str(exc)
    listed = queries.list_patient_queries(session=session, actor=actor, patient_id=patient_id)
    return Clinical(
        randomisation=randomised,
        schedule=schedule,
        records=records,
        response=response.evaluation,
        pfs=pfs,
        pfs_problem=problem,
        queries=[q for q in listed if q.status != "closed"],
    )
