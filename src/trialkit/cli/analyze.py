"""``trialkit analyze``: statistical analyses of trial data files.

Thin adapter: reads the CSV, calls :func:`trialkit.analysis.two_arm_survival`, prints
a table or one JSON object, and turns bad input into exit code 2 with one line.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from trialkit.analysis import TwoArmSurvival, two_arm_survival
from trialkit.cli._common import fail, print_json, user_errors
from trialkit.errors import InputError

__all__ = ["app", "read_columns"]

app = typer.Typer(help="Analyse trial data.", no_args_is_help=True, add_completion=False)

_TIES = ("efron", "breslow")
_CONF_TYPES = ("log-log", "log", "plain")


def read_columns(path: Path, columns: dict[str, str]) -> tuple[dict[str, list[str]], list[int]]:
    """Read the named CSV columns as strings, keyed by role (``{"time": "pfs_days"}``).

    Also returns the file line number of each data row, so that errors can name it.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError("the file is empty; it needs a header row", location=str(path))
            header = [h.strip() for h in header]
            index = {}
            for role, name in columns.items():
                if name not in header:
                    raise InputError(
                        f"no column {name!r} for --{role} (columns: {', '.join(header)}); "
                        "pass one of these names",
                        location=str(path),
                    )
                index[role] = header.index(name)
            out: dict[str, list[str]] = {role: [] for role in columns}
            lines: list[int] = []
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(
                        f"row has {len(row)} fields but the header has {len(header)}; "
                        "fix the quoting or the separators",
                        location=f"{path}:{line}",
                    )
                lines.append(line)
                for role, i in index.items():
                    out[role].append(row[i].strip())
    except FileNotFoundError as exc:
        raise InputError("file not found; check the path", location=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc}); check it is a UTF-8 CSV") from exc
    return out, lines


def _numbers(
    values: list[str], *, path: Path, column: str, lines: list[int]
) -> np.ndarray[Any, np.dtype[Any]]:
    out = np.empty(len(values))
    for k, text in enumerate(values):
        try:
            out[k] = float(text)
        except ValueError:
            raise InputError(
                f"column {column!r} has {text!r}, not a number; fix or remove that row",
                location=f"{path}:{lines[k]}",
            ) from None
    return out


def _fmt(v: float | None, digits: int = 4) -> str:
    return "NR" if v is None else f"{v:.{digits}g}"


def _print_table(result: TwoArmSurvival, conf_type: str) -> None:
    console = Console()
    arms = Table(title=f"Kaplan-Meier by arm (95% CI, {conf_type})")
    for col in ("arm", "n", "events", "median", "95% CI"):
        arms.add_column(col, justify="left" if col == "arm" else "right")
    for level, km in result.curves.items():
        med = km.median
        arms.add_row(
            level,
            str(km.n),
            str(km.events),
            _fmt(med.estimate),
            f"{_fmt(med.lower)} - {_fmt(med.upper)}",
        )
    console.print(arms)
    tests = Table(title=f"{result.other} vs {result.reference}")
    for col in ("analysis", "statistic", "p", "HR (95% CI)"):
        tests.add_column(col, justify="left" if col == "analysis" else "right")
    tests.add_row("log-rank", f"chisq {result.logrank.chisq:.4f}", f"{result.logrank.p:.4g}", "")
    if result.stratified_logrank is not None:
        s = result.stratified_logrank
        tests.add_row("stratified log-rank", f"chisq {s.chisq:.4f}", f"{s.p:.4g}", "")
    for label, fit in (("Cox", result.cox), ("stratified Cox", result.stratified_cox)):
        if fit is None:
            continue
        tests.add_row(
            f"{label} ({fit.ties})",
            f"Wald {fit.wald.statistic:.4f}",
            f"{fit.p[0]:.4g}",
            f"{fit.hr[0]:.3f} ({fit.hr_lower[0]:.3f} - {fit.hr_upper[0]:.3f})",
        )
    console.print(tests)


@app.command("survival")
def survival(
    data: Annotated[Path, typer.Argument(help="CSV file, one row per subject, with a header.")],
    time: Annotated[str, typer.Option("--time", help="Column with follow-up times (>= 0).")],
    event: Annotated[str, typer.Option("--event", help="Column with 1 = event, 0 = censored.")],
    group: Annotated[str, typer.Option("--group", help="Column with the arm (two levels).")],
    reference: Annotated[str, typer.Option("--reference", help="Control level of --group.")],
    strata: Annotated[str | None, typer.Option("--strata", help="Column with strata.")] = None,
    ties: Annotated[str, typer.Option("--ties", help="Cox ties: efron or breslow.")] = "efron",
    conf_type: Annotated[
        str, typer.Option("--conf-type", help="KM CI transform: log-log, log or plain.")
    ] = "log-log",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write KM curves to FILE.png or FILE.svg.")
    ] = None,
) -> None:
    """KM by arm, (stratified) log-rank and Cox HR of the other arm vs --reference."""
    if ties not in _TIES:
        fail(f"--ties must be one of {', '.join(_TIES)}, got {ties!r}")
    if conf_type not in _CONF_TYPES:
        fail(f"--conf-type must be one of {', '.join(_CONF_TYPES)}, got {conf_type!r}")
    with user_errors():
        columns = {"time": time, "event": event, "group": group}
        if strata is not None:
            columns["strata"] = strata
        raw, lines = read_columns(data, columns)
        if not raw["time"]:
            raise InputError("the file has no data rows", location=str(data))
        try:
            result = two_arm_survival(
                _numbers(raw["time"], path=data, column=time, lines=lines),
                _numbers(raw["event"], path=data, column=event, lines=lines),
                np.asarray(raw["group"]),
                reference,
                strata=None if strata is None else np.asarray(raw["strata"]),
                ties=ties,  # type: ignore[arg-type]
                conf_type=conf_type,  # type: ignore[arg-type]
                names=(time, event, group, strata or "strata"),
            )
        except InputError as exc:
            if exc.location.startswith(str(data)):
                raise
            # The core counts data rows from 1; the user needs the file's line number.
            message = re.sub(
                r"data row (\d+)", lambda m: f"line {lines[int(m[1]) - 1]}", exc.message
            )
            raise InputError(message, location=str(data)) from exc
        if plot is not None:
            from trialkit.report.km_plot import plot_km

            plot_km(result.curves, plot, title=f"{result.other} vs {result.reference}")
    if as_json:
        print_json(result.to_dict())
    else:
        _print_table(result, conf_type)
