"""The CUDA backend (:mod:`trialkit.simulate.backends.cuda`) under numba's CUDA simulator.

numba reads ``NUMBA_ENABLE_CUDASIM`` once, when it is first imported, and the rest of
the suite has imported it for the CPU kernel; so each check runs in a fresh Python
with the variable set, and reports back as one JSON line. Expected values: the compiled
CPU kernel (the same source, :mod:`trialkit.simulate.trial`) on the same host draws (to
1e-9), and the CPU kernel's own draws of the same seed (the device draws the same streams:
the same trials). The PTX test compiles the kernel for a real GPU (NVVM), which the
simulator does not.
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

pytestmark = pytest.mark.cudasim

_EQUALITY = textwrap.dedent(
    """
    import json
    import numpy as np
    from trialkit.protocol import load_protocol
    from trialkit.simulate.backends.cuda import cuda_statistics
    from trialkit.simulate.backends.numba import kernel_statistics
    from trialkit.simulate.generate import RawDraws, draw
    from trialkit.simulate.scenario import scenario_from_protocol

    reports = []
    for overrides, trials, tie_step in json.loads({args!r}):
        scenario = scenario_from_protocol(load_protocol("sor"), **overrides)
        raw = draw(scenario, np.random.default_rng(11), trials)
        if tie_step:  # coarse draws: many tied times within and across arms
            raw = RawDraws(spacings=raw.spacings, allocation=raw.allocation,
                           pfs=np.ceil(raw.pfs / tie_step) * tie_step, dropout=raw.dropout)
        got = cuda_statistics(scenario, trials, raw=raw).arrays()
        want = kernel_statistics(scenario, raw).arrays()
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
    from trialkit.simulate.backends.cuda import cuda_batches, cuda_statistics
    from trialkit.simulate.backends.registry import get_backend
    from trialkit.simulate.scenario import scenario_from_protocol

    scenario = scenario_from_protocol(load_protocol("sor"), n=40, events=24)
    trials = 192
    dev = cuda_statistics(scenario, trials, seed=5, index=0).arrays()
    again = cuda_statistics(scenario, 8, seed=5, index=0).arrays()  # its first 8 trials again
    other = cuda_statistics(scenario, 8, seed=5, index=1).arrays()
    together = [b.arrays() for b in cuda_batches(scenario, 5, [(1, 8), (0, 12)])]
    cpu = get_backend("numba").statistics(scenario, 5, 0, trials).arrays()
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
        "same_trials": all(np.array_equal(a, b, equal_nan=True) for a, b in zip(dev[:2], cpu[:2]))
                       and all(np.allclose(a, b, rtol=0, atol=1e-9, equal_nan=True)
                               for a, b in zip(dev[2:], cpu[2:])),
        "trials": trials,
    }}))
    """
)


_SEEDING = textwrap.dedent(
    """
    import json
    import numpy as np
    from trialkit.simulate.backends.cuda import _states, thread_states

    batches = [(3, 4), (0, 2), (7, 130)]
    got, want = thread_states(9, batches), _states(9, batches)
    print(json.dumps({"equal": bool(np.array_equal(got[:, 0], want["s0"])
                                    and np.array_equal(got[:, 1], want["s1"])),
                      "rows": len(got)}))
    """
)

_TALLY = textwrap.dedent(
    """
    import json, math
    import numpy as np
    from trialkit.protocol import load_protocol
    from trialkit.simulate.backends.cuda import cuda_batches, cuda_tally, tally_on_device
    from trialkit.simulate.looks import LookStatistics, tally_statistics
    from trialkit.simulate.results import Tally
    from trialkit.simulate.scenario import scenario_from_protocol

    def host(scenario, batches, stats):
        tally, start = Tally(looks=len(scenario.look_events)), 0
        for index, size in batches:
            part = LookStatistics(*(s[start:start + size] for s in stats))
            tally_statistics(scenario, index, part, tally)
            start += size
        return tally

    def compare(got, want):
        problems = []
        for key in ("trials", "decision", "logrank", "hr_missing"):
            if getattr(got, key) != getattr(want, key):
                problems.append(key)
        for key in ("stopped", "reached", "time_hist", "hr_hist"):
            if not np.array_equal(getattr(got, key), getattr(want, key)):
                problems.append(key)
        if sorted(got.sums) != sorted(want.sums):
            problems.append("sum keys")
        worst = 0.0
        for index, sums in want.sums.items():
            for g, w in zip(got.sums.get(index, ()), sums, strict=True):
                if w == int(w) and g != w:  # event counts: exact
                    problems.append(f"sum {{index}}")
                worst = max(worst, abs(g - w) / max(abs(w), 1e-300))
        return problems, worst

    reports = {{}}
    # 1. crafted outputs: every branch of the rule, bins at and beyond both ends
    rng = np.random.default_rng(2)
    scenario = scenario_from_protocol(load_protocol("sor"), information_rates=[0.4, 0.7, 1])
    batches = [(5, 300), (2, 128), (9, 5), (0, 1)]
    rows = sum(size for _, size in batches)
    times = rng.uniform(0, 60, (rows, 3))
    times[:7, 2] = [0.0, 999.9995, 1000.0, 2500.0, 1e-3, 0.0005, 59.9999]
    events = rng.integers(0, 200, (rows, 3))
    o, e = rng.uniform(0, 60, (rows, 3)), rng.uniform(0, 60, (rows, 3))
    v = rng.uniform(0, 30, (rows, 3))
    v[rng.random((rows, 3)) < 0.1] = 0.0
    v[:7] = 0.0  # no crossing: the rows below stop at the last look
    beta = rng.normal(-0.3, 0.6, (rows, 3))
    pick = rng.random((rows, 3))
    beta[pick < 0.05] = np.nan
    beta[(pick > 0.05) & (pick < 0.08)] = np.inf
    beta[(pick > 0.08) & (pick < 0.11)] = -np.inf
    beta[:4, 2] = [8.0, -8.0, 7.99995, math.log(scenario.decision_hr)]
    stats = (times, events, o, e, v, beta)
    reports["crafted"] = compare(tally_on_device(scenario, batches, stats),
                                 host(scenario, batches, stats))
    # 2. the kernel's own outputs, two looks, dropout (monotone likelihoods included)
    small = scenario_from_protocol(load_protocol("sor"), n=16, events=10, dropout_rate=0.3,
                                   information_rates=[0.5, 1])
    batches = [(1, 130), (0, 7)]
    stats = [np.concatenate(parts)
             for parts in zip(*(b.arrays() for b in cuda_batches(small, 4, batches)))]
    reports["kernel"] = compare(cuda_tally(small, 4, batches), host(small, batches, stats))
    # 3. the launch layout does not matter: batch by batch equals all in one launch
    apart = Tally(looks=2)
    for batch in batches[::-1]:
        apart.add(cuda_tally(small, 4, [batch]))
    reports["layout"] = compare(apart, cuda_tally(small, 4, batches))
    print(json.dumps(reports))
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
    # Breslow ties (the CUDA copy of the kernel once ignored the switch and used Efron)
    ({"n": 24, "events": 16, "hr": 1.0, "entry": "fixed", "ties": "breslow"}, 32, 0.25),
    ({"dropout_rate": 0.2, "ties": "breslow", "information_rates": [0.5, 1]}, 16, 0.02),
]  # fmt: skip


@pytest.fixture(scope="module")
def equality_reports() -> list[dict[str, Any]]:
    """All cases in one simulated interpreter (its start-up and imports cost seconds)."""
    reports: list[dict[str, Any]] = _simulated(_EQUALITY.format(args=json.dumps(CASES)))
    return reports


@pytest.mark.parametrize("case", range(len(CASES)))
def test_simulated_cuda_kernel_equals_the_cpu_kernel_on_the_same_draws_either_ties(
    equality_reports: list[dict[str, Any]], case: int
) -> None:
    report = equality_reports[case]
    assert report["error"] == "", report["error"]
    if CASES[case][0].get("n") == 10:  # the case exists: monotone likelihoods
        assert report["infinite_hr"] > 0


@pytest.fixture(scope="module")
def tally_reports() -> dict[str, Any]:
    reports: dict[str, Any] = _simulated(_TALLY.format())
    return reports


@pytest.mark.parametrize("case", ["crafted", "kernel", "layout"])
def test_device_tally_equals_the_host_tally_of_the_same_outputs(
    tally_reports: dict[str, Any], case: str
) -> None:
    # counts, histograms and integer sums exactly; float sums to rounding (summation order)
    problems, worst = tally_reports[case]
    assert problems == []
    assert worst <= (0.0 if case == "layout" else 1e-12)


def test_device_draws_are_the_cpu_kernels_trials() -> None:
    r = _simulated(_DISTRIBUTION.format())
    assert r["repeat_equal"] is True  # one seed, one stream
    assert r["index_differs"] is True  # each logical batch its own stream
    assert r["launch_free"] is True  # whatever batches share a kernel launch
    assert r["dev_events"] == 24  # every trial reached its 24th event
    assert r["same_trials"] is True  # the CPU kernel draws the same streams in its registers
    assert r["dev_mean"] == pytest.approx(r["cpu_mean"], rel=1e-12)
    assert r["dev_o"] == pytest.approx(r["cpu_o"], rel=1e-12)


_PTX = textwrap.dedent(
    """
    import json, re, shutil, subprocess, sys, tempfile
    from pathlib import Path
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda, types
    from trialkit.simulate.backends.cuda import make_kernel, make_tally_kernel

    class Hopper:  # no device here: compiling device functions only asks its compute capability
        compute_capability = (9, 0)

    dispatcher.get_current_device = lambda: Hopper()
    f2, i2, b2 = types.float64[:, :], types.int64[:, :], types.boolean[:, :]
    f1, i1, u1, n1 = types.float64[:], types.int64[:], types.uint64[:], types.int32[:]
    flag, real = types.boolean, types.float64
    sig = (u1, i1, f2, i2, f2, f2, f2, flag, flag, real, b2, real,
           f1, f1, f1, f1, f1, f1, f1, f1, i1, flag, u1, f1, f1, f2, i2, f2, f2, f2, f2)
    ptxs = []
    # two kernels take every switch both ways (each compile costs about 15 s of a busy core)
    for switches in [(True, False, False),  # SOR: random entry, blocks, device draws
                     (False, True, True)]:  # fixed entry, simple allocation, host draws
        ptx, _ = cuda.compile_ptx(make_kernel(220, 3, *switches).py_func, sig, cc=(9, 0))
        assert ".entry" in ptx
        ptxs.append(ptx)
    tally_sig = (i1, i1, f2, i2, f2, f2, f2, f2, f1, types.float64, i2, f2, f2, n1, n1, n1)
    ptx, _ = cuda.compile_ptx(make_tally_kernel(3).py_func, tally_sig, cc=(9, 0))
    assert ".entry" in ptx
    stack = []
    ptxas = {ptxas!r} or shutil.which("ptxas")
    if ptxas:  # the SOR kernel's local memory, as the compiler for sm_90 lays it out
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp, "sor.ptx")
            source.write_text(ptxs[0])
            out = subprocess.run([ptxas, "-arch=sm_90", "-v", str(source), "-o", "/dev/null"],
                                 capture_output=True, text=True, check=True).stderr
        stack = [int(x) for x in re.findall(r"(\\d+) bytes stack frame", out)]
    print(json.dumps({{"stack": stack}}))
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
    ptxas = Path(home, "bin", "ptxas")
    proc = subprocess.run(
        [sys.executable, "-c", _PTX.format(ptxas=str(ptxas) if ptxas.exists() else "")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    stack = json.loads(proc.stdout.strip().splitlines()[-1])["stack"]
    if stack:  # per patient: 4 float64 times, 2 flag bytes, 6 int16 (make_kernel's arrays)
        assert stack[0] <= 220 * (4 * 8 + 2 + 6 * 2) + 512, stack


def test_state_seeding_is_vignassplitmix64() -> None:
    from trialkit.simulate.backends.cuda import _states
    from trialkit.simulate.streams import batch_seed, splitmix64

    def reference(x: int, count: int) -> list[int]:  # splitmix64.c (Vigna 2015), line by line
        out, mask = [], 2**64 - 1
        for _ in range(count):
            x = (x + 0x9E3779B97F4A7C15) & mask
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            out.append(z ^ (z >> 31))
        return out

    assert [int(v) for v in splitmix64(1234567, 5)] == reference(1234567, 5)
    states = _states(9, [(3, 4), (0, 2)])
    words = reference(batch_seed(9, 3), 8) + reference(batch_seed(9, 0), 4)
    assert [int(v) for v in states["s0"]] == words[0::2]
    assert [int(v) for v in states["s1"]] == words[1::2]


def test_threads_seed_themselves_as_the_host_reference() -> None:
    r = _simulated(_SEEDING)
    assert r["equal"] is True
    assert r["rows"] == 4 + 2 + 130
