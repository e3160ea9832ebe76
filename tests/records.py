"""SOR screening records for tests, validated by SOR's screening form as the service does."""

from __future__ import annotations

from typing import Any

from trialkit.protocol import load_protocol
from trialkit.screening import parse_screening_record

__all__ = ["sor_record"]


def sor_record(data: Any, *, source: str = "$") -> dict[str, Any]:
    """``data`` validated against SOR's screening form (the JSON data the service keeps)."""
    return parse_screening_record(load_protocol("sor"), data, source=source)
