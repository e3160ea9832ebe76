"""``trialkit safety``: tell overdue SAE reports, import the sponsor's MedDRA release."""

from __future__ import annotations

from pathlib import Path

import typer

from trialkit.cli._common import print_json
from trialkit.cli._db import cli_actor, cli_settings, service_transaction
from trialkit.service.safety import sae, terms
from trialkit.service.trials.trials import find_trial

__all__ = ["app"]

app = typer.Typer(help="Safety: overdue SAE reports, the MedDRA release.", no_args_is_help=True)


@app.command("overdue")
def overdue(
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Notify the site, its monitors and the safety role of each SAE report past its deadline
    (once per case); run it every few minutes (cron)."""
    settings = cli_settings()
    with service_transaction(settings) as session:
        told = sae.notify_overdue(session=session, trial_id=find_trial(session, trial).id)
    if as_json:
        print_json({"trial": trial, "notified": told})
    else:
        typer.echo(
            f"{len(told)} overdue SAE report(s) notified" + (": " if told else "") + ", ".join(told)
        )


@app.command("meddra-import")
def meddra_import(
    folder: Path = typer.Argument(
        ..., help="The release's ASCII folder (llt.asc, pt.asc, soc.asc)."
    ),
    version: str = typer.Option(
        "", "--version", help="The release's version (default: folder name)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Import the MedDRA release the sponsor licenses, replacing the one imported before."""
    settings = cli_settings()
    with service_transaction(settings) as session:
        name, count = terms.import_meddra(
            session=session, actor=cli_actor(), folder=folder, version=version
        )
    if as_json:
        print_json({"version": name, "terms": count})
    else:
        typer.echo(f"MedDRA {name}: {count} lowest level terms imported")
