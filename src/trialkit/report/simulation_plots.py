"""Power curve of a simulated operating-characteristics grid.

matplotlib's object API only (no pyplot, no global state); the simulation core
computes, this module draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from trialkit.errors import InputError
from trialkit.report.design_plots import PLOT_SUFFIXES

__all__ = ["plot_simulated_power"]


def plot_simulated_power(
    hrs: Sequence[float],
    decision: Sequence[float],
    logrank: Sequence[float],
    standard_errors: Sequence[float],
    path: Path,
    *,
    title: str,
) -> None:
    """Probability of declaring efficacy against the true HR, both rules, with 2-SE bands."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(f"--plot must name a .png or .svg file; you gave {path}")
    if not path.parent.exists():
        raise InputError(f"--plot: folder {path.parent} does not exist; create it or change --plot")
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for values, label, colour in (
        (decision, "observed HR <= decision HR", "tab:blue"),
        (logrank, "one-sided log-rank test", "tab:orange"),
    ):
        ax.plot(hrs, values, marker="o", markersize=3, color=colour, label=label)
    lower = [max(0.0, d - 2 * s) for d, s in zip(decision, standard_errors, strict=True)]
    upper = [min(1.0, d + 2 * s) for d, s in zip(decision, standard_errors, strict=True)]
    ax.fill_between(hrs, lower, upper, color="tab:blue", alpha=0.2, linewidth=0)
    ax.set_xlabel("true hazard ratio (treatment / control)")
    ax.set_ylabel("probability of declaring efficacy")
    ax.set_ylim(0.0, 1.0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
