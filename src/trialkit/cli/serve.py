"""``trialkit serve``: run the API with uvicorn; ``--demo`` seeds the demo trial, prints its users.

In demo mode the service's calendar date is the demo's data cut-off unless
``TRIALKIT_CALENDAR_DATE`` pins another.

The API and the pages are loaded by uvicorn from their factory
(``trialkit.service.server:create_server``), which reads the settings from the environment: the CLI
and the API stay
independent layers, and ``--workers`` can start several processes.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import cast

import typer
import uvicorn

from trialkit.cli._common import fail, user_errors
from trialkit.cli.demo import echo_seed, seed_into_database
from trialkit.config import load_settings
from trialkit.demodata import Scenario
from trialkit.service.demo import DEFAULT_PATIENTS, DEFAULT_SEED, DemoOptions

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
