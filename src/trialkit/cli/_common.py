"""What every command shares: how errors reach the user, and how JSON is printed.

The CLI is a thin adapter: it parses options, calls the core or the service,
and translates :class:`trialkit.errors.TrialkitError` into exit code 2 with one
line on stderr. Nothing below the CLI prints or exits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from trialkit.errors import TrialkitError

__all__ = ["EXIT_BAD_INPUT", "fail", "print_json", "user_errors"]

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit with code 2."""
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors into one line on stderr and exit code 2 (never a traceback)."""
    try:
        yield
    except TrialkitError as exc:
        fail(str(exc))


def _default(value: Any) -> Any:
    for attr in ("model_dump", "isoformat", "tolist"):
        method: Callable[..., Any] | None = getattr(value, attr, None)
        if method is not None:
            return method(mode="json") if attr == "model_dump" else method()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def print_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, default=_default, indent=2, allow_nan=False) + "\n")
