"""The ``trialkit`` command: a thin adapter over the core and the service.

Every sub-command lives in its own module and is registered here. Bad input of
any kind (unknown option, malformed file, invalid value) ends with exit code 2
and exactly one line on stderr.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from trialkit import __version__
from trialkit.cli import (
    analyze,
    audit,
    db,
    demo,
    design,
    eligibility,
    endpoints,
    export,
    predict,
    protocol,
    randomization,
    recist,
    report,
    serve,
    simulate,
    sites,
    trials,
    users,
)
from trialkit.cli._common import EXIT_BAD_INPUT

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="trialkit",
    help="Run a randomised clinical trial end to end from one protocol written as data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(protocol.app, name="protocol")
app.add_typer(eligibility.app, name="eligibility")
app.add_typer(design.app, name="design")
app.add_typer(analyze.app, name="analyze")
app.add_typer(recist.app, name="recist")
app.add_typer(endpoints.app, name="endpoints")
app.add_typer(export.app, name="export")
app.add_typer(randomization.app, name="randomization")
app.add_typer(predict.app, name="predict")
app.add_typer(demo.app, name="demo")
app.add_typer(db.app, name="db")
app.add_typer(trials.app, name="trials")
app.add_typer(sites.app, name="sites")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.command("serve")(serve.serve)
app.command("simulate")(simulate.simulate_command)
app.command("report")(report.report)


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if show_version:
        typer.echo(__version__)
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; usage errors become one line on stderr and exit code 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="trialkit", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    except TyperException as exc:
        # usage errors (unknown option, missing argument, bad value): one line, exit 2
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        sys.stderr.write("error: " + " ".join(str(message).split()) + hint + "\n")
        return int(getattr(exc, "exit_code", EXIT_BAD_INPUT))
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
