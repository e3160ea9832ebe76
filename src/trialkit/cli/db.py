"""``trialkit db``: create or change the schema (Alembic migrations, the only way)."""

from __future__ import annotations

import typer

from trialkit.cli._db import open_database
from trialkit.service.platform.db import migrate

__all__ = ["app"]

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Option("head", "--revision", help="Target revision."),
) -> None:
    """Migrate the database (TRIALKIT_DATABASE_URL) up to a revision, the newest by default."""
    with open_database() as database:
        migrate.upgrade(database.engine, revision)
        typer.echo(f"{database.url}: at revision {migrate.current_revision(database.engine)}")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision ('base': empty).")) -> None:
    """Migrate the database down to a revision."""
    with open_database() as database:
        migrate.downgrade(database.engine, revision)
        typer.echo(f"{database.url}: at revision {migrate.current_revision(database.engine)}")


@app.command("current")
def current() -> None:
    """Print the database's revision and the newest one."""
    with open_database() as database:
        typer.echo(
            f"{database.url}: at revision {migrate.current_revision(database.engine)} "
            f"(newest {migrate.head_revision()})"
        )
