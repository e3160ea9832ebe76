"""The report's HTML as PDF, with WeasyPrint (needs the Pango system libraries).

WeasyPrint lays out HTML and CSS (including the inline SVG figures and ``@page`` rules for the
running header and page numbers) without a browser, which keeps the PDF identical to the HTML.
"""

from __future__ import annotations

from trialkit.errors import ConfigError

__all__ = ["render_pdf"]


def render_pdf(html: str) -> bytes:
    """PDF bytes of a self-contained HTML document."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # the Python package is there, the system libraries are not
        raise ConfigError(
            f"cannot make the PDF: WeasyPrint needs Pango ({exc}); install the system "
            "packages libpango-1.0-0 and libpangoft2-1.0-0 (apt-get install ...)"
        ) from exc
    document: bytes = HTML(string=html).write_pdf()
    return document
