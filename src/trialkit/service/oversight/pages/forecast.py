"""The blinded event forecast page (monitor, statisticians, DSMB) and its plot.

Pooled data only: the forecast comes from
:func:`trialkit.service.oversight.forecast.trial_forecast`, which never reads an arm. Where the data
cannot give a forecast yet (no randomised patient, no event), the page says why and shows the
forecast from the design assumptions instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import InputError, NotFoundError
from trialkit.predict import DEFAULT_MODEL, EventForecast, ModelChoice
from trialkit.report.predict_plot import event_forecast_svg
from trialkit.service.oversight import forecast as forecast_service
from trialkit.service.platform.pages.deps import (
    DbSession,
    PagesDep,
    Viewer,
    ViewerDep,
    request_clock,
)
from trialkit.service.platform.pages.rendering import Pages

router = APIRouter()

PAGE_SIMS = 2000
"""Simulated continuations behind a page view (the forecast is cached per data snapshot)."""


@dataclass(frozen=True)
class Shown:
    """What the page shows: the forecast, whether it is from data, and why not if not."""

    forecast: EventForecast
    from_data: bool
    problem: str | None


def _trial_id(viewer: Viewer, pages: Pages) -> int:
    if viewer.trial is None:
        raise NotFoundError(pages._("You hold no role in a trial."))
    return viewer.trial.id


def _date(text: str | None, label: str, errors: dict[str, str], key: str, pages: Pages) -> Any:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        errors[key] = pages._(
            "%(label)s must be a date written YYYY-MM-DD, for example 2010-06-30."
        ) % {"label": label}
        return None


def model_options(pages: Pages) -> list[tuple[str, str]]:
    """The event models a viewer may choose (the predict core's), the default first."""
    labels = {
        "average": pages._("Model average (Akaike weights; the default, best calibrated)"),
        "auto": pages._("The model with the smallest AIC"),
        "exponential": pages._("Exponential"),
        "weibull": pages._("Weibull"),
        "piecewise": pages._("Piecewise exponential"),
        "mixture": pages._("Two-component exponential mixture"),
    }
    models = sorted(get_args(ModelChoice), key=lambda m: m != DEFAULT_MODEL)
    return [(m, labels.get(m, m)) for m in models]


def _model(text: str | None, errors: dict[str, str], pages: Pages) -> ModelChoice:
    if not text:
        return DEFAULT_MODEL
    choices = get_args(ModelChoice)
    if text not in choices:
        errors["model"] = pages._("Choose one of the listed models (%(choices)s).") % {
            "choices": ", ".join(m for m, _ in model_options(pages))
        }
        return DEFAULT_MODEL
    return cast(ModelChoice, text)  # checked against the choices above


def calendar_today(request: Request) -> dt.date:
    """Today as the settings give it (``TRIALKIT_CALENDAR_DATE`` may pin it)."""
    return request_clock(request).today()


def shown_forecast(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    cutoff: dt.date | None,
    today: dt.date,
    model: ModelChoice = DEFAULT_MODEL,
) -> Shown:
    """The data forecast, or the design-stage one with the reason the data give none."""
    trial_id = _trial_id(viewer, pages)
    try:
        result = forecast_service.trial_forecast(
            session=session,
            actor=viewer.principal,
            trial_id=trial_id,
            cutoff=cutoff,
            today=today,
            n_sims=PAGE_SIMS,
            model=model,
        )
        return Shown(result.forecast, True, None)
    except InputError as exc:
        design = forecast_service.design_stage_forecast(
            session=session, actor=viewer.principal, trial_id=trial_id, n_sims=PAGE_SIMS
        )
        return Shown(design, False, str(exc))


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    cutoff: str | None = None,
    by: str | None = None,
    model: str | None = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    cut = _date(cutoff, pages._("Cut-off date"), errors, "cutoff", pages)
    when = _date(by, pages._("Date"), errors, "by", pages)
    chosen = _model(model, errors, pages)
    shown = shown_forecast(session, viewer, pages, cut, calendar_today(request), chosen)
    f = shown.forecast
    lo, hi = f.predicted_date_interval()
    e_lo, e_hi = f.enrolment_complete_interval()
    at = f.events_by(when) if when else None
    # the plot recomputes the same forecast
    query = urlencode(
        {
            k: v
            for k, v in (("cutoff", cut.isoformat() if cut else ""), ("model", chosen))
            if v and not (k == "model" and v == DEFAULT_MODEL)
        }
    )
    query = f"?{query}" if query else ""
    return pages.response(
        "forecast/forecast.html",
        viewer=viewer,
        shown=shown,
        f=f,
        interval=(lo, hi),
        enrolment_interval=(e_lo, e_hi),
        at=at,
        probability=f.probability_by(when) if when else None,
        values={"cutoff": cutoff or "", "by": by or "", "model": chosen},
        errors=errors,
        models=model_options(pages),
        plot_url=f"/forecast.svg{query}",
    )


@router.get("/forecast.svg")
def forecast_plot(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    cutoff: str | None = None,
    model: str | None = None,
) -> Response:
    """Observed and predicted cumulative PFS events, the 90% band and the target line."""
    errors: dict[str, str] = {}
    cut = _date(cutoff, "cutoff", errors, "cutoff", pages)
    chosen = _model(model, errors, pages)
    for key in ("cutoff", "model"):
        if key in errors:
            raise InputError(errors[key], location=key)
    shown = shown_forecast(session, viewer, pages, cut, calendar_today(request), chosen)
    svg = event_forecast_svg(shown.forecast, title=pages._("PFS events"))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=60"})
