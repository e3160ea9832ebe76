"""``trialkit notifications``: run the worker that e-mails the outbox's notifications."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from trialkit.cli._common import print_json
from trialkit.cli._db import cli_settings, open_database
from trialkit.service.platform import delivery

__all__ = ["app"]

app = typer.Typer(help="Notifications: deliver the outbox's e-mails.", no_args_is_help=True)


@app.command("deliver")
def deliver(
    once: bool = typer.Option(
        False, "--once", help="Send what is due now, then stop (default: run until stopped)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object (with --once)."),
) -> None:
    """E-mail the due notifications over TRIALKIT_SMTP_HOST, retrying failures with back-off."""
    settings = cli_settings()
    if not settings.smtp_host:
        typer.echo(
            "warning: TRIALKIT_SMTP_HOST is not set; e-mails wait in the outbox "
            "(the in-app inbox works without it)",
            err=True,
        )
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if not once:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        typer.echo(
            f"Delivering notifications every {settings.notify_poll_seconds:g} s (Ctrl-C stops)"
        )
    with open_database(settings) as database:
        report = delivery.run_worker(database, settings, once=once, stop=stop)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary())
