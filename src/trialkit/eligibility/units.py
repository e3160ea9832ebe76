"""Lab values for the criteria: the screening form's lab items, converted as they declare.

Each ``lab`` item of the screening form gives the rule variable ``lab`` its keys: a value
converted to the item's ``unit`` as ``<name>_<unit>`` (``haemoglobin_g_dl``), a value with a
single accepted unit as entered (``aptt_s``, with ``aptt_uln_s``; a ``ratio`` has no unit:
``inr``), and any value over its upper limit of normal as ``<name>_x_uln``.

Details and reasoning: docs/eligibility.md, section `trialkit.eligibility.units`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trialkit.errors import RecordError
from trialkit.protocol.forms import Form
from trialkit.protocol.units import normalise_unit

__all__ = ["LabItem", "accepted_units", "canonical_labs", "lab_items", "normalise_unit"]

UNITLESS = frozenset({"ratio"})
"""Units that are no unit: a value in one is named without a suffix (``inr``)."""

_LAB_ITEMS: dict[int, tuple[Form, tuple[LabItem, ...]]] = {}
"""The lab items of each form seen, by the form's identity (a form is not hashable)."""


@dataclass(frozen=True)
class LabItem:
    """A lab item of the screening form: where the record holds it and how it converts."""

    name: str
    path: tuple[str, ...]
    """The keys of the record that lead to the lab value (the section key, then the item)."""
    factors: Mapping[str, float | None]
    """Each accepted (normalised) unit with its factor to ``unit`` (``None``: not converted)."""
    unit: str | None
    """The unit a converted value is compared in, if the item declares one."""

    @property
    def location(self) -> str:
        return "$." + ".".join(self.path)

    def convert(self, value: Mapping[str, Any]) -> dict[str, float]:
        """The variables this lab gives the criteria (see the module docstring)."""
        written = value.get("unit", "")
        unit = normalise_unit(str(written))
        if unit not in self.factors:
            accepted = ", ".join(u for u in sorted(self.factors) if u)
            raise RecordError(
                f"unknown unit {written!r} for {self.name}; use one of {accepted}",
                location=f"{self.location}.unit",
            )
        number = float(value["value"])
        out: dict[str, float] = {}
        factor = self.factors[unit]
        if self.unit is not None and factor is not None:
            out[f"{self.name}_{_suffix(self.unit)}"] = round(number * factor, 10)
        elif len(self.factors) == 1:  # one unit: the value as entered is comparable
            suffix = "" if unit in UNITLESS else f"_{_suffix(unit)}"
            out[f"{self.name}{suffix}"] = number
            for limit in ("uln", "lln"):
                if value.get(limit) is not None:
                    out[f"{self.name}_{limit}{suffix}"] = float(value[limit])
        uln = value.get("uln")
        if uln is not None and float(uln) > 0:
            out[f"{self.name}_x_uln"] = round(number / float(uln), 10)
        return out


def _suffix(unit: str) -> str:
    """A unit as part of a variable name: ``g/dL`` -> ``g_dl``, ``10^9/L`` -> ``10e9_l``."""
    text = normalise_unit(unit).replace("^", "e").replace("/", "_")
    return re.sub(r"[^a-z0-9_]", "", text)


def lab_items(form: Form) -> tuple[LabItem, ...]:
    """Every ``lab`` item of a form (computed once per form: the model is frozen)."""
    held = _LAB_ITEMS.get(id(form))
    if held is not None and held[0] is form:
        return held[1]
    out = []
    for dotted, item in form.walk():
        if item.type != "lab":
            continue
        declared = {normalise_unit(u): f for u, f in item.units.items()}
        if item.unit is not None:
            declared.setdefault(normalise_unit(item.unit), 1.0)
        out.append(LabItem(item.name, tuple(dotted.split(".")), declared, item.unit))
    if len(_LAB_ITEMS) > 64:  # protocols are few; a long-running process may load many
        _LAB_ITEMS.clear()
    _LAB_ITEMS[id(form)] = (form, tuple(out))
    return tuple(out)


def accepted_units(form: Form) -> dict[str, list[str]]:
    """Each lab of the form with the (normalised) units a site may write it in."""
    return {lab.name: sorted(lab.factors) for lab in lab_items(form)}


def canonical_labs(form: Form | None, record: Mapping[str, Any]) -> dict[str, Any]:
    """The lab values the criteria compare, converted; a value that cannot be formed is left out.

    ``record`` is a screening record validated against ``form`` (each lab a mapping of
    ``value``, ``unit``, ``uln``, ``lln``). A ratio to the upper limit of normal needs the
    ULN: without it the key is absent, so a criterion on it is ``unknown`` rather than passed.

    Raises
    ------
    RecordError
        At ``$.<lab path>.unit``, naming the accepted units, for a unit the item does not take.
    """
    if form is None:
        return {}
    out: dict[str, Any] = {}
    for lab in lab_items(form):
        value: Any = record
        for key in lab.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping) and value.get("value") is not None:
            out.update(lab.convert(value))
    return out
