#!/usr/bin/env bash
# GPU check in one call of under 10 minutes, for a lent machine with an NVIDIA GPU, CuPy preinstalled
# and no package registry (what it lacks comes as wheels in $FLEETOPT_WHEELS, default .wheels/):
#
#     bash benchmarks/gpu_check.sh          # table on stdout; 5 files in $OUT (default gpu-check-out/)
#
# Every step runs under its own timeout and reports its status; a failing step does not stop the
# others, except that the check stops at once with a FATAL line when no NVIDIA driver / GPU is visible
# or CuPy cannot use the device (then no GPU test can run, and none may skip silently). Nothing is installed into the system: the
# carried wheels go to a scratch folder, and the repository is staged there with the bundled models
# inside the package (fleetopt.models), so nothing needs `pip install -e`.
#
# Wheels for the lent machine (Python 3.12, x86_64; pyomo, highspy and pydantic are missing there).
# Git ignores .wheels/, so a device call sends it only where its `carry` names it (".wheels"):
#
#     pip download -d .wheels --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#         --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
#         pyomo==6.10.1 highspy==1.16.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
#         typing-inspection==0.4.5 typing-extensions==4.16.0 pyyaml==6.0.4 ply==3.11
#
# Rehearsal without a GPU (tests/fake_cupy stands in for CuPy; see benchmarks/README.md):
#     PATH=/tmp/fake-bin:$PATH PYTHONPATH=$PWD/tests/fake_cupy PIP_NO_INDEX=1 PYTHON=<a python like the
#     lent machine's> FLEETOPT_WHEELS=<its wheels> NUMPY_SIZES=20x2000 CPU_KERNEL_SIZES=20x2000 \
#     CUPY_SIZES=4x1000,20x2000 SCALE_SIZE=40x2000 bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
OUT=${OUT:-$REPO/gpu-check-out}
WHEELS=${FLEETOPT_WHEELS:-$REPO/.wheels}
NUMPY_SIZES=${NUMPY_SIZES:-100x10000,1000x10000}
CPU_KERNEL_SIZES=${CPU_KERNEL_SIZES:-1000x10000}
CUPY_SIZES=${CUPY_SIZES:-100x10000,1000x10000,10000x10000}
SCALE_SIZE=${SCALE_SIZE:-100000x10000}
CLI_SCENARIOS=${CLI_SCENARIOS:-10000}
BUDGET_S=${BUDGET_S:-570}  # steps are cut at this many seconds, and later ones skipped (a device call: 600 s)
mkdir -p "$OUT"
WORK=$(mktemp -d)
export REPO PY OUT WHEELS WORK CLI_SCENARIOS
trap 'rm -rf "$WORK"' EXIT
LOG="$OUT/gpu-check.log"   # the files in $OUT: gpu-check.log, device.txt, gpu-tests.txt, bench.json, summary.txt
: >"$LOG"
STARTED=$(date +%s)
STEPS=()

# step NAME LIMIT_S COMMAND...: runs COMMAND under its timeout, output to the log, and records its status
step() {
    local name=$1 limit=$2
    shift 2
    local now=$(($(date +%s) - STARTED))
    if [ $((now + 5)) -ge "$BUDGET_S" ]; then
        STEPS+=("$name|SKIPPED (no time left)|0")
        echo "-- $name: SKIPPED (no time left after ${now}s)" | tee -a "$LOG"
        return 1
    fi
    if [ "$limit" -gt $((BUDGET_S - now)) ]; then limit=$((BUDGET_S - now)); fi  # none runs past the budget
    echo "== $name (at ${now}s, limit ${limit}s)" | tee -a "$LOG"
    local t0=$(date +%s)
    if declare -F "$1" >/dev/null; then  # a function of this script: run it in a child bash, under the timeout
        export -f "$1"
        timeout --kill-after=10 "$limit" bash -o pipefail -c '"$@"' step "$@" >>"$LOG" 2>&1
    else
        timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    fi
    local rc=$?
    local took=$(($(date +%s) - t0)) status=ok
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="TIMEOUT"; elif [ $rc -ne 0 ]; then status="FAILED (exit $rc)"; fi
    STEPS+=("$name|$status|$took")
    echo "-- $name: $status in ${took}s" | tee -a "$LOG"
    return $rc
}

summary() {
    "$PY" - "$OUT" "${STEPS[@]}" <<'PYEOF' | tee "$OUT/summary.txt"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("step                     status                     seconds")
for entry in sys.argv[2:]:
    name, status, took = entry.split("|")
    print(f"{name:<24} {status:<26} {took:>7}")
path = out / "bench.json"
rows = json.loads(path.read_text()) if path.exists() else []
numpy = [r["pair_quarters_per_s"] for r in rows if r["backend"] == "numpy"]
best = max(numpy) if numpy else None
print()
print(f"{'backend':<22} {'plans':>8} {'scenarios':>9} {'seconds':>8} {'plan-scenario-quarters/s':>25} {'x NumPy':>8}")
for r in rows:
    name = r["backend"] + (" (fused kernel)" if r.get("kernel") else "")
    ratio = f"{r['pair_quarters_per_s'] / best:8.1f}" if best else f"{'-':>8}"
    print(f"{name:<22} {r['plans']:>8,} {r['scenarios']:>9,} {r['seconds']:>8.2f} {r['pair_quarters_per_s']:>25.3g} {ratio}")
PYEOF
}

# 1. the device: where nvidia-smi sees no NVIDIA driver and GPU, no GPU step can run: stop, saying so
if ! step device 30 bash -o pipefail -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee '$OUT/device.txt'"; then
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        why="nvidia-smi is not on PATH"
    else  # its last line of output: between the step's first and last lines in the log
        said=$(sed -n '/^== device/,/^-- device/p' "$LOG" | sed '1d;$d' | tail -n 1)
        why="nvidia-smi: ${said:-no answer}"
    fi
    echo "FATAL: no NVIDIA driver / GPU is visible ($why; $LOG): the check needs a machine with an NVIDIA GPU"
    summary
    exit 1
fi

# 2. what the machine lacks, from the carried wheels (or the registry where there is one), into $WORK/site;
#    the repository staged in $WORK/repo with the bundled models inside the package
stage() {
    mkdir -p "$WORK/repo" "$WORK/site"
    cp -r "$REPO/fleetopt" "$REPO/benchmarks" "$REPO/tests" "$REPO/pyproject.toml" "$WORK/repo/"
    cp -r "$REPO/models" "$WORK/repo/models"  # the tests read models/ too
    rm -rf "$WORK/repo/fleetopt/models" && cp -r "$REPO/models" "$WORK/repo/fleetopt/models"
    local missing=()
    local module
    for module in pyomo:pyomo highspy:highspy pydantic:pydantic yaml:pyyaml pandas:pandas typer:typer rich:rich \
                  pytest:pytest hypothesis:hypothesis; do
        "$PY" -c "import ${module%%:*}" 2>/dev/null || missing+=("${module##*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "missing: ${missing[*]}"
        if [ -d "$WHEELS" ]; then  # every carried wheel, without resolving dependencies (they were pinned)
            "$PY" -m pip install -q --no-index --no-deps --target "$WORK/site" "$WHEELS"/*.whl
        else
            echo "no wheels in $WHEELS: trying the package registry"
            "$PY" -m pip install -q --target "$WORK/site" "${missing[@]}"
        fi
    fi
    cd "$WORK/repo" && PYTHONPATH="$WORK/repo:$WORK/site${PYTHONPATH:+:$PYTHONPATH}" "$PY" -c \
        "import fleetopt, fleetopt.models, pyomo, highspy, pydantic, pandas, typer, rich, pytest; print('fleetopt', fleetopt.__version__)"
}
# without fleetopt's packages no step below can run: stop, saying so (not as CuPy failing to import)
if ! step environment 90 stage; then
    echo "FATAL: the environment could not be staged ($(grep -m1 '^missing:' "$LOG" || echo 'see the log');" \
        "$LOG): what $PY lacks comes as the wheels this script's header lists, in $WHEELS" \
        "(a device call's carry names .wheels)"
    summary
    exit 1
fi
export PYTHONPATH="$WORK/repo:$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
cd "$WORK/repo" || { echo "FATAL: the repository could not be staged (see $LOG)"; summary; exit 1; }

# 3. CuPy must use the device, or nothing below means anything
cupy_check() {
    "$PY" - <<'PYEOF'
import sys
from fleetopt.evaluate.backend import cupy_status
cupy, found = cupy_status()
if cupy is None:
    print(f"FATAL: CuPy cannot use the device: {found}")
    sys.exit(1)
print(f"CuPy {cupy.__version__} on {found}")
PYEOF
}
if ! step cupy 60 cupy_check; then
    grep "FATAL" "$LOG" || echo "FATAL: CuPy cannot use the device (see $LOG)"
    summary
    exit 1
fi

# 4. the GPU tests against the fused kernel; a skipped GPU test counts as a failure
gpu_tests() {
    # addopts cleared: pyproject's `-n auto` needs pytest-xdist, which the device machine lacks
    "$PY" -m pytest -o addopts="" -m gpu -q -rs -p no:cacheprovider tests/test_evaluate_gpu.py 2>&1 | tee "$OUT/gpu-tests.txt" | tail -n 15
    local rc=${PIPESTATUS[0]}
    if grep -qE "[0-9]+ skipped" "$OUT/gpu-tests.txt"; then echo "GPU tests skipped: the check needs them run"; return 3; fi
    return "$rc"
}
step gpu-tests 150 gpu_tests

# 5. the default model's plan, solved once for every benchmark below
step solve 90 "$PY" -c "from pathlib import Path; from benchmarks.bench_evaluate import prepare; prepare(Path('$WORK/plan.npz'))"

# 6. the user's command on the GPU: `fleetopt evaluate` of that plan, on CuPy against NumPy (`auto`
#    runs a run this small on the CPU: docs/evaluation.md, "Backends and chunking"),
#    the same metrics to 1e-9 of their scale
cli() {
    local runs="$WORK/runs" name
    for name in cupy numpy; do
        "$PY" -m fleetopt evaluate --plans "$WORK/plan.npz" --scenarios "$CLI_SCENARIOS" --seed 7 \
            --backend "$name" --out "$runs/$name" || return 1
    done
    "$PY" - "$runs" <<'PYEOF'
import json, pathlib, sys
import numpy as np, pandas as pd
runs = pathlib.Path(sys.argv[1])
device = json.loads((runs / "cupy" / "summary.json").read_text()).get("device")
gpu, cpu = (pd.read_csv(runs / name / "metrics.csv") for name in ("cupy", "numpy"))
worst = 0.0
for col in [c for c in cpu.columns if c.endswith("_usd")]:
    scale = max(float(np.abs(cpu[col]).max()), 1.0)
    worst = max(worst, float(np.abs(gpu[col] - cpu[col]).max()) / scale)
print(f"evaluate on {device}: money metrics within {worst:.1e} of NumPy's (relative to their scale)")
sys.exit(0 if worst <= 1e-9 else 1)
PYEOF
}
step cli 90 cli

# 7. benchmarks: NumPy, the C build, CuPy, then the scale run (10^5 plans x 10^4 scenarios) once
bench() {  # bench BACKEND SIZES NAME
    "$PY" -m benchmarks.bench_evaluate --plan-file "$WORK/plan.npz" --backend "$1" --sizes "$2" --json "$WORK/bench-$3.json"
}
step bench-numpy 75 bench numpy "$NUMPY_SIZES" numpy
step bench-cpu-kernel 45 bench cpu-kernel "$CPU_KERNEL_SIZES" cpu-kernel
step bench-cupy 75 bench cupy "$CUPY_SIZES" cupy
step scale 110 bench cupy "$SCALE_SIZE" scale
"$PY" -c "
import json, pathlib, sys
rows = []
for name in ('numpy', 'cpu-kernel', 'cupy', 'scale'):
    path = pathlib.Path('$WORK') / f'bench-{name}.json'
    if path.exists():
        rows += json.loads(path.read_text())
pathlib.Path('$OUT/bench.json').write_text(json.dumps(rows, indent=1))
"

echo "== summary"
summary
failed=0
for entry in "${STEPS[@]}"; do
    case "$entry" in *"|ok|"*) ;; *) failed=1 ;; esac
done
exit $failed
