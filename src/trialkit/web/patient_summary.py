"""What the patient page shows after randomisation, gathered from the service in one place.

The randomisation (blinded for blinded roles), the visit schedule with its windows and
flags, the latest version of every record, the RECIST evaluation per assessment, the
derived PFS, and the open queries. A patient who is not randomised has none of these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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

T = TypeVar("T")

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
    schedule: ScheduleView | None
    """``None`` when the schedule cannot be drawn (see ``problems``)."""
    records: list[CaptureView]
    """The latest version of each record, by form then key."""
    response: dict[str, Any] | None
    """The RECIST evaluation (``None`` before a dated baseline)."""
    pfs: PfsView | None
    queries: list[QueryView]
    """Open and answered queries (closed ones are done)."""
    problems: dict[str, str]
    """Section -> why it cannot be shown (records that contradict each other): the page says
    so in that section and shows the rest."""


def _section(problems: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except TrialkitError as exc:
        problems[name] = str(exc)
        return None


def clinical_summary(
    session: Session, viewer: Viewer, patient_id: int, today: dt.date
) -> Clinical | None:
    actor = viewer.principal
    randomised = randomisation_or_none(session, viewer, patient_id)
    if randomised is None:
        return None
    problems: dict[str, str] = {}
    schedule = _section(
        problems,
        "schedule",
        lambda: visits.patient_visits(
            session=session, actor=actor, patient_id=patient_id, today=today
        ),
    )
    records = latest_versions(
        capture.list_records(session=session, actor=actor, patient_id=patient_id)
    )
    response = _section(
        problems,
        "response",
        lambda: capture.tumour_response(session=session, actor=actor, patient_id=patient_id),
    )
    pfs = _section(
        problems, "pfs", lambda: patient_pfs(session=session, actor=actor, patient_id=patient_id)
    )
    listed = queries.list_patient_queries(session=session, actor=actor, patient_id=patient_id)
    return Clinical(
        randomisation=randomised,
        schedule=schedule,
        records=records,
        response=None if response is None else response.evaluation,
        pfs=pfs,
        queries=[q for q in listed if q.status != "closed"],
        problems=problems,
    )
