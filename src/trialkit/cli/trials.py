"""``trialkit trials``: start running a trial under a protocol; list trials."""

from __future__ import annotations

import typer

from trialkit.cli._common import print_json
from trialkit.cli._db import cli_actor, cli_clock, service_transaction
from trialkit.service.trials import trials

__all__ = ["app"]

app = typer.Typer(help="Trials run by this service.", no_args_is_help=True)


@app.command("add")
def add(
    protocol: str = typer.Option("sor", "--protocol", "-p", help="Bundled protocol or file."),
) -> None:
    """Create the trial of a protocol (its countries come from the protocol)."""
    with service_transaction() as session:
        view = trials.create_trial(session=session, actor=cli_actor(), protocol_name=protocol)
    typer.echo(f"trial {view.acronym} (id {view.id}), protocol version {view.protocol_version}")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """List the trials."""
    with service_transaction() as session:
        views = trials.list_trials(session=session, actor=cli_actor(), today=cli_clock().today())
    if as_json:
        print_json({"trials": [v.model_dump(mode="json") for v in views]})
        return
    for v in views:
        typer.echo(
            f"{v.id}\t{v.acronym}\t{v.protocol_version}\t{v.first_enrolment}..{v.final_enrolment}"
        )
