"""Recorded values in words: each item by its label, each code by its label, yes or no.

A page never shows a record's internal names (``dose_mg``) or codes (``not_related``,
``NON_CR_NON_PD``): these functions put the form's labels in their place.
"""

from __future__ import annotations

from typing import Any

from trialkit.service.capture.forms import Form
from trialkit.service.capture.pages.clinical_forms import (
    SIMPLE_FORMS,
    field_labels,
    field_of_location,
)
from trialkit.service.platform.pages.labels import N_
from trialkit.service.platform.pages.rendering import Pages

__all__ = ["item_label", "record_summary"]

_YES_NO = {True: N_("yes"), False: N_("no")}


def item_label(pages: Pages, form: str, item: str) -> str:
    """The words for an item of a form: its label, never its internal name."""
    try:
        labels = field_labels(Form(form), [], [])
    except ValueError:
        labels = {}
    name = field_of_location(item)
    if name in labels:
        words, values = labels[name]
        return pages._(words) % {k: pages._(v) for k, v in values.items()}
    if name.startswith("target."):
        return pages._("Target lesion %(id)s") % {"id": name.split(".")[1]}
    if name.startswith("non_target."):
        return pages._("Non-target lesion %(id)s") % {"id": name.split(".")[1]}
    return name.replace("_", " ").replace(".", " ")


def _value_words(pages: Pages, choices: dict[str, str], value: Any) -> str:
    if isinstance(value, bool):
        return pages._(_YES_NO[value])
    if str(value) in choices:
        return pages._(choices[str(value)])
    return str(value)


def record_summary(pages: Pages, form: str, data: dict[str, Any]) -> str:
    """The plain values of a record as "label: words" (lists and lesions are on its form)."""
    try:
        specs = {spec.name: spec for spec in SIMPLE_FORMS.get(Form(form), ())}
    except ValueError:
        specs = {}
    parts = []
    for name, value in data.items():
        if value is None or isinstance(value, dict | list):
            continue
        spec = specs.get(name)
        label = pages._(spec.label) if spec else item_label(pages, form, name)
        choices = dict(spec.choices) if spec else {}
        words = (
            pages.recist(value)
            if name.endswith("response")
            else _value_words(pages, choices, value)
        )
        parts.append(f"{label}: {words}")
    return "; ".join(parts)
