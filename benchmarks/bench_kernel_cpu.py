"""The C build of the fused kernel against the NumPy path, per core: the measurable proxy of the kernel.

    python -m benchmarks.bench_kernel_cpu [--plans 64] [--scenarios 2000] [--repeat 3] [--threads 1,2]
                                          [--json out.json]

Both simulate the same (plans x scenarios) block of the default model's MILP plan (solved once,
to a 2 % gap; the plan is repeated, as in bench_evaluate) on the same scenarios: NumPy with
``simulate`` on one thread, the C build (``CpuKernel``) with 1 OpenMP thread, then each of
``--threads``. Scenario generation is outside the timing (it is the same for both); the C build's
time includes making the plan tables (``plan_tables``) and the scenario rows. The results are
checked to agree to 1e-12 before anything is printed. Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _plans(plans: int):
    from fleetopt import api
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.planfile import load_plans, save_plans

    cache = Path(tempfile.gettempdir()) / "fleetopt-bench-default-plan.npz"
    loaded, data = api.load(None)
    if not cache.exists():
        result = api.solve(None, mip_gap=0.02)
        save_plans(cache, [result.plan], ["milp"], loaded.model.name, loaded.content_hash)
    base, _, _ = load_plans(cache, data)
    batch = compile_plans(data, base, ["milp"]).take(np.zeros(plans, dtype=int))
    batch.labels = [f"p{i}" for i in range(plans)]
    return data, batch


def best_of(repeat: int, run) -> tuple[float, float, dict]:
    """(best wall seconds, best CPU seconds of this thread, the result): on a shared machine the
    CPU time of a one-thread run is the steadier figure."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.thread_time()
        out = run()
        cpu = min(cpu, time.thread_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started)
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=64)
    parser.add_argument("--scenarios", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="2", help="further OpenMP thread counts for the C build")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from fleetopt.evaluate.kernel.cpu import CpuKernel
    from fleetopt.evaluate.result_fields import RESULT_FIELDS
    from fleetopt.evaluate.scenarios import generate_scenarios
    from fleetopt.evaluate.simulate import SimulationConstants, simulate

    data, plans = _plans(args.plans)
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, 1, 0, args.scenarios)
    pq = plans.P * scen.S * data.T
    rows = []

    numpy_s, numpy_cpu, want = best_of(args.repeat, lambda: simulate(consts, plans, scen))
    rows.append({"path": "numpy", "threads": 1, "seconds": numpy_s, "cpu_seconds": numpy_cpu})
    for threads in [1, *(int(t) for t in args.threads.split(",") if t)]:
        kernel = CpuKernel(threads=threads)
        kernel.simulate(consts, plans.take(slice(0, 1)), scen.rows(slice(0, 2)))  # compile outside the timing
        seconds, cpu_s, got = best_of(args.repeat, lambda k=kernel: k.simulate(consts, plans, scen))
        for field in RESULT_FIELDS:
            scale = max(float(np.abs(want[field]).max()), 1.0)
            assert np.abs(got[field].astype(float) - want[field].astype(float)).max() <= 1e-12 * scale, field
        rows.append(
            {
                "path": f"C build{' (OpenMP)' if kernel.openmp else ''}",
                "threads": threads,
                "seconds": seconds,
                "cpu_seconds": cpu_s if threads == 1 else None,
            }
        )

    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    print(
        f"machine: {cpu}, {os.cpu_count()} cores; default model, {plans.P} plans x {scen.S:,} scenarios "
        f"x {data.T} quarters, best of {args.repeat}"
    )
    print(
        "| path | threads | wall s | plan-scenario-quarters/s | per core vs NumPy (wall) | CPU s (1 thread) "
        "| per core vs NumPy (CPU time) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        r["pair_quarters_per_s"] = pq / r["seconds"]
        r["per_core_vs_numpy"] = numpy_s / r["seconds"] / r["threads"]
        cpu_s = r["cpu_seconds"]
        r["per_core_vs_numpy_cpu"] = numpy_cpu / cpu_s if cpu_s else None
        cpu_cols = f"{cpu_s:.3f} | {r['per_core_vs_numpy_cpu']:.2f}x" if cpu_s else "- | -"
        print(
            f"| {r['path']} | {r['threads']} | {r['seconds']:.3f} | {r['pair_quarters_per_s']:.3g} | "
            f"{r['per_core_vs_numpy']:.2f}x | {cpu_cols} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"cpu": cpu, "plans": plans.P, "scenarios": scen.S, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
