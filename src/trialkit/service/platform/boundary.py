"""What any input must be before a use case sees it: one rule set for the API and the pages.

Details and reasoning: docs/operations.md, section `trialkit.service.platform.boundary`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from trialkit.errors import RecordError

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_ID",
    "MAX_NUMBER",
    "SECRET_FIELDS",
    "Problem",
    "field_problems",
    "is_secret",
    "json_problems",
    "listed_ids",
    "plausible_date",
    "printable",
    "request_problems",
]

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
"""The plausible range of any date the trial records or is asked about."""
MAX_ID = 2_147_483_647
"""The largest integer key every supported database stores (32-bit ``INTEGER``)."""
MAX_NUMBER = 1e15
"""The largest magnitude of a number in a JSON body (no dose, count or measurement is near)."""
_MAX_INTEGER = 2**63 - 1
SECRET_FIELDS = frozenset(
    {"password", "old_password", "new_password", "token", "access_token", "csrf_token", "secret"}
)

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z]*)?")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_ID_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also takes '²' and '٣'
_LIST_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Problem:
    """One refused value: where (FastAPI's ``loc``), which rule (``kind``) and what to do."""

    loc: tuple[str | int, ...]
    kind: str
    message: str

    def as_error(self) -> dict[str, Any]:
        """The problem as one entry of a 422 answer's ``detail`` (no ``input``)."""
        return {"type": self.kind, "loc": self.loc, "msg": self.message}


def is_secret(name: object) -> bool:
    """Whether a field holds a secret (its value is never shown back)."""
    text = str(name).lower()
    return text in SECRET_FIELDS or text.endswith(("password", "token", "secret"))


def printable(text: str, limit: int = 80) -> str:
    """``text`` safe to show and encode: control characters and surrogates escaped, cut short."""
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def plausible_date(value: dt.date, *, location: str = "") -> dt.date:
    """``value`` if it lies in 1900..2200; else a :class:`~trialkit.errors.RecordError`."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise RecordError(
            f"{value.isoformat()} is not a plausible date: enter a date between "
            f"{EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}",
            location=location,
        )
    return value


def _date_problem(text: str) -> bool:
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return False
    return not EARLIEST_DATE.year <= int(match[1]) <= LATEST_DATE.year


def _id_like(name: str | int) -> bool:
    return isinstance(name, str) and (name == "id" or name.endswith("_id"))


def _text_problems(text: str, loc: tuple[str | int, ...]) -> Iterator[Problem]:
    if "\x00" in text:
        yield Problem(loc, "text_nul", "must not contain a NUL character (\\x00); remove it")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        yield Problem(
            loc,
            "text_surrogate",
            "must be valid Unicode text (it holds an unpaired surrogate); type it again",
        )
    if _date_problem(text):
        yield _date_range(loc)


def _date_range(loc: tuple[str | int, ...]) -> Problem:
    return Problem(
        loc,
        "date_range",
        f"must be a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}",
    )


def _id_range(loc: tuple[str | int, ...]) -> Problem:
    return Problem(loc, "id_range", f"must be an id between 1 and {MAX_ID}")


def _number_range(loc: tuple[str | int, ...]) -> Problem:
    return Problem(loc, "number_range", "must be a number between -10^15 and 10^15")


class ListedIds(NamedTuple):
    """The ids typed into one text field, and the first part that is none (``None``: all are)."""

    ids: list[int]
    refused: str | None


def listed_ids(text: str) -> ListedIds:
    """The ids in ``text``, separated by commas, semicolons or spaces (``"1012, 1015"``).

    Each must be a whole number from 1 to :data:`MAX_ID` in ASCII digits; the first part that
    is not is returned, printable and cut short, for the message next to the field.
    """
    ids: list[int] = []
    for part in filter(None, _LIST_SEPARATORS.split(text)):
        if _ID_DIGITS.fullmatch(part) is None or not 1 <= int(part) <= MAX_ID:
            return ListedIds(ids, printable(part, 20))
        ids.append(int(part))
    return ListedIds(ids, None)


def _key(name: str) -> str:
    return printable(name) if name else name


def json_problems(value: Any, loc: tuple[str | int, ...] = ("body",)) -> list[Problem]:
    """Every problem in a parsed JSON document (keys, numbers, text, dates), in document order."""
    return list(_json(value, loc))


def _json(value: Any, loc: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, dict):
        for key, item in value.items():
            where = (*loc, _key(str(key)))
            key_problems = [p for p in _text_problems(str(key), where) if p.kind != "date_range"]
            yield from key_problems
            if not key_problems:
                yield from _json(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json(item, (*loc, index))
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if _id_like(loc[-1]) and abs(value) > MAX_ID:
            yield _id_range(loc)
        elif abs(value) > MAX_NUMBER:
            yield _number_range(loc)
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield Problem(
                loc, "finite_number", "must be a finite number (not NaN, Infinity or 1e999)"
            )
        elif abs(value) > MAX_NUMBER:
            yield _number_range(loc)
    elif isinstance(value, str):
        yield from _text_problems(value, loc)


def field_problems(where: str, fields: Iterable[tuple[str, str]]) -> list[Problem]:
    """Every problem in text fields (``where``: ``path``, ``query`` or ``body`` for a form)."""
    problems: list[Problem] = []
    for name, value in fields:
        loc: tuple[str | int, ...] = (where, _key(name))
        own = [p for p in _text_problems(name, loc) if p.kind != "date_range"]
        if own:
            problems += own
            continue
        problems += _text_problems(value, loc)
        if _INTEGER.fullmatch(value):
            digits = value.strip().lstrip("+-")
            too_big = len(digits) > 19 or int(digits) > _MAX_INTEGER
            if _id_like(name) and (too_big or int(digits) > MAX_ID):
                problems.append(_id_range(loc))
            elif too_big:
                problems.append(
                    Problem(loc, "number_range", "must be a whole number of at most 18 digits")
                )
    return problems


def request_problems(
    *,
    path: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    json_body: bytes | None = None,
    form: Iterable[tuple[str, str]] | None = None,
) -> list[Problem]:
    """Every problem in one request: its path and query, and its JSON body or posted form.

    A body that is no JSON at all is left to the framework, which says so itself.
    """
    problems = field_problems("path", path) + field_problems("query", query)
    if json_body:
        try:
            document = json.loads(json_body)
        except (ValueError, RecursionError):
            document = None
        problems += json_problems(document)
    if form is not None:
        problems += field_problems("body", form)
    return problems
