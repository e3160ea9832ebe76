"""The statistician's pages: the protocol's design claims recomputed, and the power curve.

Design only: no patient data and no arm of any patient. Simulation runs appear
here once ``trialkit.simulate`` offers them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from trialkit.design.claims import check_claims
from trialkit.design.decision import decision_characteristics
from trialkit.errors import NotFoundError
from trialkit.protocol import Protocol
from trialkit.report.design_plots import plot_decision
from trialkit.service import screening as screening_service
from trialkit.web.deps import DbSession, PagesDep, Viewer, ViewerDep

router = APIRouter()


def _protocol(session: Session, viewer: Viewer) -> Protocol:
    if viewer.trial is None:
        raise NotFoundError("you hold no role in a trial")
    protocol = screening_service.get_protocol(
        session=session, actor=viewer.principal, trial_id=viewer.trial.id
    )
    if protocol.design is None:
        raise NotFoundError(f"protocol {protocol.acronym} has no design block")
    return protocol


@router.get("/design", response_class=HTMLResponse)
def design(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    protocol = _protocol(session, viewer)
    assert protocol.design is not None
    report = check_claims(
        protocol.design,
        first_enrolment=protocol.dates.first_enrolment,
        final_enrolment=protocol.dates.final_enrolment,
    )
    return pages.response("design/design.html", viewer=viewer, protocol=protocol, report=report)


@router.get("/design/power.svg")
def power_curve(viewer: ViewerDep, session: DbSession) -> Response:
    """Probability of declaring efficacy against the true HR (drawn by trialkit.report)."""
    protocol = _protocol(session, viewer)
    design = protocol.design
    assert design is not None
    result = decision_characteristics(
        events=design.events,
        decision_hr=design.decision_hr,
        alternative_hr=design.alternative_hr,
        allocation_ratio=design.allocation_ratio,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "power.svg"
        plot_decision(result, path)
        svg = path.read_bytes()
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=300"})
