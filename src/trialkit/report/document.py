"""The report as data: a title page and sections of tables, figures and text.

Built by :mod:`trialkit.report.trial_report`, rendered by :mod:`trialkit.report.html` (and from
the HTML by :mod:`trialkit.report.pdf`), so that the web page, the HTML file and the PDF show
the same content. Cells are already formatted strings: formatting is decided once, here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Block", "FigureBlock", "ReportDocument", "Section", "Table", "TextBlock"]


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class FigureBlock:
    caption: str
    svg: str  # an inline <svg> element


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str
    emphasis: bool = False


Block = Table | FigureBlock | TextBlock


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    title: str
    blocks: tuple[Block, ...]
    primary: bool = False  # the primary endpoint's: the web page shows it unfolded


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """Everything a rendered report shows."""

    title: str
    trial: str
    cutoff: dt.date
    snapshot_sha256: str
    software_version: str
    blinded: bool
    sections: tuple[Section, ...]

    @property
    def label(self) -> str:
        return "BLINDED - pooled data" if self.blinded else "UNBLINDED - by arm"

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[FigureBlock]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, FigureBlock)]
