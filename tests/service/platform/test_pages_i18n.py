"""UI text goes through gettext: the template is up to date and the English catalogue complete."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from trialkit.protocol import load_protocol
from trialkit.service.platform.pages.rendering import LOCALE_DIR
from trialkit.service.screening.pages.screening_form import all_fields, protocol_screening_form

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


@pytest.mark.parametrize("protocol", ["sor", "tests/protocol/data/geriatric.yaml"])
def test_every_input_of_a_screening_form_has_its_definitions_label(protocol: str) -> None:
    fields = list(
        all_fields(
            protocol_screening_form(
                load_protocol(protocol if protocol == "sor" else str(REPO / protocol))
            )
        )
    )
    assert fields
    unlabelled = [f.name for f in fields if not f.label.strip() or f.label == f.name]
    assert unlabelled == []
