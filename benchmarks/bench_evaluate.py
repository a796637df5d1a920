"""Evaluation benchmark: plan-scenario-quarters per second and peak memory, per backend and batch size.

    python -m benchmarks.bench_evaluate [--backend numpy|cupy|cpu-kernel|auto|all] [--sizes 10x1000,100x1000]
                                        [--threads N] [--plan-file plans.npz] [--json out.json]

Each (plans x scenarios) size runs in a fresh subprocess so that its peak memory is its own.
Plans are the default model's MILP plan (solved once, to a 2 % gap; with ``--plan-file`` kept
in that file and reused by later runs), compiled once and repeated: the evaluator's work per (plan, scenario) pair does not depend on the plan's values.
``auto`` is what `fleetopt evaluate` runs by default: the backend it chooses for each size, the time
of that choice (a C build, when it makes one) apart from the evaluation's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = {
    "numpy": ["10x1000", "100x1000", "100x10000"],
    "cupy": ["100x1000", "100x10000", "1000x10000", "10000x10000", "100000x10000"],
    "cpu-kernel": ["10x1000", "100x1000", "100x10000"],
    "auto": ["100x1000", "100x10000", "1000x10000"],
}


def prepare(plan_file: Path) -> None:
    """Solve the default model once and write its plan."""
    from fleetopt import api
    from fleetopt.evaluate.planfile import save_plans

    result = api.solve(None, mip_gap=0.02)
    loaded, _ = api.load(None)
    save_plans(plan_file, [result.plan], ["milp"], loaded.model.name, loaded.content_hash)


def one(
    plan_file: Path, backend: str, plans: int, scenarios: int, max_memory: int | None, threads: int | None
) -> dict:
    import numpy as np

    from fleetopt import api
    from fleetopt.evaluate.backend import resolve_backend
    from fleetopt.evaluate.backend_choice import choose_backend
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.engine import evaluate
    from fleetopt.evaluate.planfile import load_plans

    _, data = api.load(None)
    base, _, _ = load_plans(plan_file, data)
    batch = compile_plans(data, base, ["milp"])
    # P plans: the compiled base plan repeated (the evaluator treats every row independently)
    batch = batch.take(np.zeros(plans, dtype=int))
    batch.labels = [f"p{i}" for i in range(plans)]
    be = resolve_backend(backend, threads) if backend in ("numpy", "cpu-kernel") else backend
    chosen = time.perf_counter()
    if backend == "auto":  # as `fleetopt evaluate` chooses (and builds, for the C build)
        be = choose_backend("auto", threads, data, batch, scenarios)
    choice_seconds = time.perf_counter() - chosen
    if backend in ("cupy", "cpu-kernel"):  # compile the kernel (and CuPy's own, for this many scenarios)
        evaluate(data, batch.take(np.zeros(1, dtype=int)), scenarios, seed=1, backend=be)  # outside the timing
    started = time.perf_counter()
    result = evaluate(data, batch, scenarios, seed=1, backend=be, max_memory=max_memory)
    wall = time.perf_counter() - started
    row = {
        "backend": result.backend,
        "device": result.device,
        "kernel": result.kernel,
        "plans": plans,
        "scenarios": scenarios,
        "quarters": data.T,
        "seconds": round(result.seconds, 3),
        "wall_seconds": round(wall, 3),
        "choice_seconds": round(choice_seconds, 3),
        "pair_quarters_per_s": result.pair_quarters_per_second,
        "plan_chunk": result.plan_chunk,
        "scenario_chunk": result.scenario_chunk,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if result.backend == "cupy":
        import cupy

        row["gpu_pool_mb"] = cupy.get_default_memory_pool().total_bytes() / 1e6
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy", "cpu-kernel", "auto", "all"])
    parser.add_argument("--plan-file", help="the plan to evaluate: solved and written here if missing, else reused")
    parser.add_argument("--sizes", help="comma-separated PLANSxSCENARIOS, e.g. 10x1000,100x1000")
    parser.add_argument("--max-memory", type=int, default=None, help="bytes (default: the engine's)")
    parser.add_argument("--threads", type=int, default=None, help="NumPy threads (default: every core)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument(
        "--one", nargs=4, metavar=("PLAN_FILE", "BACKEND", "PLANS", "SCENARIOS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        plan_file, backend, plans, scenarios = args.one
        print(
            json.dumps(
                one(Path(plan_file), backend, int(plans), int(scenarios), args.max_memory, args.threads)
            )
        )
        return
    backends = ["numpy", "cupy"] if args.backend == "all" else [args.backend]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(args.plan_file) if args.plan_file else Path(tmp) / "plans.npz"
        if not plan_file.exists():
            prepare(plan_file)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        print(
            "| backend | device | plans | scenarios | quarters | seconds | plan-scenario-quarters/s | peak RSS MB "
            "| GPU pool MB | choice s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for backend in backends:
            sizes = args.sizes.split(",") if args.sizes else DEFAULT_SIZES[backend]
            for size in sizes:
                plans, scenarios = (int(x) for x in size.lower().split("x"))
                cmd = [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_evaluate",
                    "--one",
                    str(plan_file),
                    backend,
                    str(plans),
                    str(scenarios),
                ]
                if args.max_memory:
                    cmd += ["--max-memory", str(args.max_memory)]
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(
                        f"| {backend} | failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode} |"
                    )
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                rows.append(r)
                print(
                    f"| {r['backend']}{' (fused kernel)' if r['kernel'] else ''} | {r['device']} | {r['plans']:,} | "
                    f"{r['scenarios']:,} | {r['quarters']} | {r['seconds']:.2f} | {r['pair_quarters_per_s']:.3g} | "
                    f"{r['peak_rss_mb']:.0f} | {r.get('gpu_pool_mb', 0):.0f} | {r['choice_seconds']:.2f} |",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
