"""Event prediction from the database: blinded patient-level data at a cut-off, and the forecast.

Details and reasoning: docs/prediction.md, section `trialkit.service.oversight.forecast`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from trialkit.endpoints import CensoringRules, PatientOutcome, derive_pfs
from trialkit.errors import InputError
from trialkit.predict import (
    COLUMNS,
    DEFAULT_MODEL,
    BlindedData,
    EventForecast,
    ModelChoice,
    blinded_data_from_table,
    design_forecast,
    predict_events,
)
from trialkit.protocol import Protocol
from trialkit.service.capture.outcomes import trial_outcomes
from trialkit.service.platform import audit
from trialkit.service.platform.cache import LruCache
from trialkit.service.platform.policy import Action, authorize, authorize_trial_wide
from trialkit.service.platform.principal import Principal
from trialkit.service.trials.tables import Trial
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "MAX_SIMS",
    "BlindedTable",
    "PooledEvents",
    "TrialForecast",
    "at_date",
    "blinded_table",
    "clear_forecast_cache",
    "design_stage_forecast",
    "pooled_events",
    "trial_forecast",
]

MAX_SIMS = 20_000
"""The most simulated continuations one request may ask for (keeps a page view short)."""
_DROPOUT_RULES = frozenset({"NEW_THERAPY", "MISSED_ASSESSMENTS"})
_CACHE_SIZE = 16


@dataclass(frozen=True)
class BlindedTable:
    """The blinded patient-level table handed to the prediction core, and its fingerprint."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    cutoff: dt.date

    @property
    def snapshot(self) -> str:
        """A digest of the table: equal digests, equal forecasts."""
        text = "\n".join(",".join(r) for r in (self.header, *self.rows))
        return hashlib.sha256(f"{self.cutoff}\n{text}".encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class TrialForecast:
    """A trial's forecast and the blinded data it came from."""

    data: BlindedData
    forecast: EventForecast
    snapshot: str
    seed: int

    def to_dict(self, at: tuple[dt.date, ...] = ()) -> dict[str, Any]:
        """The ``trialkit predict events --json`` contract, with ``at`` dates if asked.

        Blinded, as every forecast shown: the two-component mixture's parameters are
        withheld by :meth:`~trialkit.predict.EventForecast.to_dict` (they estimate the arms).
        """
        out = self.forecast.to_dict()
        out["seed"] = self.seed
        if at:
            out["at"] = [at_date(self.forecast, d) for d in at]
        return out

    def summary(self) -> str:
        """The forecast's summary, the mixture's component estimates withheld (see above)."""
        return self.forecast.summary()


def at_date(forecast: EventForecast, when: dt.date) -> dict[str, Any]:
    """Expected events, their band and the chance of the target by the end of ``when``."""
    count = forecast.events_by(when)
    return {
        "date": when.isoformat(),
        "expected_events": count.mean,
        "events_90pi": [count.lower, count.upper],
        "probability_target_reached": forecast.probability_by(when),
    }


def _as_of(outcome: PatientOutcome, cutoff: dt.date) -> PatientOutcome:
    """The outcome as it was known at the end of ``cutoff``: later data are left out."""

    def known(value: dt.date | None) -> dt.date | None:
        return value if value is not None and value <= cutoff else None

    alive = outcome.last_alive_date
    return dataclasses.replace(
        outcome,
        assessments=tuple(a for a in outcome.assessments if a.date <= cutoff),
        progression_date=known(outcome.progression_date),
        death_date=known(outcome.death_date),
        death_cause=outcome.death_cause if known(outcome.death_date) else None,
        last_alive_date=None if alive is None else min(alive, cutoff),
        new_therapy_date=known(outcome.new_therapy_date),
        end_of_study=known(outcome.end_of_study),
        arm=None,
    )


def _latest(outcome: PatientOutcome) -> dt.date:
    dates = [
        outcome.randomisation_date,
        outcome.progression_date,
        outcome.death_date,
        outcome.last_alive_date,
        outcome.end_of_study,
        *(a.date for a in outcome.assessments),
    ]
    return max(d for d in dates if d is not None)


def _row(outcome: PatientOutcome, rules: CensoringRules) -> tuple[str, ...]:
    pfs = derive_pfs(outcome, rules)
    if pfs.event:
        return (outcome.randomisation_date.isoformat(), pfs.date.isoformat(), "", "0")
    left = outcome.end_of_study is not None or pfs.rule.code in _DROPOUT_RULES
    censor = pfs.date.isoformat() if left else ""
    return (outcome.randomisation_date.isoformat(), "", censor, "1" if left else "0")


def blinded_table(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    cutoff: dt.date | None = None,
    today: dt.date | None = None,
) -> BlindedTable:
    """The blinded table at ``cutoff`` (default: the latest recorded date, at most ``today``).

    Raises
    ------
    InputError
        No patient is randomised (by the cut-off).
    """
    trial = get_trial_or_raise(session, trial_id)
    authorize_trial_wide(
        actor, Action.VIEW_FORECAST, trial_id=trial.id, what="the pooled event data (forecast)"
    )
    # derived from every patient's records: cached per data version (any change: a new key)
    key = (trial.id, audit.data_version(session), cutoff, today)
    cached = _tables.get(key)
    if cached is not None:
        return cached
    table = _blinded_table(session, trial, cutoff, today)
    _tables.put(key, table)
    return table


def _blinded_table(
    session: Session, trial: Trial, cutoff: dt.date | None, today: dt.date | None
) -> BlindedTable:
    protocol = trial_protocol(trial)
    rules = CensoringRules.fda(protocol.schedule)
    outcomes = [outcome for outcome, _ in trial_outcomes(session, trial).values()]
    if not outcomes:
        raise InputError(
            f"no patient of {trial.acronym} is randomised yet, so there is nothing to forecast "
            "from; use the design-stage forecast (trialkit predict events --design)"
        )
    if cutoff is None:
        cutoff = max(_latest(o) for o in outcomes)
        if today is not None:
            cutoff = min(cutoff, today)
    known = [_as_of(o, cutoff) for o in outcomes if o.randomisation_date <= cutoff]
    if not known:
        first = min(o.randomisation_date for o in outcomes)
        raise InputError(
            f"no patient was randomised by the cut-off {cutoff}; the first was randomised on "
            f"{first}: choose a later cut-off",
            location="cutoff",
        )
    rows = tuple((*_row(o, rules), o.usubjid) for o in sorted(known, key=lambda o: o.usubjid))
    return BlindedTable(header=COLUMNS, rows=rows, cutoff=cutoff)


@dataclass(frozen=True)
class PooledEvents:
    """PFS events of all arms together at a cut-off, against the protocol's target."""

    cutoff: dt.date
    enrolled: int
    events: int
    dropouts: int
    target: int | None


def pooled_events(
    *, session: Session, actor: Principal, trial_id: int, today: dt.date | None = None
) -> PooledEvents | None:
    """The pooled PFS event count at the latest recorded date (``None``: nobody randomised)."""
    try:
        table = blinded_table(session=session, actor=actor, trial_id=trial_id, today=today)
    except InputError:
        return None
    protocol = trial_protocol(get_trial_or_raise(session, trial_id))
    return PooledEvents(
        cutoff=table.cutoff,
        enrolled=len(table.rows),
        events=sum(1 for r in table.rows if r[1]),
        dropouts=sum(1 for r in table.rows if r[3] == "1"),
        target=protocol.design.events if protocol.design else None,
    )


_cache: LruCache[tuple[Any, ...], EventForecast] = LruCache(_CACHE_SIZE)
_tables: LruCache[tuple[Any, ...], BlindedTable] = LruCache(_CACHE_SIZE)


def clear_forecast_cache() -> None:
    """Forget every cached forecast (each is recomputed on its next request)."""
    _cache.clear()
    _tables.clear()


def _design(protocol: Protocol) -> tuple[int, int, float]:
    if protocol.design is None:
        raise InputError(
            f"protocol {protocol.acronym} has no design section (patients, events, medians) "
            "to forecast against"
        )
    return protocol.design.events, protocol.design.patients, protocol.design.allocation_ratio


def _check_options(target: int | None, n_sims: int) -> None:
    if target is not None and target <= 0:
        raise InputError(f"the target must be a positive number of events, not {target}")
    if not 10 <= n_sims <= MAX_SIMS:
        raise InputError(f"simulations must lie between 10 and {MAX_SIMS}, not {n_sims}")


def trial_forecast(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    cutoff: dt.date | None = None,
    today: dt.date | None = None,
    target: int | None = None,
    model: ModelChoice = DEFAULT_MODEL,
    n_sims: int = 2000,
    seed: int = 1,
) -> TrialForecast:
    """Forecast the date of the ``target``-th PFS event (default: the protocol's) from the data.

    Raises
    ------
    InputError
        No randomised patient, no event yet, a target already reached or out of reach,
        or options out of range.
    """
    _check_options(target, n_sims)
    table = blinded_table(
        session=session, actor=actor, trial_id=trial_id, cutoff=cutoff, today=today
    )
    protocol = trial_protocol(get_trial_or_raise(session, trial_id))
    events, patients, ratio = _design(protocol)
    goal = target or events
    data = blinded_data_from_table(
        table.header, table.rows, cutoff=table.cutoff, source="the trial database"
    )
    key = (trial_id, table.snapshot, goal, patients, model, n_sims, seed)
    cached = _cache.get(key)
    if cached is None:
        cached = predict_events(
            data,
            target=goal,
            target_enrolment=patients,
            rng=np.random.default_rng(seed),
            model=model,
            n_sims=n_sims,
            allocation=ratio / (1.0 + ratio),
        )
        _cache.put(key, cached)
    return TrialForecast(data=data, forecast=cached, snapshot=table.snapshot, seed=seed)


def design_stage_forecast(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    target: int | None = None,
    n_sims: int = 2000,
    seed: int = 1,
) -> EventForecast:
    """The forecast from the protocol's design assumptions alone (no patient data)."""
    _check_options(target, n_sims)
    trial = get_trial_or_raise(session, trial_id)
    authorize(actor, Action.VIEW_FORECAST, trial_id=trial.id)
    protocol = trial_protocol(trial)
    events, patients, ratio = _design(protocol)
    assert protocol.design is not None
    return design_forecast(
        median_control=protocol.design.median_control,
        median_treatment=protocol.design.median_treatment,
        allocation_ratio=ratio,
        patients=patients,
        target=target or events,
        start=protocol.dates.first_enrolment,
        enrolment_end=protocol.dates.final_enrolment,
        rng=np.random.default_rng(seed),
        n_sims=n_sims,
    )
