"""``trialkit design``: recompute a protocol's design claims, size and bound a survival trial."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import typer
from rich.console import Console
from rich.table import Table

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.design.boundaries import (
    GroupSequentialDesign,
    SpendingFunction,
    group_sequential_design,
)
from trialkit.design.claims import ClaimsReport, check_claims
from trialkit.design.decision import DecisionCharacteristics, decision_characteristics
from trialkit.design.events import EventsMethod
from trialkit.design.sample_size import SurvivalSampleSize, round_up, survival_sample_size
from trialkit.errors import DesignInputError
from trialkit.protocol import load_protocol

__all__ = ["app"]

app = typer.Typer(
    help="Statistical design: protocol claims, sample size, decision rules, boundaries.",
    no_args_is_help=True,
)

_SPENDING = ("obrien-fleming", "pocock")
_METHODS = ("schoenfeld", "freedman")

AlphaOption = typer.Option(0.025, "--alpha", help="One-sided significance level.")
PowerOption = typer.Option(0.8, "--power", help="Power (1 - beta).")
RatioOption = typer.Option(
    1.0, "--allocation-ratio", help="Patients on treatment per patient on control."
)
RatesOption = typer.Option(
    "1", "--information-rates", help="Information rates of the analyses, e.g. 0.5,0.75,1."
)
SpendingOption = typer.Option(
    "obrien-fleming", "--spending", help="Alpha spending: obrien-fleming or pocock (Lan-DeMets)."
)
BetaSpendingOption = typer.Option(
    None,
    "--beta-spending",
    help="Non-binding futility bounds by beta spending: obrien-fleming or pocock.",
)
JsonOption = typer.Option(False, "--json", help="Print one JSON object.")
PlotOption = typer.Option(None, "--plot", help="Also draw the design to FILE.png or FILE.svg.")


FLAGS = {
    "alpha": "--alpha",
    "power": "--power",
    "allocation_ratio": "--allocation-ratio",
    "information_rates": "--information-rates",
    "spending_function": "--spending",
    "beta_spending": "--beta-spending",
    "median_control": "--median-control",
    "median_treatment": "--median-treatment",
    "hr": "--hr",
    "alternative_hr": "--hr",
    "decision_hr": "--decision-hr",
    "events": "--events",
    "accrual_time": "--accrual-time",
    "n": "--n",
    "follow_up_time": "--follow-up",
    "dropout_rate": "--dropout-rate",
    "dropout_time": "--dropout-time",
    "method": "--method",
}
"""The flag of each design parameter that the core's errors name as their location."""


@contextmanager
def design_errors() -> Iterator[None]:
    """Domain errors as one line and exit code 2; a design parameter is named by its flag."""
    with user_errors():
        try:
            yield
        except DesignInputError as exc:
            flag = FLAGS.get(exc.location)
            if flag is None:
                raise
            fail(f"{flag}: {exc.message}")


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)}; you gave {value!r}")
    return value


def _rates(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail(
            "--information-rates must be numbers separated by commas, e.g. 0.5,0.75,1; "
            f"got {text!r}"
        )


# -- design protocol -------------------------------------------------------------------------


@app.command("protocol")
def protocol_claims(
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or protocol file path."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Recompute every quantitative design claim of a protocol and say which hold."""
    with user_errors():
        loaded = load_protocol(protocol)
        if loaded.design is None:
            fail(f"protocol {loaded.acronym} has no design block; add one to check its claims")
        design = loaded.design
        report = check_claims(
            design,
            first_enrolment=loaded.dates.first_enrolment,
            final_enrolment=loaded.dates.final_enrolment,
        )
    events = design.events
    if as_json:
        print_json(
            {
                "protocol": loaded.acronym,
                "claims": [
                    {
                        "id": c.id,
                        "statement": " ".join(c.statement.split()),
                        "stated": c.stated,
                        "computed": c.computed,
                        "tolerance": c.tolerance,
                        "agrees": c.agrees,
                        "method": c.method,
                        "unit": c.unit,
                    }
                    for c in report.claims
                ],
                "all_agree": report.all_agree,
                "implied_accrual_months": report.implied_accrual_months,
                "implied_accrual_per_month": report.implied_accrual_per_month,
                "actual_accrual_months": report.actual_accrual_months,
                f"expected_event_{events}_months_with_actual_enrolment": (
                    report.expected_event_months_with_actual_enrolment
                ),
            }
        )
        return
    _render_claims(loaded.acronym, events, design.patients, report, Console())


def _render_claims(
    acronym: str, events: int, patients: int, report: ClaimsReport, console: Console
) -> None:
    table = Table(title=f"{acronym}: design claims recomputed")
    for column in ("claim", "stated", "computed", "tolerance", "agrees"):
        table.add_column(column, justify="left" if column == "claim" else "right")
    for c in report.claims:
        unit = f" {c.unit}" if c.unit else ""
        table.add_row(
            c.id,
            f"{c.stated:g}{unit}",
            f"{c.computed:.4f}{unit}",
            f"± {c.tolerance:g}",
            "[green]yes[/green]" if c.agrees else "[red]NO[/red]",
        )
    console.print(table)
    for c in report.claims:
        console.print(f'[bold]{c.id}[/bold]: "{" ".join(c.statement.split())}"')
        console.print(f"  method: {c.method}", highlight=False)
    console.print(
        f"Implied accrual: {patients} patients over {report.implied_accrual_months:.2f} months "
        f"({report.implied_accrual_per_month:.2f} per month)."
    )
    if report.expected_event_months_with_actual_enrolment is not None:
        assert report.actual_accrual_months is not None
        expected = report.expected_event_months_with_actual_enrolment
        gap = expected - report.actual_accrual_months
        when = f"{abs(gap):.2f} months {'after' if gap >= 0 else 'before'} the end of enrolment"
        console.print(
            f"Actual enrolment lasted {report.actual_accrual_months:.2f} months: with uniform "
            f"accrual the {events}th event is expected at month {expected:.2f}, {when}."
        )


# -- design survival -------------------------------------------------------------------------


@app.command("survival")
def survival(
    alpha: float = AlphaOption,
    power: float = PowerOption,
    median_control: float | None = typer.Option(
        None, "--median-control", help="Median time to event on control (months)."
    ),
    median_treatment: float | None = typer.Option(
        None, "--median-treatment", help="Median time to event on treatment (months)."
    ),
    hr: float | None = typer.Option(
        None, "--hr", help="Hazard ratio treatment / control (instead of --median-treatment)."
    ),
    allocation_ratio: float = RatioOption,
    accrual_time: float | None = typer.Option(
        None, "--accrual-time", help="Accrual period (months)."
    ),
    n: float | None = typer.Option(None, "--n", help="Number of patients."),
    follow_up: float | None = typer.Option(
        None, "--follow-up", help="Follow-up from the last patient in to the analysis (months)."
    ),
    dropout_rate: float | None = typer.Option(
        None, "--dropout-rate", help="Probability of dropping out by --dropout-time (both arms)."
    ),
    dropout_time: float | None = typer.Option(
        None, "--dropout-time", help="Months at which --dropout-rate applies (default 12)."
    ),
    method: str = typer.Option("schoenfeld", "--method", help="schoenfeld or freedman."),
    information_rates: str = RatesOption,
    spending_function: str = SpendingOption,
    beta_spending: str | None = BetaSpendingOption,
    plot: Path | None = PlotOption,
    as_json: bool = JsonOption,
) -> None:
    """Events, patients and timing of an event-driven survival trial (rpact conventions).

    Give two of --accrual-time, --n and --follow-up; the third is solved for.
    """
    if median_control is None:
        fail("give --median-control (months) and --median-treatment or --hr")
    if dropout_time is not None and dropout_rate is None:
        fail("--dropout-time needs --dropout-rate (the probability of dropping out by then)")
    chosen = cast(EventsMethod, _choice(method, _METHODS, "--method"))
    spend = cast(SpendingFunction, _choice(spending_function, _SPENDING, "--spending"))
    beta = (
        cast(SpendingFunction, _choice(beta_spending, _SPENDING, "--beta-spending"))
        if beta_spending is not None
        else None
    )
    rates = _rates(information_rates)
    with design_errors():
        result = survival_sample_size(
            median_control=median_control,
            median_treatment=median_treatment,
            hr=hr,
            alpha=alpha,
            power=power,
            allocation_ratio=allocation_ratio,
            accrual_time=accrual_time,
            n=n,
            follow_up_time=follow_up,
            dropout_rate=0.0 if dropout_rate is None else dropout_rate,
            dropout_time=12.0 if dropout_time is None else dropout_time,
            method=chosen,
            information_rates=rates,
            spending_function=spend,
            beta_spending=beta,
        )
        if plot is not None:
            from trialkit.report.design_plots import plot_survival_design

            plot_survival_design(result, plot)
    if as_json:
        print_json(_survival_json(result))
        return
    _render_survival(result, Console())


def _survival_json(r: SurvivalSampleSize) -> dict[str, Any]:
    return {
        "method": r.method,
        "alpha": r.alpha,
        "power": r.power,
        "hazard_ratio": r.hazard_ratio,
        "median_control": r.median_control,
        "median_treatment": r.median_treatment,
        "allocation_ratio": r.allocation_ratio,
        "dropout_rate": r.dropout_rate,
        "dropout_time": r.dropout_time,
        "events_fixed": r.events_fixed,
        "events": r.events,
        "events_planned": r.events_planned,
        "n": r.n,
        "n_planned": r.n_planned,
        "accrual_time": r.accrual_time,
        "accrual_per_month": r.accrual_per_month,
        "follow_up_time": r.follow_up_time,
        "analysis_time": r.analysis_time,
        "critical_hr": r.critical_hr,
        "stages": [
            {
                "information_rate": s.information_rate,
                "events": s.events,
                "events_planned": round_up(s.events),
                "time": s.time,
                "z": s.z,
                "critical_hr": s.critical_hr,
                "futility_z": s.futility_z,
                "futility_hr": s.futility_hr,
            }
            for s in r.stages
        ],
    }


def _render_survival(r: SurvivalSampleSize, console: Console) -> None:
    console.print(r.summary(), highlight=False)
    table = Table(title="Analyses")
    for column in ("analysis", "info rate", "events", "month", "efficacy z", "critical HR"):
        table.add_column(column, justify="right")
    futility = any(s.futility_z is not None for s in r.stages)
    if futility:
        table.add_column("futility HR", justify="right")
    for k, s in enumerate(r.stages):
        row = [
            str(k + 1),
            f"{s.information_rate:.3f}",
            f"{s.events:.1f} ({round_up(s.events)})",
            f"{s.time:.2f}",
            f"{s.z:.4f}",
            f"{s.critical_hr:.4f}",
        ]
        if futility:
            row.append("" if s.futility_hr is None else f"{s.futility_hr:.4f}")
        table.add_row(*row)
    console.print(table)


# -- design decision -------------------------------------------------------------------------


@app.command("decision")
def decision(
    events: float = typer.Option(..., "--events", help="Events at the analysis."),
    decision_hr: float = typer.Option(
        ..., "--decision-hr", help="Declare efficacy when the observed HR is at most this."
    ),
    hr: float = typer.Option(..., "--hr", help="True hazard ratio under the alternative."),
    allocation_ratio: float = RatioOption,
    plot: Path | None = PlotOption,
    as_json: bool = JsonOption,
) -> None:
    """False-positive and false-negative rates and power of 'observed HR <= threshold'."""
    with design_errors():
        result = decision_characteristics(
            events=events,
            decision_hr=decision_hr,
            alternative_hr=hr,
            allocation_ratio=allocation_ratio,
        )
        if plot is not None:
            from trialkit.report.design_plots import plot_decision

            plot_decision(result, plot)
    if as_json:
        print_json(_decision_json(result))
        return
    _render_decision(result, Console())


def _decision_json(r: DecisionCharacteristics) -> dict[str, Any]:
    return {
        "events": r.events,
        "decision_hr": r.decision_hr,
        "hr": r.alternative_hr,
        "allocation_ratio": r.allocation_ratio,
        "standard_error_log_hr": r.standard_error,
        "false_positive_rate": r.false_positive_rate,
        "false_negative_rate": r.false_negative_rate,
        "power": r.power,
        "power_curve": [{"hr": hr, "probability": p} for hr, p in r.power_curve],
    }


def _render_decision(r: DecisionCharacteristics, console: Console) -> None:
    console.print(r.summary(), highlight=False)
    table = Table(title="Probability of declaring efficacy")
    table.add_column("true HR", justify="right")
    table.add_column("probability", justify="right")
    for hr, p in r.power_curve[::5]:
        table.add_row(f"{hr:.2f}", f"{p:.4f}")
    console.print(table)


# -- design boundaries -----------------------------------------------------------------------


@app.command("boundaries")
def boundaries(
    alpha: float = AlphaOption,
    information_rates: str = typer.Option(
        "0.5,0.75,1", "--information-rates", help="Information rates of the analyses."
    ),
    spending_function: str = SpendingOption,
    beta_spending: str | None = BetaSpendingOption,
    power: float = PowerOption,
    as_json: bool = JsonOption,
) -> None:
    """Group-sequential efficacy bounds (Lan-DeMets spending), optional non-binding futility."""
    spend = cast(SpendingFunction, _choice(spending_function, _SPENDING, "--spending"))
    beta = (
        cast(SpendingFunction, _choice(beta_spending, _SPENDING, "--beta-spending"))
        if beta_spending is not None
        else None
    )
    rates = _rates(information_rates)
    with design_errors():
        design = group_sequential_design(
            alpha=alpha,
            information_rates=rates,
            spending_function=spend,
            power=power,
            beta_spending=beta,
        )
    if as_json:
        print_json(_boundaries_json(design))
        return
    console = Console()
    console.print(design.summary(), highlight=False)


def _boundaries_json(d: GroupSequentialDesign) -> dict[str, Any]:
    futility = bool(d.futility_z)
    return {
        "alpha": d.alpha,
        "power": d.power,
        "spending": d.spending,
        "beta_spending": d.beta_spending,
        "information_rates": list(d.information_rates),
        "z": list(d.z),
        "nominal_p": list(d.nominal_p),
        "cumulative_alpha_spent": list(d.cumulative_alpha_spent),
        "futility_z": list(d.futility_z) if futility else None,
        "cumulative_beta_spent": list(d.cumulative_beta_spent) if futility else None,
        "drift": d.drift,
        "inflation_factor": d.inflation_factor,
    }
