"""Blinded patient-level data at a cut-off date: what event prediction may see.

One row per enrolled patient, with no arm; a table with a column naming the arm is
refused.

Details and reasoning: docs/prediction.md, section `trialkit.predict.data`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from trialkit.errors import RecordError

__all__ = ["ARM_COLUMN", "COLUMNS", "BlindedData", "blinded_data_from_table"]

COLUMNS = ("enrolment_date", "event_date", "censor_date", "dropout", "patient_id")
"""The columns read from a table of blinded data."""

ARM_COLUMN = re.compile(
    r"^(arm|arms|trt|trt\d*[a-z]*|treat|treatment|treatments|group|groups|actarm|actarmcd|armcd"
    r"|allocation|randomi[sz]ed_?arm|treatment_?(arm|group|code|description)|kit_?arm)$"
)
"""Column names (lower case, spaces as underscores) taken to carry the arm."""


@dataclass(frozen=True, eq=False)
class BlindedData:
    """Pooled, blinded data at a cut-off: enrolment, events, dropouts, no arm.

    Attributes
    ----------
    origin
        Date of the first enrolment; day 0.
    cutoff
        The cut-off date; data after it are not used.
    enrolment_day
        Days from the origin to each patient's enrolment (integers, <= cut-off).
    time
        Days on study to the event, dropout or cut-off, enrolment day counted as 1.
    event
        True where the patient had the event by the cut-off.
    dropout
        True where the patient left follow-up without an event by the cut-off.
    """

    origin: date
    cutoff: date
    enrolment_day: NDArray[np.int64]
    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    dropout: NDArray[np.bool_]

    def __post_init__(self) -> None:
        for array in (self.enrolment_day, self.time, self.event, self.dropout):
            array.setflags(write=False)

    @classmethod
    def from_days(
        cls,
        *,
        origin: date,
        cutoff_day: int,
        enrolment_day: NDArray[np.int64],
        event_day: NDArray[np.float64],
        dropout_day: NDArray[np.float64],
    ) -> BlindedData:
        """Cut full-course data (days from ``origin``; NaN = none) at ``cutoff_day``.

        Patients enrolled after the cut-off are left out; events and dropouts
        after it are ignored (the patient is ongoing at the cut-off).
        """
        enrol = np.asarray(enrolment_day, dtype=np.int64)
        keep = enrol <= cutoff_day
        enrol = enrol[keep]
        ev = np.asarray(event_day, dtype=float)[keep]
        dr = np.asarray(dropout_day, dtype=float)[keep]
        event = np.isfinite(ev) & (ev <= cutoff_day)
        dropout = ~event & np.isfinite(dr) & (dr <= cutoff_day)
        last = np.where(event, ev, np.where(dropout, dr, float(cutoff_day)))
        return cls(
            origin=origin,
            cutoff=origin + timedelta(days=int(cutoff_day)),
            enrolment_day=enrol,
            time=np.asarray(last - enrol + 1.0, dtype=np.float64),
            event=event,
            dropout=dropout,
        )

    @property
    def cutoff_day(self) -> int:
        """Days from the origin to the cut-off."""
        return (self.cutoff - self.origin).days

    @property
    def enrolled(self) -> int:
        """Patients enrolled by the cut-off."""
        return int(self.enrolment_day.size)

    @property
    def events(self) -> int:
        """Events observed by the cut-off."""
        return int(self.event.sum())

    @property
    def dropouts(self) -> int:
        """Dropouts observed by the cut-off."""
        return int(self.dropout.sum())

    @property
    def at_risk(self) -> NDArray[np.bool_]:
        """Patients still followed at the cut-off (no event, no dropout)."""
        return ~(self.event | self.dropout)

    @property
    def event_calendar(self) -> NDArray[np.float64]:
        """Continuous calendar times (days from the origin) of the observed events, sorted."""
        return np.sort((self.enrolment_day + self.time)[self.event].astype(float))


def _is_arm_column(name: str) -> bool:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return bool(ARM_COLUMN.match(key))


def _parse_date(text: str, *, column: str, where: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RecordError(
            f"column {column!r} has {text!r}, not a date; write it as YYYY-MM-DD",
            location=where,
        ) from None


def blinded_data_from_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    cutoff: date | None = None,
    source: str = "data",
    lines: Sequence[int] | None = None,
) -> BlindedData:
    """Validate a table of blinded patient data (see the module docstring for the columns).

    Parameters
    ----------
    header
        Column names.
    rows
        Cells as strings, one row per patient.
    cutoff
        The cut-off date; by default the latest date in the table.
    source
        Name of the table (a file path) for error messages.
    lines
        Line number of each row in ``source``; by default ``2, 3, ...`` (after a header).

    Raises
    ------
    RecordError
        A column names the arm, a required column is missing, or a row is invalid.
    """
    names = [h.strip() for h in header]
    arm = [h for h in names if _is_arm_column(h)]
    if arm:
        raise RecordError(
            f"column {arm[0]!r} looks like the treatment arm; event prediction uses blinded "
            "data only: remove the arm column from the file",
            location=source,
        )
    index = {name.lower(): k for k, name in enumerate(names)}
    if "enrolment_date" not in index:
        raise RecordError(
            f"no column 'enrolment_date' (columns: {', '.join(names)}); the file needs "
            "enrolment_date, and event_date, censor_date, dropout where they apply",
            location=source,
        )
    line_of = list(lines) if lines is not None else list(range(2, len(rows) + 2))

    def cell(row: Sequence[str], column: str) -> str:
        k = index.get(column)
        return row[k].strip() if k is not None and k < len(row) else ""

    parsed: list[tuple[date, date | None, date | None, bool]] = []
    for row, line in zip(rows, line_of, strict=True):
        pid = cell(row, "patient_id")
        where = f"{source}:{line}" + (f" (patient {pid})" if pid else "")
        enrol = _parse_date(cell(row, "enrolment_date"), column="enrolment_date", where=where)
        if enrol is None:
            raise RecordError(
                "enrolment_date is blank; every row is an enrolled patient", location=where
            )
        event = _parse_date(cell(row, "event_date"), column="event_date", where=where)
        censor = _parse_date(cell(row, "censor_date"), column="censor_date", where=where)
        flag = cell(row, "dropout")
        if flag not in ("", "0", "1"):
            raise RecordError(f"dropout must be 0, 1 or blank, not {flag!r}", location=where)
        dropped = flag == "1"
        if event is not None and dropped:
            raise RecordError(
                "the row has both an event_date and dropout = 1; a dropout is a patient "
                "who left without an event: clear one of them",
                location=where,
            )
        if dropped and censor is None:
            raise RecordError(
                "dropout = 1 needs the censor_date (last date known event-free)", location=where
            )
        for name, value in (("event_date", event), ("censor_date", censor)):
            if value is not None and value < enrol:
                raise RecordError(
                    f"{name} {value} is before enrolment_date {enrol}; fix the dates",
                    location=where,
                )
        parsed.append((enrol, event, censor, dropped))
    if not parsed:
        raise RecordError("the table has no patients", location=source)
    if cutoff is None:
        cutoff = max(d for p in parsed for d in p[:3] if isinstance(d, date))
    origin = min(p[0] for p in parsed)
    if origin > cutoff:
        raise RecordError(
            f"no patient was enrolled by the cut-off {cutoff}; the first enrolment is {origin}",
            location=source,
        )
    nan = float("nan")
    return BlindedData.from_days(
        origin=origin,
        cutoff_day=(cutoff - origin).days,
        enrolment_day=np.array([(p[0] - origin).days for p in parsed], dtype=np.int64),
        event_day=np.array([nan if p[1] is None else (p[1] - origin).days for p in parsed]),
        dropout_day=np.array(
            [(p[2] - origin).days if p[3] and p[2] is not None else nan for p in parsed]
        ),
    )
