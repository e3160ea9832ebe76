"""The statistician's pages: the design claims recomputed, the power curve, simulation runs.

Design only: no patient data and no arm of any patient. A simulation run posts its
scenario overrides (medians or HR, trials, seed) to
:func:`trialkit.service.oversight.simulation.run_simulation` and shows its figures as a table,
with the simulated power curve if asked; input errors appear next to their field. The
blinded event forecast is on ``/forecast``.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from trialkit.design.claims import check_claims
from trialkit.design.decision import decision_characteristics
from trialkit.errors import DesignInputError, NotFoundError
from trialkit.protocol import Protocol
from trialkit.report.design_plots import plot_decision
from trialkit.service.oversight import simulation
from trialkit.service.oversight.simulation import SimulationRequest, SimulationRun
from trialkit.service.platform.pages.deps import DbSession, Form, PagesDep, Viewer, ViewerDep
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.screening import screening as screening_service

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


_FIELDS = ("median_control", "median_treatment", "hr", "trials", "seed")
_DEFAULTS = {"trials": "2000", "seed": "1"}


def _simulation_page(
    pages: Pages,
    viewer: Viewer,
    protocol: Protocol,
    values: dict[str, str],
    errors: dict[str, str],
    run: SimulationRun | None,
    status_code: int = 200,
) -> HTMLResponse:
    power = None
    if run is not None and run.power_svg is not None:
        power = "data:image/svg+xml;base64," + base64.b64encode(run.power_svg).decode()
    return pages.response(
        "design/simulate.html",
        status_code=status_code,
        viewer=viewer,
        protocol=protocol,
        values=values,
        errors=errors,
        run=run,
        power=power,
        max_trials=simulation.MAX_TRIALS,
        max_grid=simulation.MAX_GRID_TRIALS,
    )


@router.get("/design/simulate", response_class=HTMLResponse)
def simulate_form(viewer: ViewerDep, session: DbSession, pages: PagesDep) -> HTMLResponse:
    protocol = _protocol(session, viewer)
    return _simulation_page(pages, viewer, protocol, dict(_DEFAULTS), {}, None)


def _field_messages(pages: Pages) -> dict[str, str]:
    return {
        "median_control": pages._("Give a median in months, above 0 and at most 600, e.g. 7.9."),
        "median_treatment": pages._("Give a median in months, above 0 and at most 600, e.g. 12.2."),
        "hr": pages._("Give a hazard ratio above 0 and at most 10, e.g. 0.65."),
        "trials": pages._("Give a whole number of trials from 100 to %(n)s.")
        % {"n": simulation.MAX_TRIALS},
        "seed": pages._("Give a whole number from 0 to 4294967295."),
    }


def _request(form: dict[str, str], pages: Pages) -> tuple[SimulationRequest | None, dict[str, str]]:
    data: dict[str, object] = {k: form[k].strip() for k in _FIELDS if form.get(k, "").strip()}
    data["grid"] = form.get("grid") == "on"
    try:
        return SimulationRequest.model_validate(data), {}
    except ValidationError as exc:
        messages = _field_messages(pages)
        errors: dict[str, str] = {}
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "hr"
            if key in messages and error["loc"]:
                errors.setdefault(key, messages[key])
            else:
                errors.setdefault(
                    key,
                    pages._(
                        "Give the hazard ratio or the treatment median, not both (leave one blank)."
                    ),
                )
        return None, errors


@router.post("/design/simulate", response_class=HTMLResponse)
def simulate_run(
    viewer: ViewerDep, session: DbSession, pages: PagesDep, form: Form
) -> HTMLResponse:
    protocol = _protocol(session, viewer)
    assert viewer.trial is not None
    values = {k: form.get(k, "") for k in (*_FIELDS, "grid")}
    request, errors = _request(form, pages)
    if request is None:
        return _simulation_page(pages, viewer, protocol, values, errors, None, 422)
    try:
        run = simulation.run_simulation(
            session=session, actor=viewer.principal, trial_id=viewer.trial.id, request=request
        )
    except DesignInputError as exc:
        key = exc.location if exc.location in _FIELDS else "hr"
        return _simulation_page(pages, viewer, protocol, values, {key: exc.message}, None, 422)
    return _simulation_page(pages, viewer, protocol, values, {}, run)
