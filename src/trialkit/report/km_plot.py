"""Kaplan-Meier plot with censoring marks and a numbers-at-risk table under the axis.

Uses matplotlib's object API (``Figure``), not ``pyplot``, so that no global state or
GUI backend is involved; the analysis core never imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trialkit.analysis import KaplanMeier
from trialkit.errors import InputError

__all__ = ["plot_km"]

_FORMATS = {".png": "png", ".svg": "svg"}


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
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=(4, 1))
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    t_max = max(float(km.time[-1]) for km in curves.values())
    ticks = np.asarray(MaxNLocator(n_ticks).tick_values(0.0, t_max), dtype=float)
    ticks = ticks[(ticks >= 0) & (ticks <= t_max)]
    for row, (label, km) in enumerate(curves.items()):
        x = np.concatenate(([0.0], km.time))
        y = np.concatenate(([1.0], km.survival))
        (line,) = ax.step(x, y, where="post", label=f"{label} (n={km.n}, events={km.events})")
        censored = km.n_censor > 0
        ax.plot(km.time[censored], km.survival[censored], "|", color=line.get_color(), ms=8)
        for tick, n in zip(ticks, km.n_at_risk(ticks), strict=True):
            table.text(tick, -row, str(int(n)), ha="center", va="center", color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, t_max * 1.02)
    ax.set_ylabel("Survival probability")
    ax.set_xticks(ticks)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    names = list(curves)
    table.set_yticks(-np.arange(len(names)), names)
    table.set_ylim(-len(names) + 0.5, 0.5)
    table.set_xlabel(time_label)
    table.set_title("Number at risk", loc="left", fontsize="small")
    table.tick_params(left=False, pad=18)
    for side in ("top", "right", "left"):
        table.spines[side].set_visible(False)
    try:
        fig.savefig(path, format=fmt)
    except OSError as exc:
        raise InputError(
            f"cannot write the plot: {exc.strerror}; check the folder exists and is writable",
            location=str(path),
        ) from exc
