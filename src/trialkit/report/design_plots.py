"""Pictures of a survival design: power against the true hazard ratio, events against time.

Uses matplotlib's object API (no pyplot, no global state), so it is safe in
servers and tests. The design core computes; this module only draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from trialkit.design.decision import DecisionCharacteristics
from trialkit.design.sample_size import SurvivalSampleSize
from trialkit.errors import InputError

__all__ = ["PLOT_SUFFIXES", "plot_decision", "plot_survival_design"]

PLOT_SUFFIXES = (".png", ".svg")


def _check_path(path: Path) -> None:
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(f"--plot must name a .png or .svg file; you gave {path}")
    if not path.parent.exists():
        raise InputError(f"--plot: folder {path.parent} does not exist; create it or change --plot")


def _power_axes(ax: Axes, hrs: list[float], power: list[float], title: str) -> None:
    ax.plot(hrs, power, color="tab:blue", linewidth=2)
    ax.set_xlabel("true hazard ratio (treatment / control)")
    ax.set_ylabel("probability of declaring efficacy")
    ax.set_ylim(0.0, 1.0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)


def plot_decision(result: DecisionCharacteristics, path: Path) -> None:
    """Probability of declaring efficacy against the true HR, with the error rates marked."""
    _check_path(path)
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    hrs = [hr for hr, _ in result.power_curve]
    prob = [p for _, p in result.power_curve]
    _power_axes(
        ax,
        hrs,
        prob,
        f"Decision 'observed HR <= {result.decision_hr:g}' after {result.events:g} events",
    )
    ax.axvline(1.0, color="grey", linestyle=":")
    ax.plot([1.0], [result.false_positive_rate], "o", color="tab:red")
    ax.annotate(
        f"false positive {result.false_positive_rate:.3f}",
        (1.0, result.false_positive_rate),
        textcoords="offset points",
        xytext=(6, 8),
    )
    ax.plot([result.alternative_hr], [result.power], "o", color="tab:green")
    ax.annotate(
        f"power {result.power:.3f} at HR {result.alternative_hr:g}",
        (result.alternative_hr, result.power),
        textcoords="offset points",
        xytext=(6, -14),
    )
    fig.savefig(path)


def plot_survival_design(result: SurvivalSampleSize, path: Path) -> None:
    """Power against the true HR, and expected events against calendar time with the analyses."""
    _check_path(path)
    fig = Figure(figsize=(11.0, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    hrs = [float(v) for v in np.linspace(min(0.4, result.hazard_ratio - 0.1), 1.1, 71)]
    _power_axes(
        left,
        hrs,
        [result.power_at(hr) for hr in hrs],
        f"Power with {result.events:.1f} events, one-sided alpha {result.alpha:g}",
    )
    left.axvline(result.hazard_ratio, color="tab:green", linestyle="--")
    left.annotate(
        f"design HR {result.hazard_ratio:.3g}: power {result.power:g}",
        (result.hazard_ratio, result.power),
        textcoords="offset points",
        xytext=(6, 6),
    )
    horizon = max(result.analysis_time, result.accrual_time) * 1.3
    times = np.linspace(0.0, horizon, 300)
    events = result.model.expected_events(times, n=result.n, accrual_time=result.accrual_time)
    right.plot(times, events, color="tab:blue", linewidth=2, label="expected events")
    right.axvspan(0.0, result.accrual_time, color="tab:orange", alpha=0.12, label="accrual")
    for k, stage in enumerate(result.stages):
        right.axvline(stage.time, color="tab:red", linestyle="--", linewidth=1)
        right.plot([stage.time], [stage.events], "o", color="tab:red")
        right.annotate(
            f"analysis {k + 1}: {stage.events:.0f} events, month {stage.time:.1f}",
            (stage.time, stage.events),
            textcoords="offset points",
            xytext=(-10, 8),
            ha="right",
        )
    right.set_xlabel("months from first patient in")
    right.set_ylabel("expected number of events")
    right.set_title(f"{result.n:.0f} patients over {result.accrual_time:.1f} months")
    right.legend(loc="lower right")
    right.grid(True, alpha=0.3)
    fig.savefig(path)
