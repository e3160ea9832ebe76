"""The monitor's pages (blinded): enrolment against target by site and country, screening outcomes.

Counts come from the service's patient views, which carry no arm. Numbers the
service cannot give yet (randomised patients, PFS events) are said to be
unavailable, never filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from trialkit.errors import NotFoundError
from trialkit.service import patients, trials
from trialkit.service import screening as screening_service
from trialkit.service.views import PatientView, SiteView
from trialkit.web.deps import DbSession, PagesDep, ViewerDep

router = APIRouter()


@dataclass
class Tally:
    """Patients in screening at a site or in a country (no arm, nothing derived from one)."""

    registered: int = 0
    screened: int = 0
    eligible: int = 0
    not_eligible: int = 0
    undetermined: int = 0
    consented: int = 0
    sites: list[str] = field(default_factory=list)

    def add(self, patient: PatientView) -> None:
        self.registered += 1
        self.screened += patient.screening_record_versions > 0
        self.eligible += patient.latest_verdict == "eligible"
        self.not_eligible += patient.latest_verdict == "not eligible"
        self.undetermined += patient.latest_verdict == "undetermined"
        self.consented += patient.consented


@router.get("/monitor", response_class=HTMLResponse)
def enrolment(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    actor = viewer.principal
    protocol = screening_service.get_protocol(
        session=session, actor=actor, trial_id=viewer.trial.id
    )
    by_site: list[tuple[SiteView, Tally]] = []
    by_country: dict[str, Tally] = {c: Tally() for c in viewer.trial.countries}
    total = Tally()
    for site in trials.list_sites(session=session, actor=actor, trial_id=viewer.trial.id):
        try:
            listed = patients.list_patients(session=session, actor=actor, site_id=site.id)
        except NotFoundError:  # a monitor assigned to other sites
            continue
        tally = Tally()
        for patient in listed:
            tally.add(patient)
            by_country.setdefault(site.country, Tally()).add(patient)
            total.add(patient)
        by_country.setdefault(site.country, Tally()).sites.append(site.code)
        by_site.append((site, tally))
    names = {c.code: c.name for c in protocol.countries}
    return pages.response(
        "monitor/enrolment.html",
        viewer=viewer,
        by_site=by_site,
        by_country=sorted(by_country.items()),
        country_names=names,
        total=total,
        target=protocol.design.patients if protocol.design else None,
        target_events=protocol.design.events if protocol.design else None,
    )
