"""The report template's fixed text goes through gettext; the English output is unchanged.

``data/small_report*.html`` were rendered by the template before its strings were marked for
translation (commit 'b8b5f32'): the English rendering must stay byte-identical to them. The
fragment was rendered again when the web page's report folded its sections (issue 23): only
its layout changed (the head's class, ``details`` for ``section``, the page's style sheet).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trialkit.report.document import FigureBlock, ReportDocument, Section, Table, TextBlock
from trialkit.report.html import render_html
from trialkit.service.platform.pages.rendering import LOCALE_DIR, translations

DATA = Path(__file__).parent / "data"


def _document() -> ReportDocument:
    return ReportDocument(
        title="A small trial & its report",
        trial="SOR",
        cutoff=dt.date(2009, 1, 31),
        snapshot_sha256="0" * 64,
        software_version="0.0.0",
        blinded=True,
        sections=(
            Section(
                anchor="flow",
                title="Patient flow",
                blocks=(
                    Table(
                        caption="CONSORT",
                        header=("Box", "n"),
                        rows=(("Screened", "13"), ("Randomised", "12")),
                        note="A note <with> markup-like text.",
                    ),
                    TextBlock("Pooled data only.", emphasis=True),
                    FigureBlock("A figure", '<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
                ),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("fragment", "golden"), [(False, "small_report.html"), (True, "small_report_fragment.html")]
)
def test_the_english_report_is_byte_identical(fragment: bool, golden: str) -> None:
    expected = (DATA / golden).read_text(encoding="utf-8")
    assert render_html(_document(), fragment=fragment) == expected
    english = translations("en").gettext
    assert render_html(_document(), fragment=fragment, gettext=english) == expected


def test_the_template_words_are_translated_and_the_report_data_are_not() -> None:
    german = {
        "Trial": "Studie",
        "Data cut-off date": "Datenstichtag",
        "Contents": "Inhalt",
        "cut-off %(date)s": "Stichtag %(date)s",
        "page": "Seite",
        "of": "von",
    }
    html = render_html(_document(), gettext=lambda m: german.get(m, m))
    for words in ("<dt>Studie</dt>", "<dt>Datenstichtag</dt>", "<h2>Inhalt</h2>"):
        assert words in html
    assert "SOR - BLINDED - pooled data - Stichtag 2009-01-31" in html
    assert '"Seite " counter(page) " von " counter(pages)' in html
    # the document's own content is not the template's to translate
    assert "<h2>Patient flow</h2>" in html
    assert "A small trial &amp; its report" in html


def test_make_i18n_put_the_template_words_in_the_catalogue() -> None:
    catalogue = (LOCALE_DIR / "messages.pot").read_text(encoding="utf-8")
    for message in (
        "Data snapshot (SHA-256 of the analysis datasets)",
        "Data cut-off date",
        "cut-off %(date)s",
        "Contents",
    ):
        assert f'msgid "{message}"' in catalogue
