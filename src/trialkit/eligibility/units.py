"""Lab units: accept the units sites use and convert to the units the criteria use.

The criteria compare haemoglobin in g/dL, neutrophils and platelets in 10^9/L,
and bilirubin, ALT, AST and creatinine as multiples of the local upper limit of
normal (ULN), which makes them independent of the unit as long as value and ULN
share it.

Details and reasoning: docs/eligibility.md, section `trialkit.eligibility.units`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trialkit.errors import RecordError

__all__ = ["ACCEPTED_UNITS", "canonical_labs", "normalise_unit"]

_HB_MMOL_TO_G_DL = 1.6114

# factor to the canonical unit for each lab and accepted (normalised) unit
_FACTORS: Mapping[str, Mapping[str, float]] = {
    "haemoglobin": {"g/dl": 1.0, "g/l": 0.1, "mmol/l": _HB_MMOL_TO_G_DL},
    "anc": {
        "10^9/l": 1.0,
        "g/l": 1.0,
        "10^3/ul": 1.0,
        "10^3/mm3": 1.0,
        "/ul": 1e-3,
        "/mm3": 1e-3,
        "cells/ul": 1e-3,
    },
    "platelets": {
        "10^9/l": 1.0,
        "g/l": 1.0,
        "10^3/ul": 1.0,
        "10^3/mm3": 1.0,
        "/ul": 1e-3,
        "/mm3": 1e-3,
        "cells/ul": 1e-3,
    },
}
# labs compared with their ULN: any of these units, value and ULN in the same one
_RELATIVE: Mapping[str, frozenset[str]] = {
    "bilirubin": frozenset({"mg/dl", "umol/l"}),
    "alt": frozenset({"u/l", "iu/l", "ukat/l"}),
    "ast": frozenset({"u/l", "iu/l", "ukat/l"}),
    "creatinine": frozenset({"mg/dl", "umol/l"}),
    "aptt": frozenset({"s", "sec", "seconds"}),
    "inr": frozenset({"ratio", "", "inr"}),
}

ACCEPTED_UNITS: Mapping[str, list[str]] = {
    **{lab: sorted(units) for lab, units in _FACTORS.items()},
    **{lab: sorted(units) for lab, units in _RELATIVE.items()},
}


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


def _factor(name: str, lab: Mapping[str, Any]) -> float:
    unit = normalise_unit(str(lab.get("unit", "")))
    factors = _FACTORS[name]
    if unit not in factors:
        raise RecordError(
            f"unknown unit {lab.get('unit')!r} for {name}; use one of {', '.join(sorted(factors))}",
            location=f"$.labs.{name}.unit",
        )
    return factors[unit]


def _check_relative_unit(name: str, lab: Mapping[str, Any]) -> None:
    if normalise_unit(str(lab.get("unit", ""))) not in _RELATIVE[name]:
        raise RecordError(
            f"unknown unit {lab.get('unit')!r} for {name}; use one of "
            f"{', '.join(sorted(u for u in _RELATIVE[name] if u))}",
            location=f"$.labs.{name}.unit",
        )


def canonical_labs(labs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values the criteria compare, converted; a value that cannot be formed is left out.

    ``labs`` is the ``labs`` part of a validated screening record (each lab a mapping of
    ``value``, ``unit``, ``uln``, ``lln``). Keys: ``haemoglobin_g_dl``, ``anc_10e9_l``,
    ``platelets_10e9_l``, ``bilirubin_x_uln``, ``alt_x_uln``, ``ast_x_uln``,
    ``creatinine_x_uln``, ``inr``, ``aptt_s``, ``aptt_uln_s``, ``aptt_lln_s``. A relative
    value needs the ULN; without it the key is absent, so the criterion is ``unknown`` rather
    than passed.
    """
    if not labs:
        return {}
    out: dict[str, Any] = {}
    for name, key in (
        ("haemoglobin", "haemoglobin_g_dl"),
        ("anc", "anc_10e9_l"),
        ("platelets", "platelets_10e9_l"),
    ):
        lab = labs.get(name)
        if lab is not None:
            out[key] = round(float(lab["value"]) * _factor(name, lab), 10)
    for name in ("bilirubin", "alt", "ast", "creatinine"):
        lab = labs.get(name)
        if lab is not None:
            _check_relative_unit(name, lab)
            if lab.get("uln") is not None:
                out[f"{name}_x_uln"] = round(float(lab["value"]) / float(lab["uln"]), 10)
    inr = labs.get("inr")
    if inr is not None:
        _check_relative_unit("inr", inr)
        out["inr"] = float(inr["value"])
    aptt = labs.get("aptt")
    if aptt is not None:
        _check_relative_unit("aptt", aptt)
        out["aptt_s"] = float(aptt["value"])
        if aptt.get("uln") is not None:
            out["aptt_uln_s"] = float(aptt["uln"])
        if aptt.get("lln") is not None:
            out["aptt_lln_s"] = float(aptt["lln"])
    return out
