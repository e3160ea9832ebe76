"""Templates and translations: one Jinja2 environment per application, with gettext installed.

Every text a page shows goes through ``_()`` (or ``{% trans %}``); the catalogues
live in ``locale/`` and are extracted and compiled by ``make i18n``.
"""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from trialkit.service.platform.pages.labels import RECIST_WORDS, ROLE_WORDS

__all__ = ["DEFAULT_LANGUAGE", "LOCALE_DIR", "Pages", "translations"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"


def translations(language: str = DEFAULT_LANGUAGE) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (the messages as written when there is none)."""
    return gettext.translation("messages", LOCALE_DIR, languages=[language], fallback=True)


class Pages:
    """Renders the templates of :mod:`trialkit.service.pages` in one language."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language
        self.gettext = translations(language)
        self.environment = Environment(
            loader=PackageLoader("trialkit.service.platform.pages", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # added to the environment by the i18n extension, so unknown to its type
        self.environment.install_gettext_translations(  # type: ignore[attr-defined]
            self.gettext, newstyle=True
        )
        self.environment.globals["language"] = language
        self.environment.globals["viewer"] = None  # pages without a logged-in user
        self.environment.filters["recist"] = self.recist
        self.environment.filters["role"] = self.role
        self.environment.filters["words"] = self.words
        self.environment.filters["choices"] = self.choices
        self._words: dict[str, str] = {}
        self._choices: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}

    def words(self, text: str) -> str:
        """A label or help text of a protocol's forms in the page's language, translated once
        per text (a form page shows hundreds: its items and every code list's codes)."""
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = self._(text)
        return found

    def choices(self, options: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        """A select's (value, words) options with the words translated, once per list."""
        found = self._choices.get(options)
        if found is None:
            found = self._choices[options] = tuple((v, self.words(w)) for v, w in options)
        return found

    def role(self, code: str) -> str:
        """A role in words (``dsmb_member`` -> DSMB member)."""
        return self._(ROLE_WORDS.get(code, code))

    def recist(self, code: object) -> str:
        """A RECIST response in words; yes or no for a flag; ``—`` for nothing."""
        if code is None:
            return "—"
        if isinstance(code, bool):
            return self._("yes") if code else self._("no")
        words = RECIST_WORDS.get(str(code))
        return self._(words) if words else str(code)

    def _(self, message: str) -> str:
        return self.gettext.gettext(message)

    def render(self, template: str, **context: Any) -> str:
        return self.environment.get_template(template).render(**context)

    def response(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(template, **context), status_code=status_code)
