"""The ``trialkit`` command: a thin adapter over the core and the service.

Every sub-command lives in its own module and is registered here by name only:
the module is imported when the command runs (or its own ``--help`` is asked
for), so ``trialkit --help`` and each command start without importing the
heavy libraries of the others (numba, matplotlib, WeasyPrint, FastAPI...).
Bad input of any kind (unknown option, malformed file, invalid value) ends
with exit code 2 and exactly one line on stderr.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from trialkit import __version__
from trialkit.cli._common import EXIT_BAD_INPUT

__all__ = ["COMMANDS", "DEPRECATED_NAMES", "LazyCommand", "app", "load_command", "main", "run"]


@dataclass(frozen=True)
class LazyCommand:
    """One sub-command, registered by where it lives rather than by its object.

    Attributes
    ----------
    module:
        Module under ``trialkit.cli`` that defines it.
    attribute:
        ``app`` (a ``typer.Typer`` group) or the name of a command function.
    help:
        The one-line help shown by ``trialkit --help``; a test checks it equals
        the help of the loaded command, so the listing needs no import.
    """

    module: str
    attribute: str
    help: str

    @property
    def is_group(self) -> bool:
        """Whether the attribute is a ``typer.Typer`` group (``app``)."""
        return self.attribute == "app"


# Order as ``trialkit --help`` has always listed them: commands, then groups.
COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand(
        "serve", "serve", "Serve the trial service's API (OpenAPI docs at /docs)."
    ),
    "simulate": LazyCommand(
        "simulate",
        "simulate_command",
        "Simulate whole trials of a protocol: decision rule, log-rank power, analysis time.",
    ),
    "report": LazyCommand(
        "report", "report", "Write the trial report: CONSORT flow, efficacy, safety and subgroups."
    ),
    "protocol": LazyCommand("protocol", "app", "Show a protocol."),
    "eligibility": LazyCommand(
        "eligibility", "app", "Check a screening record against a protocol's eligibility criteria."
    ),
    "design": LazyCommand(
        "design",
        "app",
        "Statistical design: protocol claims, sample size, decision rules, boundaries.",
    ),
    "analyze": LazyCommand("analyze", "app", "Analyse trial data."),
    "recist": LazyCommand("recist", "app", "Tumour response by RECIST 1.1."),
    "endpoints": LazyCommand(
        "endpoints", "app", "Endpoints and analysis datasets from the trial database."
    ),
    "export": LazyCommand("export", "app", "Export the captured clinical data (SDTM, ODM)."),
    "randomisation": LazyCommand(
        "randomisation",
        "app",
        "Seal and verify a trial's allocation and kit lists; generate or verify list files.",
    ),
    "predict": LazyCommand("predict", "app", "Forecast enrolment and events from blinded data."),
    "demo": LazyCommand(
        "demo", "app", "The demo: protocol and example verdicts; 'seed' makes the demo trial."
    ),
    "db": LazyCommand("db", "app", "Database schema migrations."),
    "trials": LazyCommand("trials", "app", "Trials run by this service."),
    "sites": LazyCommand("sites", "app", "Sites: add, approve, activate, list."),
    "users": LazyCommand("users", "app", "User accounts and roles."),
    "sessions": LazyCommand("sessions", "app", "Login sessions: end the ones that ran out."),
    "notifications": LazyCommand(
        "notifications", "app", "Notifications: deliver the outbox's e-mails."
    ),
    "safety": LazyCommand("safety", "app", "Safety: overdue SAE reports, the MedDRA release."),
    "audit": LazyCommand("audit", "app", "The audit trail."),
    "lock": LazyCommand(
        "lock", "app", "Freeze and lock data: a form record, a patient, a site, the database."
    ),
    "datacut": LazyCommand("datacut", "app", "Data cut packages: make one, verify one."),
}


DEPRECATED_NAMES = {"randomization": "randomisation"}
"""Old spellings still accepted, not listed: each runs its command after a note on stderr."""

Command = TyperCommand | TyperGroup
"""A built sub-command: a single command or a group (typer's public classes)."""


def load_command(name: str) -> Command:
    """Import the module of command ``name`` and build its click command.

    A group is built exactly as ``Typer.add_typer`` would (always a group, even
    with one sub-command); a single command as ``Typer.command`` would.
    """
    spec = COMMANDS[name]
    target = getattr(importlib.import_module(f"trialkit.cli.{spec.module}"), spec.attribute)
    command: Command
    if spec.is_group:
        command = typer.main.get_group(target)
    else:
        holder = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        holder.command(name)(target)
        built = typer.main.get_command(holder)
        assert isinstance(built, TyperCommand)  # one command, no callback: not a group
        command = built
    command.name = name
    return command


class _LazyGroup(TyperGroup):
    """Root group whose sub-commands are imported only when one is used.

    Listing them (``trialkit --help``) uses the help text of :data:`COMMANDS`,
    so it imports nothing; running one, or asking for its own help, imports
    that command's module only. Python has no library hook for this (click's
    documented recipe is exactly such a ``get_command`` override).

    The context and help formatter are passed through untouched and typed ``Any``: typer
    vendors click and names their classes only in its private ``typer._click``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Command] = {}
        self._placeholders: dict[str, TyperCommand] = {}
        self._listing = False
        for name, spec in COMMANDS.items():
            self._placeholders[name] = TyperCommand(name, help=spec.help)
            self.commands[name] = self._placeholders[name]

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:
        if cmd_name in DEPRECATED_NAMES and not self._listing:
            new = DEPRECATED_NAMES[cmd_name]
            sys.stderr.write(f"note: 'trialkit {cmd_name}' is now 'trialkit {new}'\n")
            cmd_name = new
        if cmd_name not in COMMANDS:
            return None  # only COMMANDS are registered (the root has no other sub-command)
        if self._listing:
            return self._loaded.get(cmd_name, self._placeholders[cmd_name])
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(cmd_name)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="trialkit",
    cls=_LazyGroup,
    help="Run a randomised clinical trial end to end from one protocol written as data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,  # before the sub-command is required: 'trialkit --version' alone works
        callback=_print_version,
    ),
) -> None:
    del show_version  # handled by its callback


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
    """Console-script entry point.

    OpenBLAS (numpy's and SciPy's each load a copy) starts a worker thread per core as it
    loads, and each spins for about 0.1 s waiting for work that trialkit never gives it (no
    command does dense linear algebra large enough to share). On two cores that took 0.3 s
    of CPU and 0.14 s of wall time from every ``trialkit simulate``, so the command line
    runs OpenBLAS on one thread unless ``OPENBLAS_NUM_THREADS`` is already set.

    Before the interpreter shuts down, every object is moved to the garbage collector's
    permanent generation (``gc.freeze``), so the shutdown's collections leave them to the
    operating system instead of finding and finalising them one cycle at a time: for
    numba's loaded kernel and its LLVM objects that took 0.25 s of a 1 s
    ``trialkit simulate``. Files are closed and output flushed by then; the exit code is
    the command's.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
