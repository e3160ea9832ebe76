"""What the patient page shows after randomisation, gathered from the service in one place.

The randomisation (blinded for blinded roles), the visit schedule with its windows and
flags, the latest version of every record, the RECIST evaluation per assessment, the
derived PFS, and the open queries with the form field each one is on (the page lists them at
its top and next to their records). A patient who is not randomised has none of these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from trialkit.errors import TrialkitError
from trialkit.protocol.forms import Forms
from trialkit.service.capture import capture, queries, visits
from trialkit.service.capture.capture import CaptureView
from trialkit.service.capture.pages.clinical import latest_versions, trial_forms
from trialkit.service.capture.patient_pfs import PfsView, patient_pfs
from trialkit.service.capture.queries import QueryView
from trialkit.service.capture.visits import ScheduleView
from trialkit.service.platform.pages.deps import Viewer
from trialkit.service.platform.pages.form_pages import (
    form_fields,
    keyed_ids,
    page_field,
    page_sections,
    record_to_page,
)
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.views import PatientView, RandomisationView
from trialkit.service.randomisation.pages.randomise import randomisation_or_none

__all__ = ["VISIT_STATUS", "Clinical", "QueryLink", "clinical_summary"]

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
class QueryLink:
    """Where a query's item is: the field on its record's form page, and the field's label."""

    href: str
    label: str


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
    query_links: dict[int, QueryLink]
    """Query id -> the field it is on (the form page's summary when the page does not show it)."""
    problems: dict[str, str]
    """Section -> why it cannot be shown (records that contradict each other): the page says
    so in that section and shows the rest."""


def _section(problems: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except TrialkitError as exc:
        problems[name] = str(exc)
        return None


def _query_links(
    patient_id: int,
    forms: Forms | None,
    records: list[CaptureView],
    listed: list[QueryView],
    gettext: Callable[[str], str],
) -> dict[int, QueryLink]:
    by_name = {f.name: f for f in (forms.forms if forms else ())}
    baseline = next((f.name for f in by_name.values() if f.used == "baseline"), None)
    baseline_data = next((r.data for r in records if r.form == baseline), None)
    data = {(r.form, r.record_key): r.data for r in records}
    links: dict[int, QueryLink] = {}
    for query in listed:
        name, label = None, query.field
        form = by_name.get(query.form)
        if forms is not None and form is not None:
            record = data.get((query.form, query.record_key), {})
            keys = keyed_ids(form, baseline_data, record)
            sections = page_sections(forms, form, record_to_page(form, record, keys), keys)
            name = page_field(sections, query.field, keys)
            if name is not None:
                label = gettext(form_fields(sections)[name].label)
        anchor = f"f-{name.replace('.', '-')}" if name else "query-summary"
        href = f"/patients/{patient_id}/forms/{query.form}?key={query.record_key}#{anchor}"
        links[query.id] = QueryLink(href, label)
    return links


def clinical_summary(
    session: Session,
    viewer: Viewer,
    patient: PatientView,
    today: dt.date,
    gettext: Callable[[str], str] = str,
) -> Clinical | None:
    """``gettext`` translates the field labels of the queries."""
    patient_id = patient.id
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
    trial_id = patient.trial_id
    listed = [
        q
        for q in queries.list_patient_queries(session=session, actor=actor, patient_id=patient_id)
        if q.status != "closed"
    ]
    return Clinical(
        randomisation=randomised,
        schedule=schedule,
        records=records,
        response=None if response is None else response.evaluation,
        pfs=pfs,
        queries=listed,
        query_links=_query_links(
            patient_id, trial_forms(session, trial_id), records, listed, gettext
        ),
        problems=problems,
    )
