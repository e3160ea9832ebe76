"""Adverse-event terms: the shipped CTCAE v5.0 term list, and a licensed MedDRA release's files.

No MedDRA content is shipped: :func:`load_meddra` reads the ASCII files of a release the
sponsor licenses (``llt.asc``, ``pt.asc``, ``soc.asc``; ``$``-separated, one record a line).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from trialkit.errors import InputError

__all__ = ["CtcaeTerm", "MedDRA", "MedDRATerm", "ctcae_term", "ctcae_terms", "load_meddra"]


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    """A CTCAE v5.0 term, its system organ class and the grades defined for it."""

    term: str
    soc: str
    grades: tuple[int, ...]


@functools.cache
def ctcae_terms() -> tuple[CtcaeTerm, ...]:
    """The shipped CTCAE v5.0 term list, in file order."""
    text = resources.files("trialkit.safety").joinpath("data/ctcae_v5.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        CtcaeTerm(r["term"], r["soc"], tuple(int(g) for g in r["grades"].split())) for r in rows
    )


def ctcae_term(term: str, grade: int | None = None, *, location: str = "term") -> CtcaeTerm:
    """The CTCAE term named ``term`` (any case), checked to define ``grade``; or an InputError."""
    wanted = term.strip().casefold()
    for found in ctcae_terms():
        if found.term.casefold() == wanted:
            if grade is not None and grade not in found.grades:
                raise InputError(
                    f"CTCAE v5.0 defines grades {', '.join(map(str, found.grades))} for "
                    f"{found.term!r}, not grade {grade}; choose one of them",
                    location="grade",
                )
            return found
    raise InputError(
        f"{term!r} is not a CTCAE v5.0 term of the list; pick one from the term list "
        "(GET /api/safety/terms)",
        location=location,
    )


@dataclass(frozen=True, slots=True)
class MedDRATerm:
    """A lowest level term with its preferred term and primary system organ class."""

    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str
    soc_code: int
    soc_name: str
    current: bool


@dataclass(frozen=True)
class MedDRA:
    """One MedDRA release's lowest level terms, looked up by code or by name (any case)."""

    version: str
    terms: dict[int, MedDRATerm]

    def by_name(self, name: str) -> MedDRATerm | None:
        wanted = name.strip().casefold()
        return next((t for t in self.terms.values() if t.llt_name.casefold() == wanted), None)

    def search(self, text: str, *, limit: int = 20) -> list[MedDRATerm]:
        """Current lowest level terms whose name contains ``text`` (any case), by name."""
        wanted = text.strip().casefold()
        found = [t for t in self.terms.values() if t.current and wanted in t.llt_name.casefold()]
        return sorted(found, key=lambda t: t.llt_name)[:limit]


def _records(folder: Path, name: str, columns: int) -> list[list[str]]:
    path = folder / name
    if not path.is_file():
        raise InputError(
            f"{path} is missing: a MedDRA release's ASCII folder holds llt.asc, pt.asc and "
            "soc.asc (the MedAscii folder of the release)",
            location=str(path),
        )
    rows: list[list[str]] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("$")
        if len(fields) < columns:
            raise InputError(
                f"line {number} has {len(fields)} $-separated fields, expected at least "
                f"{columns}; is this a MedDRA ASCII file?",
                location=f"{path}:{number}",
            )
        if not fields[0].strip().isdigit():
            raise InputError(
                f"the first field should be a MedDRA code (digits), not {fields[0]!r}",
                location=f"{path}:{number}",
            )
        rows.append(fields)
    return rows


def load_meddra(folder: Path, *, version: str = "") -> MedDRA:
    """Read a MedDRA release's ``llt.asc``, ``pt.asc`` and ``soc.asc`` from ``folder``.

    ``llt.asc``: llt_code$llt_name$pt_code$...$llt_currency$ (currency ``Y`` or ``N``, the
    10th field); ``pt.asc``: pt_code$pt_name$null$pt_soc_code$...; ``soc.asc``:
    soc_code$soc_name$soc_abbrev$...
    """
    socs = {int(r[0]): r[1] for r in _records(folder, "soc.asc", 2)}
    pts: dict[int, tuple[str, int]] = {}
    for r in _records(folder, "pt.asc", 4):
        if not r[3].strip().isdigit() or int(r[3]) not in socs:
            raise InputError(
                f"preferred term {r[0]} names primary SOC {r[3]!r}, which soc.asc lacks",
                location=str(folder / "pt.asc"),
            )
        pts[int(r[0])] = (r[1], int(r[3]))
    terms: dict[int, MedDRATerm] = {}
    for r in _records(folder, "llt.asc", 3):
        pt_code = int(r[2]) if r[2].strip().isdigit() else -1
        if pt_code not in pts:
            raise InputError(
                f"lowest level term {r[0]} names preferred term {pt_code}, which pt.asc lacks",
                location=str(folder / "llt.asc"),
            )
        pt_name, soc_code = pts[pt_code]
        current = len(r) < 10 or r[9].strip().upper() != "N"
        terms[int(r[0])] = MedDRATerm(
            int(r[0]), r[1], pt_code, pt_name, soc_code, socs[soc_code], current
        )
    if not terms:
        raise InputError("llt.asc holds no terms", location=str(folder / "llt.asc"))
    return MedDRA(version or folder.name, terms)
