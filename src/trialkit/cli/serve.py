"""``trialkit serve``: run the API with uvicorn; ``--demo`` seeds and prints demo users."""

from __future__ import annotations

import typer
import uvicorn

from trialkit.api import create_app
from trialkit.cli._common import user_errors
from trialkit.cli._db import open_database
from trialkit.config import load_settings
from trialkit.service import Security, transaction
from trialkit.service.demo import seed_demo

__all__ = ["serve"]


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default $PORT or 8000)."),
    demo: bool = typer.Option(False, "--demo", help="Demo mode: seed the demo trial and users."),
) -> None:
    """Serve the trial service's API (OpenAPI docs at /docs)."""
    overrides: dict[str, object] = {"demo": True} if demo else {}
    with user_errors():
        settings = load_settings(**overrides)
        settings.require_safe()
    bind_host, bind_port = host or settings.host, port or settings.port
    if settings.demo:
        with open_database(settings) as database, user_errors(), transaction(database) as session:
            demo_users = seed_demo(session=session, security=Security.from_settings(settings))
        typer.echo("Demo mode: these accounts work only while TRIALKIT_DEMO is set.")
        for user in demo_users:
            where = f" at {user.site}" if user.site else ""
            typer.echo(f"  {user.role.value:<24} {user.username:<14} {user.password}{where}")
    with user_errors():
        app = create_app(settings)
    typer.echo(f"Serving trialkit on http://{bind_host}:{bind_port} (API docs: /docs)")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="info")
