"""Many distinct plans: writing a plan file, reading and compiling it for the evaluator.

    python -m benchmarks.bench_planfile [--plans 1000,10000] [--scenarios 1000] [--json out.json]

The plans are the default model's MILP plan with every purchase, holding and draw scaled by a
factor of its own (0.5-1.0: larger ones would hold more GPUs than a site's racks, which
`fleetopt evaluate` refuses) and its power blocks shifted: all distinct, so nothing is shared or
cached between them. For each size, in a fresh process: the file is written with
`PlanFileWriter` in chunks of 1,000 plans, then `fleetopt evaluate` (the Python API, NumPy)
reads, compiles and evaluates it; the read-and-compile time, the evaluation time and the peak
resident memory of that process are reported.
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


def write_plans(path: Path, n: int) -> float:
    """Write ``n`` distinct plans; return the seconds taken."""
    import numpy as np

    from fleetopt import api
    from fleetopt.core.plan import Plan
    from fleetopt.evaluate.planfile import PlanFileWriter

    result = api.solve(None, mip_gap=0.02)
    loaded, _ = api.load(None)
    base = result.plan.arrays()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    writer = PlanFileWriter(path, loaded.model.name, loaded.content_hash)
    for start in range(0, n, 1000):
        rows = range(start, min(n, start + 1000))
        scale = rng.uniform(0.5, 1.0, size=len(rows))
        stack = {k: np.repeat(v[None], len(rows), axis=0) for k, v in base.items()}
        for name in ("buy_blocks", "held_training", "held_inference", "redeploy", "retire_training",
                     "retire_inference", "active", "contract_gpus", "draws"):  # fmt: skip
            stack[name] *= scale.reshape(-1, *([1] * base[name].ndim))
        for j, p in enumerate(rows):
            stack["build_blocks"][j] = np.roll(base["build_blocks"], p % 5, axis=1)
        writer.add(Plan(**stack), [f"plan-{p}" for p in rows])
    writer.close()
    return time.perf_counter() - started


def one(path: Path, scenarios: int) -> dict:
    from fleetopt import api
    from fleetopt.evaluate.sources import read_plans

    _, data = api.load(None)
    started = time.perf_counter()
    batch = read_plans(path, data).compile(data)
    compiled = time.perf_counter() - started
    rss_compiled = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    P = batch.P
    del batch  # the evaluation reads and compiles the file again, as `fleetopt evaluate` does
    result, _, _ = api.evaluate(path, None, scenarios=scenarios, seed=1)
    return {
        "plans": P,
        "file_mb": path.stat().st_size / 1e6,
        "read_compile_s": round(compiled, 2),
        "read_compile_ms_per_plan": round(1e3 * compiled / P, 3),
        "peak_rss_after_compile_mb": round(rss_compiled),
        "evaluate_s": round(result.seconds, 2),
        "pair_quarters_per_s": result.pair_quarters_per_second,
        "scenarios": scenarios,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", default="1000,10000")
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--json")
    parser.add_argument("--one", nargs=2, metavar=("FILE", "SCENARIOS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one[0]), int(args.one[1]))))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        "| plans | file MB | write s | read + compile s | ms/plan | peak RSS MB | evaluate s (scenarios) | plan-scenario-quarters/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.plans.split(",")):
            path = Path(tmp) / f"plans-{n}.npz"
            written = write_plans(path, n)
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_planfile", "--one", str(path), str(args.scenarios)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                print(f"| {n:,} | failed: {proc.stderr.strip().splitlines()[-1]} |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["write_s"] = round(written, 2)
            rows.append(r)
            print(
                f"| {r['plans']:,} | {r['file_mb']:.0f} | {r['write_s']:.1f} | {r['read_compile_s']:.1f} | "
                f"{r['read_compile_ms_per_plan']:.2f} | {r['peak_rss_mb']:,} | {r['evaluate_s']:.1f} "
                f"({r['scenarios']:,}) | {r['pair_quarters_per_s']:.3g} |",
                flush=True,
            )
            path.unlink()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
