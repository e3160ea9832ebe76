"""``trialkit audit``: verify the hash chain; export the trail for an inspector."""

from __future__ import annotations

from pathlib import Path

import typer

from trialkit.cli._common import fail, print_json
from trialkit.cli._db import service_transaction
from trialkit.service.platform import audit

__all__ = ["app"]

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
EXIT_BROKEN = 1


@app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Walk the hash chain; exit 1 and name the first broken link if it is broken."""
    with service_transaction() as session:
        report = audit.verify_trail(session=session)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary(), err=not report.intact)
    if not report.intact:
        raise typer.Exit(EXIT_BROKEN)


@app.command("export")
def export(
    output: Path = typer.Option(..., "--output", "-o", help="File to write ('-': stdout)."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv or json."),
) -> None:
    """Write the whole trail as CSV or JSON (JSON includes the verification report)."""
    if fmt not in ("csv", "json"):
        fail(f"--format must be csv or json, not {fmt!r}")
    with service_transaction() as session:
        text = audit.export_trail(session=session, fmt="json" if fmt == "json" else "csv")
    if str(output) == "-":
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"audit trail written to {output} ({fmt})", err=True)
