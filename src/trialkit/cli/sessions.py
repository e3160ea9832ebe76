"""``trialkit sessions``: end and audit the login sessions that ran out unseen."""

from __future__ import annotations

import typer

from trialkit.cli._common import print_json
from trialkit.cli._db import cli_actor, cli_settings, service_transaction
from trialkit.service.platform import sessions
from trialkit.service.platform.security import Security

__all__ = ["app"]

app = typer.Typer(help="Login sessions: end the ones that ran out.", no_args_is_help=True)


@app.command("sweep")
def sweep(
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="End at most this many (default: all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """End every session past its idle timeout or lifetime, stamped when it ran out, audited."""
    settings = cli_settings()
    with service_transaction(settings) as session:
        result = sessions.sweep_sessions(
            session=session,
            security=Security.from_settings(settings),
            actor=cli_actor(),
            limit=limit,
        )
    if as_json:
        print_json(result.as_dict())
    else:
        typer.echo(result.summary())
