#!/usr/bin/env bash
# One-shot check of the GPU simulation backend (--backend cuda: the per-trial kernel of
# src/trialkit/simulate/trial.py compiled by numba.cuda) on a machine with an NVIDIA GPU:
# the device tests and the benchmark, logged to $OUT.
#
# Made for this workplace's device machine (x86-64, Python 3.12 with numba, numba-cuda,
# numpy, scipy and pytest installed, no network); see docs/performance.md,
# Simulation, "The device check", for fetching the wheels it installs and for the call.
# From the repository root:
#
#     bash benchmarks/device_check.sh            # every step: about 5 minutes, at most 505 s
#     STEPS="cuda_tests bench_cuda" bash benchmarks/device_check.sh   # a subset
#
# Steps (each independent, each under its own timeout; a failing step does not stop the
# others): env, install, imports, ptxas (not by default), cuda_tests, bench_cuda,
# bench_cuda_variants, bench_cpu (the numba backend on the machine's CPUs, for scale).
# Sizes: CUDA_TRIALS (default 10485760 per entry model), CPU_TRIALS (default 2000000).
# Output: $OUT/device_check.log (everything, with the commands: set -x) and
# $OUT/summary.txt (each step's exit status and time, and every trials/s line).

set -u -o pipefail
OUT=${OUT:-/tmp/device_check}
mkdir -p "$OUT"
LOG=$OUT/device_check.log
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
exec 3>&1 4>&2 > >(tee -a "$LOG") 2>&1

PY=${PYTHON:-python3}
STEPS=${STEPS:-"env install imports cuda_tests bench_cuda bench_cuda_variants bench_cpu"}
CUDA_TRIALS=${CUDA_TRIALS:-10485760}
CPU_TRIALS=${CPU_TRIALS:-2000000}
ROOT=$(pwd)
SITE=/tmp/trialkit_site
TESTS=/tmp/trialkit_device_tests
export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
unset NUMBA_ENABLE_CUDASIM

wanted() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# step NAME SECONDS COMMAND...: run one step under a timeout, log its status and time
step() {
    local name=$1 limit=$2 start rc
    shift 2
    wanted "$name" || return 0
    echo "=== $name: start $(date -u +%T), limit ${limit} s"
    start=$SECONDS
    # a child bash with -x: the functions below (exported) log every command they run
    timeout -k 10 "$limit" bash -x -c '"$@"' "$name" "$@"
    rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start)) s"
    echo "$name: exit $rc, $((SECONDS - start)) s$([ "$rc" = 124 ] && echo ' (timed out)')" >>"$SUMMARY"
    return 0
}

env_report() {
    uname -a
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
    "$PY" --version
    "$PY" -m pip list 2>/dev/null | grep -i -E '^(numba|numba-cuda|numba_cuda|numpy|scipy|pytest|llvmlite|cuda-)' || true
    ls -d /usr/local/cuda* 2>/dev/null || true
    nproc
}

install_wheels() {
    # trialkit's pure-Python dependencies missing from the image (pydantic, CEL, ...)
    if ! ls "$ROOT"/.whl/*.whl >/dev/null 2>&1; then
        echo "no wheels in .whl/: nothing to install (imports may fail; see RESULTS.md)"
        return 0
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" "$ROOT"/.whl/*.whl
}

check_imports() {
    "$PY" - <<'EOF'
import importlib, sys
for name in ("numpy", "scipy", "numba", "numba_cuda", "pydantic", "cel"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"), getattr(module, "__file__", ""))
    except Exception as exc:  # report and go on: each backend is checked on its own
        print(name, "NOT IMPORTABLE:", type(exc).__name__, exc)
import numpy as np
failed = []
try:
    from numba import cuda
    print("cuda.is_available:", cuda.is_available())
    cuda.detect()

    @cuda.jit
    def twice(a):
        i = cuda.grid(1)
        if i < a.size:
            a[i] *= 2.0

    a = cuda.to_device(np.arange(1000.0))
    twice[8, 128](a)
    assert np.array_equal(a.copy_to_host(), 2 * np.arange(1000.0)), "tiny kernel wrong"
    print("numba.cuda compiles and runs a kernel")
    from trialkit.simulate.backends.cuda import require_cuda
    require_cuda()
    print("trialkit: require_cuda() passed")
except Exception as exc:
    failed.append("numba.cuda")
    print("numba.cuda NOT USABLE:", type(exc).__name__, exc)
sys.exit(1 if failed else 0)
EOF
}

prepare_tests() {
    # the device test files with a minimal conftest: the suite's own conftest needs the
    # database stack (SQLAlchemy, psycopg, ...), which the device image does not have
    rm -rf "$TESTS" && mkdir -p "$TESTS"
    cp "$ROOT"/tests/simulate/test_cuda_device.py "$TESTS"/
    cat >"$TESTS"/conftest.py <<'EOF'
import pytest
from trialkit.protocol import Protocol, load_protocol


@pytest.fixture(scope="session")
def sor() -> Protocol:
    return load_protocol("sor")
EOF
}

run_tests() {
    local file=$1
    "$PY" -m pytest -c /dev/null --rootdir "$TESTS" -p no:cacheprovider -q -rA \
        --junitxml "$OUT/${file%.py}.xml" "$TESTS/$file"
}

bench() {
    set -o pipefail
    "$PY" "$ROOT"/benchmarks/bench_simulate.py --skip-rpact "$@" | tee -a "$OUT/bench.txt"
}

bench_variants() {  # the launch shape and the register cap, random entry only
    bench --backend cuda --entry random --trials "$CUDA_TRIALS" --threads-per-block 128
    bench --backend cuda --entry random --trials "$CUDA_TRIALS" --max-registers 64
}

export PY ROOT OUT SITE TESTS CUDA_TRIALS CPU_TRIALS
export -f env_report install_wheels check_imports run_tests bench bench_variants

echo "device check of $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), steps: $STEPS"
step env 20 env_report
step install 45 install_wheels
if [ -d "$SITE" ]; then export PYTHONPATH="$SITE:$PYTHONPATH"; fi
step imports 60 check_imports
step ptxas 60 "$PY" "$ROOT"/benchmarks/bench_simulate.py --ptxas
prepare_tests
step cuda_tests 150 run_tests test_cuda_device.py
step bench_cuda 75 bench --backend cuda --trials "$CUDA_TRIALS"
step bench_cuda_variants 60 bench_variants
step bench_cpu 75 bench --backend numba --skip-process --skip-profile --trials "$CPU_TRIALS"
{
    echo "--- throughput lines"
    grep -h -E 'trials/s|^GPU:' "$OUT/bench.txt" 2>/dev/null || echo "(no benchmark output)"
    echo "--- test results"
    grep -h -E '^(PASSED|FAILED|ERROR|SKIPPED)|passed|failed' "$LOG" | grep -v '^+' | tail -40
} >>"$SUMMARY"
exec 1>&3 2>&4 # ends the log's tee; the summary goes last, straight to the caller
sleep 1
echo "=== summary (also in $SUMMARY; everything in $LOG)"
cat "$SUMMARY"
