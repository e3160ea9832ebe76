"""``trialkit sites``: add sites, record ethics approvals, activate, list."""

from __future__ import annotations

import datetime as dt

import typer

from trialkit.cli._common import print_json
from trialkit.cli._db import cli_actor, cli_clock, service_transaction
from trialkit.service.trials import trials

__all__ = ["app"]

app = typer.Typer(help="Sites: add, approve, activate, list.", no_args_is_help=True)
TrialOption = typer.Option("SOR", "--trial", "-t", help="Trial acronym.")


@app.command("add")
def add(
    code: str = typer.Option(..., "--code", help="Site code, e.g. IT01."),
    name: str = typer.Option(..., "--name", help="Centre name."),
    city: str = typer.Option(..., "--city"),
    country: str = typer.Option(..., "--country", help="ISO code of one of the trial's countries."),
    coordinating: bool = typer.Option(False, "--coordinating", help="The coordinating centre."),
    trial: str = TrialOption,
) -> None:
    """Add a site to a trial (it recruits after its ethics approval and activation)."""
    with service_transaction() as session:
        trial_id = trials.find_trial(session, trial).id
        view = trials.add_site(
            session=session,
            actor=cli_actor(),
            trial_id=trial_id,
            code=code,
            name=name,
            city=city,
            country=country,
            coordinating=coordinating,
        )
    typer.echo(
        f"site {view.code} (id {view.id}) added to {trial}; not recruiting: "
        f"{view.not_recruiting_because}"
    )


@app.command("approve")
def approve(
    code: str = typer.Argument(..., help="Site code."),
    committee: str = typer.Option(..., "--committee", help="The ethics committee."),
    approval_date: dt.datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"]),
    protocol_version: str | None = typer.Option(
        None, "--protocol-version", help="Approved protocol version (default: the trial's)."
    ),
    trial: str = TrialOption,
) -> None:
    """Record an ethics committee's approval for a site."""
    with service_transaction() as session:
        row = trials.find_trial(session, trial)
        site = trials.find_site(session, trial_id=row.id, code=code)
        trials.record_ethics_approval(
            session=session,
            actor=cli_actor(),
            site_id=site.id,
            committee=committee,
            approval_date=approval_date.date(),
            protocol_version=protocol_version or row.protocol_version,
            today=cli_clock().today(),
        )
    typer.echo(f"site {code}: approval by {committee} of {approval_date:%Y-%m-%d} recorded")


@app.command("activate")
def activate(code: str = typer.Argument(..., help="Site code."), trial: str = TrialOption) -> None:
    """Activate a site for the sponsor (it needs an approval of the current protocol)."""
    with service_transaction() as session:
        site = trials.find_site(session, trial_id=trials.find_trial(session, trial).id, code=code)
        trials.activate_site(session=session, actor=cli_actor(), site_id=site.id)
    typer.echo(f"site {code} activated")


@app.command("list")
def list_(
    trial: str = TrialOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """List a trial's sites and whether each recruits."""
    with service_transaction() as session:
        views = trials.list_sites(
            session=session, actor=cli_actor(), trial_id=trials.find_trial(session, trial).id
        )
    if as_json:
        print_json({"sites": [v.model_dump(mode="json") for v in views]})
        return
    for v in views:
        status = "recruiting" if v.recruiting else f"not recruiting: {v.not_recruiting_because}"
        typer.echo(f"{v.id}\t{v.code}\t{v.country}\t{v.city}\t{status}")
