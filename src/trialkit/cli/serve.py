"""``trialkit serve``: run the API with uvicorn; ``--demo`` seeds and prints demo users.

The API and the pages are loaded by uvicorn from their factory (``trialkit.server:create_server``),
which reads the settings from the environment: the CLI and the API stay
independent layers, and ``--workers`` can start several processes.
"""

from __future__ import annotations

import os
import secrets

import typer
import uvicorn

from trialkit.cli._common import fail, user_errors
from trialkit.cli._db import open_database
from trialkit.config import load_settings
from trialkit.service import Security, transaction
from trialkit.service.demo import seed_demo

__all__ = ["serve"]

APP_FACTORY = "trialkit.server:create_server"


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default $PORT or 8000)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    demo: bool = typer.Option(False, "--demo", help="Demo mode: seed the demo trial and users."),
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
    if settings.demo:
        with open_database(settings) as database, user_errors(), transaction(database) as session:
            demo_users = seed_demo(session=session, security=Security.from_settings(settings))
        typer.echo("Demo mode: these accounts work only while TRIALKIT_DEMO is set.")
        for user in demo_users:
            where = f" at {user.site}" if user.site else ""
            typer.echo(f"  {user.role.value:<24} {user.username:<14} {user.password}{where}")
    if bind_host not in {"127.0.0.1", "localhost", "::1"} and not settings.cookie_secure:
        typer.echo("warning: serving beyond loopback without TRIALKIT_COOKIE_SECURE=1", err=True)
    typer.echo(f"Serving trialkit on http://{bind_host}:{bind_port} (pages: /, API docs: /docs)")
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            log_level="info",
        )
    except OSError as exc:
        fail(f"cannot serve on {bind_host}:{bind_port}: {exc.strerror} (set PORT to another port)")
