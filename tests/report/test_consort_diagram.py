"""The CONSORT diagram keeps its boxes apart however many criteria and reasons they list."""

from __future__ import annotations

import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

from trialkit.analysis import ConsortPatient, consort_flow
from trialkit.report.consort_diagram import consort_figure

REASONS = ("progression", "adverse_event", "death", "withdrawal_of_consent", "lost_to_follow_up")


def _patients(criteria: int) -> list[ConsortPatient]:
    failed = [ConsortPatient(eligible=False, failed_criteria=(f"I{i}",)) for i in range(criteria)]
    randomised = [
        ConsortPatient(
            eligible=True,
            randomised=True,
            arm=("Sorafenib", "Placebo")[i % 2],
            treated=True,
            discontinued_reason=REASONS[i % len(REASONS)],
            analysed=True,
        )
        for i in range(40)
    ]
    return failed + randomised


@pytest.mark.parametrize("criteria", [0, 3, 14])
@pytest.mark.parametrize("arms", [("Sorafenib", "Placebo"), None])
def test_no_box_or_text_overlaps_another(criteria: int, arms: tuple[str, ...] | None) -> None:
    fig = consort_figure(consort_flow(_patients(criteria), arms=arms))
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [p.get_window_extent(renderer) for p in fig.patches]
    texts = [t.get_window_extent(renderer) for t in fig.texts]
    assert len(boxes) == len(texts) == 3 + 3 * (len(arms) if arms else 1)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    canvas = Bbox.from_bounds(0, 0, fig.bbox.width, fig.bbox.height)
    for box, text in zip(boxes, texts, strict=True):  # each text inside its own box
        assert box.contains(text.x0, text.y0), (box, text)
        assert box.contains(text.x1, text.y1), (box, text)
        assert canvas.contains(box.x0, box.y0)
        assert canvas.contains(box.x1, box.y1)
