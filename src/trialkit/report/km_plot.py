"""Kaplan-Meier plot with censoring marks and a numbers-at-risk table under the axis.

Uses matplotlib's object API (``Figure``), not ``pyplot``, so that no global state or
GUI backend is involved; the analysis core never imports this module. Publication layout: each
curve labelled in the legend with its patients and events, censoring as ticks on the curve, the
numbers at risk per curve aligned with the time axis ticks below the plot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trialkit.analysis import KaplanMeier
from trialkit.errors import InputError
from trialkit.report.svg import figure_svg

__all__ = ["km_figure", "km_svg", "plot_km"]

_FORMATS = {".png": "png", ".svg": "svg"}
# Colour-blind-safe (Okabe-Ito) and distinguishable in grey print by the line style too.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_STYLES = ("-", "--", "-.", ":")


def km_figure(
    curves: Mapping[str, KaplanMeier],
    *,
    time_label: str = "Time",
    title: str = "",
    y_label: str = "Survival probability",
    n_ticks: int = 6,
    size: tuple[float, float] = (8, 5.5),
) -> Figure:
    """The curves (one per arm, or one pooled) with censoring marks and numbers at risk."""
    if not curves:
        raise InputError("no curves to draw: give at least one Kaplan-Meier estimate")
    # Fixed margins rather than constrained layout: the layout engine measured every text
    # twice and cost as much as the drawing; the left margin fits labels of ~16 characters.
    fig = Figure(figsize=size)
    grid = fig.add_gridspec(
        2,
        1,
        height_ratios=(4, 0.35 + 0.3 * len(curves)),
        left=0.17,
        right=0.97,
        top=0.95 if title else 0.98,
        bottom=0.02,
        hspace=0.3,
    )
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    t_max = max((float(km.time[-1]) for km in curves.values() if km.time.size), default=1.0)
    t_max = t_max if t_max > 0 else 1.0
    ticks = np.asarray(MaxNLocator(n_ticks).tick_values(0.0, t_max), dtype=float)
    ticks = ticks[(ticks >= 0) & (ticks <= t_max)]
    for row, (label, km) in enumerate(curves.items()):
        colour = _COLOURS[row % len(_COLOURS)]
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.survival))
        ax.step(
            x,
            y,
            where="post",
            color=colour,
            linestyle=_STYLES[row % len(_STYLES)],
            label=f"{label} (n={km.n}, events={km.events})",
        )
        censored = km.n_censor > 0
        ax.plot(km.time[censored], km.survival[censored], "|", color=colour, ms=8, mew=1.2)
        for tick, n in zip(ticks, km.n_at_risk(ticks), strict=True):
            table.text(tick, -row, str(int(n)), ha="center", va="center", color=colour)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, t_max * 1.02)
    ax.set_ylabel(y_label)
    ax.set_xticks(ticks)
    ax.legend(loc="upper right", frameon=False, title="| censored", title_fontsize="small")
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    names = list(curves)
    table.set_yticks(-np.arange(len(names)), names)
    for tick_label, colour in zip(table.get_yticklabels(), _COLOURS, strict=False):
        tick_label.set_color(colour)
    table.set_ylim(-len(names) + 0.5, 0.5)
    ax.set_xlabel(time_label)
    ax.tick_params(labelbottom=True)
    table.set_title("Number at risk", loc="left", fontsize="small")
    table.tick_params(left=False, bottom=False, labelbottom=False, pad=18)
    for side in ("top", "right", "left", "bottom"):
        table.spines[side].set_visible(False)
    return fig


def km_svg(
    curves: Mapping[str, KaplanMeier],
    *,
    time_label: str = "Time",
    title: str = "",
    y_label: str = "Survival probability",
    size: tuple[float, float] = (8, 5.5),
) -> str:
    """:func:`km_figure` as an inline ``<svg>`` string."""
    fig = km_figure(curves, time_label=time_label, title=title, y_label=y_label, size=size)
    return figure_svg(fig)


def plot_km(
    curves: Mapping[str, KaplanMeier],
    path: Path,
    *,
    time_label: str = "Time",
    title: str = "",
    n_ticks: int = 6,
) -> None:
    """Draw the curves (one per arm) and write ``path`` (.png or .svg)."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot write a plot to {path.name!r}: use a file name ending in .png or .svg",
            location=str(path),
        )
    fig = km_figure(curves, time_label=time_label, title=title, n_ticks=n_ticks)
    try:
        fig.savefig(path, format=fmt)
    except OSError as exc:
        raise InputError(
            f"cannot write the plot: {exc.strerror}; check the folder exists and is writable",
            location=str(path),
        ) from exc
