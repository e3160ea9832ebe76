"""The screening outcome's stored form reads back as the same typed result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.records import sor_record
from trialkit.protocol import load_protocol
from trialkit.screening import ScreeningResult, screen

SOR = load_protocol("sor")
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "sor").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_a_stored_screening_result_reads_back_typed_and_equal(path: Path) -> None:
    outcome = screen(SOR, sor_record(json.loads(path.read_text()), source=path.name))
    stored = json.loads(json.dumps(outcome.as_dict()))  # what the JSON column holds
    again = ScreeningResult.from_dict(stored)
    assert again.as_dict() == outcome.as_dict()
    assert again.eligibility.criteria == outcome.eligibility.criteria
    assert again.eligibility.blocking == outcome.eligibility.blocking
    assert again.background_therapy == outcome.therapy.group
