"""Predictive simulation of the rest of a trial: when will the target event arrive?

Details and reasoning: docs/prediction.md, section `trialkit.predict.forecast`.

References
----------
Ying G.-S. and Heitjan D.F. (2008). Weibull prediction of event times in clinical
trials. *Pharmaceutical Statistics* 7, 107-120.

Lu K. eventPred: Event prediction in clinical trials (R package; ``predictEvent``).

Burnham K.P. and Anderson D.R. (2002). *Model Selection and Multimodel Inference*,
2nd ed., Springer (Akaike weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from trialkit.errors import DesignInputError, InputError
from trialkit.predict.data import BlindedData
from trialkit.predict.enrolment import Criterion, EnrolmentFit, fit_enrolment, planned_enrolment
from trialkit.predict.event_models import (
    EventFit,
    ExponentialMixture,
    ModelName,
    fit_event_model,
)

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_MODEL",
    "MIXTURE_WITHHELD",
    "EventCount",
    "EventForecast",
    "ModelChoice",
    "design_forecast",
    "predict_events",
]

DAYS_PER_MONTH = 30.4375
ModelChoice = Literal["auto", "average", "exponential", "weibull", "piecewise", "mixture"]
_ALL_MODELS: tuple[ModelName, ...] = ("exponential", "weibull", "piecewise", "mixture")
DEFAULT_MODEL: ModelChoice = "average"
"""Model averaging by default: over 500 simulated SOR-like trials its 90% prediction interval
covered the true date 92.0/92.0/90.0% of the time at 30/60/90 events, against 87.4/87.2/88.4%
for ``"auto"`` (the smallest AIC, which ignores model-selection uncertainty), with a similar
median absolute error (``benchmarks/RESULTS.md``, Event prediction)."""

Array = NDArray[np.float64]


@dataclass(frozen=True)
class EventCount:
    """Predicted cumulative events at a date: mean and a prediction band."""

    date: date
    mean: float
    lower: float
    upper: float
    level: float


@dataclass(frozen=True, eq=False)
class EventForecast:
    """The predictive distribution of a trial's remaining course.

    Times are continuous days from the ``origin`` (first enrolment); day :math:`d`
    is the interval :math:`(d, d + 1]`, so a time :math:`c` falls on the date
    ``origin + ceil(c) - 1``.

    Attributes
    ----------
    stage
        ``"interim"`` (from data) or ``"design"`` (from the design assumptions).
    model
        The event model used, or ``"average"``.
    fits
        The event models fitted (all candidates under ``auto``/``average``).
    weights
        The probability each fit was used with (1 for the chosen model).
    dropout_rate
        Fitted exponential dropout hazard per day (0 when no dropouts were seen).
    target_time
        Per simulation, the time of the target event (``inf`` when never reached).
    enrolment_time
        Per simulation, the time the target enrolment completes.
    event_times
        Per simulation, the sorted times of all future events (``inf`` padded).
    """

    stage: Literal["interim", "design"]
    origin: date
    cutoff: date
    cutoff_time: float
    target: int
    target_enrolment: int
    enrolled: int
    events_so_far: int
    at_risk: int
    dropouts: int
    model: str
    fits: tuple[EventFit, ...]
    weights: tuple[float, ...]
    enrolment: EnrolmentFit
    dropout_rate: float
    dropout_events: int
    n_sims: int
    observed_event_times: Array
    target_time: Array
    enrolment_time: Array
    event_times: Array
    level: float = 0.9

    # ---- dates -------------------------------------------------------------------------
    def to_date(self, time: float) -> date | None:
        """The calendar date of a continuous time (``None`` for never)."""
        if not math.isfinite(time):
            return None
        return self.origin + timedelta(days=max(math.ceil(time) - 1, 0))

    def _time_of(self, when: date) -> float:
        """End of the day ``when`` as a continuous time."""
        return float((when - self.origin).days + 1)

    def _quantile(self, values: Array, q: float) -> date | None:
        return self.to_date(float(np.quantile(values, q, method="inverted_cdf")))

    @property
    def probability_reached(self) -> float:
        """Share of simulations in which the target is ever reached (dropouts may prevent it)."""
        return float(np.mean(np.isfinite(self.target_time)))

    @property
    def predicted_date_median(self) -> date | None:
        """Median predicted date of the target event (``None`` if reached in under half)."""
        return self._quantile(self.target_time, 0.5)

    def predicted_date_interval(
        self, level: float | None = None
    ) -> tuple[date | None, date | None]:
        """Equal-tailed prediction interval of the target date (``None`` = not reached)."""
        a = (1.0 - (self.level if level is None else level)) / 2.0
        return self._quantile(self.target_time, a), self._quantile(self.target_time, 1.0 - a)

    @property
    def enrolment_complete_date_median(self) -> date | None:
        """Median predicted date the target enrolment completes."""
        return self._quantile(self.enrolment_time, 0.5)

    def enrolment_complete_interval(
        self, level: float | None = None
    ) -> tuple[date | None, date | None]:
        """Prediction interval of the date enrolment completes."""
        a = (1.0 - (self.level if level is None else level)) / 2.0
        return self._quantile(self.enrolment_time, a), self._quantile(self.enrolment_time, 1 - a)

    # ---- events at a date ---------------------------------------------------------------
    def _counts(self, when: date) -> NDArray[np.int64]:
        t = self._time_of(when)
        observed = int(np.sum(self.observed_event_times <= t))
        future = (self.event_times <= t).sum(axis=1) if t > self.cutoff_time else 0
        out: NDArray[np.int64] = observed + np.asarray(future, dtype=np.int64)
        return out * np.ones(self.n_sims, dtype=np.int64)

    def events_by(self, when: date, level: float | None = None) -> EventCount:
        """Cumulative events by the end of ``when``: mean and equal-tailed band."""
        level = self.level if level is None else level
        counts = self._counts(when)
        a = (1.0 - level) / 2.0
        lo, hi = np.quantile(counts, [a, 1.0 - a], method="inverted_cdf")
        return EventCount(when, float(counts.mean()), float(lo), float(hi), level)

    def probability_by(self, when: date) -> float:
        """Probability of reaching the target by the end of ``when``."""
        return float(np.mean(self.target_time <= self._time_of(when)))

    def event_curve(self, dates: list[date], level: float | None = None) -> list[EventCount]:
        """:meth:`events_by` over several dates (for a plot)."""
        return [self.events_by(d, level) for d in dates]

    # ---- presentation --------------------------------------------------------------------
    def to_dict(self, *, blinded: bool = True) -> dict[str, Any]:
        """The JSON contract of ``trialkit predict events --json`` (plus extras).

        ``blinded`` (the default, on every path that shows a forecast) withholds the
        mixture's parameters (:data:`MIXTURE_WITHHELD`); ``False`` is for the core's own
        tests and calibration only.
        """
        lo, hi = self.predicted_date_interval()
        e_lo, e_hi = self.enrolment_complete_interval()
        return {
            "target": self.target,
            "cutoff": self.cutoff.isoformat(),
            "events_so_far": self.events_so_far,
            "at_risk": self.at_risk,
            "predicted_date_median": _iso(self.predicted_date_median),
            "predicted_date_90pi": [_iso(lo), _iso(hi)],
            "enrolment_complete_date_median": _iso(self.enrolment_complete_date_median),
            "model": self.model,
            "stage": self.stage,
            "level": self.level,
            "enrolled": self.enrolled,
            "target_enrolment": self.target_enrolment,
            "dropouts": self.dropouts,
            "enrolment_complete_date_90pi": [_iso(e_lo), _iso(e_hi)],
            "probability_target_reached": self.probability_reached,
            "n_sims": self.n_sims,
            "enrolment_model": {
                "model": self.enrolment.model,
                "change_points_days": list(self.enrolment.change_points),
                "rate_per_month": self.enrolment.rate_per_month,
                "planned": self.enrolment.fixed,
            },
            "dropout_hazard_per_month": self.dropout_rate * DAYS_PER_MONTH,
            "event_models": [
                {
                    "model": f.name,
                    "aic": _finite(f.aic),
                    "bic": _finite(f.bic),
                    "weight": w,
                    **_shown_params(f, blinded=blinded),
                }
                for f, w in zip(self.fits, self.weights, strict=True)
            ],
        }

    def summary(self, *, blinded: bool = True) -> str:
        """A few readable lines (``blinded``: the mixture's parameters withheld, as in JSON)."""
        lo, hi = self.predicted_date_interval()
        pct = round(100 * self.level)
        lines = [
            f"Event prediction ({self.stage}) at cut-off {self.cutoff}: "
            f"{self.events_so_far} of {self.target} events, {self.enrolled} of "
            f"{self.target_enrolment} patients enrolled, {self.at_risk} at risk, "
            f"{self.dropouts} dropouts.",
            f"Target event {self.target}: median {_iso(self.predicted_date_median) or 'never'}, "
            f"{pct}% PI {_iso(lo) or 'never'} to {_iso(hi) or 'not reached'}"
            f" (reached in {100 * self.probability_reached:.1f}% of {self.n_sims} simulations).",
            f"Enrolment complete: median {_iso(self.enrolment_complete_date_median)} "
            f"({self.enrolment.model}, {self.enrolment.rate_per_month:.2f} patients/month).",
            f"Event model: {self.model}.",
        ]
        for f, w in zip(self.fits, self.weights, strict=True):
            shown = _shown_params(f, blinded=blinded)
            params = ", ".join(f"{k} {v:.3g}" for k, v in shown["params"].items())
            if "params_withheld" in shown:
                params = "parameters withheld (blinded)"
            aic = "" if not math.isfinite(f.aic) else f"AIC {f.aic:.1f}, "
            lines.append(f"  {f.name}: {aic}weight {w:.2f}; {params}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


MIXTURE_WITHHELD = "component estimates approximate the arms"
"""Why the mixture's parameters are withheld: fitted to pooled blinded data with the
allocation share, its two components' medians (and their hazard ratio) estimate the arms'
medians and the treatment effect, which no blinded reader may see."""


def _shown_params(fit: EventFit, *, blinded: bool) -> dict[str, Any]:
    if blinded and fit.name == "mixture":
        return {"params": {}, "params_withheld": MIXTURE_WITHHELD}
    return {"params": dict(fit.params)}


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _akaike_weights(values: list[float]) -> list[float]:
    v = np.asarray(values)
    w = np.exp(-(v - v.min()) / 2.0)
    return [float(x) for x in w / w.sum()]


def _dropout_rate(data: BlindedData) -> tuple[float, float, int]:
    """Exponential dropout hazard per day: its MLE, the sd of its log, and the dropouts."""
    d = data.dropouts
    if d == 0:
        return 0.0, 0.0, 0
    return d / float(data.time.sum()), 1.0 / math.sqrt(d), d


def _check_reachable(target: int, events: int, at_risk: int, remaining: int) -> None:
    possible = events + at_risk + remaining
    if possible < target:
        raise DesignInputError(
            f"the target of {target} events cannot be reached: {events} events so far, "
            f"{at_risk} patients at risk and {remaining} still to enrol give at most {possible}; "
            "raise the target enrolment or lower the target events"
        )


def _simulate(
    *,
    fits: list[EventFit],
    weights: list[float],
    enrolment: EnrolmentFit,
    u: Array,
    start_time: float,
    remaining: int,
    dropout: tuple[float, float],
    needed: int,
    n_sims: int,
    rng: np.random.Generator,
) -> tuple[Array, Array, Array]:
    """Vectorised continuations: (target time, enrolment-complete time, sorted event times)."""
    arrivals = enrolment.simulate(start_time, remaining, n_sims, rng)  # (S, m)
    new_u = np.zeros(remaining)
    which = rng.choice(len(fits), size=n_sims, p=weights) if len(fits) > 1 else np.zeros(n_sims)
    ongoing = np.empty((n_sims, u.size))
    fresh = np.empty((n_sims, remaining))
    for k, fit in enumerate(fits):
        rows = np.flatnonzero(which == k)
        if rows.size == 0:
            continue
        theta = fit.draw(rows.size, rng)
        ongoing[rows] = fit.family.sample_residual(theta, u, rng)
        fresh[rows] = fit.family.sample_residual(theta, new_u, rng)
    rate, sd = dropout
    if rate > 0.0:
        phi = rate * np.exp(sd * rng.standard_normal((n_sims, 1)))
        drop_ongoing = rng.standard_exponential(ongoing.shape) / phi
        drop_fresh = rng.standard_exponential(fresh.shape) / phi
        ongoing = np.where(ongoing < drop_ongoing, ongoing, np.inf)
        fresh = np.where(fresh < drop_fresh, fresh, np.inf)
    times = np.concatenate([start_time + ongoing, arrivals + fresh], axis=1)
    times.sort(axis=1)
    target = times[:, needed - 1] if needed <= times.shape[1] else np.full(n_sims, np.inf)
    done = arrivals[:, -1] if remaining else np.full(n_sims, np.nan)
    return target, done, times


def predict_events(
    data: BlindedData,
    *,
    target: int,
    target_enrolment: int,
    rng: np.random.Generator,
    model: ModelChoice = DEFAULT_MODEL,
    n_sims: int = 5000,
    criterion: Criterion = "aic",
    enrolment_criterion: Criterion = "bic",
    knots: tuple[float, ...] | None = None,
    allocation: float = 0.5,
    level: float = 0.9,
) -> EventForecast:
    """Forecast the date of the ``target``-th event from blinded data at a cut-off.

    Parameters
    ----------
    data
        Blinded patient-level data at the cut-off (no arm).
    target
        The number of events that triggers the analysis (120 for SOR).
    target_enrolment
        The planned number of patients (220 for SOR); enrolment continues until it.
    rng
        The random stream; the forecast is reproducible from its seed.
    model
        ``"average"`` (the default, :data:`DEFAULT_MODEL`) mixes all fitted models with
        Akaike (or BIC) weights; ``"auto"`` picks the event model with the smallest
        ``criterion``; or name one.
    n_sims
        Number of simulated continuations.
    criterion
        Information criterion for choosing or weighting event models.
    enrolment_criterion
        Information criterion for the enrolment change points.
    knots
        Knots (days on study) of the piecewise exponential model; default: tertiles of
        the observed event times.
    allocation
        Probability of the first mixture component (the treatment share, 0.5 for 1:1).
    level
        Level of the prediction intervals.

    Raises
    ------
    DesignInputError
        The target cannot be reached by the patients at risk and still to enrol, or it
        has been reached already.
    InputError
        Too few events or patients for the model asked for.
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"the prediction level must lie in (0, 1); got {level:g}")
    if n_sims < 10:
        raise InputError(f"use at least 10 simulations; got {n_sims}")
    events = data.events
    if events >= target:
        reached = data.event_calendar[target - 1]
        when = data.origin + timedelta(days=math.ceil(reached) - 1)
        raise DesignInputError(
            f"the target of {target} events was reached on {when}, before the cut-off "
            f"{data.cutoff}; nothing to forecast"
        )
    remaining = max(target_enrolment - data.enrolled, 0)
    at_risk_mask = data.at_risk
    _check_reachable(target, events, int(at_risk_mask.sum()), remaining)
    if events == 0:
        raise InputError(
            "no events yet, so no event model can be fitted; forecast from the design "
            "assumptions instead (--design)"
        )
    names: tuple[ModelName, ...] = _ALL_MODELS if model in ("auto", "average") else (model,)  # type: ignore[assignment]
    fits: list[EventFit] = []
    for name in names:
        try:
            fits.append(
                fit_event_model(name, data.time, data.event, knots=knots, mixing=allocation)
            )
        except InputError:
            if len(names) == 1:
                raise
    scores = [getattr(f, criterion) for f in fits]
    if model == "auto":
        best = int(np.argmin(scores))
        weights = [1.0 if k == best else 0.0 for k in range(len(fits))]
        chosen: str = fits[best].name
    elif model == "average":
        weights = _akaike_weights(scores)
        chosen = "average"
    else:
        weights, chosen = [1.0], str(fits[0].name)
    enrolment = (
        fit_enrolment(data.enrolment_day, data.cutoff_day, criterion=enrolment_criterion)
        if remaining
        else _no_enrolment(data)
    )
    cutoff_time = float(data.cutoff_day + 1)
    rate, sd, drops = _dropout_rate(data)
    used = [f for f, w in zip(fits, weights, strict=True) if w > 0]
    used_w = [w for w in weights if w > 0]
    target_time, done, times = _simulate(
        fits=used,
        weights=used_w,
        enrolment=enrolment,
        u=data.time[at_risk_mask],
        start_time=cutoff_time,
        remaining=remaining,
        dropout=(rate, sd),
        needed=target - events,
        n_sims=n_sims,
        rng=rng,
    )
    if not remaining:
        done = np.full(n_sims, float(data.enrolment_day.max() + 1))
    return EventForecast(
        stage="interim",
        origin=data.origin,
        cutoff=data.cutoff,
        cutoff_time=cutoff_time,
        target=target,
        target_enrolment=target_enrolment,
        enrolled=data.enrolled,
        events_so_far=events,
        at_risk=int(at_risk_mask.sum()),
        dropouts=data.dropouts,
        model=chosen,
        fits=tuple(fits),
        weights=tuple(weights),
        enrolment=enrolment,
        dropout_rate=rate,
        dropout_events=drops,
        n_sims=n_sims,
        observed_event_times=data.event_calendar,
        target_time=target_time,
        enrolment_time=done,
        event_times=times,
        level=level,
    )


def _no_enrolment(data: BlindedData) -> EnrolmentFit:
    """Enrolment complete: the observed average rate, reported but not used."""
    days = float(data.cutoff_day + 1)
    return planned_enrolment(data.enrolled, days)


def design_forecast(
    *,
    median_control: float,
    median_treatment: float,
    allocation_ratio: float,
    patients: int,
    target: int,
    start: date,
    enrolment_end: date,
    rng: np.random.Generator,
    n_sims: int = 5000,
    level: float = 0.9,
) -> EventForecast:
    """Forecast from the design assumptions alone, before any patient is enrolled.

    Parameters
    ----------
    median_control, median_treatment
        Exponential medians in months.
    allocation_ratio
        Treatment patients per control patient.
    patients
        Planned enrolment.
    target
        Target number of events.
    start
        Date of the first enrolment (the origin).
    enrolment_end
        Planned date of the last enrolment: the planned rate is ``patients`` over the
        days from ``start`` to it.
    rng
        The random stream.
    """
    days = (enrolment_end - start).days + 1
    if days <= 0:
        raise DesignInputError(
            f"the planned end of enrolment {enrolment_end} is before the start {start}"
        )
    if target > patients:
        raise DesignInputError(
            f"{patients} patients can give at most {patients} events; the target is {target}"
        )
    share = allocation_ratio / (1.0 + allocation_ratio)
    family = ExponentialMixture(share)
    rates = np.log(math.log(2.0) / (np.array([median_treatment, median_control]) * DAYS_PER_MONTH))
    fit = EventFit(family, rates, np.zeros((2, 2)), float("nan"), 0, 0)
    enrolment = planned_enrolment(patients, float(days))
    target_time, done, times = _simulate(
        fits=[fit],
        weights=[1.0],
        enrolment=enrolment,
        u=np.zeros(0),
        start_time=0.0,
        remaining=patients,
        dropout=(0.0, 0.0),
        needed=target,
        n_sims=n_sims,
        rng=rng,
    )
    return EventForecast(
        stage="design",
        origin=start,
        cutoff=start,
        cutoff_time=0.0,
        target=target,
        target_enrolment=patients,
        enrolled=0,
        events_so_far=0,
        at_risk=0,
        dropouts=0,
        model="mixture",
        fits=(fit,),
        weights=(1.0,),
        enrolment=enrolment,
        dropout_rate=0.0,
        dropout_events=0,
        n_sims=n_sims,
        observed_event_times=np.zeros(0),
        target_time=target_time,
        enrolment_time=done,
        event_times=times,
        level=level,
    )
