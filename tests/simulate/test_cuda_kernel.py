"""The CUDA kernel (:mod:`trialkit.simulate.cuda_kernel`) under numba's CUDA simulator.

numba reads ``NUMBA_ENABLE_CUDASIM`` once, when it is first imported, and the rest of
the suite has imported it for the CPU kernel; so each check runs in a fresh Python
with the variable set, and reports back as one JSON line. Expected values: the fused
CPU kernel (:mod:`trialkit.simulate.fused`) on the same host draws (to 1e-9), and a
CPU run of the same scenario for the device's own stream (within Monte Carlo error).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

_EQUALITY = textwrap.dedent(
    """
    import json
    import numpy as np
    from trialkit.protocol import load_protocol
    from trialkit.simulate.cuda_kernel import cuda_statistics
    from trialkit.simulate.fused import fused_statistics
    from trialkit.simulate.generate import RawDraws, draw
    from trialkit.simulate.scenario import scenario_from_protocol

    reports = []
    for overrides, trials, tie_step in json.loads({args!r}):
        scenario = scenario_from_protocol(load_protocol("sor"), **overrides)
        raw = draw(scenario, np.random.default_rng(11), trials)
        if tie_step:  # coarse draws: many tied times within and across arms
            raw = RawDraws(spacings=raw.spacings, allocation=raw.allocation,
                           pfs=np.ceil(raw.pfs / tie_step) * tie_step, dropout=raw.dropout)
        got = cuda_statistics(scenario, trials, raw=raw)
        want = fused_statistics(scenario, raw)
        report = {{"infinite_hr": int(np.isinf(want[5]).sum()), "error": ""}}
        try:
            np.testing.assert_array_equal(got[1], want[1])
            for g, w in zip(got[:1] + got[2:], want[:1] + want[2:], strict=True):
                np.testing.assert_array_equal(np.isinf(g), np.isinf(w))
                np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
                np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)
        except AssertionError as exc:
            report["error"] = str(exc)
        reports.append(report)
    print(json.dumps(reports))
    """
)

_DISTRIBUTION = textwrap.dedent(
    """
    import json
    import numpy as np
    from trialkit.protocol import load_protocol
    from trialkit.simulate.cuda_kernel import cuda_batches, cuda_statistics
    from trialkit.simulate.engine import batch_statistics
    from trialkit.simulate.scenario import scenario_from_protocol

    scenario = scenario_from_protocol(load_protocol("sor"), n=40, events=24)
    trials = 192
    dev = cuda_statistics(scenario, trials, seed=5, index=0)
    again = cuda_statistics(scenario, 8, seed=5, index=0)  # thread i: the i-th jump-ahead
    other = cuda_statistics(scenario, 8, seed=5, index=1)
    together = cuda_batches(scenario, 5, [(1, 8), (0, 12)])  # one launch, two streams
    cpu = batch_statistics(scenario, 5, 0, 4000)
    print(json.dumps({{
        "repeat_equal": all(np.array_equal(a[:8], b, equal_nan=True) for a, b in zip(dev, again)),
        "index_differs": not np.array_equal(dev[0][:8], other[0]),
        "launch_free": all(np.array_equal(a, b, equal_nan=True) for a, b in zip(together[0], other))
                       and all(np.array_equal(a[:12], b, equal_nan=True)
                               for a, b in zip(dev, together[1])),
        "dev_mean": float(dev[0][:, -1].mean()), "dev_sd": float(dev[0][:, -1].std()),
        "cpu_mean": float(cpu[0][:, -1].mean()), "cpu_sd": float(cpu[0][:, -1].std()),
        "dev_events": int(dev[1][:, -1].min()),
        "dev_o": float(dev[2][:, -1].mean()), "cpu_o": float(cpu[2][:, -1].mean()),
        "trials": trials,
    }}))
    """
)


def _simulated(code: str) -> Any:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


CASES = [
    ({}, 24, 0.0),  # SOR: 220 patients, permuted blocks, random entry
    ({"dropout_rate": 0.3, "information_rates": [0.5, 0.75, 1]}, 16, 0.0),
    ({"allocation": "simple", "entry": "fixed", "accrual_rates": [8, 20],
      "accrual_breaks": [6]}, 16, 0.0),
    ({"hazards_control": [0.088, 0.088], "hazards_treatment": [0.088, 0.05],
      "pfs_breaks": [3]}, 16, 0.0),
    ({"n": 24, "events": 16, "hr": 1.0, "entry": "fixed"}, 32, 0.25),  # ties within and across arms
    ({"n": 10, "events": 10, "dropout_rate": 0.5, "dropout_time": 1}, 48, 0.0),  # monotone
]  # fmt: skip


@pytest.fixture(scope="module")
def equality_reports() -> list[dict[str, Any]]:
    """All cases in one simulated interpreter (its start-up and imports cost seconds)."""
    reports: list[dict[str, Any]] = _simulated(_EQUALITY.format(args=json.dumps(CASES)))
    return reports


@pytest.mark.parametrize("case", range(len(CASES)))
def test_simulated_kernel_equals_the_fused_cpu_kernel_on_the_same_draws(
    equality_reports: list[dict[str, Any]], case: int
) -> None:
    report = equality_reports[case]
    assert report["error"] == "", report["error"]
    if CASES[case][0].get("n") == 10:  # the case exists: monotone likelihoods
        assert report["infinite_hr"] > 0


def test_device_draws_agree_with_the_cpu_in_distribution() -> None:
    r = _simulated(_DISTRIBUTION.format())
    assert r["repeat_equal"] is True  # one seed, one stream
    assert r["index_differs"] is True  # each logical batch its own stream
    assert r["launch_free"] is True  # whatever batches share a kernel launch
    assert r["dev_events"] == 24  # every trial reached its 24th event
    se = r["dev_sd"] / r["trials"] ** 0.5
    assert abs(r["dev_mean"] - r["cpu_mean"]) < 4 * se
    assert r["dev_sd"] == pytest.approx(r["cpu_sd"], rel=0.25)
    assert r["dev_o"] == pytest.approx(r["cpu_o"], rel=0.1)


_PTX = textwrap.dedent(
    """
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda, types
    from numba.cuda.random import xoroshiro128p_dtype
    from numba.np.numpy_support import from_dtype
    from trialkit.simulate.cuda_kernel import make_kernel

    class Hopper:  # no device here: compiling device functions only asks its compute capability
        compute_capability = (9, 0)

    dispatcher.get_current_device = lambda: Hopper()
    f2, i2, b2 = types.float64[:, :], types.int64[:, :], types.boolean[:, :]
    f1, i1 = types.float64[:], types.int64[:]
    states = types.Array(from_dtype(xoroshiro128p_dtype), 1, "C")
    sig = (states, f2, i2, f2, f2, f2, types.float64, b2, types.float64,
           f1, f1, f1, f1, f1, f1, f1, f1, i1, f2, i2, f2, f2, f2, f2)
    for switches in [(True, False, True, True, False, False),  # SOR, device draws
                     (True, False, True, True, True, True),  # dropout, host draws
                     (False, True, False, False, True, False)]:  # piecewise everything, simple
        ptx, _ = cuda.compile_ptx(make_kernel(220, 3, 4, 55, 6, *switches).py_func, sig,
                                  cc=(9, 0))
        assert ".entry" in ptx
    print("{{}}")
    """
)


def _nvvm_home() -> str | None:
    candidates = [os.environ.get("CUDA_HOME", ""), "/usr/local/cuda", *sorted(
        (str(p) for p in Path("/usr/local").glob("cuda-*")), reverse=True)]  # fmt: skip
    for home in candidates:
        if home and any(Path(home).glob("nvvm/libdevice/libdevice*.bc")):
            return home
    return None


def test_kernel_compiles_to_ptx_for_a_hopper_gpu() -> None:
    # typing and lowering on the real CUDA target (what the simulator does not check);
    # needs the CUDA toolkit's NVVM, not a GPU
    home = _nvvm_home()
    if home is None:
        pytest.skip("no CUDA toolkit (NVVM, libdevice) on this machine")
    env = dict(os.environ, CUDA_HOME=home, PYTHONWARNINGS="ignore")
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PTX.format()], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_state_seeding_is_vignas_splitmix64() -> None:
    from trialkit.simulate.cuda_kernel import _splitmix64, _states, batch_seed

    def reference(x: int, count: int) -> list[int]:  # splitmix64.c (Vigna 2015), line by line
        out, mask = [], 2**64 - 1
        for _ in range(count):
            x = (x + 0x9E3779B97F4A7C15) & mask
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            out.append(z ^ (z >> 31))
        return out

    assert [int(v) for v in _splitmix64(1234567, 5)] == reference(1234567, 5)
    states = _states(9, [(3, 4), (0, 2)])
    words = reference(batch_seed(9, 3), 8) + reference(batch_seed(9, 0), 4)
    assert [int(v) for v in states["s0"]] == words[0::2]
    assert [int(v) for v in states["s1"]] == words[1::2]
