"""``trialkit predict``: when will the target event arrive, from blinded data.

Thin adapter. Without ``--data`` it reads the trial database through
:func:`trialkit.service.oversight.forecast.trial_forecast` (blinded: no arm ever leaves the
service); with ``--data`` it reads a CSV of blinded patient-level data (the columns
are listed in :mod:`trialkit.predict.data`; an arm column is refused) and calls
:func:`trialkit.predict.predict_events`; ``--design`` calls
:func:`trialkit.predict.design_forecast`. It prints a summary or one JSON object,
and turns bad input into exit code 2 and one line.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.errors import InputError
from trialkit.predict import (
    DEFAULT_MODEL,
    BlindedData,
    EventForecast,
    blinded_data_from_table,
    design_forecast,
    predict_events,
)
from trialkit.protocol import load_protocol

if TYPE_CHECKING:
    from trialkit.service.oversight.forecast import TrialForecast

__all__ = ["app", "read_blinded_csv"]

app = typer.Typer(
    help="Forecast enrolment and events from blinded data.",
    no_args_is_help=True,
    add_completion=False,
)

_MODELS = ("auto", "average", "exponential", "weibull", "piecewise", "mixture")


def read_blinded_csv(path: Path, cutoff: date | None) -> BlindedData:
    """Read and validate a CSV of blinded patient data (refuses an arm column)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError("the file is empty; it needs a header row", location=str(path))
            rows: list[list[str]] = []
            lines: list[int] = []
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(
                        f"row has {len(row)} fields but the header has {len(header)}; "
                        "fix the quoting or the separators",
                        location=f"{path}:{line}",
                    )
                rows.append(row)
                lines.append(line)
    except FileNotFoundError as exc:
        raise InputError("file not found; check the path", location=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc}); check it is a UTF-8 CSV") from exc
    return blinded_data_from_table(header, rows, cutoff=cutoff, source=str(path), lines=lines)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date written YYYY-MM-DD, got {text!r}")


def _knots(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"--knots must be days separated by commas (e.g. 60,180), got {text!r}")
    return (0.0, *values) if not values or values[0] != 0.0 else tuple(values)


def _at(forecast: EventForecast, dates: list[date]) -> list[dict[str, Any]]:
    out = []
    for when in dates:
        count = forecast.events_by(when)
        out.append(
            {
                "date": when.isoformat(),
                "expected_events": count.mean,
                "events_90pi": [count.lower, count.upper],
                "probability_target_reached": forecast.probability_by(when),
            }
        )
    return out


def _from_database(
    *,
    trial: str,
    user: str | None,
    cutoff: date | None,
    target: int | None,
    model: str,
    sims: int,
    seed: int,
) -> TrialForecast:
    """The forecast from the trial database, through the service (one read transaction)."""
    from trialkit.cli._db import cli_actor, cli_clock, service_transaction
    from trialkit.service.capture.outcomes import acting_user
    from trialkit.service.oversight.forecast import MAX_SIMS, trial_forecast
    from trialkit.service.trials import trials

    if sims > MAX_SIMS:
        raise InputError(f"--sims must be at most {MAX_SIMS} with the database, got {sims}")
    with service_transaction() as session:
        actor = cli_actor()
        if user is not None:
            actor = acting_user(session=session, username=user, request_id=actor.request_id)
        found = trials.find_trial(session, trial)
        return trial_forecast(
            session=session,
            actor=actor,
            trial_id=found.id,
            cutoff=cutoff,
            today=cli_clock().today(),
            target=target,
            model=model,  # type: ignore[arg-type]
            n_sims=sims,
            seed=seed,
        )


@app.command("events")
def events(
    target: Annotated[
        int | None,
        typer.Option("--target", help="Target number of events (default: the protocol's)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="CSV of blinded patient data: enrolment_date, event_date, censor_date, "
            "dropout (1 = left without an event on censor_date), patient_id. No arm column. "
            "Without it (and without --design) the trial database is read.",
        ),
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option("--cutoff", help="Cut-off date (default: latest date in the data)."),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Event model: average (AIC weights; the default, best calibrated), auto "
            "(smallest AIC), exponential, weibull, piecewise or mixture.",
        ),
    ] = DEFAULT_MODEL,
    knots: Annotated[
        str | None,
        typer.Option("--knots", help="Piecewise knots in days on study, e.g. 60,180."),
    ] = None,
    sims: Annotated[int, typer.Option("--sims", help="Simulated continuations.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random stream.")] = 1,
    enrolment: Annotated[
        int | None,
        typer.Option("--enrolment", help="Target enrolment (default: the protocol's patients)."),
    ] = None,
    protocol: Annotated[
        str, typer.Option("--protocol", help="Protocol giving the design defaults.")
    ] = "sor",
    design: Annotated[
        bool, typer.Option("--design", help="Forecast from the design assumptions (no data).")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--start", help="With --design: first enrolment date (default: protocol)."),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option("--at", help="Report expected events and P(target reached) by DATE."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write observed and predicted events to FILE.png or .svg."),
    ] = None,
    trial: Annotated[
        str, typer.Option("--trial", "-t", help="Without --data: the trial (acronym) to read.")
    ] = "SOR",
    user: Annotated[
        str | None,
        typer.Option("--user", help="Without --data: act as this user (default: the operator)."),
    ] = None,
) -> None:
    """Predict the date of the target event (median and 90% prediction interval)."""
    if model not in _MODELS:
        fail(f"--model must be one of {', '.join(_MODELS)}, got {model!r}")
    if sims < 10:
        fail(f"--sims must be at least 10, got {sims}")
    at_dates = [d for d in (_date(a, "--at") for a in at or []) if d is not None]
    rng = np.random.default_rng(seed)
    from_db: TrialForecast | None = None
    with user_errors():
        proto = load_protocol(protocol)
        if proto.design is None:
            raise InputError(
                f"protocol {protocol!r} has no design section (medians, patients, events) "
                "to forecast from; add one to the protocol file"
            )
        goal = proto.design.events if target is None else target
        patients = proto.design.patients if enrolment is None else enrolment
        if goal <= 0 or patients <= 0:
            raise InputError("--target and --enrolment must be positive")
        ratio = proto.design.allocation_ratio
        if design:
            if data is not None:
                raise InputError("give --data or --design, not both")
            first = _date(start, "--start") or proto.dates.first_enrolment
            span = proto.dates.final_enrolment - proto.dates.first_enrolment
            forecast = design_forecast(
                median_control=proto.design.median_control,
                median_treatment=proto.design.median_treatment,
                allocation_ratio=ratio,
                patients=patients,
                target=goal,
                start=first,
                enrolment_end=first + span,
                rng=rng,
                n_sims=sims,
            )
        elif data is None:
            if knots is not None or enrolment is not None:
                raise InputError(
                    "--knots and --enrolment need --data; the database forecast uses the "
                    "protocol's planned enrolment and the default knots"
                )
            from_db = _from_database(
                trial=trial,
                user=user,
                cutoff=_date(cutoff, "--cutoff"),
                target=target,
                model=model,
                sims=sims,
                seed=seed,
            )
            forecast = from_db.forecast
        else:
            blinded = read_blinded_csv(data, _date(cutoff, "--cutoff"))
            forecast = predict_events(
                blinded,
                target=goal,
                target_enrolment=patients,
                rng=rng,
                model=model,  # type: ignore[arg-type]
                n_sims=sims,
                knots=_knots(knots),
                allocation=ratio / (1.0 + ratio),
            )
        if plot is not None:
            from trialkit.report.predict_plot import plot_event_forecast

            plot_event_forecast(forecast, plot, title=f"{proto.acronym}: events")
    if as_json:
        # every path withholds the mixture's component estimates (they approximate the arms)
        out = forecast.to_dict() if from_db is None else from_db.to_dict()
        out["seed"] = seed
        if at_dates:
            out["at"] = _at(forecast, at_dates)
        print_json(out)
    else:
        typer.echo(forecast.summary() if from_db is None else from_db.summary())
        for row in _at(forecast, at_dates):
            lo, hi = row["events_90pi"]
            typer.echo(
                f"By {row['date']}: {row['expected_events']:.1f} events expected "
                f"(90% {lo:.0f}-{hi:.0f}); P(target reached) "
                f"{row['probability_target_reached']:.3f}"
            )
