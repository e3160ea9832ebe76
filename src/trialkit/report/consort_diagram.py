"""The CONSORT flow diagram as an SVG: enrolment, allocation, follow-up, analysis.

Boxes of text joined by arrows, one column per arm after randomisation (one pooled column in the
blinded flow), drawn with matplotlib so that it embeds like the other figures.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from trialkit.analysis import ConsortFlow
from trialkit.report.svg import figure_svg

__all__ = ["consort_figure", "consort_svg"]


def _box(fig: Figure, x: float, y: float, w: float, h: float, text: str) -> None:
    fig.patches.append(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="square,pad=0",
            transform=fig.transFigure,
            facecolor="white",
            edgecolor="black",
            linewidth=0.8,
        )
    )
    fig.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.3)


def _arrow(fig: Figure, x0: float, y0: float, x1: float, y1: float) -> None:
    fig.lines.append(Line2D([x0, x1], [y0, y1], transform=fig.transFigure, color="black", lw=0.8))


def consort_figure(flow: ConsortFlow) -> Figure:
    """The flow: screened, excluded (by criterion), randomised, per arm treated, discontinued
    (by reason) and analysed."""
    k = max(len(flow.arms), 1)
    reasons = "\n".join(f"  {c}: {n}" for c, n in list(flow.not_eligible_by_criterion.items())[:8])
    more = len(flow.not_eligible_by_criterion) - 8
    if more > 0:
        reasons += f"\n  and {more} more criteria"
    longest = max((len(a.discontinued) for a in flow.arms), default=0)
    height = 6.0 + 0.15 * longest + 0.12 * min(len(flow.not_eligible_by_criterion), 8)
    fig = Figure(figsize=(max(7.0, 3.4 * k), height))
    _box(fig, 0.5, 0.93, 0.36, 0.08, f"Screened (n={flow.screened})")
    excluded = (
        f"Not randomised (n={flow.screened - flow.randomised})\n"
        f"Not eligible: {flow.not_eligible}\n{reasons}\n"
        f"Eligibility undetermined: {flow.undetermined}\n"
        f"Eligible, not randomised: {flow.eligible_not_randomised}"
    )
    lines = excluded.count("\n") + 1
    _box(fig, 0.78, 0.80, 0.40, 0.025 * lines + 0.03, excluded)
    _box(fig, 0.5, 0.64, 0.36, 0.06, f"Randomised (n={flow.randomised})")
    _arrow(fig, 0.5, 0.89, 0.5, 0.67)
    _arrow(fig, 0.5, 0.80, 0.58, 0.80)
    for i, arm in enumerate(flow.arms):
        x = (i + 0.5) / k
        _arrow(fig, 0.5, 0.61, x, 0.52)
        _box(
            fig,
            x,
            0.47,
            0.9 / k,
            0.09,
            f"{arm.arm}\nAllocated (n={arm.randomised})\n"
            f"Received study drug: {arm.treated}; not: {arm.not_treated}",
        )
        stopped = "\n".join(f"  {r.replace('_', ' ')}: {n}" for r, n in arm.discontinued.items())
        text = f"Discontinued treatment (n={sum(arm.discontinued.values())})" + (
            f"\n{stopped}" if stopped else ""
        )
        _arrow(fig, x, 0.425, x, 0.36)
        _box(fig, x, 0.28, 0.9 / k, 0.025 * (text.count("\n") + 1) + 0.04, text)
        _arrow(fig, x, 0.20, x, 0.14)
        _box(fig, x, 0.09, 0.9 / k, 0.07, f"Analysed (ITT) (n={arm.analysed})")
    return fig


def consort_svg(flow: ConsortFlow) -> str:
    """:func:`consort_figure` as an inline ``<svg>`` string."""
    return figure_svg(consort_figure(flow))
