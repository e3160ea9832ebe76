"""Safety tabulation on a constructed case counted by hand."""

from __future__ import annotations

import pytest

from trialkit.analysis import AdverseEvent, SafetyPatient, safety_tables
from trialkit.errors import InputError

PATIENTS = [
    SafetyPatient("P1", "A", exposure_days=100),
    SafetyPatient("P2", "A", died=True, exposure_days=30),
    SafetyPatient("P3", "B", exposure_days=60),
    SafetyPatient("P4", "B"),
]
EVENTS = [
    AdverseEvent("P1", "Rash", 1, False),
    AdverseEvent("P1", "rash", 3, False),  # same term, worse grade: counted once at grade 3
    AdverseEvent("P2", "Diarrhoea", 2, True),
    AdverseEvent("P2", "Sepsis", 5, True),
    AdverseEvent("P3", "Rash", 2, None),
    AdverseEvent("P3", "Fatigue", None, False),
]


def test_columns_count_patients_at_their_worst_grade() -> None:
    tables = safety_tables(PATIENTS, EVENTS)
    a, b = tables.columns
    assert (a.group, a.n, a.any_ae, a.grade_3_plus, a.serious, a.deaths, a.fatal_ae) == (
        "A",
        2,
        2,
        2,
        1,
        1,
        1,
    )
    assert a.worst_grade == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert (a.exposure_patient_days, a.exposure_median_days) == (130, 65.0)
    assert (b.n, b.any_ae, b.grade_3_plus, b.serious, b.deaths) == (2, 1, 0, 0, 0)
    assert b.worst_grade[2] == 1
    assert (b.exposure_patient_days, b.exposure_median_days) == (60, 60.0)
    assert tables.ungraded_events == 1


def test_terms_sorted_by_incidence_with_worst_grade_per_patient() -> None:
    tables = safety_tables(PATIENTS, EVENTS)
    rash = tables.terms[0]
    assert rash.term == "RASH"
    assert rash.any_grade == {"A": 1, "B": 1}
    assert rash.by_grade["A"] == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0}
    assert rash.grade_3_plus == {"A": 1, "B": 0}


def test_pooled_table_has_one_column() -> None:
    pooled = [SafetyPatient(p.usubjid, "All patients", p.died, p.exposure_days) for p in PATIENTS]
    tables = safety_tables(pooled, EVENTS)
    assert tables.groups == ("All patients",)
    assert tables.columns[0].any_ae == 3


def test_event_outside_the_safety_population_is_refused() -> None:
    with pytest.raises(InputError, match="not in the safety population"):
        safety_tables(PATIENTS, [AdverseEvent("P9", "Rash", 1, False)])
