"""``trialkit demo``: what ``make run`` shows until the trial service exists.

The SOR protocol overview, then the eligibility verdict and background therapy of
every bundled example record.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from trialkit.cli._common import user_errors
from trialkit.cli.eligibility import read_record, render_outcome
from trialkit.cli.protocol import render_protocol
from trialkit.protocol import load_protocol
from trialkit.screening import screen

__all__ = ["demo"]


def demo(
    examples: Path = typer.Option(
        Path("examples/sor"), "--examples", help="Folder of example records."
    ),
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or file path."
    ),
) -> None:
    """Show the protocol and the verdicts of the example screening records."""
    console = Console()
    with user_errors():
        loaded = load_protocol(protocol)
    render_protocol(loaded, console)
    records = sorted(examples.glob("*.json"))
    console.rule(f"Example screening records ({len(records)} in {examples})")
    for path in records:
        outcome = screen(loaded, read_record(path))
        render_outcome(outcome, console, title=path.stem, brief=True)
        console.print()
