"""Batch-job benchmark: local executor against Ray, the cost of a chunk, and one large run.

    python -m benchmarks.bench_jobs [--plans 400] [--scenarios 2000] [--large 2000x10000] [--json out.json]

Plans are the default model's MILP plan (solved once, 2 % gap) repeated. Ray runs a local
cluster of 2 workers (`pip install -e ".[ray]"`); it is skipped when Ray is not installed.
The large run evaluates in this process (plans compiled once and repeated in memory), with its peak
memory read from the kernel; the NumPy/CuPy result buffers hold one chunk at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_evaluate import prepare


def batch_of(plan_file: Path, n: int):
    from fleetopt import api
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.planfile import load_plans

    _, data = api.load(None)
    base, _, _ = load_plans(plan_file, data)
    batch = compile_plans(data, base, ["milp"]).take(np.zeros(n, dtype=int))
    batch.labels = [f"p{i}" for i in range(n)]
    return data, batch


def timed(data, batch, scenarios: int, plan_chunk: int, executor=None) -> float:
    from fleetopt.evaluate.engine import evaluate

    started = time.perf_counter()
    evaluate(data, batch, scenarios, seed=1, backend="numpy", plan_chunk=plan_chunk, executor=executor)
    return time.perf_counter() - started


def large_run(plan_file: Path, plans: int, scenarios: int, backend: str) -> dict:
    """One big evaluation in this process: plans x scenarios far beyond what the full cube would fit."""
    from fleetopt.evaluate.engine import evaluate

    data, batch = batch_of(plan_file, plans)
    started = time.perf_counter()
    result = evaluate(data, batch, scenarios, seed=1, backend=backend)
    seconds = time.perf_counter() - started
    row = {
        "backend": result.backend, "device": result.device, "plans": plans, "scenarios": scenarios,
        "quarters": data.T, "seconds": seconds, "pair_quarters_per_s": plans * scenarios * data.T / seconds,
        "plan_chunk": result.plan_chunk, "scenario_chunk": result.scenario_chunk,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "full_cube_gb": plans * scenarios * data.T * 8 / 1e9,
    }  # fmt: skip
    if result.backend == "cupy":
        import cupy

        row["gpu_pool_mb"] = cupy.get_default_memory_pool().total_bytes() / 1e6
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=400)
    parser.add_argument("--scenarios", type=int, default=2000)
    parser.add_argument("--large", default="2000x10000", help="PLANSxSCENARIOS of the end-to-end run")
    parser.add_argument("--backend", default="numpy", help="backend of the large run: numpy or cupy")
    parser.add_argument("--skip-executors", action="store_true", help="only the large run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(tmp) / "plans.npz"
        prepare(plan_file)
        data, batch = batch_of(plan_file, args.plans)
        if args.skip_executors:
            plans, scenarios = (int(x) for x in args.large.lower().split("x"))
            rows["large_run"] = large_run(plan_file, plans, scenarios, args.backend)
            print(json.dumps(rows, indent=2))
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2))
            return
        work = args.plans * args.scenarios * data.T
        chunk = max(1, args.plans // 8)
        local = timed(data, batch, args.scenarios, chunk)
        rows["local"] = {"seconds": local, "pair_quarters_per_s": work / local, "chunks": 8}
        from fleetopt.evaluate.process_executor import ProcessExecutor

        pooled = timed(data, batch, args.scenarios, chunk, ProcessExecutor(2))
        rows["local_2_processes"] = {"seconds": pooled, "pair_quarters_per_s": work / pooled, "chunks": 8}
        one_plan_chunks = timed(data, batch.take(slice(0, 40)), args.scenarios, 1)
        one_chunk = timed(data, batch.take(slice(0, 40)), args.scenarios, 40)
        rows["overhead_per_chunk_s"] = (one_plan_chunks - one_chunk) / 39
        try:
            import ray

            from fleetopt.evaluate.ray_executor import RayExecutor

            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
            executor = RayExecutor()
            timed(data, batch.take(slice(0, chunk)), args.scenarios, chunk, executor)  # warm the workers
            remote = timed(data, batch, args.scenarios, chunk, executor)
            rows["ray_2_workers"] = {"seconds": remote, "pair_quarters_per_s": work / remote, "chunks": 8}
            ray.shutdown()
        except ImportError:
            rows["ray_2_workers"] = "Ray not installed"
        plans, scenarios = (int(x) for x in args.large.lower().split("x"))
        rows["large_run"] = large_run(plan_file, plans, scenarios, args.backend)
    print(json.dumps(rows, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
