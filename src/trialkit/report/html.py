"""A :class:`~trialkit.report.document.ReportDocument` as one self-contained HTML document.

Jinja2 template shipped with the package (``report/templates/trial_report.html``); figures are
inline SVG, the style sheet is inline, nothing is fetched: the file opens offline, can be
mailed, and WeasyPrint turns it into the PDF unchanged. ``fragment=True`` gives the body only,
for the web pages, which wrap it in the site layout.

The template's own words (title-page labels, running header and footer) are written
``_("...")``: ``make i18n`` extracts them into the web pages' catalogue, and the pages pass
their catalogue's ``gettext`` so that the report reads in the page's language. Without one,
as from the CLI and the API, the words are English, as written. The report's body (section
titles, captions, tables) is built in :mod:`trialkit.report.trial_report` and is English.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from trialkit.report.document import FigureBlock, ReportDocument, Table, TextBlock

__all__ = ["render_html"]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("trialkit.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(Table=Table, FigureBlock=FigureBlock, TextBlock=TextBlock)
    env.filters["svg"] = Markup  # our own matplotlib output, never user text
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["figure"] = lambda b: isinstance(b, FigureBlock)
    return env


def _as_written(message: str) -> str:
    return message


def render_html(
    document: ReportDocument,
    *,
    fragment: bool = False,
    gettext: Callable[[str], str] | None = None,
) -> str:
    """The whole HTML document (or, with ``fragment``, the report's body for a page).

    ``gettext`` translates the template's own words (default: English, as written).
    """
    template = _environment().get_template("trial_report.html")
    return template.render(doc=document, fragment=fragment, _=gettext or _as_written)
