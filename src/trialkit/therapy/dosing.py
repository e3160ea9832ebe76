"""Body surface area and BSA-based doses.

Details and reasoning: docs/eligibility.md, section `trialkit.therapy.dosing`.

References
----------
Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.
Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height
and weight be known. Arch Intern Med 1916;17:863-871.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from trialkit.errors import InputError
from trialkit.protocol.model import BodySurfaceArea, Regimen

__all__ = ["Dose", "body_surface_area", "regimen_dose"]


def _half_up(value: float, step: float) -> float:
    steps = (Decimal(repr(value)) / Decimal(repr(step))).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return float(steps * Decimal(repr(step)))  # Decimal -> float


def body_surface_area(height_cm: float, weight_kg: float, *, formula: str = "mosteller") -> float:
    """Body surface area in m2 (unrounded)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise InputError(f"height and weight must be positive (got {height_cm} cm, {weight_kg} kg)")
    if formula == "mosteller":
        return math.sqrt(height_cm * weight_kg / 3600.0)
    if formula == "dubois":
        return float(0.007184 * weight_kg**0.425 * height_cm**0.725)
    raise InputError(f"unknown BSA formula {formula!r}; use mosteller or dubois")


@dataclass(frozen=True)
class Dose:
    """A dose with how it was obtained."""

    regimen: str
    mg: float
    bsa_m2: float | None
    text: str


def regimen_dose(
    regimen: Regimen, bsa_rule: BodySurfaceArea, *, height_cm: float | None, weight_kg: float | None
) -> Dose:
    """The dose of one administration of a regimen for a patient."""
    if regimen.dose_unit == "mg":
        return Dose(
            regimen.id, regimen.dose, None, f"{regimen.drug} {regimen.dose:g} mg (flat dose)"
        )
    if height_cm is None or weight_kg is None:
        raise InputError(
            f"{regimen.drug} is dosed in mg/m2: record body.height_cm and body.weight_kg",
            location="$.body",
        )
    bsa = _half_up(
        body_surface_area(height_cm, weight_kg, formula=bsa_rule.formula),
        10.0**-bsa_rule.bsa_decimals,
    )
    mg = _half_up(regimen.dose * bsa, bsa_rule.dose_rounding_mg)
    return Dose(
        regimen.id,
        mg,
        bsa,
        f"{regimen.drug} {regimen.dose:g} mg/m2 x {bsa:.{bsa_rule.bsa_decimals}f} m2 "
        f"({bsa_rule.formula}) = {mg:g} mg",
    )
