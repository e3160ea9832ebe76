"""Unit spellings: the one folding of the ways sites write a unit (µ/u, ×10⁹, cmm)."""

from __future__ import annotations

__all__ = ["normalise_unit"]


def normalise_unit(unit: str) -> str:
    """Lower-case a unit and fold the usual spellings (µ/u, ×10⁹, 10e9, cmm) together."""
    text = unit.strip().lower().replace(" ", "")
    for old, new in (
        ("µ", "u"),
        ("μ", "u"),
        ("×", "x"),
        # a superscript after 10 is a power (10³/µL), after mm a volume (/mm³)
        ("10³", "10^3"),
        ("⁹", "^9"),
        ("³", "3"),
        ("10e9", "10^9"),
        ("10e3", "10^3"),
        ("10**9", "10^9"),
        ("10**3", "10^3"),
        ("cumm", "mm3"),
        ("mm^3", "mm3"),
        ("/cmm", "/mm3"),
        ("mcl", "ul"),
    ):
        text = text.replace(old, new)
    text = text.removeprefix("x")
    if text in {"g/l", "10^9/l"} or text.startswith("10^"):
        return text
    return text.removeprefix("cells") if text.startswith("cells/mm3") else text
