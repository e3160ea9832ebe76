"""The case report forms sites fill in after randomisation, as validated schemas.

A record of the wrong type or with an end date before its start is refused with the
field's path; a missing required field is stored and opens a query instead.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.forms`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trialkit.endpoints.lesions import Measurement, NonTargetLesion, NonTargetStatus, TargetLesion
from trialkit.errors import RecordError
from trialkit.service.platform.boundary import plausible_date

__all__ = [
    "FORMS",
    "DateOrderProblem",
    "Form",
    "FormSpec",
    "date_order_problems",
    "parse_form",
    "validate_form",
]

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Form(StrEnum):
    TUMOUR_BASELINE = "tumour_baseline"
    TUMOUR_ASSESSMENT = "tumour_assessment"
    STUDY_DRUG = "study_drug"
    DOCETAXEL_CYCLE = "docetaxel_cycle"
    LETROZOLE = "letrozole"
    ADVERSE_EVENT = "adverse_event"
    DEATH = "death"
    END_OF_TREATMENT = "end_of_treatment"
    END_OF_STUDY = "end_of_study"
    NEW_THERAPY = "new_therapy"
    LAST_KNOWN_ALIVE = "last_known_alive"


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date_order: ClassVar[tuple[tuple[str, str], ...]] = ()
    """Pairs of date fields (earlier, later): a record with the later one first is refused."""


class TumourBaseline(_Form):
    date: dt.date | None = None
    target: tuple[TargetLesion, ...] = ()
    non_target: tuple[NonTargetLesion, ...] = ()


class TumourAssessment(_Form):
    date: dt.date | None = None
    target: dict[str, Measurement] = Field(default_factory=dict)
    non_target: dict[str, NonTargetStatus | None] = Field(default_factory=dict)
    new_lesions: bool | None = None
    new_lesions_equivocal: bool = False


class DoseInterruption(_Form):
    date_order = (("start_date", "end_date"),)

    start_date: dt.date
    end_date: dt.date | None = None
    reason: Text | None = None


class DoseReduction(_Form):
    date: dt.date
    daily_dose_mg: Annotated[int, Field(ge=0, le=800)]
    reason: Text | None = None


class StudyDrug(_Form):
    """One dispensing period of blinded study drug; kits are referenced by number only."""

    date_order = (("start_date", "end_date"),)

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    kits_dispensed: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] = ()
    kits_returned: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] = ()
    tablets_dispensed: Annotated[int, Field(ge=0)] | None = None
    tablets_returned: Annotated[int, Field(ge=0)] | None = None
    tablets_taken: Annotated[int, Field(ge=0)] | None = None
    interruptions: tuple[DoseInterruption, ...] = ()
    reductions: tuple[DoseReduction, ...] = ()


class DocetaxelCycle(_Form):
    cycle: Annotated[int, Field(ge=1, le=6)] | None = None
    date: dt.date | None = None
    dose_mg_m2: Annotated[float, Field(gt=0, le=150)] | None = None
    dose_mg: Annotated[float, Field(gt=0, le=400)] | None = None
    delayed: bool = False
    reduced: bool = False


class Letrozole(_Form):
    start_date: dt.date | None = None
    dose_mg: Annotated[float, Field(gt=0, le=10)] | None = 2.5


class AdverseEvent(_Form):
    date_order = (("start_date", "end_date"),)

    term: Text | None = None
    grade: Annotated[int, Field(ge=1, le=5)] | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    ongoing: bool = False
    serious: bool | None = None
    relationship: Literal["not_related", "unlikely", "possible", "probable", "related"] | None = (
        None
    )
    action_taken: (
        Literal["none", "dose_interrupted", "dose_reduced", "drug_withdrawn", "not_applicable"]
        | None
    ) = None


class Death(_Form):
    date: dt.date | None = None
    cause: Literal["progression", "adverse_event", "other", "unknown"] | None = None
    cause_text: Text | None = None


class EndOfTreatment(_Form):
    date: dt.date | None = None
    reason: (
        Literal[
            "progression",
            "adverse_event",
            "death",
            "withdrawal_of_consent",
            "investigator_decision",
            "lost_to_follow_up",
            "other",
        ]
        | None
    ) = None
    reason_text: Text | None = None


class EndOfStudy(_Form):
    date: dt.date | None = None
    reason: (
        Literal["completed", "death", "withdrawal_of_consent", "lost_to_follow_up", "other"] | None
    ) = None
    reason_text: Text | None = None


class NewTherapy(_Form):
    start_date: dt.date | None = None
    therapy: Text | None = None


class LastKnownAlive(_Form):
    date: dt.date | None = None


@dataclass(frozen=True)
class FormSpec:
    """A form: its schema, whether it repeats (and its key prefix), and its required fields."""

    form: Form
    schema: type[_Form]
    prefix: str | None  # None: recorded once, keyed by the form name
    required: tuple[str, ...]
    label: str


FORMS: dict[Form, FormSpec] = {
    s.form: s
    for s in (
        FormSpec(Form.TUMOUR_BASELINE, TumourBaseline, None, ("date",), "Baseline tumours"),
        FormSpec(
            Form.TUMOUR_ASSESSMENT,
            TumourAssessment,
            "TA",
            ("date", "new_lesions"),
            "Tumour assessment",
        ),
        FormSpec(Form.STUDY_DRUG, StudyDrug, "SD", ("start_date", "kits_dispensed"), "Study drug"),
        FormSpec(
            Form.DOCETAXEL_CYCLE,
            DocetaxelCycle,
            "DC",
            ("cycle", "date", "dose_mg_m2", "dose_mg"),
            "Docetaxel cycle",
        ),
        FormSpec(Form.LETROZOLE, Letrozole, None, ("start_date",), "Letrozole"),
        FormSpec(
            Form.ADVERSE_EVENT,
            AdverseEvent,
            "AE",
            ("term", "grade", "start_date", "serious", "relationship", "action_taken"),
            "Adverse event",
        ),
        FormSpec(Form.DEATH, Death, None, ("date", "cause"), "Death"),
        FormSpec(
            Form.END_OF_TREATMENT, EndOfTreatment, None, ("date", "reason"), "End of treatment"
        ),
        FormSpec(Form.END_OF_STUDY, EndOfStudy, None, ("date", "reason"), "End of study"),
        FormSpec(Form.NEW_THERAPY, NewTherapy, "NT", ("start_date", "therapy"), "New therapy"),
        FormSpec(Form.LAST_KNOWN_ALIVE, LastKnownAlive, None, ("date",), "Last known alive"),
    )
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class DateOrderProblem:
    """A date that must not come before another one of the same record, and does."""

    field: str  # the later field's path in the record (``end_date``, ``interruptions[0].end_date``)
    value: dt.date
    before: str  # the earlier field's path
    before_value: dt.date

    @property
    def message(self) -> str:
        return (
            f"{self.field} {self.value} is before {self.before} {self.before_value}: an end "
            "cannot come before its start; correct the date that is wrong"
        )


def date_order_problems(record: _Form, path: str = "") -> Iterator[DateOrderProblem]:
    """Every declared date pair of a validated record (nested parts included) out of order."""
    for earlier, later in type(record).date_order:
        start, end = getattr(record, earlier), getattr(record, later)
        if start is not None and end is not None and end < start:
            yield DateOrderProblem(path + later, end, path + earlier, start)
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, _Form):
            yield from date_order_problems(value, f"{path}{name}.")
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, _Form):
                    yield from date_order_problems(item, f"{path}{name}[{i}].")


def parse_form(form: Form, data: dict[str, Any]) -> _Form | None:
    """A stored record as its form's model, or ``None`` when it no longer fits the schema."""
    try:
        return FORMS[form].schema.model_validate(data)
    except ValidationError:
        return None


def validate_form(form: Form, data: Any, *, born: dt.date | None = None) -> dict[str, Any]:
    """The record validated against its form's schema, as JSON data (unset fields left out).

    Every date must be plausible (:func:`~trialkit.service.platform.boundary.plausible_date`) and,
    when the patient's date of birth ``born`` is known, not before it.

    Raises
    ------
    RecordError
        With ``data.<field path>`` of the first problem as location: a value of the wrong
        type, or a date before the one it must follow (:func:`date_order_problems`).
    """
    if not isinstance(data, dict):
        raise RecordError(f"a {form.value} record must be a JSON object", location="data")
    try:
        record = FORMS[form].schema.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _path(tuple(error["loc"]))
        raise RecordError(
            f"{where}: {error['msg']}", location=f"data.{where}" if where else "data"
        ) from exc
    for problem in date_order_problems(record):
        raise RecordError(problem.message, location=f"data.{problem.field}")
    dumped: dict[str, Any] = record.model_dump(mode="json", exclude_unset=True)
    _plausible_dates(dumped, "data", born)
    return dumped


def _plausible_dates(value: Any, where: str, born: dt.date | None) -> None:
    """Refuse an implausible date at entry (a new therapy on 0001-01-01, an adverse event
    before the patient was born), naming the field."""
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "date" or key.endswith("_date")) and isinstance(item, str):
                _clinical_date(dt.date.fromisoformat(item), f"{where}.{key}", born)
            else:
                _plausible_dates(item, f"{where}.{key}", born)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _plausible_dates(item, f"{where}[{index}]", born)


def _clinical_date(value: dt.date, location: str, born: dt.date | None) -> None:
    plausible_date(value, location=location)
    if born is not None and value < born:
        raise RecordError(
            f"{value.isoformat()} is before the patient's date of birth ({born.isoformat()}, "
            "from the screening record): check the date, or correct the date of birth in the "
            "screening record",
            location=location,
        )
