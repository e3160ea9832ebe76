"""The eligibility checklist as a page shows it, from a screening result (stored or previewed).

Each criterion is met, not met or unknown with its reason; an unknown one names
what is missing and links to the input where it is entered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from trialkit.screening import ScreeningResult
from trialkit.service.platform.pages.form_pages import Field
from trialkit.service.screening.pages.screening_form import (
    ScreeningForm,
    all_fields,
    field_for_path,
    label_for,
)

__all__ = ["Checklist", "ChecklistItem", "Missing", "checklist"]


@dataclass(frozen=True)
class Missing:
    path: str
    label: str
    anchor: str | None  # the id of the input, when the form has one


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    kind: str
    status: str  # met | not_met | unknown
    reason: str
    text: str
    parent: str | None
    applicable: bool
    blocks: bool  # the engine's: a numbered criterion that makes the patient not eligible
    missing: tuple[Missing, ...]


@dataclass(frozen=True)
class Checklist:
    verdict: str  # eligible | not eligible | undetermined
    eligible: bool | None
    background_therapy: str | None
    background_therapy_reason: str | None
    items: tuple[ChecklistItem, ...]
    missing: tuple[Missing, ...]

    @property
    def counts(self) -> dict[str, int]:
        out = {"met": 0, "not_met": 0, "unknown": 0}
        for item in self.items:
            if item.parent is None:
                out[item.status] = out.get(item.status, 0) + 1
        return out


def _missing(screening: ScreeningForm, path: str, fields: Mapping[str, Field]) -> Missing:
    target = field_for_path(screening, path, fields)
    label = label_for(screening, path)
    if target is not None and label == path:
        label = target.label
    if label == path:  # not an item of the form: its last name in words, never the path
        label = path.rpartition(".")[2].replace("_", " ")
    parent = path.rpartition(".")[0]
    group = label_for(screening, parent) if parent.count(".") >= 1 else parent
    if group != parent and group.casefold() not in label.casefold():
        # an item of a group within a section: the group names it (brain or liver metastases)
        label = f"{group}: {label}"
    return Missing(path=path, label=label, anchor=target.id if target else None)


_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _code_words(screening: ScreeningForm) -> dict[str, str]:
    """Each code of the form's code lists with its label."""
    return {
        code.code: code.label
        for codes in screening.forms.code_lists
        for code in codes.codes
        if isinstance(code.code, str)
    }


def _in_words(reason: str, words: Mapping[str, str]) -> str:
    """The engine's reason with the record's option codes in words (``not_done`` -> not done)."""
    return _CODE.sub(lambda m: words.get(m.group(0), m.group(0).replace("_", " ")), reason)


def checklist(result: ScreeningResult, screening: ScreeningForm) -> Checklist:
    """A checklist from a screening result (stored, or a preview's); the engine says what blocks."""
    blocking = {c.id for c in result.eligibility.blocking}
    fields = {f.name: f for f in all_fields(screening)}
    words = _code_words(screening)
    items = tuple(
        ChecklistItem(
            id=c.id,
            kind=c.kind,
            status=c.status,
            reason=_in_words(c.reason, words),
            text=c.text,
            parent=c.parent,
            applicable=c.applicable,
            blocks=c.id in blocking,
            missing=tuple(_missing(screening, p, fields) for p in c.missing),
        )
        for c in result.eligibility.criteria
    )
    return Checklist(
        verdict=result.eligibility.verdict,
        eligible=result.eligibility.eligible,
        background_therapy=screening.therapy_label(result.background_therapy) or None,
        background_therapy_reason=result.background_therapy_reason,
        items=items,
        missing=tuple(_missing(screening, p, fields) for p in result.eligibility.missing),
    )
