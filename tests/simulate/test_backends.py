"""The backend registry: found by module, imported only when asked for, no import cycles."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import numpy as np
import pytest

import trialkit.simulate.backends as backends_package
from trialkit.errors import DesignInputError
from trialkit.protocol import Protocol
from trialkit.simulate.backends.registry import backend_names, get_backend
from trialkit.simulate.engine import simulate
from trialkit.simulate.scenario import scenario_from_protocol


def test_registry_lists_the_backend_modules_default_first() -> None:
    assert backend_names() == ("numba", "cuda", "numpy")
    for name in ("numba", "numpy"):
        backend = get_backend(name)
        assert backend.name == name
        assert backend.devices == 0


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(DesignInputError) as caught:
        get_backend("gpu")
    assert caught.value.location == "backend"
    assert "numba, cuda, numpy" in caught.value.message


_NEW_BACKEND = """
from trialkit.simulate.backends.numpy import NumpyBackend


class Mirror(NumpyBackend):
    name = "mirror"


BACKEND = Mirror()
"""


def test_adding_a_backend_is_adding_its_module(
    sor: Protocol, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mirror.py").write_text(_NEW_BACKEND)
    monkeypatch.setattr(backends_package, "__path__", [*backends_package.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "trialkit.simulate.backends.mirror", raising=False)
    assert "mirror" in backend_names()
    scenario = scenario_from_protocol(sor)
    got = simulate(scenario, 300, 2, backend="mirror")
    want = simulate(scenario, 300, 2, backend="numpy")
    assert got.backend == "mirror"
    assert got.reject_rate == want.reject_rate
    np.testing.assert_equal(got.hr_quantiles, want.hr_quantiles)


_ONLY_THE_BACKEND_USED = textwrap.dedent(
    """
    import json, sys
    from trialkit.protocol import load_protocol
    from trialkit.simulate.backends.registry import backend_names
    from trialkit.simulate.engine import simulate
    from trialkit.simulate.scenario import scenario_from_protocol

    listed = "numba" in sys.modules
    backend_names()
    listed = listed or "numba" in sys.modules
    simulate(scenario_from_protocol(load_protocol("sor")), 100, 1, backend="numpy")
    after_numpy = "numba" in sys.modules
    simulate(scenario_from_protocol(load_protocol("sor")), 100, 1)
    print(json.dumps({"listed": listed, "after_numpy": after_numpy,
                      "cuda": any(m.startswith(("numba.cuda", "numba_cuda")) for m in sys.modules),
                      "cuda_backend": "trialkit.simulate.backends.cuda" in sys.modules,
                      "gpu": [m for m in ("cupy", "torch") if m in sys.modules]}))
    """
)


def test_a_run_imports_only_the_backend_it_uses() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _ONLY_THE_BACKEND_USED], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "listed": False, "after_numpy": False, "cuda": False, "cuda_backend": False, "gpu": []
    }  # fmt: skip


def test_simulate_modules_import_each_other_without_cycles() -> None:
    # every import statement counts, those inside functions too (engine <-> gpu was one)
    graph = grimp.build_graph("trialkit", include_external_packages=False)
    modules = sorted(m for m in graph.modules if m.startswith("trialkit.simulate."))
    edges = {
        m: {n for n in graph.find_modules_directly_imported_by(m) if n in modules} for m in modules
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_a_device_backend_refuses_a_runner_before_looking_for_a_gpu(sor: Protocol) -> None:
    scenario = scenario_from_protocol(sor)
    with pytest.raises(DesignInputError) as caught:
        simulate(scenario, 100, 1, backend="cuda", runner=lambda task, chunks: map(task, chunks))
    assert caught.value.location == "runner"


def test_host_draws_are_the_trials_the_kernel_draws_itself(sor: Protocol) -> None:
    # the CPU backends take host_draws: the same streams drawn by numpy, the same result
    scenario = scenario_from_protocol(sor, information_rates=[0.5, 1], dropout_rate=0.1)

    def run(name: str, host: bool) -> dict[str, object]:
        got = simulate(scenario, 700, 4, backend=name, host_draws=host).to_dict()
        del got["elapsed_seconds"], got["backend"]
        return got

    own = run("numba", False)
    assert run("numba", True) == own
    assert run("numpy", True) == own


def test_dumped_trial_is_the_run_s_trial_with_the_protocol_s_arm_labels(sor: Protocol) -> None:
    from trialkit.simulate.dump import dump_trial

    scenario = scenario_from_protocol(sor, dropout_rate=0.2)
    dumped = dump_trial(scenario, 5000, 8, 4100)
    stats = get_backend("numba").statistics(scenario, 8, 1, 5000 - 4096)
    assert dumped.analysis_time == stats.time[4, -1]
    assert dumped.events == stats.events[4, -1]
    assert {p.arm for p in dumped.patients} == {"Sorafenib", "Placebo"}
    assert sum(p.event for p in dumped.patients) == dumped.events
