"""The DSMB's safety figures: the time to the first grade 3+ event by arm against R survival
(reference/dsmb_reference.R; values in dsmb_reference.json), and exposure-adjusted incidence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from trialkit.safety.dsmb import DAYS_PER_YEAR, DsmbPatient, group_safety

REFERENCE = json.loads((Path(__file__).parent / "reference" / "dsmb_reference.json").read_text())
TIMES = {
    "A": ((10, 1), (20, 1), (20, 0), (35, 1), (50, 0), (60, 1), (80, 0), (90, 1)),
    "B": ((15, 0), (30, 1), (45, 0), (45, 1), (70, 0), (100, 0)),
}


def _patients() -> list[DsmbPatient]:
    return [
        DsmbPatient(
            usubjid=f"{arm}-{i}",
            group=arm,
            exposure_days=100,
            sae_cases=int(event and i % 2 == 0),
            susars=int(arm == "A" and i == 0),
            grade3_day=time if event else None,
            follow_days=time,
        )
        for arm, rows in TIMES.items()
        for i, (time, event) in enumerate(rows)
    ]


@pytest.mark.parametrize("arm", ["A", "B"])
def test_time_to_the_first_grade_3_event_matches_r_survival(arm: str) -> None:
    [figures] = group_safety(_patients(), [arm])
    km = figures.km
    assert km is not None
    expected = REFERENCE[arm]
    np.testing.assert_allclose(km.time, expected["time"])
    np.testing.assert_allclose(km.n_risk, expected["n_risk"])
    np.testing.assert_allclose(km.n_event, expected["n_event"])
    np.testing.assert_allclose(km.survival, expected["survival"], atol=1e-12)
    for ours, theirs in zip(km.std_err_cumhaz, expected["std_err"], strict=True):
        if theirs is not None:  # R gives no standard error once the curve reaches 0
            assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
    assert km.median.estimate == expected["median"]


def test_exposure_adjusted_incidence_and_counts_by_arm() -> None:
    a, b = group_safety(_patients(), ["A", "B"])
    assert (a.n, a.patients_grade3, a.susars) == (8, 5, 1)
    assert (b.n, b.patients_grade3, b.susars) == (6, 2, 0)
    assert a.exposure_years == pytest.approx(800 / DAYS_PER_YEAR)
    assert a.grade3_incidence == pytest.approx(100 * 5 / (800 / DAYS_PER_YEAR))
    assert a.patients_with_sae == 1  # an SAE: an event at an even position (only the first)
    assert a.free_of_grade3(36) == pytest.approx(0.6)
