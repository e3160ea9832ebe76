"""The eligibility checklist blocks on exactly what the engine's ``blocking`` says, from a
fresh outcome and from its stored form alike (an unmet alternative of a met criterion, a
sub-item, or an unknown never blocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.records import sor_record
from trialkit.protocol import load_protocol
from trialkit.screening import ScreeningOutcome, ScreeningResult, screen
from trialkit.service.screening.pages.checklist import checklist
from trialkit.service.screening.pages.screening_form import protocol_screening_form

SOR = load_protocol("sor")
EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples" / "sor").glob("*.json"))


def _outcome(path: Path) -> ScreeningOutcome:
    return screen(SOR, sor_record(json.loads(path.read_text()), source=path.name))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_checklist_blocks_on_the_engine_s_blocking_criteria(path: Path) -> None:
    outcome = _outcome(path)
    engine = {c.id for c in outcome.eligibility.blocking}
    for result in (outcome.result, ScreeningResult.from_dict(outcome.as_dict())):
        shown = checklist(result, protocol_screening_form(SOR))
        assert {item.id for item in shown.items if item.blocks} == engine
        assert shown.verdict == outcome.eligibility.verdict
        assert [m.path for m in shown.missing] == list(outcome.eligibility.missing)
        # the therapy in words: its rule's label in the protocol, never its id
        labels = {r.id: r.label for r in SOR.background_therapy.rules}  # type: ignore[union-attr]
        therapy = outcome.therapy.group
        assert shown.background_therapy == (labels[therapy] if therapy else None)


def test_the_examples_hold_alternatives_met_by_another_and_unknowns() -> None:
    """What the test above must cover: a sub-item that on its own would block (an unmet
    alternative, I3.1 when I3.2 makes the patient post-menopausal) and undecided criteria."""
    outcomes = [_outcome(p) for p in EXAMPLES]
    alternatives = [
        c
        for o in outcomes
        for c in o.eligibility.criteria
        if c.parent is not None and c.blocks and o.eligibility.result(c.parent).status == "met"
    ]
    assert alternatives
    assert any(o.eligibility.undecided for o in outcomes)
    assert any(o.eligibility.blocking for o in outcomes)
