"""The simulated trial: a validated, frozen scenario built from a protocol and overrides.

A :class:`Scenario` holds everything one simulated trial needs and nothing random:
accrual (uniform or piecewise-constant rates), allocation, (piecewise) exponential
PFS per arm, exponential dropout, the events that trigger each analysis and the
decision rules. It follows the parametrisation of rpact's ``getSimulationSurvival``
(accrual time and intensity, ``piecewiseSurvivalTime``, ``lambda1``/``lambda2``,
``dropoutRate``/``dropoutTime``, ``plannedEvents``) so that scenarios translate one
to one.

References
----------
Wassmer G. and Pahlke F. rpact: Confirmatory Adaptive Clinical Trial Design and
Analysis, ``getSimulationSurvival``. https://www.rpact.org
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal, cast

from trialkit.design.accrual import SurvivalModel, dropout_hazard, hazard_from_median
from trialkit.design.boundaries import SpendingFunction, group_sequential_design
from trialkit.errors import DesignInputError
from trialkit.protocol import Protocol

__all__ = [
    "AllocationMethod",
    "EntryMethod",
    "Scenario",
    "TiesMethod",
    "check_run",
    "hazard_ratio_grid",
    "scenario_from_protocol",
]

AllocationMethod = Literal["simple", "blocks"]
EntryMethod = Literal["random", "fixed"]
TiesMethod = Literal["efron", "breslow"]
#: the most trials one run may ask for (a run streams its batches, so this bounds time only)
MAX_TRIALS = 10**10
#: the most hazard ratios one grid of runs may hold
MAX_GRID = 200


def _error(message: str, parameter: str) -> DesignInputError:
    """An input error about ``parameter`` (the location; the CLI names its flag instead)."""
    return DesignInputError(message, location=parameter)


def _positive(value: float, parameter: str, what: str, fix: str) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise _error(f"{what} must be a positive number; you gave {value:g}: {fix}", parameter)
    return float(value)


def _choice(value: str, parameter: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _error(f"must be {' or '.join(choices)}; you gave {value!r}", parameter)


def check_run(trials: int, seed: int) -> None:
    """Refuse a run that cannot be done (parameters ``trials``, ``seed``), saying what to change."""
    if not 1 <= trials <= MAX_TRIALS:
        raise _error(f"must be between 1 and {MAX_TRIALS:.0e} trials; you gave {trials}", "trials")
    if not 0 <= seed < 2**63:
        raise _error(f"must be an integer from 0 to 2**63 - 1; you gave {seed}", "seed")


@dataclass(frozen=True)
class Scenario:
    """One simulated trial design (no randomness; see :mod:`trialkit.simulate.generate`).

    Attributes
    ----------
    n
        Patients randomised.
    events
        PFS events that trigger the final analysis.
    hazards_control, hazards_treatment
        Event hazards per month on each piece of ``[0, pfs_breaks[0])``,
        ``[pfs_breaks[0], pfs_breaks[1])``, ...; one piece is the exponential model.
    pfs_breaks
        Interior break points (months since randomisation) of the piecewise-exponential PFS.
    accrual_starts, accrual_rates
        Piecewise-constant accrual: ``accrual_rates[k]`` patients per month from
        ``accrual_starts[k]`` (the first is 0); the last rate lasts until ``n`` are in.
    dropout_hazard
        Exponential dropout hazard per month, both arms (0: no dropout).
    allocation, allocation_ratio
        ``"simple"`` (independent draws) or ``"blocks"`` (permuted blocks of twice the
        ratio's sum); ``(treatment, control)`` integer ratio.
    entry
        ``"random"``: entry times are the order statistics of ``n`` draws from the
        accrual density (a Poisson process given ``n``); ``"fixed"``: patient ``i`` enters
        when the cumulative accrual reaches ``i``, as rpact's simulation does.
    decision_hr
        The protocol's rule: effective when the observed (Cox) HR is at most this.
    alpha
        One-sided level of the log-rank test (HR < 1).
    information_rates, spending, efficacy_z
        Looks at these fractions of ``events``; the one-sided log-rank z bound at each
        (from Lan-DeMets ``spending``; a single look uses :math:`z_{1-\\alpha}`).
    ties
        Tie handling of the Cox HR, ``"efron"`` (R's default) or ``"breslow"``; every
        backend honours it.
    arm_labels
        The protocol's labels of the treatment and the control arm.
    """

    n: int
    events: int
    hazards_control: tuple[float, ...]
    hazards_treatment: tuple[float, ...]
    pfs_breaks: tuple[float, ...]
    accrual_starts: tuple[float, ...]
    accrual_rates: tuple[float, ...]
    dropout_hazard: float
    allocation: AllocationMethod
    allocation_ratio: tuple[int, int]
    entry: EntryMethod
    decision_hr: float
    alpha: float
    information_rates: tuple[float, ...]
    spending: SpendingFunction | None
    efficacy_z: tuple[float, ...]
    ties: TiesMethod = "efron"
    arm_labels: tuple[str, str] = ("treatment", "control")

    @property
    def look_events(self) -> tuple[int, ...]:
        """Events at each look: ``round(rate * events)``, the last exactly ``events``."""
        looks = [max(1, round(r * self.events)) for r in self.information_rates[:-1]]
        return (*looks, self.events)

    @property
    def hazard_ratio(self) -> float:
        """Treatment over control hazard on the first piece."""
        return self.hazards_treatment[0] / self.hazards_control[0]

    @property
    def accrual_time(self) -> float:
        """Calendar time (months) at which the last of the ``n`` patients is in."""
        remaining = float(self.n)
        for k, rate in enumerate(self.accrual_rates):
            start = self.accrual_starts[k]
            if k + 1 < len(self.accrual_rates):
                width = self.accrual_starts[k + 1] - start
                if rate * width < remaining:
                    remaining -= rate * width
                    continue
            return start + remaining / rate
        raise AssertionError("unreachable")  # pragma: no cover

    def with_hazard_ratio(self, hr: float) -> Scenario:
        """The same scenario with the treatment hazards set to ``hr`` times the control's."""
        _positive(hr, "hr", "the hazard ratio", "give a value such as 0.65")
        return replace(self, hazards_treatment=tuple(hr * h for h in self.hazards_control))

    def summary(self) -> str:
        """The scenario in a few lines."""
        pieces = "exponential" if not self.pfs_breaks else f"piecewise ({len(self.pfs_breaks)})"
        return (
            f"{self.n} patients ({self.allocation} {self.allocation_ratio[0]}:"
            f"{self.allocation_ratio[1]}), accrual {self.accrual_time:.3g} months "
            f"({self.entry} entry), {pieces} PFS, HR {self.hazard_ratio:.4g}, "
            f"dropout hazard {self.dropout_hazard:.4g}/month; analyses at "
            f"{', '.join(str(d) for d in self.look_events)} events; decision HR <= "
            f"{self.decision_hr:g}, one-sided alpha {self.alpha:g}; Cox ties {self.ties}"
        )


def _ratio(value: float) -> tuple[int, int]:
    frac = Fraction(value).limit_denominator(20)
    if frac <= 0 or abs(float(frac) - value) > 1e-9:
        raise DesignInputError(
            f"allocation ratio {value:g} is not a ratio of small integers; use e.g. 2 or 1.5",
            location="design.allocation_ratio",
        )
    return frac.numerator, frac.denominator


def hazard_ratio_grid(start: float, stop: float, step: float) -> tuple[float, ...]:
    """The hazard ratios ``start, start + step, ...`` up to ``stop`` inclusive (parameter ``grid``).

    At most :data:`MAX_GRID` values, rounded to 10 decimals so that ``0.6 + 0.2`` is 0.8.
    """
    if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or start <= 0:
        raise _error(
            f"start and step must be positive numbers; you gave start {start:g}, step {step:g}",
            "grid",
        )
    if stop < start:
        raise _error(f"stop must not be below start; you gave {start:g} to {stop:g}", "grid")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_GRID:
        raise _error(f"gives {count} hazard ratios; use at most {MAX_GRID}", "grid")
    return tuple(round(start + k * step, 10) for k in range(count))


def _arm_labels(protocol: Protocol) -> tuple[str, str]:
    """The labels of the protocol's treatment and control arms (the first of each role)."""
    roles = {arm.role: arm.label for arm in reversed(protocol.arms)}
    return roles.get("treatment", "treatment"), roles.get("control", "control")


def scenario_from_protocol(
    protocol: Protocol,
    *,
    median_control: float | None = None,
    median_treatment: float | None = None,
    hr: float | None = None,
    hazards_control: Sequence[float] | None = None,
    hazards_treatment: Sequence[float] | None = None,
    pfs_breaks: Sequence[float] = (),
    n: int | None = None,
    events: int | None = None,
    accrual_time: float | None = None,
    accrual_rates: Sequence[float] | None = None,
    accrual_breaks: Sequence[float] = (),
    dropout_rate: float = 0.0,
    dropout_time: float = 12.0,
    decision_hr: float | None = None,
    alpha: float | None = None,
    information_rates: Sequence[float] | None = None,
    spending: str | None = None,
    allocation: str = "blocks",
    entry: str = "random",
    ties: str = "efron",
) -> Scenario:
    """Build and check the simulated trial of ``protocol``, with optional overrides.

    Without overrides the scenario is the protocol's design: its medians, patients,
    events, allocation ratio, decision HR and one-sided alpha, and uniform accrual over
    the period implied by its "events this long after enrolment" statement
    (:func:`trialkit.design.claims.check_claims`).

    Parameters
    ----------
    median_control, median_treatment, hr
        Exponential medians in months; ``hr`` sets the treatment median to
        ``median_control / hr`` (give ``median_treatment`` or ``hr``, not both).
    hazards_control, pfs_breaks
        Piecewise-exponential control hazards per month on the pieces cut at
        ``pfs_breaks``; the treatment hazards are ``hr`` times these (proportional
        hazards) unless ``hazards_treatment`` gives them piece by piece.
    hazards_treatment
        Piecewise-exponential treatment hazards on the same pieces (non-proportional
        hazards, e.g. a delayed effect); needs ``hazards_control``, excludes ``hr``.
    n, events
        Patients and events at the final analysis.
    accrual_time, accrual_rates, accrual_breaks
        Uniform accrual over ``accrual_time`` months, or piecewise-constant rates
        (patients per month) changing at ``accrual_breaks``.
    dropout_rate, dropout_time
        Probability of dropping out by ``dropout_time`` months (exponential).
    decision_hr, alpha
        Decision threshold for the observed HR and one-sided log-rank level.
    information_rates, spending
        Group-sequential looks (increasing, ending at 1) and the alpha-spending function.
    allocation, entry, ties
        See :class:`Scenario`.

    Raises
    ------
    DesignInputError
        A value out of range or values that contradict each other; ``location`` is the
        parameter concerned and the message names the parameters by these names and says
        what to change.
    """
    d = protocol.design
    if d is None:
        raise DesignInputError(
            "this protocol has no design section to simulate; "
            "add one (see the bundled sor protocol)",
            location="protocol",
        )
    if median_treatment is not None and hr is not None:
        raise _error("give median_treatment or hr, not both", "hr")
    if hazards_control is not None and (median_control is not None or median_treatment is not None):
        raise _error(
            "give hazards_control or median_control/median_treatment, not both",
            "hazards_control",
        )
    n_pat = d.patients if n is None else n
    n_ev = d.events if events is None else events
    if n_pat < 2:
        raise _error(f"a two-arm trial needs at least 2 patients; you asked for {n_pat}", "n")
    if n_ev < 1:
        raise _error(f"the analysis needs at least 1 event; you asked for {n_ev}", "events")
    if n_ev > n_pat:
        raise _error(
            f"{n_pat} patients can give at most {n_pat} events; you asked for {n_ev}: "
            "lower events or raise n",
            "events",
        )
    breaks = tuple(float(b) for b in pfs_breaks)
    if hazards_control is not None:
        h_c = tuple(
            _positive(
                h, "hazards_control", "every control hazard", "hazards are events per patient-month"
            )
            for h in hazards_control
        )
        if len(h_c) != len(breaks) + 1:
            raise _error(
                f"{len(breaks)} pfs_breaks need {len(breaks) + 1} hazards; you gave {len(h_c)}",
                "hazards_control",
            )
        if breaks and (breaks[0] <= 0 or any(b <= a for a, b in itertools.pairwise(breaks))):
            raise _error("PFS break points must be positive and increasing", "pfs_breaks")
    else:
        if breaks:
            raise _error("PFS break points need piecewise hazards_control", "pfs_breaks")
        m_c = d.median_control if median_control is None else median_control
        _positive(
            m_c, "median_control", "the control median", "give the median PFS in months, e.g. 7.9"
        )
        h_c = (hazard_from_median(m_c, "median control"),)
    if hazards_treatment is not None:
        if hazards_control is None:
            raise _error(
                "hazards_treatment needs hazards_control on the same pieces", "hazards_treatment"
            )
        if hr is not None or median_treatment is not None:
            raise _error(
                "give hazards_treatment or hr/median_treatment, not both", "hazards_treatment"
            )
        if len(hazards_treatment) != len(h_c):
            raise _error(
                f"{len(h_c)} control hazards need {len(h_c)} treatment hazards; "
                f"you gave {len(hazards_treatment)}",
                "hazards_treatment",
            )
    if hr is not None:
        ratio = _positive(hr, "hr", "the hazard ratio", "give a value such as 0.65")
    elif median_treatment is not None:
        _positive(median_treatment, "median_treatment", "the treatment median", "give it in months")
        ratio = hazard_from_median(median_treatment, "median treatment") / h_c[0]
    else:  # the protocol's hazard ratio, whatever the control hazard
        ratio = d.median_control / d.median_treatment
    h_t = tuple(ratio * h for h in h_c)
    if hazards_treatment is not None:
        h_t = tuple(
            _positive(
                h,
                "hazards_treatment",
                "every treatment hazard",
                "hazards are events per patient-month",
            )
            for h in hazards_treatment
        )

    if accrual_time is not None and accrual_rates is not None:
        raise _error("give accrual_time or accrual_rates, not both", "accrual_time")
    if accrual_rates is not None:
        rates = tuple(
            _positive(r, "accrual_rates", "every accrual rate", "rates are patients per month")
            for r in accrual_rates
        )
        starts = (0.0, *(float(b) for b in accrual_breaks))
        if len(starts) != len(rates):
            raise _error(
                f"{len(accrual_breaks)} accrual_breaks need {len(accrual_breaks) + 1} "
                f"rates; you gave {len(rates)}",
                "accrual_rates",
            )
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise _error("accrual break points must be positive and increasing", "accrual_breaks")
    else:
        if accrual_breaks:
            raise _error("accrual break points need accrual_rates", "accrual_breaks")
        if accrual_time is None:
            model = SurvivalModel.from_medians(
                d.median_control, d.median_treatment, allocation_ratio=d.allocation_ratio
            )
            accrual_time = model.accrual_time_for_events(
                d.events, n=d.patients, follow_up_time=d.events_after_enrolment
            )
        _positive(
            accrual_time, "accrual_time", "the accrual time", "give the accrual period in months"
        )
        starts, rates = (0.0,), (n_pat / accrual_time,)

    if not (math.isfinite(dropout_rate) and 0.0 <= dropout_rate < 1.0):
        raise _error(f"must lie in [0, 1); you gave {dropout_rate:g}", "dropout_rate")
    _positive(dropout_time, "dropout_time", "the dropout time", "give it in months, e.g. 12")
    drop = 0.0 if dropout_rate == 0.0 else dropout_hazard(dropout_rate, dropout_time)
    dec = d.decision_hr if decision_hr is None else decision_hr
    _positive(dec, "decision_hr", "the decision HR", "give the observed HR threshold, e.g. 0.82")
    a = d.alpha_one_sided if alpha is None else alpha
    if not (math.isfinite(a) and 0.0 < a < 0.5):
        raise _error(f"the one-sided alpha must lie in (0, 0.5); you gave {a:g}", "alpha")
    rates_info = (1.0,) if information_rates is None else tuple(information_rates)
    if spending is not None:
        _choice(spending, "spending", ("obrien-fleming", "pocock"))
    if len(rates_info) > 1 and spending is None:
        spending = "obrien-fleming"
    try:
        gsd = group_sequential_design(
            alpha=a,
            information_rates=rates_info,
            spending_function=cast(SpendingFunction, spending or "obrien-fleming"),
        )
    except DesignInputError as exc:  # the design's own check of the rates and alpha
        raise _error(exc.message, exc.location or "information_rates") from exc
    except ValueError as exc:  # a root the boundary search cannot bracket
        raise _error(
            f"no {spending} boundaries for information rates "
            f"{', '.join(f'{r:g}' for r in rates_info)} at alpha {a:g}; "
            "use fewer or later looks (e.g. 0.5,0.75,1)",
            "information_rates",
        ) from exc
    _choice(allocation, "allocation", ("simple", "blocks"))
    _choice(entry, "entry", ("random", "fixed"))
    _choice(ties, "ties", ("efron", "breslow"))
    scenario = Scenario(
        n=int(n_pat),
        events=int(n_ev),
        hazards_control=h_c,
        hazards_treatment=h_t,
        pfs_breaks=breaks,
        accrual_starts=starts,
        accrual_rates=rates,
        dropout_hazard=drop,
        allocation=cast(AllocationMethod, allocation),
        allocation_ratio=_ratio(d.allocation_ratio),
        entry=cast(EntryMethod, entry),
        decision_hr=dec,
        alpha=a,
        information_rates=gsd.information_rates,
        spending=cast(SpendingFunction, spending) if len(rates_info) > 1 else None,
        efficacy_z=gsd.z,
        ties=cast(TiesMethod, ties),
        arm_labels=_arm_labels(protocol),
    )
    looks = scenario.look_events
    if any(b <= a_ for a_, b in itertools.pairwise(looks)):
        raise _error(
            f"the information rates give looks at {', '.join(map(str, looks))} events, "
            "which are not increasing; use fewer looks or more events",
            "information_rates",
        )
    return scenario
