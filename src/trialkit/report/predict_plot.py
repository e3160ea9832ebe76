"""Cumulative events over calendar time: observed, predicted with a band, and the target.

Uses matplotlib's object API (``Figure``), not ``pyplot``; the prediction core never
imports this module.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from trialkit.errors import InputError
from trialkit.predict import EventForecast

__all__ = ["event_forecast_svg", "plot_event_forecast"]

_FORMATS = {".png": "png", ".svg": "svg"}


def plot_event_forecast(
    forecast: EventForecast, path: Path, *, title: str = "", points: int = 120
) -> None:
    """Draw observed and predicted cumulative events and write ``path`` (.png or .svg)."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot write a plot to {path.name!r}: use a file name ending in .png or .svg",
            location=str(path),
        )
    _figure(forecast, title=title, points=points).savefig(path, format=fmt)


def event_forecast_svg(forecast: EventForecast, *, title: str = "", points: int = 120) -> bytes:
    """The same plot as SVG bytes (for a web page or an API response)."""
    buffer = io.BytesIO()
    _figure(forecast, title=title, points=points).savefig(buffer, format="svg")
    return buffer.getvalue()


def _figure(forecast: EventForecast, *, title: str, points: int) -> Figure:
    lo, hi = forecast.predicted_date_interval()
    median = forecast.predicted_date_median
    end = hi or (forecast.cutoff + timedelta(days=5 * 365))
    end = end + timedelta(days=max((end - forecast.cutoff).days // 10, 30))
    span = max((end - forecast.cutoff).days, 1)
    future = [forecast.cutoff + timedelta(days=round(k * span / points)) for k in range(points + 1)]
    curve = forecast.event_curve(future)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    observed = forecast.observed_event_times
    if observed.size:
        days = np.ceil(observed) - 1
        x = [forecast.origin, *[forecast.origin + timedelta(days=int(d)) for d in days]]
        x.append(forecast.cutoff)
        y = [0, *range(1, observed.size + 1), observed.size]
        ax.step(
            _dates(x), y, where="post", color="black", label=f"observed ({observed.size} events)"
        )
    when = _dates(future)
    ax.plot(when, [c.mean for c in curve], color="C0", label="predicted (mean)")
    ax.fill_between(
        when,
        [c.lower for c in curve],
        [c.upper for c in curve],
        color="C0",
        alpha=0.25,
        label=f"{round(100 * forecast.level)}% prediction band",
    )
    ax.axhline(forecast.target, color="C3", ls="--", lw=1, label=f"target {forecast.target}")
    cut = float(date2num(forecast.cutoff))  # type: ignore[no-untyped-call]
    ax.axvline(
        cut,
        color="grey",
        ls=":",
        lw=1,
        label=f"cut-off {forecast.cutoff}",
    )
    if median is not None:
        pi = f" (PI {_iso(lo)} to {_iso(hi)})"
        ax.plot(_dates([median]), [forecast.target], "o", color="C3", label=f"median {median}{pi}")
    ax.set_xlabel("Calendar date")
    ax.set_ylabel("Cumulative events")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    stage = "design stage" if forecast.stage == "design" else f"model {forecast.model}"
    ax.set_title(f"{title} ({stage})" if title else stage)
    return fig


def _dates(values: list[date]) -> np.ndarray[tuple[int], np.dtype[np.datetime64]]:
    return np.array(values, dtype="datetime64[D]")


def _iso(value: date | None) -> str:
    return "never" if value is None else value.isoformat()
