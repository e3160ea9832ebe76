"""``trialkit recist``: evaluate a patient's tumour measurements by RECIST 1.1.

Thin adapter: reads the lesion file, calls :func:`trialkit.endpoints.evaluate_recist` with the
protocol's response rules, prints a table or one JSON object (the stable contract is
:meth:`trialkit.endpoints.RecistEvaluation.as_dict`).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.endpoints import LesionRecord, RecistEvaluation, evaluate_recist, parse_lesion_record
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.protocol import load_protocol

__all__ = ["app", "read_lesions", "render_evaluation"]

app = typer.Typer(help="Tumour response by RECIST 1.1.", no_args_is_help=True)


def read_lesions(path: Path) -> LesionRecord:
    """Read and validate a lesion file (exit 2 with the JSON path when malformed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file; give the path of a lesion record JSON file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the file ({exc})")
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})")
    with user_errors():
        return parse_lesion_record(data, source=str(path))


@app.command("evaluate")
def evaluate(
    lesions: Path = typer.Argument(..., help="Lesion record (JSON).", dir_okay=False),
    protocol: str = typer.Option(
        "sor", "--protocol", "-p", help="Bundled protocol name or file path (response rules)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Baseline checks, response at each assessment, best overall response, progression date."""
    with user_errors():
        criteria = load_protocol(protocol).response or DEFAULT_CRITERIA
    record = read_lesions(lesions)
    result = evaluate_recist(record, criteria)
    if as_json:
        print_json(result.as_dict())
    else:
        render_evaluation(result, Console(), title=str(lesions))


def _num(value: float | None, fmt: str = "g") -> str:
    return "-" if value is None else format(value, fmt)


def render_evaluation(result: RecistEvaluation, console: Console, *, title: str) -> None:
    """The assessments as a table, with the baseline, findings and best overall response."""
    b = result.baseline
    console.print(f"[bold]{title}[/bold]", highlight=False)
    console.print(
        f"  baseline: {b.targets} target(s), sum {b.sum_mm:g} mm; {b.non_targets} non-target(s)",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("date", no_wrap=True)
    for column in ("sum mm", "vs base %", "vs nadir %", "target", "non-target", "new"):
        table.add_column(column)
    table.add_column("overall", style="bold", no_wrap=True)
    for a in result.assessments:
        table.add_row(
            a.date.isoformat(),
            _num(a.target.sum_mm),
            _num(a.target.change_from_baseline_pct, "+.1f"),
            _num(a.target.change_from_nadir_pct, "+.1f"),
            a.target.response,
            a.non_target_response,
            a.new_lesions,
            a.overall_response,
        )
    console.print(table)
    confirm = "required" if result.criteria.confirmation_required else "not required"
    console.print(f"  {result.best} (confirmation {confirm})", highlight=False)
    confirmed = "yes" if result.confirmed_response else "no"
    console.print(f"  confirmed response: {confirmed}", highlight=False)
    console.print(f"  date of progression: {result.date_of_progression or 'none'}", highlight=False)
    for finding in result.findings:
        console.print(f"  [yellow]finding[/yellow] {escape(str(finding))}", highlight=False)
