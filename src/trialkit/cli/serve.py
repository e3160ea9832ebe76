"""``trialkit serve``: run the API with uvicorn; ``--demo`` seeds the demo trial, prints its users.

In demo mode the service's calendar date is the demo's data cut-off unless
``TRIALKIT_CALENDAR_DATE`` pins another.

The API and the pages are loaded by uvicorn from their factory
(``trialkit.service.server:create_server``), which reads the settings from the environment: the CLI
and the API stay
independent layers, and ``--workers`` can start several processes. The notification worker runs
in a thread of the parent process (``--no-deliver``: not at all).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import cast

import typer
import uvicorn

from trialkit.cli._common import fail, user_errors
from trialkit.cli.demo import echo_seed, seed_into_database
from trialkit.config import load_settings
from trialkit.demodata import Scenario
from trialkit.service.demo import DEFAULT_PATIENTS, DEFAULT_SEED, DemoOptions
from trialkit.service.platform import delivery
from trialkit.service.platform.db.database import create_database

__all__ = ["cpu_cores", "serve"]

APP_FACTORY = "trialkit.service.server:create_server"


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default $PORT or 8000)."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        max=64,
        help="Worker processes on one port (default: the number of CPU cores).",
    ),
    demo: bool = typer.Option(False, "--demo", help="Demo mode: seed the demo trial and users."),
    scenario: str = typer.Option(
        "alt", "--scenario", help="Demo: alt (PFS medians 7.9 vs 12.2 months) or null."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", min=0, help="Demo: seed of the demo data."),
    patients: int = typer.Option(
        DEFAULT_PATIENTS, "--patients", min=1, max=1000, help="Demo: women screened."
    ),
    deliver: bool = typer.Option(
        True,
        "--deliver/--no-deliver",
        help="E-mail notifications from a background worker (when TRIALKIT_SMTP_HOST is set); "
        "--no-deliver when 'trialkit notifications deliver' runs elsewhere.",
    ),
) -> None:
    """Serve the trial service's API (OpenAPI docs at /docs)."""
    if demo:
        os.environ["TRIALKIT_DEMO"] = "1"
    with user_errors():
        settings = load_settings()
        settings.require_safe()
    if settings.demo and not os.environ.get("TRIALKIT_SECRET_KEY"):
        # one key for every worker of this server; demo sessions end when it stops
        os.environ["TRIALKIT_SECRET_KEY"] = secrets.token_urlsafe(32)
    bind_host, bind_port = host or settings.host, port or settings.port
    processes = workers or cpu_cores()
    if settings.demo:
        with user_errors():
            options = DemoOptions(scenario=cast(Scenario, scenario), seed=seed, patients=patients)
        started = time.perf_counter()
        outcome = seed_into_database(settings, options)
        echo_seed(outcome, time.perf_counter() - started)
        if outcome.cutoff is not None and not os.environ.get("TRIALKIT_CALENDAR_DATE"):
            # the workers read their settings from the environment
            os.environ["TRIALKIT_CALENDAR_DATE"] = outcome.cutoff.isoformat()
        typer.echo(f"Calendar date: {os.environ.get('TRIALKIT_CALENDAR_DATE') or 'today'}")
    if bind_host not in {"127.0.0.1", "localhost", "::1"} and not settings.cookie_secure:
        typer.echo("warning: serving beyond loopback without TRIALKIT_COOKIE_SECURE=1", err=True)
    typer.echo(
        f"Serving trialkit on http://{bind_host}:{bind_port} (pages: /, API docs: /docs), "
        f"{processes} worker process{'' if processes == 1 else 'es'}"
    )
    stop_delivery = _start_delivery(deliver)
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=processes,
            log_level="info",
        )
    except OSError as exc:
        fail(f"cannot serve on {bind_host}:{bind_port}: {exc.strerror} (set PORT to another port)")
    finally:
        if stop_delivery is not None:
            stop_delivery.set()


def _start_delivery(deliver: bool) -> threading.Event | None:
    """The notification worker in a thread of this (the parent) process, once per server."""
    if not deliver:
        typer.echo("Notification e-mails: not delivered here (--no-deliver)")
        return None
    settings = load_settings()
    if not settings.smtp_host:
        typer.echo("Notification e-mails: off (set TRIALKIT_SMTP_HOST); the inbox works without")
        return None
    typer.echo(
        f"Notification e-mails: via {settings.smtp_host}:{settings.smtp_port}, "
        f"every {settings.notify_poll_seconds:g} s"
    )
    database = create_database(settings.database_url, pool_size=2)
    return delivery.start_background(settings, database)
