"""Cumulative enrolment over calendar time against the planned (linear) enrolment.

Blinded: counts per month, in total and per country; never per arm. Uses matplotlib's
object API (``Figure``), not ``pyplot``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
from matplotlib.figure import Figure

__all__ = ["enrolment_svg"]


def _month_start(month: str) -> np.datetime64:
    return np.datetime64(f"{month}-01", "D")


def enrolment_svg(
    *,
    months: Sequence[tuple[str, int]],
    by_country: Mapping[str, Sequence[tuple[str, int]]],
    target: int | None,
    planned_start: date,
    planned_end: date,
    title: str = "",
) -> bytes:
    """Draw cumulative randomisations (month ends) in total and per group, and the plan.

    Parameters
    ----------
    months
        ``(YYYY-MM, cumulative randomised)`` for every month, in order.
    by_country
        The same per country (or site) code.
    target
        Planned patients: drawn as a line from ``planned_start`` (0) to ``planned_end``.
    """
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if months:
        x = [_month_start(m) + np.timedelta64(31, "D") for m, _ in months]
        ax.step(x, [n for _, n in months], where="pre", color="black", label="randomised (all)")
    for k, (country, series) in enumerate(sorted(by_country.items())):
        x = [_month_start(m) + np.timedelta64(31, "D") for m, _ in series]
        ax.step(x, [n for _, n in series], where="pre", color=f"C{k}", lw=1, label=country)
    if target:
        ends = np.array([planned_start, planned_end], dtype="datetime64[D]")
        ax.plot(ends, [0, target], color="C3", ls="--", lw=1, label=f"planned ({target})")
        ax.axhline(target, color="C3", ls=":", lw=1)
    ax.set_xlabel("Calendar date")
    ax.set_ylabel("Patients randomised (cumulative)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    if title:
        ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()
