"""What sites record about tumours: baseline lesions and each follow-up assessment (RECIST 1.1).

Details and reasoning: docs/capture.md, section `trialkit.endpoints.lesions`.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours:
revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trialkit.errors import RecordError

__all__ = [
    "TOO_SMALL",
    "TOO_SMALL_DEFAULT_MM",
    "Assessment",
    "Baseline",
    "LesionRecord",
    "Measurement",
    "Method",
    "NewLesions",
    "NonTargetLesion",
    "NonTargetStatus",
    "TargetLesion",
    "parse_lesion_record",
]

TOO_SMALL = "too_small"
TOO_SMALL_DEFAULT_MM = 5.0
"""RECIST 1.1 appendix II: a lesion present but too small to measure is given 5 mm."""

Method = Literal["CT", "MRI", "caliper", "x-ray", "ultrasound", "PET", "bone scan", "other"]
Measurement = Annotated[float, Field(ge=0)] | Literal["too_small"] | None
"""Longest diameter (short axis for a lymph node) in mm; 0 when the lesion has disappeared,
``"too_small"`` (5 mm) when present but too small to measure, ``None`` when not evaluated."""
NonTargetStatus = Literal["present", "absent", "unequivocal_progression"]
"""A non-target lesion's status; ``None`` in a record means not evaluated."""
NewLesions = Literal["yes", "no", "equivocal"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetLesion(_Frozen):
    """A baseline target lesion: longest diameter, or short axis for a lymph node."""

    id: str = Field(min_length=1)
    organ: str = Field(min_length=1)
    lymph_node: bool = False
    diameter_mm: float = Field(ge=0, description="Longest diameter; short axis for a node.")
    method: Method = "CT"


class NonTargetLesion(_Frozen):
    """A baseline non-target lesion (non-measurable, or beyond the five targets)."""

    id: str = Field(min_length=1)
    organ: str = Field(min_length=1)
    lymph_node: bool = False
    diameter_mm: float | None = Field(default=None, ge=0)
    method: Method = "CT"


class Baseline(_Frozen):
    """The baseline tumour assessment (contract keys ``target`` and ``non_target``)."""

    date: date
    target: tuple[TargetLesion, ...] = ()
    non_target: tuple[NonTargetLesion, ...] = ()


class Assessment(_Frozen):
    """One follow-up time point: target measurements, non-target statuses, new lesions.

    ``new_lesions`` is the contract's yes/no; ``new_lesions_equivocal`` (an extension) records
    a new lesion the reader could not call yet, which is not progression at this time point but
    dates progression back when a later scan confirms it.
    """

    date: date
    target: dict[str, Measurement] = Field(default_factory=dict)
    non_target: dict[str, NonTargetStatus | None] = Field(default_factory=dict)
    new_lesions: bool = False
    new_lesions_equivocal: bool = False

    @property
    def new_lesion_status(self) -> NewLesions:
        """``yes`` (unequivocal new lesion), ``equivocal`` or ``no``."""
        if self.new_lesions:
            return "yes"
        return "equivocal" if self.new_lesions_equivocal else "no"

    def measurement_mm(self, lesion_id: str) -> float | None:
        """The value used in the sum: mm, 5 for too small, ``None`` if not evaluated."""
        value = self.target.get(lesion_id)
        if value is None:
            return None
        if value == TOO_SMALL:
            return TOO_SMALL_DEFAULT_MM
        assert isinstance(value, float)
        return value


class LesionRecord(_Frozen):
    """A patient's tumour data: baseline and follow-up assessments in date order."""

    randomisation_date: date | None = None
    baseline: Baseline
    assessments: tuple[Assessment, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> LesionRecord:
        previous = self.baseline.date
        for k, assessment in enumerate(self.assessments):
            if assessment.date <= previous:
                raise ValueError(
                    f"assessments[{k}] on {assessment.date} is not after the previous assessment "
                    f"({previous}); list assessments in date order after the baseline"
                )
            previous = assessment.date
        return self


_UNION_LABELS = ("float", "constrained-float", "literal[", "none")


def _path(loc: tuple[int | str, ...]) -> tuple[str, bool]:
    """The JSON path of a pydantic error location, and whether it is a measurement union."""
    out = ""
    union = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(_UNION_LABELS):
            union = True  # pydantic's union-branch labels are not part of the JSON path
        else:
            out += f".{part}" if out else part
    return out, union


def parse_lesion_record(data: Any, *, source: str = "") -> LesionRecord:
    """Validate raw JSON data as a :class:`LesionRecord`.

    Raises
    ------
    RecordError
        With the JSON path of the first problem (``assessments[1].target.T2``) as location.
    """
    if not isinstance(data, dict):
        raise RecordError(
            "a lesion record must be a JSON object with baseline and assessments", location=source
        )
    try:
        return LesionRecord.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path, union = _path(tuple(error["loc"]))
        where = f"{source}: {path}" if source and path else (source or path)
        count = len({_path(tuple(e["loc"]))[0] for e in exc.errors()})
        more = f" (and {count - 1} more problem(s))" if count > 1 else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if union:
            message = (
                f"{error['input']!r} is not a measurement: give the diameter in mm (a number "
                '0 or more; 0 if it disappeared), "too_small", or null if not evaluated'
            )
        raise RecordError(f"{message}{more}", location=where) from exc
