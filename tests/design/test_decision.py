"""Decision-threshold operating characteristics."""

from __future__ import annotations

import pytest

from trialkit.design.decision import decision_characteristics


def test_sor_decision_rule() -> None:
    # Hand derivation (SE = 2/sqrt(120) = 0.182574):
    # FP = Phi(log 0.82 / SE) = Phi(-1.086961) = 0.138527
    # FN = 1 - Phi((log 0.82 - log 0.65) / SE) = 1 - Phi(1.272535) = 0.101592
    got = decision_characteristics(events=120, decision_hr=0.82, alternative_hr=0.65)
    assert got.false_positive_rate == pytest.approx(0.138527, abs=1e-6)
    assert got.false_negative_rate == pytest.approx(0.101592, abs=1e-6)
    assert got.power == pytest.approx(1 - 0.101592, abs=1e-6)
    curve = dict(got.power_curve)
    assert curve[1.0] == pytest.approx(got.false_positive_rate)
    assert curve[0.82] == pytest.approx(0.5)  # at the threshold itself, a coin toss
    probs = [p for _, p in got.power_curve]
    assert probs == sorted(probs, reverse=True)
    assert "false-positive rate 0.1385" in got.summary()
