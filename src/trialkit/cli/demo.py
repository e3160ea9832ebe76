"""``trialkit demo``: the protocol and example verdicts; ``trialkit demo seed``: the demo trial.

Without a subcommand: the SOR protocol overview, then the eligibility verdict and background
therapy of every bundled example record. ``seed``: the demo trial in progress, seeded through
the service into the configured database (demo mode), and its data cut-off.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import cast

import typer
from rich.console import Console

from trialkit.cli._common import print_json, user_errors
from trialkit.cli._db import open_database
from trialkit.cli.eligibility import read_record, render_outcome
from trialkit.cli.protocol import render_protocol
from trialkit.config import Settings, load_settings
from trialkit.demodata import Scenario
from trialkit.protocol import load_protocol
from trialkit.screening import screen
from trialkit.service.demo import (
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    DemoOptions,
    DemoSeed,
    seed_demo,
)
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction

__all__ = ["app", "demo_settings", "echo_seed", "seed_into_database"]

app = typer.Typer(
    help="The demo: protocol and example verdicts; 'seed' makes the demo trial.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def demo(
    context: typer.Context,
    examples: Path = typer.Option(
        Path("examples/sor"), "--examples", help="Folder of example records."
    ),
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or file path."
    ),
) -> None:
    """Show the protocol and the verdicts of the example screening records."""
    if context.invoked_subcommand is not None:
        return
    console = Console()
    with user_errors():
        loaded = load_protocol(protocol)
    render_protocol(loaded, console)
    records = sorted(examples.glob("*.json"))
    console.rule(f"Example screening records ({len(records)} in {examples})")
    for path in records:
        outcome = screen(loaded, read_record(path, loaded))
        render_outcome(outcome, console, title=path.stem, brief=True)
        console.print()


def demo_settings() -> Settings:
    """The settings in demo mode (a throwaway secret key unless one is set)."""
    os.environ["TRIALKIT_DEMO"] = "1"
    if not os.environ.get("TRIALKIT_SECRET_KEY"):
        # one key for every worker of this process; demo sessions end when it stops
        os.environ["TRIALKIT_SECRET_KEY"] = secrets.token_urlsafe(32)
    with user_errors():
        settings = load_settings()
        settings.require_safe()
    return settings


def seed_into_database(settings: Settings, options: DemoOptions) -> DemoSeed:
    """Seed the demo trial unless it exists (one transaction)."""
    with open_database(settings) as database, user_errors(), transaction(database) as session:
        security = Security.from_settings(settings)
        return seed_demo(session=session, security=security, options=options)


def echo_seed(outcome: DemoSeed, seconds: float | None = None) -> None:
    """The seeding's summary and the demo accounts, for people."""
    if outcome.created:
        took = f" in {seconds:.0f} s" if seconds is not None else ""
        typer.echo(
            f"Demo trial seeded{took}: {outcome.screened} women screened, "
            f"{outcome.randomised} randomised, {outcome.pfs_events} PFS events; data cut-off "
            f"{outcome.cutoff}."
        )
    else:
        typer.echo(
            f"Demo trial found (left as it is): {outcome.screened} women screened, "
            f"{outcome.randomised} randomised; data cut-off {outcome.cutoff}."
        )
    typer.echo("Demo mode: these accounts work only while TRIALKIT_DEMO is set.")
    for user in outcome.users:
        where = f" at {user.site}" if user.site else ""
        typer.echo(f"  {user.role.value:<24} {user.username:<16} {user.password}{where}")


@app.command("seed")
def seed(
    scenario: str = typer.Option(
        "alt",
        "--scenario",
        help="alt: PFS medians 7.9 vs 12.2 months (the design); null: no difference.",
    ),
    seed_value: int = typer.Option(DEFAULT_SEED, "--seed", min=0, help="Seed of all demo data."),
    patients: int = typer.Option(
        DEFAULT_PATIENTS, "--patients", min=1, max=1000, help="Women screened (about 92% eligible)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Seed the demo trial into the database (demo mode) and print its data cut-off."""
    with user_errors():
        options = DemoOptions(scenario=cast(Scenario, scenario), seed=seed_value, patients=patients)
    settings = demo_settings()
    started = time.perf_counter()
    outcome = seed_into_database(settings, options)
    seconds = time.perf_counter() - started
    if as_json:
        print_json(
            {
                "created": outcome.created,
                "cutoff": outcome.cutoff,
                "screened": outcome.screened,
                "randomised": outcome.randomised,
                "pfs_events": outcome.pfs_events,
                "scenario": options.scenario,
                "seed": options.seed,
                "patients": options.patients,
                "seconds": round(seconds, 1),
            }
        )
        return
    echo_seed(outcome, seconds)
