"""The eligibility checklist as a page shows it, from a screening result (stored or previewed).

Each criterion is met, not met or unknown with its reason; an unknown one names
what is missing and links to the input where it is entered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialkit.service.screening.pages.screening_form import field_for_path, label_for

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
    blocks: bool
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


def _missing(path: str) -> Missing:
    target = field_for_path(path)
    label = label_for(path)
    if target is not None and label == path:
        label = target.label
    return Missing(path=path, label=label, anchor=target.id if target else None)


def checklist(result: dict[str, Any]) -> Checklist:
    """A checklist from the JSON shape of a screening outcome (``ScreeningOutcome.as_dict``)."""
    items = []
    for c in result.get("criteria", []):
        # a sub-item is one alternative or part of its criterion: only numbered criteria block
        blocks = c.get("parent") is None and (
            (c["kind"] == "inclusion" and c["status"] == "not_met")
            or (c["kind"] == "exclusion" and c["status"] == "met")
        )
        items.append(
            ChecklistItem(
                id=c["id"],
                kind=c["kind"],
                status=c["status"],
                reason=c["reason"],
                text=c["text"],
                parent=c.get("parent"),
                applicable=c.get("applicable", True),
                blocks=blocks,
                missing=tuple(_missing(p) for p in c.get("missing", [])),
            )
        )
    return Checklist(
        verdict=result["verdict"],
        eligible=result["eligible"],
        background_therapy=result.get("background_therapy"),
        background_therapy_reason=result.get("background_therapy_reason"),
        items=tuple(items),
        missing=tuple(_missing(p) for p in result.get("missing", [])),
    )
