"""The ``trialkit`` command: a thin adapter over the core and the service.

Every sub-command lives in its own module and is registered here. Bad input of
any kind (unknown option, malformed file, invalid value) ends with exit code 2
and exactly one line on stderr.
"""

from __future__ import annotations

import sys

import click
import typer

from trialkit import __version__
from trialkit.cli import analyze
from trialkit.cli._common import EXIT_BAD_INPUT

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="trialkit",
    help="Run a randomised clinical trial end to end from one protocol written as data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(analyze.app, name="analyze")


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
    except click.UsageError as exc:
        hint = (
            f" (see 'trialkit {exc.ctx.command_path.split(' ', 1)[-1]} --help')" if exc.ctx else ""
        )
        sys.stderr.write("error: " + " ".join(exc.format_message().split()) + hint + "\n")
        return EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        sys.stderr.write("aborted\n")
        return 1
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
