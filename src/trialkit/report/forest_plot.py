"""Forest plot of hazard ratios by subgroup, with the interaction p-value of each subgrouping.

One row per subgroup level (patients, events, HR with its confidence interval as a square and a
line on a log axis), grouped under each subgrouping's heading; a dashed line marks HR = 1 and,
when given, a dotted line the overall HR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from trialkit.analysis import SubgroupAnalysis
from trialkit.report.svg import figure_svg

__all__ = ["forest_figure", "forest_svg"]


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "interaction p: n/a"
    return "interaction p < 0.001" if p < 0.001 else f"interaction p = {p:.3f}"


def forest_figure(
    analyses: Sequence[SubgroupAnalysis],
    *,
    overall_hr: float | None = None,
    x_label: str = "Hazard ratio (log scale)",
) -> Figure:
    """One figure for all subgroupings, top to bottom in the order given."""
    rows: list[tuple[str, str, float | None, float | None, float | None, bool]] = []
    for analysis in analyses:
        rows.append((f"{analysis.name} ({_fmt_p(analysis.p)})", "", None, None, None, True))
        for e in analysis.effects:
            text = "not estimable" if e.hr is None else f"{e.hr:.2f} ({e.lower:.2f}-{e.upper:.2f})"
            label = f"   {e.level}  n={e.n}, events={e.events}"
            rows.append((label, text, e.hr, e.lower, e.upper, False))
    height = 1.2 + 0.32 * len(rows)
    fig = Figure(figsize=(8, height), layout="constrained")
    ax = fig.add_subplot()
    y = -np.arange(len(rows), dtype=float)
    finite = [v for r in rows for v in (r[3], r[4]) if v is not None and np.isfinite(v) and v > 0]
    lo = min([0.25, *finite]) * 0.9
    hi = max([4.0, *finite]) * 1.1
    for yi, (_, text, hr, lower, upper, heading) in zip(y, rows, strict=True):
        if heading:
            continue
        if hr is not None and lower is not None and upper is not None:
            ax.plot([max(lower, lo), min(upper, hi)], [yi, yi], color="black", lw=1.2)
            ax.plot([hr], [yi], "s", color="#0072B2", ms=6)
        ax.text(1.02, yi, text, transform=ax.get_yaxis_transform(), va="center", fontsize=9)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    if overall_hr is not None and np.isfinite(overall_hr):
        label = f"overall HR {overall_hr:.2f}"
        ax.axvline(overall_hr, color="#D55E00", ls=":", lw=1, label=label)
        # above the plot: inside it the label crossed the lowest rows' intervals
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.25, 0.5, 1, 2, 4) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(y, [r[0] for r in rows])
    for tick_text, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row[5]:
            tick_text.set_fontweight("bold")
    ax.set_ylim(y[-1] - 0.7, 0.7)
    ax.set_xlabel(x_label)
    ax.tick_params(left=False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig


def forest_svg(analyses: Sequence[SubgroupAnalysis], *, overall_hr: float | None = None) -> str:
    """:func:`forest_figure` as an inline ``<svg>`` string."""
    return figure_svg(forest_figure(analyses, overall_hr=overall_hr))
