"""UI text goes through gettext: the template is up to date and the English catalogue complete."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from trialkit.service.platform.pages.labels import LABELS, OPTION_LABELS, PARTS, SECTIONS
from trialkit.service.platform.pages.rendering import LOCALE_DIR
from trialkit.service.screening.pages.screening_form import all_fields

REPO = Path(__file__).resolve().parents[3]


def _ids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id and isinstance(m.id, str)}


def test_messages_pot_is_up_to_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "N_", "--no-location",
         "--sort-output", "--omit-header", "-o", str(fresh), "."]
    )  # fmt: skip
    assert _ids(fresh) == _ids(LOCALE_DIR / "messages.pot"), "run 'make i18n'"


def test_the_english_catalogue_is_complete_and_compiled() -> None:
    po = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    expected = _ids(LOCALE_DIR / "messages.pot")
    translated = {m.id: m.string for m in catalogue if m.id}
    assert expected <= translated.keys()
    assert [m for m in expected if not translated[m]] == []
    with (po.with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert all(compiled.gettext(m) == translated[m] for m in expected)


def test_every_label_of_the_screening_form_is_in_the_catalogue() -> None:
    expected = _ids(LOCALE_DIR / "messages.pot")
    words = {*LABELS.values(), *PARTS.values(), *OPTION_LABELS.values()}
    words |= {title for title, _ in SECTIONS.values()}
    assert words - expected == set()
    unlabelled = [f.path for f in all_fields() if f.label == f.path]
    assert unlabelled == []
