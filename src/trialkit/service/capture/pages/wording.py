"""Recorded values in words: each item by its label, each code by its label, yes or no.

A page never shows a record's internal names (``dose_mg``) or codes (``not_related``,
``NON_CR_NON_PD``): the labels come from the trial's form definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from trialkit.protocol.forms import Form, Forms, Item
from trialkit.service.capture.patient_status import REASON_ITEM_BY_ROLE
from trialkit.service.capture.queries import QueryView
from trialkit.service.platform.pages.deps import Viewer
from trialkit.service.platform.pages.form_pages import field_of_location
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = ["Wording", "wording_of"]

_YES_NO = {True: N_("yes"), False: N_("no")}
_LAB_PARTS = {
    "value": N_("value"),
    "unit": N_("unit"),
    "uln": N_("upper limit of normal"),
    "lln": N_("lower limit"),
    "date": N_("date"),
}


@dataclass(frozen=True)
class Wording:
    """The words for a trial's forms, items and codes (``forms``: its definitions, if any)."""

    pages: Pages
    forms: Forms | None

    def _form(self, name: str) -> Form | None:
        if self.forms is None:
            return None
        try:
            return self.forms.form(name)
        except KeyError:
            return None

    def form_label(self, name: str) -> str:
        """A form's label, never its internal name."""
        return self._words(self.forms.label_of(name)) if self.forms else name.replace("_", " ")

    def _words(self, label: str) -> str:
        return self.pages._(label)

    def item_label(self, form: str, item: str) -> str:
        """The words for an item of a form (``target[0].organ`` -> Target lesions 1: Organ)."""
        path = field_of_location(item)
        found = self._form(form)
        if found is None:
            return path.replace("_", " ").replace(".", " ")
        words: list[str] = []
        items = found.items
        parent: Item | None = None
        for part in path.split("."):
            child = next((i for i in items if i.name == part), None)
            if child is not None:
                words.append(self._words(child.label))
                items, parent = child.items, child
            elif parent is not None and parent.type == "lab" and part in _LAB_PARTS:
                words.append(self.pages._(_LAB_PARTS[part]))
            elif parent is not None and (parent.repeating or parent.keyed or parent.multiple):
                # a row of a repeating group (counted from 1) or an id (a lesion's)
                row = str(int(part) + 1) if part.isdigit() and not parent.keyed else part
                words[-1] = f"{words[-1]} {row}"
            else:
                words.append(part.replace("_", " "))
        return ": ".join(words) or path

    def query_message(self, query: QueryView) -> str:
        """A query's message in words: an edit check's message names its item by its path
        (``dose_mg is required``), which the item's label replaces."""
        if query.source != "edit_check":
            return query.message
        return query.message.replace(
            f"{query.field} ", f"{self.item_label(query.form, query.field)} "
        )

    def status_reason(self, reason: str | None) -> str:
        """A patient status's reason (a cause of death, a reason for ending treatment or the
        study) by its label in the code list of the form that recorded it."""
        if not reason:
            return ""
        for item in self._reason_items:
            words = self.value_words(item, reason)
            if words != reason:
                return words
        return reason.replace("_", " ")

    @cached_property
    def _reason_items(self) -> tuple[Item, ...]:
        """The status forms' reason items (:data:`REASON_ITEM_BY_ROLE`), found once."""
        found: list[Item] = []
        for role, item_name in REASON_ITEM_BY_ROLE.items():
            form = self._form(self.forms.role(role) or "") if self.forms else None
            item = next((i for _, i in form.walk() if i.name == item_name), None) if form else None
            if item is not None:
                found.append(item)
        return tuple(found)

    def value_words(self, item: Item, value: Any) -> str:
        """A recorded value in words: a code by its label, a flag as yes or no."""
        if isinstance(value, bool):
            return self.pages._(_YES_NO[value])
        if isinstance(value, list):
            return ", ".join(self.value_words(item, v) for v in value)
        for name in (item.codelist, item.special_codes):
            if name is None or self.forms is None:
                continue
            codes = self.forms.code_map.get(name)
            words = [c.label for c in codes.codes if str(c.code) == str(value)] if codes else []
            if words:
                return self._words(words[0])
        if item.name.endswith("response"):
            return self.pages.recist(value)
        return f"{value} {item.unit}" if item.unit else str(value)

    def summary(self, form: str, data: dict[str, Any]) -> str:
        """The plain values of a record as "label: words" (groups and lesions are on its form)."""
        found = self._form(form)
        items = {i.name: i for i in found.items} if found else {}
        parts = []
        for name, value in data.items():
            if value is None or isinstance(value, dict) or name not in items:
                continue
            item = items[name]
            if item.type == "group" or (isinstance(value, list) and not item.multiple):
                continue
            parts.append(f"{self._words(item.label)}: {self.value_words(item, value)}")
        return "; ".join(parts)


def wording_of(pages: Pages, session: Session, viewer: Viewer) -> Wording:
    """The words for the forms of the viewer's trial (none outside a trial)."""
    if viewer.trial is None:
        return Wording(pages, None)
    return Wording(pages, trial_protocol(get_trial_or_raise(session, viewer.trial.id)).forms)
