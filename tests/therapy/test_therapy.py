"""Background therapy: the record's Interventions 1-5 as rules, doses and calendars."""

from __future__ import annotations

from datetime import date

import pytest
from tests.conftest import example
from tests.records import sor_record

from trialkit.errors import InputError
from trialkit.protocol import Protocol
from trialkit.therapy import (
    assign_background_therapy,
    body_surface_area,
    regimen_dose,
    treatment_calendar,
)


@pytest.mark.parametrize(
    ("name", "group", "regimens"),
    [
        ("01_endocrine_bone_only", "endocrine", ["letrozole"]),
        ("07_premenopausal_ovarian_ablation_soft_tissue", "endocrine", ["letrozole"]),
        (
            "02_chemo_then_endocrine_liver_alt_4x",
            "chemotherapy_then_endocrine",
            ["docetaxel", "letrozole"],
        ),
        ("03_chemotherapy_triple_negative", "chemotherapy", ["docetaxel"]),
    ],
)
def test_each_therapy_path(sor: Protocol, name: str, group: str, regimens: list[str]) -> None:
    assignment = assign_background_therapy(sor, sor_record(example(name)))
    assert assignment.group == group
    assert [r.id for r in assignment.regimens] == regimens


@pytest.mark.parametrize(
    ("receptors", "reason"),
    [
        ({"her2": {"ihc": "3+", "fish": "not_done"}}, "HER2-positive"),
        ({"her2": {"ihc": "1+", "fish": "amplified"}}, "HER2-positive"),
        ({"her2": {"ihc": "2+", "fish": "not_done"}}, "HER2 status unknown"),
        ({"er": "unknown"}, "hormone receptor status unknown"),
        ({"pgr": "unknown", "er": "negative"}, "hormone receptor status unknown"),
    ],
)
def test_no_assignment_with_the_reason(
    sor: Protocol, receptors: dict[str, object], reason: str
) -> None:
    data = example("01_endocrine_bone_only")
    her2 = receptors.pop("her2", None)
    data["receptors"].update(receptors)
    if her2 is not None:
        data["receptors"]["her2"] = her2
    assignment = assign_background_therapy(sor, sor_record(data))
    assert not assignment.assigned
    assert reason in assignment.reason


def test_visceral_disease_without_bone_still_gets_chemotherapy_first(sor: Protocol) -> None:
    data = example("01_endocrine_bone_only")
    data["disease"].update({"bone": False, "visceral": True})
    assert assign_background_therapy(sor, sor_record(data)).group == "chemotherapy_then_endocrine"


def test_liver_counts_as_visceral(sor: Protocol) -> None:
    data = example("01_endocrine_bone_only")
    data["disease"].update({"visceral": False, "liver": True})
    assert assign_background_therapy(sor, sor_record(data)).group == "chemotherapy_then_endocrine"


def test_missing_receptor_data_leaves_the_therapy_undecided(sor: Protocol) -> None:
    data = example("01_endocrine_bone_only")
    del data["receptors"]["pgr"]
    data["receptors"]["er"] = "negative"
    assignment = assign_background_therapy(sor, sor_record(data))
    assert not assignment.assigned
    assert assignment.reason.startswith("undecided")


def test_er_positive_alone_decides_without_pgr(sor: Protocol) -> None:
    data = example("01_endocrine_bone_only")
    del data["receptors"]["pgr"]
    assert assign_background_therapy(sor, sor_record(data)).group == "endocrine"


def test_mosteller_bsa_by_hand() -> None:
    # sqrt(180 * 80 / 3600) = sqrt(4) = 2 exactly
    assert body_surface_area(180, 80) == 2.0
    # Du Bois: 0.007184 * 80^0.425 * 180^0.725 = 1.9967 (published tables give 2.00)
    assert body_surface_area(180, 80, formula="dubois") == pytest.approx(1.9967, abs=5e-4)


def test_docetaxel_dose_rounds_bsa_then_dose_half_up(sor: Protocol) -> None:
    therapy = sor.background_therapy
    assert therapy is not None
    docetaxel = next(r for r in therapy.regimens if r.id == "docetaxel")
    # sqrt(170 * 70 / 3600) = 1.8181 -> 1.82 m2; 75 * 1.82 = 136.5 -> 137 mg (half up, not to even)
    dose = regimen_dose(docetaxel, therapy.body_surface_area, height_cm=170, weight_kg=70)
    assert (dose.bsa_m2, dose.mg) == (1.82, 137.0)
    assert dose.text == "docetaxel 75 mg/m2 x 1.82 m2 (mosteller) = 137 mg"
    dose = regimen_dose(docetaxel, therapy.body_surface_area, height_cm=180, weight_kg=80)
    assert (dose.bsa_m2, dose.mg) == (2.0, 150.0)
    letrozole = next(r for r in therapy.regimens if r.id == "letrozole")
    flat = regimen_dose(letrozole, therapy.body_surface_area, height_cm=None, weight_kg=None)
    assert flat.mg == 2.5
    with pytest.raises(InputError, match=r"body\.height_cm and body\.weight_kg"):
        regimen_dose(docetaxel, therapy.body_surface_area, height_cm=None, weight_kg=70)


def test_calendar_chemotherapy_then_letrozole(sor: Protocol) -> None:
    assignment = assign_background_therapy(
        sor, sor_record(example("02_chemo_then_endocrine_liver_alt_4x"))
    )
    calendar = treatment_calendar(assignment, date(2008, 6, 2))
    cycles = [e.earliest for e in calendar.entries if e.cycle is not None]
    assert cycles == [
        date(2008, 6, 2),
        date(2008, 6, 23),
        date(2008, 7, 14),
        date(2008, 8, 4),
        date(2008, 8, 25),
        date(2008, 9, 15),
    ]
    letrozole = calendar.entries[-1]
    assert "Letrozole" in letrozole.what
    # days 15-21 of cycle 6 (day 1 = 15 September 2008)
    assert (letrozole.earliest, letrozole.latest) == (date(2008, 9, 29), date(2008, 10, 5))
    assert calendar.entries[0].what.startswith("start sorafenib/placebo")


def test_calendar_when_chemotherapy_stops_early(sor: Protocol) -> None:
    assignment = assign_background_therapy(
        sor, sor_record(example("02_chemo_then_endocrine_liver_alt_4x"))
    )
    calendar = treatment_calendar(assignment, date(2008, 6, 2), last_cycle=4)
    assert [e.cycle for e in calendar.entries if e.cycle] == [1, 2, 3, 4]
    assert (calendar.entries[-1].earliest, calendar.entries[-1].latest) == (
        date(2008, 8, 18),
        date(2008, 8, 24),
    )
    with pytest.raises(InputError, match="between 1 and 6"):
        treatment_calendar(assignment, date(2008, 6, 2), last_cycle=7)


def test_calendar_endocrine_and_chemotherapy_alone(sor: Protocol) -> None:
    endocrine = assign_background_therapy(sor, sor_record(example("01_endocrine_bone_only")))
    calendar = treatment_calendar(endocrine, date(2008, 3, 14))
    assert [e.earliest for e in calendar.entries] == [date(2008, 3, 14), date(2008, 3, 14)]
    assert "Letrozole 2.5 mg orally once daily" in calendar.entries[1].what
    chemo = assign_background_therapy(sor, sor_record(example("03_chemotherapy_triple_negative")))
    calendar = treatment_calendar(chemo, date(2009, 2, 10))
    assert len([e for e in calendar.entries if e.cycle]) == 6
    assert not any("etrozole" in e.what for e in calendar.entries)


def test_no_calendar_without_therapy(sor: Protocol) -> None:
    assignment = assign_background_therapy(sor, sor_record(example("04_her2_positive")))
    with pytest.raises(InputError, match="HER2-positive"):
        treatment_calendar(assignment, date(2008, 3, 14))
