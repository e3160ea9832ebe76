"""``trialkit simulate --backend cuda``: one-line refusals here, the whole path under the simulator.

Without a CUDA device (as on CI) the backend exits 2 with one line saying so; under
numba's CUDA simulator (a fresh interpreter, see ``test_cuda_kernel.py``) the CLI runs
the kernel end to end, and with ``--host-draws`` its result is the numba backend's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trialkit.cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "cuda"], "--backend: backend cuda needs an NVIDIA GPU"),
        (["--backend", "cudaa"], "--backend: backend must be one of numba, cuda, numpy"),
    ],
)
def test_cuda_backend_refusals_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["simulate", "--trials", "100", *argv]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1
    assert message in out.err
    assert "Traceback" not in out.err


_RUN = textwrap.dedent(
    """
    import json, sys
    from trialkit.cli.main import main
    base = ["simulate", "--n", "20", "--events", "12", "--trials", "70", "--seed", "4",
            "--information-rates", "0.5,1", "--json"]
    for extra in (["--backend", "numba", "--dump-trial", "65", {cpu!r}],
                  ["--backend", "cuda", "--host-draws"],
                  ["--backend", "cuda", "--dump-trial", "65", {dev!r}]):
        code = main(base + extra)
        sys.stdout.write("\\n\\x1e\\n")  # record separator
        assert code == 0, code
    """
)


@pytest.mark.cudasim
def test_cli_runs_the_simulated_kernel_on_the_cpus_trials(tmp_path: Path) -> None:
    cpu_csv, dev_csv = tmp_path / "cpu.csv", tmp_path / "dev.csv"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-c", _RUN.format(cpu=str(cpu_csv), dev=str(dev_csv))],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    cpu, host, own = (json.loads(r) for r in proc.stdout.split("\x1e") if r.strip())
    assert host["backend"] == own["backend"] == "cuda"
    # the device draws the CPU's streams: the same trials with its own draws or the host's
    for got in (host, own):
        for key in ("reject_rate", "logrank_reject_rate", "mean_events"):
            assert got[key] == cpu[key], key
        assert got["mean_analysis_time"] == pytest.approx(cpu["mean_analysis_time"], rel=1e-12)
    assert own["trials"] == 70
    assert dev_csv.read_text() == cpu_csv.read_text()  # the same patients
    for key, value in cpu["dumped_trial"].items():  # the trial's statistics, to rounding
        if isinstance(value, float):
            assert own["dumped_trial"][key] == pytest.approx(value, rel=1e-9), key
