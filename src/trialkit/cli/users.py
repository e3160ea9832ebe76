"""``trialkit users``: create accounts and grant roles from the command line."""

from __future__ import annotations

import sys

import typer

from trialkit.cli._common import fail
from trialkit.cli._db import cli_actor, cli_settings, service_transaction
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.trials import trials as trial_service
from trialkit.service.trials import users

__all__ = ["app"]

app = typer.Typer(help="User accounts and roles.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password: pass it on stdin with --password-stdin")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name."),
    full_name: str = typer.Option(..., "--full-name", help="The person's name."),
    role: Role | None = typer.Option(None, "--role", help="A role to grant at once."),
    site: str | None = typer.Option(None, "--site", help="Site code, for site roles."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym, with --role."),
    email: str | None = typer.Option(
        None, "--email", help="Where notifications are e-mailed (default: inbox only)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin (one line)."
    ),
) -> None:
    """Create a user account, optionally with a role in a trial."""
    settings = cli_settings()
    password = _password(password_stdin)
    actor = cli_actor()
    with service_transaction(settings) as session:
        view = users.create_user(
            session=session,
            security=Security.from_settings(settings),
            actor=actor,
            username=username,
            full_name=full_name,
            password=password,
            email=email,
        )
        if role is not None:
            trial_row = trial_service.find_trial(session, trial)
            site_id = (
                trial_service.find_site(session, trial_id=trial_row.id, code=site).id
                if site
                else None
            )
            users.grant_role(
                session=session,
                actor=actor,
                user_id=view.id,
                trial_id=trial_row.id,
                role=role,
                site_id=site_id,
            )
    granted = f" as {role.value}" + (f" at {site}" if site else "") if role else ""
    typer.echo(f"user {username} (id {view.id}) created{granted}")


@app.command("email")
def email(
    username: str = typer.Argument(..., help="Login name."),
    address: str = typer.Argument("", help="E-mail address (empty: remove it)."),
) -> None:
    """Set the address a user's notifications are e-mailed to."""
    settings = cli_settings()
    with service_transaction(settings) as session:
        user_id = users.user_id_by_name(session, username)
        view = users.set_email(
            session=session, actor=cli_actor(), user_id=user_id, email=address or None
        )
    typer.echo(f"user {username}: notifications e-mailed to {view.email or '(nobody; inbox only)'}")
