"""Blinded data: columns, the no-arm rule, the cut-off, and one-line errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from trialkit.errors import RecordError
from trialkit.predict import BlindedData, blinded_data_from_table

HEADER = ["patient_id", "enrolment_date", "event_date", "censor_date", "dropout"]
ROWS = [
    ["P1", "2008-01-01", "2008-03-01", "", "0"],
    ["P2", "2008-01-11", "", "2008-02-01", "1"],
    ["P3", "2008-02-01", "", "", ""],
    ["P4", "2008-03-01", "2008-07-01", "", "0"],  # event after the cut-off below
    ["P5", "2008-05-01", "", "", "0"],  # enrolled after the cut-off below
]


def test_table_is_read_and_cut() -> None:
    data = blinded_data_from_table(HEADER, ROWS, cutoff=date(2008, 4, 1))
    assert data.origin == date(2008, 1, 1)
    assert data.cutoff_day == 91
    assert data.enrolled == 4
    assert data.events == 1
    assert data.dropouts == 1
    # enrolment day counts as day 1 (eventPred's convention)
    assert data.time.tolist() == [61.0, 22.0, 61.0, 32.0]
    assert data.at_risk.tolist() == [False, False, True, True]
    assert data.event_calendar.tolist() == [61.0]


def test_default_cutoff_is_the_latest_date() -> None:
    data = blinded_data_from_table(HEADER, ROWS)
    assert data.cutoff == date(2008, 7, 1)
    assert data.events == 2


@pytest.mark.parametrize(
    "column", ["arm", "ARM", "treatment", "Treatment Group", "group", "TRT01P", "actarm", "trt"]
)
def test_an_arm_column_is_refused(column: str) -> None:
    with pytest.raises(RecordError, match=r"looks like the treatment arm.*blinded data only"):
        blinded_data_from_table([*HEADER, column], [[*r, "A"] for r in ROWS], source="f.csv")


def test_harmless_columns_are_not_mistaken_for_the_arm() -> None:
    data = blinded_data_from_table(
        [*HEADER, "site", "age_group_note"], [[*r, "1", "x"] for r in ROWS]
    )
    assert data.enrolled == 5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["P9", "2008-13-01", "", "", ""], "not a date; write it as YYYY-MM-DD"),
        (["P9", "", "", "", ""], "enrolment_date is blank"),
        (["P9", "2008-01-01", "", "", "1"], "dropout = 1 needs the censor_date"),
        (["P9", "2008-01-01", "2008-02-01", "2008-01-20", "1"], "both an event_date and dropout"),
        (["P9", "2008-02-01", "2008-01-01", "", ""], "before enrolment_date"),
        (["P9", "2008-01-01", "", "", "yes"], "dropout must be 0, 1 or blank"),
    ],
)
def test_bad_rows_name_file_line_and_patient(row: list[str], message: str) -> None:
    with pytest.raises(RecordError, match=message) as info:
        blinded_data_from_table(HEADER, [ROWS[0], row], source="f.csv")
    assert str(info.value).startswith("f.csv:3 (patient P9): ")


def test_missing_enrolment_column() -> None:
    with pytest.raises(RecordError, match="no column 'enrolment_date'"):
        blinded_data_from_table(["id", "date"], [["1", "2008-01-01"]])


def test_from_days_ignores_everything_after_the_cutoff() -> None:
    nan = float("nan")
    data = BlindedData.from_days(
        origin=date(2008, 1, 1),
        cutoff_day=100,
        enrolment_day=np.array([0, 10, 50, 120], dtype=np.int64),
        event_day=np.array([30.0, 150.0, nan, 130.0]),
        dropout_day=np.array([nan, nan, 90.0, nan]),
    )
    assert data.enrolled == 3
    assert data.event.tolist() == [True, False, False]
    assert data.dropout.tolist() == [False, False, True]
    assert data.time.tolist() == [31.0, 91.0, 41.0]
