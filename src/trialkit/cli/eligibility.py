"""``trialkit eligibility``: the screening record's schema and the eligibility check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.errors import RecordError
from trialkit.protocol import Protocol, load_protocol
from trialkit.protocol.records import json_schema
from trialkit.screening import ScreeningOutcome, parse_screening_record, screen

__all__ = ["app", "read_record", "render_outcome"]

app = typer.Typer(
    help="Check a screening record against a protocol's eligibility criteria.", no_args_is_help=True
)

_STATUS_STYLE = {"met": "green", "not_met": "red", "unknown": "yellow"}


@app.command("schema")
def schema(
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or file path."
    ),
) -> None:
    """Print the JSON Schema of the protocol's screening form."""
    with user_errors():
        loaded = load_protocol(protocol)
    forms = loaded.forms
    if forms is None or forms.screening is None:
        fail(f"protocol {loaded.id} defines no screening form (forms: with used: screening)")
    print_json(json_schema(forms, forms.screening))


def read_record(path: Path, protocol: Protocol) -> dict[str, Any]:
    """Read and validate a screening record file (exit 2 with the JSON path when malformed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file; give the path of a screening record JSON file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the file ({exc})")
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})")
    try:
        return parse_screening_record(protocol, data)
    except RecordError as exc:  # the file, then the field's JSON path
        fail(f"{path}: {exc}")


@app.command("check")
def check(
    record: Path = typer.Argument(..., help="Screening record (JSON).", dir_okay=False),
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or file path."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Evaluate every criterion and assign the background therapy. Exits 0 whatever the verdict."""
    with user_errors():
        loaded = load_protocol(protocol)
    parsed = read_record(record, loaded)
    with user_errors():
        outcome = screen(loaded, parsed)
    if as_json:
        print_json(outcome.as_dict())
    else:
        render_outcome(outcome, Console(), title=str(record))


def render_outcome(
    outcome: ScreeningOutcome, console: Console, *, title: str, brief: bool = False
) -> None:
    """The eligibility checklist as a table, with the verdict and the background therapy."""
    result = outcome.eligibility
    colour = {True: "green", False: "red", None: "yellow"}[result.eligible]
    console.print(
        f"[bold]{title}[/bold]: [{colour}]{result.verdict.upper()}[/{colour}]", highlight=False
    )
    therapy = outcome.therapy
    label = therapy.label if therapy.assigned else "none - " + therapy.reason
    console.print(f"  background therapy: {label}", highlight=False)
    shown = list(result.criteria)
    if brief:  # the numbered criteria that block or are undecided, with their sub-items
        why = {c.id for c in result.blocking + result.undecided}
        shown = [c for c in shown if c.id in why or (c.parent in why and c.status != "met")]
    if shown:
        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column("criterion")
        table.add_column("status")
        table.add_column("reason", overflow="fold")
        for c in shown:
            status = "n/a" if not c.applicable else c.status.replace("_", " ")
            indent = "  " if c.parent else ""
            style = _STATUS_STYLE[c.status] if c.applicable else "dim"
            table.add_row(f"{indent}{c.id}", f"[{style}]{status}[/{style}]", c.reason)
        console.print(table)
    if result.missing:
        console.print("  missing: " + ", ".join(result.missing), highlight=False)
