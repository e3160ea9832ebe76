"""The SOR design claims, recomputed."""

from __future__ import annotations

import pytest

from trialkit.design.claims import KNOWN_CLAIMS, check_claims
from trialkit.errors import DesignInputError
from trialkit.protocol import load_protocol


@pytest.fixture(scope="module")
def sor_report():  # type: ignore[no-untyped-def]
    p = load_protocol("sor")
    assert p.design is not None
    return check_claims(
        p.design, first_enrolment=p.dates.first_enrolment, final_enrolment=p.dates.final_enrolment
    )


def test_every_sor_claim_holds(sor_report) -> None:  # type: ignore[no-untyped-def]
    assert len(sor_report.claims) == 8
    assert {c.id for c in sor_report.claims} == set(KNOWN_CLAIMS)
    assert all(c.agrees for c in sor_report.claims), sor_report.summary()


def test_sor_claim_values(sor_report) -> None:  # type: ignore[no-untyped-def]
    got = {c.id: c.computed for c in sor_report.claims}
    # 12.2 x 0.65 = 7.93; 7.9 / 0.65 = 12.1538
    assert got["median_pfs_placebo"] == pytest.approx(7.93)
    assert got["median_pfs_sorafenib"] == pytest.approx(12.153846, abs=1e-6)
    # 4 (z_0.86 + z_0.90)^2 / log(0.65)^2 = 4 (1.080319 + 1.281552)^2 / 0.185574 = 120.24
    assert got["events"] == pytest.approx(120.2418, abs=1e-4)
    # see test_events.test_sor_decision_numbers_by_hand
    assert got["false_positive_rate"] == pytest.approx(0.138527, abs=1e-6)
    assert got["false_negative_rate"] == pytest.approx(0.101592, abs=1e-6)
    assert got["hr_at_one_sided_alpha"] == pytest.approx(0.699186, abs=1e-6)
    assert got["power_at_one_sided_alpha"] == pytest.approx(65.5249, abs=1e-4)  # percent
    assert got["events_after_enrolment"] == pytest.approx(4.0, abs=1e-9)


def test_implied_and_actual_accrual(sor_report) -> None:  # type: ignore[no-untyped-def]
    # 2007-11-22 to 2010-06-30 is 951 days = 31.244 months of 30.4375 days
    assert sor_report.actual_accrual_months == pytest.approx(951 / 30.4375)
    # the implied accrual is much faster than the actual one, so with the actual dates the
    # 120th event is expected before the last patient is in
    assert 10 < sor_report.implied_accrual_months < 20
    assert sor_report.implied_accrual_per_month == pytest.approx(
        220 / sor_report.implied_accrual_months
    )
    expected = sor_report.expected_event_months_with_actual_enrolment
    assert expected is not None
    assert expected < sor_report.actual_accrual_months


def test_unknown_claim_id_is_refused() -> None:
    p = load_protocol("sor")
    assert p.design is not None
    claims = [*p.design.claims, p.design.claims[0].model_copy(update={"id": "median_os"})]
    design = p.design.model_copy(update={"claims": claims})
    with pytest.raises(DesignInputError, match="unknown design claim id 'median_os'"):
        check_claims(design)
