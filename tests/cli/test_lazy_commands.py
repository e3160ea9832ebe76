"""Commands are imported only when used: the listing needs none, and says what the commands say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trialkit.cli.main import COMMANDS, load_command, main

HEAVY = ("sqlalchemy", "scipy", "matplotlib", "weasyprint", "numba", "numpy", "pandas", "fastapi")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_is_the_command_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert (command.short_help or command.help) == COMMANDS[name].help


def _imported_after(args: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from trialkit.cli.main import main\n"
        f"assert main({args!r}) == 0\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(out.splitlines()[-1].split())  # the help comes first


def test_the_listing_and_a_light_command_import_nothing_heavy() -> None:
    for args in (["--help"], ["report", "--help"], ["protocol", "--help"], ["simulate", "--help"]):
        modules = _imported_after(args)
        assert not {m for m in modules if m.split(".")[0] in HEAVY}, args


#: what ``trialkit simulate`` never needs: scipy's statistics and optimisers (the design uses
#: its own root finder and scipy.special's normal), cel's command line, rich's progress bar
#: (a terminal and 10^5 trials only), the database, and the CUDA backend
NOT_FOR_SIMULATE = (
    "scipy.stats", "scipy.optimize", "prompt_toolkit", "pygments", "rich.progress",
    "sqlalchemy", "numba.cuda", "trialkit.simulate.backends.cuda", "matplotlib", "pandas",
)  # fmt: skip


def test_simulate_imports_only_what_a_simulation_needs() -> None:
    from trialkit.simulate import native

    native.kernel()  # the kernel's object code cached (compiled here on a fresh clone)
    modules = _imported_after(["simulate", "--protocol", "sor", "--trials", "100", "--json"])
    assert "trialkit.simulate.native" in modules  # it did simulate, with the compiled kernel
    heavy = {m for m in modules if m.startswith(NOT_FOR_SIMULATE)}
    assert not heavy
    # the cached object code runs without numba or its kernel source (numba's start-up)
    assert not {m for m in modules if m == "numba" or m == "trialkit.simulate.trial"}


def test_the_console_entry_exits_with_the_commands_code_and_output(tmp_path: Path) -> None:
    """``run`` (the ``trialkit`` script) freezes the heap before exiting; nothing is lost."""
    dump = tmp_path / "trial.csv"
    code = "from trialkit.cli.main import run\nrun()\n"
    argv = [sys.executable, "-c", code, "simulate", "--trials", "50", "--json"]
    done = subprocess.run(
        [*argv, "--dump-trial", "3", str(dump)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trials"] == 50
    assert dump.read_text(encoding="utf-8").count("\n") == 221  # header and 220 patients
    bad = subprocess.run([*argv, "--jsn"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: No such option: --jsn")


@pytest.mark.parametrize(("preset", "seen"), [(None, "1"), ("3", "3")])
def test_the_console_entry_runs_openblas_on_one_thread_unless_told(
    preset: str | None, seen: str
) -> None:
    # OpenBLAS reads the variable as numpy loads it: it must be set before the command runs;
    # at exit (the Python threads joined) only OpenBLAS's own workers are left beside main
    code = (
        "import atexit, os, sys\n"
        "from trialkit.cli.main import run\n"
        "tasks = lambda: len(os.listdir('/proc/self/task')) if os.path.isdir('/proc') else 0\n"
        "atexit.register(lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'), "
        "'numpy' in sys.modules, tasks()))\n"
        "run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    argv = [sys.executable, "-c", code, "simulate", "--trials", "50", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    value, numpy_loaded, tasks = done.stdout.splitlines()[-1].split()
    assert (value, numpy_loaded) == (seen, "True")
    if int(tasks) and (os.cpu_count() or 1) > 1:  # Linux, more than one core
        assert (int(tasks) == 1) == (preset is None)


def test_an_unknown_command_still_suggests_a_near_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repor"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "No such command 'repor'" in err
    assert "'report'" in err


def test_version_alone_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    from trialkit import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
