"""``trialkit lock``: freeze or lock a trial's data, list what is frozen or locked, release."""

from __future__ import annotations

import typer

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.cli._db import cli_actor, cli_settings, service_transaction
from trialkit.service.capture.outcomes import acting_user
from trialkit.service.platform.anchors import Anchoring
from trialkit.service.trials import locks, trials
from trialkit.service.trials.locks import Level

__all__ = ["app"]

app = typer.Typer(
    help="Freeze and lock data: a form record, a patient, a site, the database.",
    no_args_is_help=True,
)
TrialOption = typer.Option("SOR", "--trial", "-t", help="Trial acronym.")


def _anchoring() -> Anchoring | None:
    settings = cli_settings()
    with user_errors():
        return Anchoring.from_paths(settings.audit_anchor_key, settings.audit_anchor_dir)


@app.command("set")
def set_(
    level: str = typer.Option(..., "--level", help="freeze (no edits) or lock (nothing changes)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    user: str = typer.Option(..., "--user", help="The data manager who sets it."),
    trial: str = TrialOption,
    site: str | None = typer.Option(None, "--site", help="A site code (else the whole trial)."),
    patient: int | None = typer.Option(None, "--patient", help="A patient id."),
    form: str | None = typer.Option(None, "--form", help="A form of --patient (with --key)."),
    key: str | None = typer.Option(None, "--key", help="The form record's key (AE-1, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the lock as one JSON object."),
) -> None:
    """Freeze or lock the trial's database, a site, a patient or one form record."""
    if level not in ("freeze", "lock"):
        fail(f"--level {level!r}: give freeze or lock")
    anchoring = _anchoring()
    with service_transaction() as session:
        found = trials.find_trial(session, trial)
        site_id = (
            None if site is None else trials.find_site(session, trial_id=found.id, code=site).id
        )
        view = locks.set_lock(
            session=session,
            actor=acting_user(session=session, username=user, request_id=cli_actor().request_id),
            trial_id=found.id,
            level=Level(level),
            reason=reason,
            site_id=site_id,
            patient_id=patient,
            form=form,
            record_key=key,
            anchoring=anchoring,
        )
    if as_json:
        print_json(view)
    else:
        typer.echo(f"{view.level} {view.id}: {view.label}")


@app.command("list")
def list_(
    trial: str = TrialOption,
    released: bool = typer.Option(False, "--released", help="Include released ones."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """The trial's freezes and locks in force."""
    with service_transaction() as session:
        found = trials.find_trial(session, trial)
        rows = locks.list_locks(
            session=session, actor=cli_actor(), trial_id=found.id, active=not released
        )
    if as_json:
        print_json({"locks": rows})
        return
    for row in rows:
        state = f" released: {row.release_reason}" if row.released_at else ""
        typer.echo(f"{row.level} {row.id}: {row.label} ({row.reason}){state}")


@app.command("release")
def release(
    lock_id: int = typer.Argument(..., help="The freeze or lock."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    user: str | None = typer.Option(
        None, "--user", help="Act as this user (default: the operator, an administrator)."
    ),
) -> None:
    """Release a freeze or unlock a lock (an administrator), with a reason."""
    anchoring = _anchoring()
    with service_transaction() as session:
        actor = (
            cli_actor()
            if user is None
            else acting_user(session=session, username=user, request_id=cli_actor().request_id)
        )
        view = locks.release(
            session=session, actor=actor, lock_id=lock_id, reason=reason, anchoring=anchoring
        )
    typer.echo(f"{view.level} {view.id} released: {view.label}")
