"""Recompute the quantitative design claims of a protocol.

Details and reasoning: docs/statistics.md, section `trialkit.design.claims`.

References
----------
Schoenfeld D. (1983). Sample-size formula for the proportional-hazards
regression model. *Biometrics* 39, 499-503.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from trialkit.design.accrual import SurvivalModel
from trialkit.design.events import (
    critical_hr,
    events_for_power,
    power_at_events,
    probability_hr_below,
)
from trialkit.errors import DesignInputError

__all__ = [
    "DAYS_PER_MONTH",
    "KNOWN_CLAIMS",
    "ClaimCheck",
    "ClaimsReport",
    "DesignAssumptions",
    "StatedClaim",
    "check_claims",
    "months_between",
]

DAYS_PER_MONTH = 30.4375


class StatedClaim(Protocol):
    """A number stated in the protocol (``trialkit.protocol``'s ``DesignClaim``)."""

    @property
    def id(self) -> str: ...
    @property
    def statement(self) -> str: ...
    @property
    def stated(self) -> float: ...
    @property
    def decimals(self) -> int: ...
    @property
    def unit(self) -> str | None: ...


class DesignAssumptions(Protocol):
    """The design assumptions of a protocol (``trialkit.protocol``'s ``Design``)."""

    @property
    def median_control(self) -> float: ...
    @property
    def median_treatment(self) -> float: ...
    @property
    def patients(self) -> int: ...
    @property
    def events(self) -> int: ...
    @property
    def events_after_enrolment(self) -> float: ...
    @property
    def allocation_ratio(self) -> float: ...
    @property
    def decision_hr(self) -> float: ...
    @property
    def alternative_hr(self) -> float: ...
    @property
    def alpha_one_sided(self) -> float: ...
    @property
    def claims(self) -> Sequence[StatedClaim]: ...


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: the stated number against the recomputed one."""

    id: str
    statement: str
    stated: float
    computed: float
    tolerance: float
    agrees: bool
    method: str
    unit: str | None


@dataclass(frozen=True)
class ClaimsReport:
    """All claims of a design, and the accrual they imply.

    Attributes
    ----------
    implied_accrual_months, implied_accrual_per_month
        The uniform accrual under which the target events arrive the stated time
        after the last patient.
    actual_accrual_months
        First to final enrolment date, in months of 30.4375 days (None without dates).
    expected_event_months_with_actual_enrolment
        Months from first enrolment to the expected target event when the patients
        enter uniformly between the actual dates.
    """

    claims: tuple[ClaimCheck, ...]
    implied_accrual_months: float
    implied_accrual_per_month: float
    actual_accrual_months: float | None
    expected_event_months_with_actual_enrolment: float | None

    @property
    def all_agree(self) -> bool:
        """Whether every claim agrees with its recomputation."""
        return all(c.agrees for c in self.claims)

    def summary(self) -> str:
        """One line per claim, then the accrual."""
        lines = [
            f"{'agrees' if c.agrees else 'DIFFERS'}  {c.id}: stated {c.stated:g}, "
            f"computed {c.computed:.4g} (+/- {c.tolerance:g})"
            for c in self.claims
        ]
        lines.append(
            f"implied accrual {self.implied_accrual_months:.2f} months "
            f"({self.implied_accrual_per_month:.2f} patients/month)"
        )
        if self.expected_event_months_with_actual_enrolment is not None:
            lines.append(
                f"with the actual enrolment ({self.actual_accrual_months:.2f} months) the target "
                f"event is expected at month {self.expected_event_months_with_actual_enrolment:.2f}"
            )
        return "\n".join(lines)


def months_between(start: date, end: date) -> float:
    """Months (of 30.4375 days) from ``start`` to ``end``."""
    return (end - start).days / DAYS_PER_MONTH


@dataclass(frozen=True)
class _Context:
    design: DesignAssumptions
    claims: dict[str, StatedClaim]
    implied_accrual: float


_Rule = Callable[[_Context], tuple[float, str]]


def _median_placebo(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    return d.median_treatment * d.alternative_hr, (
        f"exponential PFS: HR = median_control / median_treatment, so median_control = "
        f"{d.median_treatment:g} x {d.alternative_hr:g} (the alternative HR)"
    )


def _median_sorafenib(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    return d.median_control / d.alternative_hr, (
        f"exponential PFS: HR = median_control / median_treatment, so median_treatment = "
        f"{d.median_control:g} / {d.alternative_hr:g} (the alternative HR)"
    )


def _events_after_enrolment(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    model = SurvivalModel.from_medians(
        d.median_control, d.median_treatment, allocation_ratio=d.allocation_ratio
    )
    a = ctx.implied_accrual
    t = model.time_of_events(d.events, n=d.patients, accrual_time=a)
    return t - a, (
        f"exponential PFS, uniform accrual: the record gives no accrual period; {d.patients} "
        f"patients entering over {a:.2f} months ({d.patients / a:.2f}/month) give "
        f"{d.events} expected events this long after the last patient (accrual solved for; "
        "the claim is consistent with exponential PFS under that accrual)"
    )


def _schoenfeld_text(d: DesignAssumptions) -> str:
    variance = "4/D" if d.allocation_ratio == 1 else "(1+r)^2/(rD)"
    return f"Schoenfeld: log HR_hat ~ N(log HR, {variance}), D = {d.events} events"


def _false_positive(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    value = probability_hr_below(
        d.decision_hr, hr=1.0, events=d.events, allocation_ratio=d.allocation_ratio
    )
    return value, f"{_schoenfeld_text(d)}; P(HR_hat <= {d.decision_hr:g} | HR = 1)"


def _false_negative(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    value = 1.0 - probability_hr_below(
        d.decision_hr, hr=d.alternative_hr, events=d.events, allocation_ratio=d.allocation_ratio
    )
    return value, (
        f"{_schoenfeld_text(d)}; P(HR_hat > {d.decision_hr:g} | HR = {d.alternative_hr:g})"
    )


def _hr_at_alpha(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    value = critical_hr(
        alpha=d.alpha_one_sided, events=d.events, allocation_ratio=d.allocation_ratio
    )
    return value, (
        f"{_schoenfeld_text(d)}; observed HR whose one-sided p-value is {d.alpha_one_sided:g}: "
        f"exp(-z_(1-{d.alpha_one_sided:g}) x SE)"
    )


def _power_at_alpha(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    value = power_at_events(
        alpha=d.alpha_one_sided,
        hr=d.alternative_hr,
        events=d.events,
        allocation_ratio=d.allocation_ratio,
    )
    return value, (
        f"{_schoenfeld_text(d)}; P(one-sided p < {d.alpha_one_sided:g} | HR = {d.alternative_hr:g})"
    )


def _events_for_error_rates(ctx: _Context) -> tuple[float, str]:
    d = ctx.design
    needed = ("false_positive_rate", "false_negative_rate")
    missing = [c for c in needed if c not in ctx.claims]
    if missing:
        raise DesignInputError(
            f"claim 'events' is recomputed from the claims {', '.join(needed)}; "
            f"add {', '.join(missing)} to the design claims",
            location="design.claims.events",
        )
    alpha = ctx.claims["false_positive_rate"].stated
    beta = ctx.claims["false_negative_rate"].stated
    value = events_for_power(
        alpha=alpha, power=1.0 - beta, hr=d.alternative_hr, allocation_ratio=d.allocation_ratio
    )
    return value, (
        f"Schoenfeld: D = (1+r)^2/r (z_(1-{alpha:g}) + z_(1-{beta:g}))^2 / "
        f"log({d.alternative_hr:g})^2 events give the stated one-sided false-positive "
        f"rate {alpha:g} and false-negative rate {beta:g} at HR {d.alternative_hr:g}"
    )


KNOWN_CLAIMS: dict[str, _Rule] = {
    "median_pfs_placebo": _median_placebo,
    "median_pfs_sorafenib": _median_sorafenib,
    "events_after_enrolment": _events_after_enrolment,
    "events": _events_for_error_rates,
    "false_positive_rate": _false_positive,
    "false_negative_rate": _false_negative,
    "hr_at_one_sided_alpha": _hr_at_alpha,
    "power_at_one_sided_alpha": _power_at_alpha,
}
"""Claim ids trialkit can recompute, each with its rule."""


def _in_units(value: float, unit: str | None) -> float:
    return value * 100.0 if unit == "%" else value


def check_claims(
    design: DesignAssumptions,
    *,
    first_enrolment: date | None = None,
    final_enrolment: date | None = None,
) -> ClaimsReport:
    """Recompute every claim of ``design`` and set the implied accrual against the actual one.

    Parameters
    ----------
    design
        The design assumptions and stated claims of a protocol.
    first_enrolment, final_enrolment
        Actual enrolment dates, when known.

    Returns
    -------
    ClaimsReport

    Raises
    ------
    DesignInputError
        A claim id trialkit does not know how to recompute, or inconsistent assumptions.
    """
    model = SurvivalModel.from_medians(
        design.median_control, design.median_treatment, allocation_ratio=design.allocation_ratio
    )
    implied = model.accrual_time_for_events(
        design.events, n=design.patients, follow_up_time=design.events_after_enrolment
    )
    by_id = {c.id: c for c in design.claims}
    ctx = _Context(design, by_id, implied)
    checks = []
    for claim in design.claims:
        rule = KNOWN_CLAIMS.get(claim.id)
        if rule is None:
            raise DesignInputError(
                f"unknown design claim id {claim.id!r}; known ids: {', '.join(KNOWN_CLAIMS)}",
                location=f"design.claims.{claim.id}",
            )
        value, method = rule(ctx)
        computed = _in_units(value, claim.unit)
        tolerance = 0.5 * 10.0 ** (-claim.decimals)
        checks.append(
            ClaimCheck(
                id=claim.id,
                statement=claim.statement,
                stated=claim.stated,
                computed=computed,
                tolerance=tolerance,
                agrees=abs(computed - claim.stated) <= tolerance * (1.0 + 1e-12),
                method=method,
                unit=claim.unit,
            )
        )
    actual: float | None = None
    expected: float | None = None
    if first_enrolment is not None and final_enrolment is not None:
        actual = months_between(first_enrolment, final_enrolment)
        if actual <= 0.0:
            raise DesignInputError(
                f"final enrolment {final_enrolment} is not after first enrolment {first_enrolment}",
                location="final_enrolment",
            )
        expected = model.time_of_events(design.events, n=design.patients, accrual_time=actual)
    if not math.isfinite(implied):  # pragma: no cover - brentq returns finite values
        raise DesignInputError("no accrual period gives the stated events", location="design")
    return ClaimsReport(
        claims=tuple(checks),
        implied_accrual_months=implied,
        implied_accrual_per_month=design.patients / implied,
        actual_accrual_months=actual,
        expected_event_months_with_actual_enrolment=expected,
    )
