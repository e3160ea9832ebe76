"""How numbers read in the report: one place, so every table formats alike."""

from __future__ import annotations

__all__ = ["ci", "num", "pct", "pvalue"]


def num(value: float | None, digits: int = 2) -> str:
    """A number, or "NR" (not reached / not estimable) for ``None``."""
    return "NR" if value is None else f"{value:.{digits}f}"


def ci(estimate: float | None, lower: float | None, upper: float | None, digits: int = 2) -> str:
    """``est (lo-hi)`` with NR for any bound that is not reached."""
    return f"{num(estimate, digits)} ({num(lower, digits)} to {num(upper, digits)})"


def pct(count: int, total: int) -> str:
    """``count (pct%)``."""
    return f"{count} ({100 * count / total:.1f}%)" if total else f"{count}"


def pvalue(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"
