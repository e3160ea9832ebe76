"""The screening form's page, generated from the trial's screening form definition.

Each input is named by its item's path in the record (``labs.alt.value``), so an error the
service reports for a path lands next to the input of that name. An empty input means *not
recorded* and is left out of the record: the service then calls the criteria that need it
``unknown``, never met. The builders are the case report forms' own
(:mod:`trialkit.service.platform.pages.form_pages`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError
from trialkit.protocol import Protocol
from trialkit.protocol.forms import Form, Forms
from trialkit.service.platform.pages.form_pages import (
    Converted,
    Field,
    SectionView,
    form_fields,
    page_sections,
    page_to_record,
    record_to_page,
)
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "ScreeningForm",
    "all_fields",
    "field_for_path",
    "form_sections",
    "form_to_record",
    "label_for",
    "protocol_screening_form",
    "record_to_form",
    "screening_form_of",
    "therapy_label_of",
    "therapy_labels",
]


@dataclass(frozen=True)
class ScreeningForm:
    """A protocol's screening form and the code lists it uses."""

    forms: Forms
    form: Form
    therapies: Mapping[str, str] = field(default_factory=dict)
    """The label of each background therapy the protocol's rules assign (by its id)."""

    def therapy_label(self, therapy: str | None) -> str:
        """A background therapy in words (its rule's label), never its id."""
        return _therapy_words(self.therapies, therapy)


def _therapy_words(labels: Mapping[str, str], therapy: str | None) -> str:
    if not therapy:
        return ""
    return labels.get(therapy) or therapy.replace("_", " ")


def therapy_labels(protocol: Protocol) -> dict[str, str]:
    """The label of each background therapy the protocol's rules assign, by its id."""
    therapy = protocol.background_therapy
    return {rule.id: rule.label for rule in therapy.rules} if therapy is not None else {}


def therapy_label_of(session: Session, trial_id: int) -> Callable[[str | None], str]:
    """The trial's background therapies in words (a protocol without a screening form too)."""
    labels = therapy_labels(trial_protocol(get_trial_or_raise(session, trial_id)))
    return partial(_therapy_words, labels)


def screening_form_of(session: Session, trial_id: int) -> ScreeningForm:
    """The screening form of the trial's protocol; :class:`NotFoundError` when it has none."""
    return protocol_screening_form(trial_protocol(get_trial_or_raise(session, trial_id)))


def protocol_screening_form(protocol: Protocol) -> ScreeningForm:
    """The protocol's screening form; :class:`NotFoundError` when it has none."""
    forms = protocol.forms
    form = forms.screening if forms is not None else None
    if forms is None or form is None:
        raise NotFoundError(
            f"protocol {protocol.acronym} defines no screening form: declare one under 'forms:' "
            "(used: screening) in the protocol file (docs/forms.md)"
        )
    return ScreeningForm(forms, form, therapy_labels(protocol))


def form_sections(screening: ScreeningForm, values: Mapping[str, str]) -> tuple[SectionView, ...]:
    """The form's sections with their inputs, for the values on the page."""
    return page_sections(screening.forms, screening.form, values, {})


def all_fields(
    screening: ScreeningForm, values: Mapping[str, str] | None = None
) -> Iterator[Field]:
    """Every input of the form (one empty row for each repeating group)."""
    yield from form_fields(form_sections(screening, values or {})).values()


def form_to_record(screening: ScreeningForm, posted: Mapping[str, str]) -> Converted:
    """The screening record the posted inputs describe (empty inputs left out)."""
    return page_to_record(screening.forms, screening.form, posted, {})


def record_to_form(screening: ScreeningForm, data: Mapping[str, Any]) -> dict[str, str]:
    """The inputs' values for a stored record (the inverse of :func:`form_to_record`)."""
    return record_to_page(screening.form, data, {})


def field_for_path(
    screening: ScreeningForm, path: str, fields: Mapping[str, Field] | None = None
) -> Field | None:
    """The input that a record path is entered in: the input itself or the first of its group.

    ``fields``: the form's inputs (:func:`all_fields` by name), when already at hand.
    """
    if fields is None:
        fields = form_fields(form_sections(screening, {}))
    if path in fields:
        return fields[path]
    return next((f for name, f in fields.items() if name.startswith(path + ".")), None)


def label_for(screening: ScreeningForm, path: str) -> str:
    """The label of a record path: its item's, or the path itself when the form has none."""
    try:
        return screening.form.item(path).label
    except KeyError:
        parent, _, part = path.rpartition(".")
        if parent and screening.form.has_path(path):
            return f"{label_for(screening, parent)}: {part}"
        return path
