"""A serious adverse event report: its items, read from a plain mapping of item values.

The site's SAE form gives the values (seriousness criteria, the date and time the site became
aware, the investigator's causality for each drug, the outcome and the narrative); a report
with items missing is kept as it is and is not yet complete. A wrong value is refused with the
item as its location. The report is due :data:`SAE_DUE` after the site's awareness.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from trialkit.errors import InputError
from trialkit.safety.terms import ctcae_term

__all__ = [
    "CAUSALITY",
    "CRITERIA",
    "FATAL_OR_LIFE_THREATENING",
    "OUTCOMES",
    "RELATED",
    "SAE_DUE",
    "SaeReport",
    "parse_sae_report",
]

SAE_DUE = dt.timedelta(hours=24)
"""An SAE is reported to the sponsor within 24 hours of the site's awareness (ICH E6(R3))."""

CRITERIA: dict[str, str] = {
    "death": "results in death",
    "life_threatening": "is life-threatening",
    "hospitalisation": "requires hospitalisation or prolongs it",
    "disability": "results in persistent or significant disability or incapacity",
    "congenital_anomaly": "is a congenital anomaly or birth defect",
    "medically_important": "is another medically important condition",
}
"""The seriousness criteria of ICH E2A, as stored, with their labels."""

FATAL_OR_LIFE_THREATENING = frozenset({"death", "life_threatening"})

CAUSALITY: dict[str, str] = {
    "not_related": "not related",
    "unlikely": "unlikely related",
    "possible": "possibly related",
    "probable": "probably related",
    "related": "related",
}
RELATED = frozenset({"possible", "probable", "related"})
"""Causality with a reasonable possibility of a causal relationship (ICH E2A): a reaction."""

OUTCOMES: dict[str, str] = {
    "recovered": "recovered/resolved",
    "recovering": "recovering/resolving",
    "not_recovered": "not recovered/not resolved",
    "recovered_with_sequelae": "recovered/resolved with sequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}

_REQUIRED = ("term", "onset_date", "criteria", "aware_at", "causality", "outcome", "narrative")


@dataclass(frozen=True)
class SaeReport:
    """The items of one version of an SAE report; ``missing`` names the items still to give."""

    term: str | None
    grade: int | None
    meddra_llt: int | None
    onset_date: dt.date | None
    criteria: tuple[str, ...]
    aware_at: dt.datetime | None
    causality: Mapping[str, str]
    outcome: str | None
    death_date: dt.date | None
    narrative: str | None
    ae_record_key: str | None
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def fatal_or_life_threatening(self) -> bool:
        return bool(FATAL_OR_LIFE_THREATENING & set(self.criteria)) or self.outcome == "fatal"

    def due_at(self) -> dt.datetime | None:
        """When the report is due at the sponsor: awareness plus :data:`SAE_DUE`."""
        return None if self.aware_at is None else self.aware_at + SAE_DUE

    def related_drugs(self) -> tuple[str, ...]:
        """The drugs the investigator judges a reasonable possible cause."""
        return tuple(d for d, c in self.causality.items() if c in RELATED)


def _text(values: Mapping[str, Any], item: str, limit: int) -> str | None:
    value = values.get(item)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InputError(f"give {item} as text", location=item)
    if len(value) > limit:
        raise InputError(f"{item} is {len(value)} characters long; at most {limit}", location=item)
    return value.strip()


def _date(values: Mapping[str, Any], item: str) -> dt.date | None:
    value = values.get(item)
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{value!r} is not a date; give it as YYYY-MM-DD", location=item) from None


def _aware_at(values: Mapping[str, Any]) -> dt.datetime | None:
    value = values.get("aware_at")
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise InputError(
                f"{value!r} is not a date and time; give it as YYYY-MM-DDTHH:MM (UTC)",
                location="aware_at",
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _choice(value: object, choices: Mapping[str, str], item: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError(
            f"{value!r} is not one of {', '.join(choices)}",
            location=item,
        )
    return value


def parse_sae_report(values: Mapping[str, Any], *, drugs: Sequence[str]) -> SaeReport:
    """The report the item ``values`` give; ``drugs``: the drugs causality is asked for.

    Raises :class:`InputError` (location: the item) for a wrong value; items not given are
    listed in ``missing``.
    """
    known = set(_REQUIRED) | {"grade", "meddra_llt", "death_date", "ae_record_key"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"the SAE report has no item {unknown[0]!r}; its items are {', '.join(sorted(known))}",
            location=unknown[0],
        )
    grade_value = values.get("grade")
    grade: int | None = None
    if grade_value not in (None, ""):
        if isinstance(grade_value, bool) or not str(grade_value).isdigit():
            raise InputError(f"the grade is 1 to 5, not {grade_value!r}", location="grade")
        grade = int(str(grade_value))
    term = _text(values, "term", 200)
    if term is not None:
        term = ctcae_term(term, grade).term
    llt_value = values.get("meddra_llt")
    meddra_llt = None
    if llt_value not in (None, ""):
        if isinstance(llt_value, bool) or not str(llt_value).isdigit():
            raise InputError(
                f"a MedDRA lowest level term code is digits, not {llt_value!r}",
                location="meddra_llt",
            )
        meddra_llt = int(str(llt_value))
    raw_criteria = values.get("criteria") or ()
    if isinstance(raw_criteria, str):
        raw_criteria = (raw_criteria,)
    if not isinstance(raw_criteria, Sequence):
        raise InputError("give the seriousness criteria as a list", location="criteria")
    criteria = tuple(
        dict.fromkeys(_choice(c, CRITERIA, f"criteria[{i}]") for i, c in enumerate(raw_criteria))
    )
    raw_causality = values.get("causality") or {}
    if not isinstance(raw_causality, Mapping):
        raise InputError("give the causality per drug as a mapping", location="causality")
    for drug in raw_causality:
        if drug not in drugs:
            raise InputError(
                f"{drug!r} is not one of the trial's drugs ({', '.join(drugs)})",
                location=f"causality.{drug}",
            )
    causality = {
        d: _choice(raw_causality[d], CAUSALITY, f"causality.{d}")
        for d in drugs
        if raw_causality.get(d) not in (None, "")
    }
    outcome_value = values.get("outcome")
    outcome = None if outcome_value in (None, "") else _choice(outcome_value, OUTCOMES, "outcome")
    report = SaeReport(
        term=term,
        grade=grade,
        meddra_llt=meddra_llt,
        onset_date=_date(values, "onset_date"),
        criteria=criteria,
        aware_at=_aware_at(values),
        causality=causality,
        outcome=outcome,
        death_date=_date(values, "death_date"),
        narrative=_text(values, "narrative", 20000),
        ae_record_key=_text(values, "ae_record_key", 64),
        missing=(),
    )
    if report.onset_date and report.aware_at and report.aware_at.date() < report.onset_date:
        raise InputError(
            f"the site cannot have become aware ({report.aware_at.date()}) before the onset "
            f"({report.onset_date}); correct one of them",
            location="aware_at",
        )
    missing = [item for item in _REQUIRED if item not in ("criteria", "causality")]
    missing = [item for item in missing if getattr(report, item) is None]
    if not criteria:
        missing.append("criteria")
    missing.extend(f"causality.{d}" for d in drugs if d not in causality)
    if ("death" in criteria or outcome == "fatal") and report.death_date is None:
        missing.append("death_date")
    return replace(report, missing=tuple(missing))
