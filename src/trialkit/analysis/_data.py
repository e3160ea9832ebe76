"""Validation of survival data at the edge of the analysis core.

Every public function of :mod:`trialkit.analysis` passes its arrays through here, so
that bad input fails early with an :class:`~trialkit.errors.InputError` that names the
column, the (1-based) data row and the fix, instead of producing NaN statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trialkit.errors import InputError

__all__ = ["TwoGroups", "check_strata", "check_time_event", "two_groups"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    """1-based data row of the first True in ``mask``."""
    return int(np.flatnonzero(mask)[0]) + 1


def _labels(values: object, *, n: int, name: str, what: str) -> npt.NDArray[np.generic]:
    """Labels as a 1-d array of strings or numbers, with no missing values."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iufbUS":
        arr = np.asarray([str(v) for v in arr.ravel()])
    arr = arr.ravel()
    if arr.size != n:
        raise InputError(
            f"'{name}' has {arr.size} values but there are {n} subjects; "
            f"give one {what} label per subject",
            location=name,
        )
    if arr.dtype.kind in "US":
        missing = np.isin(arr, ["", "nan", "NaN", "None", "NA"])
    elif arr.dtype.kind == "f":
        missing = np.isnan(arr)
    else:
        missing = np.zeros(arr.size, dtype=bool)
    if missing.any():
        raise InputError(
            f"column '{name}' is missing at data row {_first_bad(missing)}; "
            f"fill in the {what} or drop the row",
            location=name,
        )
    return arr


def check_time_event(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    *,
    time_name: str = "time",
    event_name: str = "event",
) -> tuple[FloatArray, BoolArray]:
    """Return ``time`` as float64 and ``event`` as bool, or raise :class:`InputError`.

    Times must be finite and >= 0; events must be 0 or 1 (1 = event, 0 = censored).
    """
    try:
        t = np.asarray(time, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"column '{time_name}' must hold numbers (follow-up times); convert it to numeric",
            location=time_name,
        ) from exc
    try:
        e = np.asarray(event, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"column '{event_name}' must hold 0 (censored) or 1 (event); recode it",
            location=event_name,
        ) from exc
    if t.ndim != 1 or e.ndim != 1:
        raise InputError(f"'{time_name}' and '{event_name}' must be one-dimensional arrays")
    if t.shape != e.shape:
        raise InputError(
            f"'{time_name}' has {t.size} values but '{event_name}' has {e.size}; "
            "give one time and one event indicator per subject"
        )
    if t.size == 0:
        raise InputError("no subjects: the data are empty; supply at least one row")
    if np.isnan(t).any():
        raise InputError(
            f"column '{time_name}' is missing at data row {_first_bad(np.isnan(t))}; "
            "fill in the time or drop the row",
            location=time_name,
        )
    if not np.isfinite(t).all() or (t < 0).any():
        row = _first_bad(~np.isfinite(t) | (t < 0))
        raise InputError(
            f"column '{time_name}' is {t[row - 1]!r} at data row {row}; "
            "times must be finite and >= 0 (time from randomisation)",
            location=time_name,
        )
    bad_event = np.isnan(e) | ((e != 0) & (e != 1))
    if bad_event.any():
        row = _first_bad(bad_event)
        raise InputError(
            f"column '{event_name}' is {e[row - 1]!r} at data row {row}; "
            "events must be 1 (event) or 0 (censored)",
            location=event_name,
        )
    return t, e == 1


@dataclass(frozen=True, slots=True)
class TwoGroups:
    """A two-level grouping coded as 1 for ``other`` and 0 for ``reference``."""

    indicator: npt.NDArray[np.float64]
    reference: str
    other: str


def two_groups(
    group: Sequence[object] | npt.ArrayLike,
    reference: str,
    *,
    n: int,
    group_name: str = "group",
) -> TwoGroups:
    """Code a grouping with exactly two levels as 0 (``reference``) / 1 (the other level).

    Levels are compared as strings, so ``1`` and ``"1"`` are the same level.
    """
    labels = _labels(group, n=n, name=group_name, what="group")
    uniq, codes = np.unique(labels, return_inverse=True)
    levels = [str(u) for u in uniq.tolist()]
    if len(levels) != 2:
        found = ", ".join(repr(v) for v in levels[:5]) + (", ..." if len(levels) > 5 else "")
        raise InputError(
            f"column '{group_name}' must have exactly 2 levels to compare, found {len(levels)} "
            f"({found}); keep two arms or choose another column",
            location=group_name,
        )
    if reference not in levels:
        raise InputError(
            f"reference level {reference!r} does not occur in column '{group_name}' "
            f"(levels: {levels[0]!r}, {levels[1]!r}); use one of them",
            location=group_name,
        )
    other_code = 1 if levels[0] == reference else 0
    return TwoGroups(
        indicator=(codes == other_code).astype(np.float64),
        reference=reference,
        other=levels[other_code],
    )


def check_strata(
    strata: Sequence[object] | npt.ArrayLike | None, *, n: int, strata_name: str = "strata"
) -> IntArray | None:
    """Code stratum labels as integers 0..k-1 (``None`` stays ``None``)."""
    if strata is None:
        return None
    labels = _labels(strata, n=n, name=strata_name, what="stratum")
    _, codes = np.unique(labels, return_inverse=True)
    coded: IntArray = codes.astype(np.int64)
    return coded
