"""The blinded event forecast: JSON (the CLI's ``--json`` contract) and its plot."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from trialkit.predict import DEFAULT_MODEL, ModelChoice
from trialkit.report.predict_plot import event_forecast_svg
from trialkit.service.oversight import forecast
from trialkit.service.oversight.forecast import MAX_SIMS
from trialkit.service.platform.api.deps import CurrentPrincipal, DbSession, Id, Today
from trialkit.service.platform.api.permissions import PermissionFirstRoute, requires
from trialkit.service.platform.policy import Action

router = APIRouter(route_class=PermissionFirstRoute, prefix="/api", tags=["event prediction"])

Cutoff = Annotated[
    dt.date | None, Query(description="Cut-off date (default: the latest recorded date).")
]
Target = Annotated[int | None, Query(ge=1, le=100_000, description="Target events.")]
Sims = Annotated[int, Query(ge=10, le=MAX_SIMS, description="Simulated continuations.")]
Seed = Annotated[int, Query(ge=0, le=2**32 - 1, description="Seed of the random stream.")]
Model = Annotated[
    ModelChoice,
    Query(
        description="Event model: average (AIC weights; the default, best calibrated), auto "
        "(smallest AIC), exponential, weibull, piecewise or mixture."
    ),
]


@router.get(
    "/trials/{trial_id}/forecast",
    dependencies=[requires(Action.VIEW_FORECAST)],
    response_model=dict[str, Any],
)
def get_forecast(
    trial_id: Id,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
    cutoff: Cutoff = None,
    target: Target = None,
    at: Annotated[list[dt.date] | None, Query(description="Dates to report.")] = None,
    sims: Sims = 2000,
    seed: Seed = 1,
    model: Model = DEFAULT_MODEL,
) -> dict[str, Any]:
    """The predicted date of the target PFS event from blinded data (no arm is used)."""
    result = forecast.trial_forecast(
        session=session,
        actor=actor,
        trial_id=trial_id,
        cutoff=cutoff,
        today=today,
        target=target,
        model=model,
        n_sims=sims,
        seed=seed,
    )
    return result.to_dict(tuple(at or ()))


@router.get(
    "/trials/{trial_id}/forecast.svg",
    dependencies=[requires(Action.VIEW_FORECAST)],
    response_class=Response,
)
def get_forecast_plot(
    trial_id: Id,
    session: DbSession,
    actor: CurrentPrincipal,
    today: Today,
    cutoff: Cutoff = None,
    target: Target = None,
    sims: Sims = 2000,
    seed: Seed = 1,
    model: Model = DEFAULT_MODEL,
) -> Response:
    """Observed and predicted cumulative events with the prediction band and the target."""
    result = forecast.trial_forecast(
        session=session,
        actor=actor,
        trial_id=trial_id,
        cutoff=cutoff,
        today=today,
        target=target,
        model=model,
        n_sims=sims,
        seed=seed,
    )
    svg = event_forecast_svg(result.forecast, title="PFS events")
    return Response(svg, media_type="image/svg+xml")
