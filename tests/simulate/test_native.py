"""The CPU kernel as object code: loaded without numba, the same trials, a cache that is safe."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trialkit.protocol import Protocol
from trialkit.simulate import native
from trialkit.simulate.backends.numba import drawn_statistics, kernel_statistics
from trialkit.simulate.engine import simulate
from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.model import flat_model
from trialkit.simulate.scenario import scenario_from_protocol
from trialkit.simulate.streams import batch_seed, stream_draws

_CHILD = """
import json, sys
from trialkit.protocol import load_protocol
from trialkit.simulate import native
from trialkit.simulate.engine import simulate
from trialkit.simulate.scenario import scenario_from_protocol
result = simulate(scenario_from_protocol(load_protocol("sor")), 3000, 17, workers=2)
print(json.dumps({
    "numba imported": "numba" in sys.modules,
    "kernel": native.status().path,
    "power": result.logrank_reject_rate,
    "hr quantiles": result.hr_quantiles,
    "mean analysis time": result.mean_analysis_time,
}))
"""


def test_this_machine_runs_the_object_code() -> None:
    # CI's platform (Linux, x86-64) must take the fast path, not the in-process fallback
    status = native.status()
    assert status.path == "native", status.detail
    assert native.cache_file().is_file()


def test_a_run_loads_the_kernel_without_numba_and_simulates_the_same_trials(
    sor: Protocol,
) -> None:
    native.kernel()  # the cache file exists (compiled here if this is the first use)
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, check=True
    )
    child = json.loads(done.stdout)
    assert child["numba imported"] is False
    assert child["kernel"] == "native"
    here = simulate(scenario_from_protocol(sor), 3000, 17, workers=1)
    assert child["power"] == here.logrank_reject_rate
    assert child["hr quantiles"] == here.hr_quantiles
    assert child["mean analysis time"] == here.mean_analysis_time


def test_the_fallback_compiled_in_process_gives_the_same_statistics(
    sor: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    # where the object code cannot be loaded (a symbol this process lacks), numba's own
    # compile of the same kernel runs instead, and says why
    scenario = scenario_from_protocol(sor, entry="fixed", allocation="simple", dropout_rate=0.2)
    loaded = drawn_statistics(scenario, 23, 1, 300)
    monkeypatch.setattr(native, "_resolve", lambda symbols: ["no_such_symbol"])
    monkeypatch.setattr(native, "_loaded", None)
    fallback = native.kernel()
    assert native.status().path == "numba"
    assert "no_such_symbol" in native.status().detail
    again = drawn_statistics(scenario, 23, 1, 300)
    host = kernel_statistics(scenario, stream_draws(scenario, 23, 1, 300))
    for a, b, c in zip(loaded.arrays(), again.arrays(), host.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert native.kernel() is fallback  # loaded once per process
    # the benchmarks' path: this cfunc emitted and loaded as object code, as a run loads it
    monkeypatch.undo()
    emitted = native.object_kernel(fallback._owner)
    out = LookStatistics(*(np.empty_like(a) for a in loaded.arrays()))
    emitted(batch_seed(23, 1), flat_model(scenario), out)
    for a, b in zip(loaded.arrays(), out.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pickle", pickle.dumps((1, "name", [], "0" * 64, b"object code")),
     pickle.dumps((999, "name", [], "0" * 64, b"x")), pickle.dumps("something else")],
    ids=["empty", "garbage", "wrong digest", "other format", "other object"],
)  # fmt: skip
def test_a_damaged_cache_file_is_not_loaded(tmp_path: Path, content: bytes) -> None:
    # a cache file that is not exactly what was written (its digest is checked) is ignored and
    # compiled again: its bytes never reach LLVM, which would abort the process on bad code
    path = tmp_path / "native_batch-x.bin"
    path.write_bytes(content)
    assert native._read(path) is None
    assert native._read(tmp_path / "missing.bin") is None


def test_the_cache_round_trips_and_an_unwritable_folder_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "kernel" / "native_batch-x.bin"
    native._write(path, "f", ["exp", "log1p"], b"\x7fELF code")
    assert native._read(path) == ("f", ["exp", "log1p"], b"\x7fELF code")
    blocked = tmp_path / "a file"
    blocked.write_text("in the way")
    native._write(blocked / "native_batch-x.bin", "f", [], b"code")  # no error: not cached
    assert not (blocked / "native_batch-x.bin").exists()


def test_the_cache_key_follows_the_sources_and_numba_s_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    path = native.cache_file()
    assert path.parent == tmp_path / "trialkit"
    monkeypatch.setattr(native, "_SOURCES", ("trial.py", "model.py", "streams.py"))
    assert native.cache_file() != path  # another source set: another key


@pytest.mark.parametrize("beside_the_sources", [True, False])
def test_a_new_cache_file_removes_the_earlier_versions_beside_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beside_the_sources: bool
) -> None:
    # beside the sources an earlier version's file (same machine, other source hash, or the
    # old one-hash name) is never read again; another machine's, numba's and a shared
    # folder's files are kept
    monkeypatch.setattr(native, "__file__", str(tmp_path / "simulate" / "native.py"))
    folder = tmp_path / "simulate" / "__pycache__" if beside_the_sources else tmp_path / "shared"
    folder.mkdir(parents=True)
    earlier = ["native_batch-aaaa-0000.bin", f"native_batch-{'c' * 32}.bin"]
    kept = ["native_batch-bbbb-0000.bin", "trial.cpu_batch-541.py311.nbi"]
    for name in earlier + kept:
        (folder / name).write_bytes(b"old")
    native._write(folder / "native_batch-aaaa-1111.bin", "f", [], b"code")
    left = sorted(path.name for path in folder.iterdir())
    assert left == sorted(
        ["native_batch-aaaa-1111.bin", *kept, *([] if beside_the_sources else earlier)]
    )


def test_the_kernel_refuses_buffers_of_another_type(sor: Protocol) -> None:
    # it reads raw memory: a wrong dtype or a strided view would be read as garbage
    model = flat_model(scenario_from_protocol(sor))
    run = native.kernel()

    def outputs(dtype: str = "float64") -> list[np.ndarray]:
        return [np.empty((4, 1), dtype), np.empty((4, 1), np.int64)] + [
            np.empty((4, 1)) for _ in range(4)
        ]

    with pytest.raises(ValueError, match="float64"):
        run(1, model, LookStatistics(*outputs("float32")))
    strided = outputs()
    strided[2] = np.empty((4, 2))[:, :1]
    with pytest.raises(ValueError, match="C-contiguous"):
        run(1, model, LookStatistics(*strided))
    short = outputs()
    short[5] = np.empty((3, 1))
    with pytest.raises(ValueError, match="one shape"):
        run(1, model, LookStatistics(*short))
    good = outputs()
    run(1, model, LookStatistics(*good))
    assert np.isfinite(good[0]).all()
