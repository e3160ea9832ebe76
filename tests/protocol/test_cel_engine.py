"""Loading a protocol runs CEL without importing the ``cel`` package's command line."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_loading_a_protocol_does_not_import_the_cel_command_line() -> None:
    out = _run(
        "import sys\n"
        "from trialkit.protocol import load_protocol\n"
        "from trialkit.protocol.rules import compile_rule, to_activation\n"
        "load_protocol('sor')\n"
        "rule = compile_rule('add_months(\"2008-01-31\", 1) == \"2008-02-29\"', where='test')\n"
        "assert rule.evaluate_bool(to_activation({})) is True\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('prompt_toolkit', 'pygments', 'rich', 'typer', 'cel')))\n"
    )
    assert out == "['cel.cel']"


def test_a_later_import_of_cel_shares_the_engine_the_rules_loaded() -> None:
    out = _run(
        "from trialkit.protocol import rules\n"
        "import cel\n"
        "print(cel.compile is rules.cel.compile, cel.Context is rules.cel.Context)\n"
    )
    assert out == "True True"
