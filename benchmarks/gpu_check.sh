#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU: install what is missing, run the `gpu` tests and the
# evaluation benchmark on NumPy and CuPy, and print a short table. Run from anywhere:
#
#     bash benchmarks/gpu_check.sh            # results also go to $OUT (or ./gpu-check-out)
#
# Machines that cannot reach a package registry take wheels from $FLEETOPT_WHEELS (default
# .wheels/ in the repository); benchmarks/README.md shows how to download them beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu-check-out}
WHEELS=${FLEETOPT_WHEELS:-.wheels}
mkdir -p "$OUT"

pip_install() {
    if [ -d "$WHEELS" ]; then
        "$PY" -m pip install -q --no-index --find-links "$WHEELS" "$@"
    else
        "$PY" -m pip install -q "$@"
    fi
}

echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"

echo "== install what is missing"
if ! "$PY" -c "import cupy; cupy.cuda.runtime.getDeviceCount()" 2>/dev/null; then
    pip_install "cupy-cuda12x>=13"
fi
declare -A MODULE_PACKAGE=([pyomo]=pyomo [highspy]=highspy [pydantic]="pydantic>=2.7" [typer]=typer
                           [rich]=rich [yaml]=pyyaml [pandas]=pandas [numpy]=numpy [pytest]=pytest
                           [hypothesis]=hypothesis)
for module in "${!MODULE_PACKAGE[@]}"; do
    "$PY" -c "import $module" 2>/dev/null || pip_install "${MODULE_PACKAGE[$module]}"
done
"$PY" -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import fleetopt, cupy; print('fleetopt', fleetopt.__version__, '| cupy', cupy.__version__)"

echo "== gpu tests"
"$PY" -m pytest -m gpu -q -p no:cacheprovider tests/test_evaluate_gpu.py 2>&1 | tee "$OUT/gpu-tests.txt" | tail -n 15

echo "== evaluation benchmark"
"$PY" -m benchmarks.bench_evaluate --backend numpy --sizes 100x1000,100x10000,1000x10000 --json "$OUT/bench-numpy.json" \
    | tee "$OUT/bench-numpy.md"
"$PY" -m benchmarks.bench_evaluate --backend cupy --json "$OUT/bench-cupy.json" | tee "$OUT/bench-cupy.md"

echo "== scale: the largest run (plans x scenarios far beyond the full cube in memory)"
"$PY" -m benchmarks.bench_jobs --skip-executors --backend cupy --large 100000x10000 --json "$OUT/bench-scale.json" \
    | tee "$OUT/bench-scale.txt" | tail -n 16

echo "== summary"
"$PY" - "$OUT" <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rows = []
for name in ("bench-numpy.json", "bench-cupy.json"):
    path = out / name
    if path.exists():
        rows += json.loads(path.read_text())
best_numpy = max((r["pair_quarters_per_s"] for r in rows if r["backend"] == "numpy"), default=None)
scale = out / "bench-scale.json"
if scale.exists():
    big = json.loads(scale.read_text())["large_run"]
    rows.append(big)
print(f"{'backend':<8} {'plans':>8} {'scenarios':>9} {'seconds':>8} {'pair-quarters/s':>16} {'x numpy':>8}")
for r in rows:
    ratio = r["pair_quarters_per_s"] / best_numpy if best_numpy else float("nan")
    print(f"{r['backend']:<8} {r['plans']:>8,} {r['scenarios']:>9,} {r['seconds']:>8.2f} {r['pair_quarters_per_s']:>16.3g} {ratio:>8.0f}")
PYEOF
