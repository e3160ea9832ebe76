"""The CONSORT flow diagram as an SVG: enrolment, allocation, follow-up, analysis.

Boxes of text joined by arrows, one column per arm after randomisation (one pooled column in the
blinded flow), drawn with matplotlib so that it embeds like the other figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from trialkit.analysis import ConsortFlow
from trialkit.report.svg import figure_svg

__all__ = ["consort_figure", "consort_svg", "screening_failures"]


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


_LINE_IN = 8 / 72 * 1.3  # one line of 8 pt text at a line spacing of 1.3, in inches
_PAD_IN = 0.12  # white space above and below the text of a box
_GAP_IN = 0.3  # between boxes one under the other
_MARGIN_IN = 0.2


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _height(lines: int) -> float:
    return lines * _LINE_IN + 2 * _PAD_IN


def screening_failures(
    flow: ConsortFlow, criteria: Mapping[str, str] | None = None
) -> list[tuple[str, str, int]]:
    """(criterion, short text, patients) of each criterion that made patients not eligible:
    the most frequent first, ties in the order of ``criteria`` (the protocol's)."""
    criteria = criteria or {}
    order = {c: i for i, c in enumerate(criteria)}
    counts = flow.not_eligible_by_criterion
    ranked = sorted(counts, key=lambda c: (-counts[c], order.get(c, len(order)), c))
    return [(c, criteria.get(c, ""), counts[c]) for c in ranked]


def consort_figure(flow: ConsortFlow, criteria: Mapping[str, str] | None = None) -> Figure:
    """The flow: screened, excluded (by criterion), randomised, per arm treated, discontinued
    (by reason) and analysed.

    ``criteria``: each criterion's short text by id, shown beside its code. Boxes are sized in
    inches from their number of lines and stacked from the top, so a long list of criteria or
    reasons makes the figure taller instead of boxes overlapping.
    """
    k = max(len(flow.arms), 1)
    failures = screening_failures(flow, criteria)
    reasons = "\n".join(f"  {c}{' ' + text if text else ''}: {n}" for c, text, n in failures[:8])
    more = len(failures) - 8
    if more > 0:
        reasons += f"\n  and {more} more criteria"
    excluded = (
        f"Not randomised (n={flow.screened - flow.randomised})\n"
        f"Not eligible: {flow.not_eligible}\n{reasons}\n"
        f"Eligibility undetermined: {flow.undetermined}\n"
        f"Eligible, not randomised: {flow.eligible_not_randomised}"
    ).replace("\n\n", "\n")
    joint = "\nAllocated " if len(flow.arms) > 1 else " "  # the pooled (blinded) column: one line
    allocated = [
        f"{arm.arm}{joint}(n={arm.randomised})\n"
        f"Received study drug: {arm.treated}; not: {arm.not_treated}"
        for arm in flow.arms
    ]
    stopped = []
    for arm in flow.arms:
        why = "\n".join(f"  {r.replace('_', ' ')}: {n}" for r, n in arm.discontinued.items())
        stopped.append(
            f"Discontinued treatment (n={sum(arm.discontinued.values())})"
            + (f"\n{why}" if why else "")
        )
    # the rows from the top, in inches: (top, height)
    one = _height(1)
    side = _height(_lines(excluded))
    rows: list[tuple[float, float]] = []
    top = _MARGIN_IN
    for height, gap in (
        (one, _GAP_IN),  # screened
        (side, _GAP_IN),  # excluded, to the right of the line down
        (one, 0.5),  # randomised
        (max((_height(_lines(t)) for t in allocated), default=one), _GAP_IN),
        (max((_height(_lines(t)) for t in stopped), default=one), _GAP_IN),
        (one, 0.0),  # analysed
    ):
        rows.append((top, height))
        top += height + gap
    total = top + _MARGIN_IN
    fig = Figure(figsize=(max(7.0, 3.4 * k), total))

    def y(inches: float) -> float:  # figure fraction of a depth from the top
        return 1 - inches / total

    def box(x: float, row: int, w: float, text: str) -> None:
        row_top, height = rows[row]
        _box(fig, x, y(row_top + height / 2), w, height / total, text)

    def bottom(row: int) -> float:
        return y(rows[row][0] + rows[row][1])

    def upper(row: int) -> float:
        return y(rows[row][0])

    box(0.5, 0, 0.26, f"Screened (n={flow.screened})")
    box(0.82, 1, 0.32, excluded)
    box(0.5, 2, 0.26, f"Randomised (n={flow.randomised})")
    _arrow(fig, 0.5, bottom(0), 0.5, upper(2))
    middle = y(rows[1][0] + rows[1][1] / 2)
    _arrow(fig, 0.5, middle, 0.66, middle)
    for i, arm in enumerate(flow.arms):
        x = (i + 0.5) / k
        _arrow(fig, 0.5, bottom(2), x, upper(3))
        box(x, 3, 0.9 / k, allocated[i])
        _arrow(fig, x, bottom(3), x, upper(4))
        box(x, 4, 0.9 / k, stopped[i])
        _arrow(fig, x, bottom(4), x, upper(5))
        box(x, 5, 0.9 / k, f"Analysed (ITT) (n={arm.analysed})")
    return fig


def consort_svg(flow: ConsortFlow, criteria: Mapping[str, str] | None = None) -> str:
    """:func:`consort_figure` as an inline ``<svg>`` string."""
    return figure_svg(consort_figure(flow, criteria))
