"""Best overall response (BOR) and the date of progression from time-point responses.

Details and reasoning: docs/capture.md, section `trialkit.endpoints.bor`.

References
----------
Eisenhauer EA, et al. Eur J Cancer 2009;45:228-247, sections 4.4-4.5 and table 3.
admiralonco ``derive_param_bor`` / ``derive_param_confirmed_bor`` (pharmaverse), whose
conventions (NE between confirmations, unconfirmed response as SD) this module follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from trialkit.endpoints.lesions import NewLesions
from trialkit.endpoints.recist import Response

__all__ = ["BestOverallResponse", "best_overall_response", "progression_date"]

_STABLE: tuple[Response, ...] = ("SD", "NON_CR_NON_PD")


@dataclass(frozen=True)
class BestOverallResponse:
    """The best overall response, the assessment date it comes from, and why."""

    response: Response
    date: date | None
    confirmed: bool | None
    """Whether a CR/PR was confirmed; ``None`` when confirmation was not required or no CR/PR."""
    reason: str

    def __str__(self) -> str:
        when = f" on {self.date}" if self.date else ""
        return f"best overall response {self.response}{when}: {self.reason}"


def _confirmed(
    responses: Sequence[tuple[date, Response]],
    i: int,
    allowed: tuple[Response, ...],
    *,
    min_days: int,
    max_ne: int,
) -> date | None:
    start = responses[i][0]
    ne = 0
    for d, r in responses[i + 1 :]:
        if r in allowed and (d - start).days >= min_days:
            return d
        if r == "NE":
            ne += 1
            if ne > max_ne:
                return None
        elif r not in allowed:
            return None
    return None


def best_overall_response(
    responses: Sequence[tuple[date, Response]],
    *,
    reference_date: date,
    min_sd_days: int = 42,
    confirmation_required: bool = False,
    min_confirmation_days: int = 28,
    max_ne_between: int = 1,
    until: date | None = None,
) -> BestOverallResponse:
    """Best overall response over time-point responses in date order.

    Parameters
    ----------
    responses
        ``(assessment date, overall response)`` in date order.
    reference_date
        Randomisation (the start of the SD duration).
    min_sd_days
        SD counts when ``assessment date - reference_date >= min_sd_days``.
    confirmation_required, min_confirmation_days, max_ne_between
        The confirmation rule (see the module docstring).
    until
        Ignore assessments after this date (the start of new anticancer therapy).
    """
    usable: list[tuple[date, Response]] = []
    for d, r in responses:
        if until is not None and d > until:
            break
        usable.append((d, r))
        if r == "PD":
            break  # nothing after the first progression counts
    if not usable:
        return BestOverallResponse("NE", None, None, "no evaluable post-baseline assessment")

    def stable_enough(d: date) -> bool:
        return (d - reference_date).days >= min_sd_days

    if not confirmation_required:
        for best in ("CR", "PR"):
            hit = next((d for d, r in usable if r == best), None)
            if hit is not None:
                return BestOverallResponse(
                    best, hit, None, f"first {best} (no confirmation needed)"
                )
        stable_from: tuple[Response, ...] = ()
    else:
        for k, (d, r) in enumerate(usable):
            if r == "CR":
                by = _confirmed(
                    usable, k, ("CR",), min_days=min_confirmation_days, max_ne=max_ne_between
                )
                if by is not None:
                    return BestOverallResponse("CR", d, True, f"CR confirmed on {by}")
        for k, (d, r) in enumerate(usable):
            if r in ("CR", "PR"):
                by = _confirmed(
                    usable, k, ("CR", "PR"), min_days=min_confirmation_days, max_ne=max_ne_between
                )
                if by is not None:
                    return BestOverallResponse("PR", d, True, f"PR confirmed on {by}")
        stable_from = ("CR", "PR")
    for category in _STABLE:
        accepted = (category, *stable_from) if category == "SD" else (category,)
        hit = next((d for d, r in usable if r in accepted and stable_enough(d)), None)
        if hit is not None:
            why = f"{category} at least {min_sd_days} days after randomisation"
            unconfirmed = bool(stable_from) and any(r in stable_from for _, r in usable)
            if unconfirmed:
                why += " (CR/PR not confirmed)"
            return BestOverallResponse(category, hit, False if unconfirmed else None, why)
    if usable[-1][1] == "PD":
        return BestOverallResponse(
            "PD", usable[-1][0], None, f"progression before SD could last {min_sd_days} days"
        )
    return BestOverallResponse(
        "NE", None, None, f"no response and no SD lasting {min_sd_days} days, and no progression"
    )


def progression_date(timepoints: Sequence[tuple[date, Response, NewLesions]]) -> date | None:
    """The date of first progression, or ``None``.

    When the progression is a new lesion that earlier scans showed as equivocal, progression
    is dated back to the first of those consecutive equivocal scans (RECIST 1.1 section 4.3.3).
    """
    for k, (d, response, new) in enumerate(timepoints):
        if response != "PD":
            continue
        first = d
        if new == "yes":
            j = k - 1
            while j >= 0 and timepoints[j][2] == "equivocal":
                first = timepoints[j][0]
                j -= 1
        return first
    return None
