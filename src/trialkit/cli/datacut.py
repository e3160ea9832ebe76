"""``trialkit datacut``: make a signed data cut package of a locked database; verify one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.cli._db import cli_actor, cli_settings, service_transaction

__all__ = ["app"]

app = typer.Typer(help="Data cut packages: make one, verify one.", no_args_is_help=True)
EXIT_TAMPERED = 1


@app.command("make")
def make(
    out: Path = typer.Option(..., "--out", help="The package file (.zip) or a directory for it."),
    user: str = typer.Option(..., "--user", help="Who makes it (data manager: blinded report)."),
    key: Path = typer.Option(..., "--key", help="Their Ed25519 private key (PEM) that signs it."),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Data cut-off (ISO date)."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
) -> None:
    """Make the package of the locked database at the cut-off, signed by --user's --key."""
    from trialkit.service.capture.outcomes import acting_user
    from trialkit.service.oversight.datacut import make_data_cut
    from trialkit.service.platform.anchors import Anchoring, load_private_key
    from trialkit.service.trials import trials

    try:
        day = dt.date.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        fail(f"--cutoff {cutoff!r} is not an ISO date (YYYY-MM-DD)")
    settings = cli_settings()
    with user_errors():
        signing = load_private_key(key, what="--key")
        anchoring = Anchoring.from_paths(settings.audit_anchor_key, settings.audit_anchor_dir)
    with service_transaction(settings) as session:
        actor = acting_user(session=session, username=user, request_id=cli_actor().request_id)
        cut = make_data_cut(
            session=session,
            actor=actor,
            trial_id=trials.find_trial(session, trial).id,
            key=signing,
            cutoff=day,
            anchoring=anchoring,
        )
    path = out / cut.filename if out.is_dir() else out
    path.write_bytes(cut.content)
    typer.echo(f"data cut package written to {path} ({len(cut.manifest['members'])} members)")


@app.command("verify")
def verify(
    package: Path = typer.Argument(..., help="The package (.zip)."),
    key: Path | None = typer.Option(
        None, "--key", help="The maker's public (or private) key, PEM: proves who signed it."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Check the signature and every member's SHA-256; exit 1 naming a tampered member."""
    from trialkit.service.oversight.datacut import verify_package
    from trialkit.service.platform.anchors import load_public_key

    with user_errors():
        public = load_public_key(key) if key is not None else None
        report = verify_package(package, public=public)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(EXIT_TAMPERED)
