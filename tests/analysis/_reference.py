"""Access to the committed R reference values and data sets.

Produced by ``tests/analysis/reference/survival_reference.R`` (R ``survival``); the
tests need no R. Non-finite R values are stored as the strings "NA" / "Inf".
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).parent
DATASETS = ("veteran", "lung", "colon", "flat")
RTOL = 1e-6


@cache
def reference() -> dict[str, Any]:
    with (HERE / "reference" / "survival_reference.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def r_array(values: list[Any] | Any) -> npt.NDArray[np.float64]:
    """R vector from the JSON: "NA" -> nan, "Inf" -> inf."""
    items = values if isinstance(values, list) else [values]
    mapping = {"NA": np.nan, "Inf": np.inf, "-Inf": -np.inf}
    return np.array([mapping.get(v, v) if isinstance(v, str) else v for v in items], float)


@dataclass(frozen=True)
class Dataset:
    name: str
    time: npt.NDArray[np.float64]
    event: npt.NDArray[np.float64]
    group: npt.NDArray[np.str_]
    strata: npt.NDArray[np.str_]
    karno: npt.NDArray[np.float64]
    age: npt.NDArray[np.float64]
    reference: str

    def arm(self, level: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        mask = self.group == level
        return self.time[mask], self.event[mask]


@cache
def dataset(name: str) -> Dataset:
    with (HERE / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))

    def col(key: str) -> npt.NDArray[np.float64]:
        return np.array([float(r[key]) for r in rows])

    return Dataset(
        name=name,
        time=col("time"),
        event=col("event"),
        group=np.array([r["group"] for r in rows]),
        strata=np.array([r["strata"] for r in rows]),
        karno=col("karno"),
        age=col("age"),
        reference=reference()[name]["reference"],
    )


def assert_close(ours: Any, theirs: Any, *, rtol: float = RTOL, what: str = "") -> float:
    """Relative agreement with NaN/inf in the same places; returns the max relative error."""
    a = np.atleast_1d(np.asarray(ours, dtype=float))
    b = np.atleast_1d(np.asarray(theirs, dtype=float))
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: NaN pattern {a} vs {b}"
    assert np.array_equal(np.isinf(a), np.isinf(b)), f"{what}: inf pattern {a} vs {b}"
    finite = np.isfinite(b)
    if not finite.any():
        return 0.0
    rel = np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-300)
    worst = float(rel.max())
    assert worst <= rtol, f"{what}: max relative error {worst:.3g} > {rtol}"
    return worst
