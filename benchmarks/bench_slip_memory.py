"""What a delivery slip (`risk.delivery_slip`) costs in memory: `fleetopt evaluate` of many distinct
plans of the default model without and with a slip of 1-2 quarters, each in a fresh process.

    python -m benchmarks.bench_slip_memory [--plans 1000] [--scenarios 1000] [--backend numpy]

The plans are the default model's MILP plan (2 % gap) with every purchase, holding and draw scaled
by a factor of its own in 0.5-1.0 (within the model's limits). For each run: the peak resident
memory of the whole command (`/usr/bin/time -v`, or the child's ru_maxrss where it is missing),
its time, and the bytes of the compiled plans and of their slipped variants.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SLIP = "risk.delivery_slip={probability: 0.3, min_quarters: 1, max_quarters: 2}"


def write_plans(path: Path, n: int) -> None:
    import numpy as np

    from fleetopt import api
    from fleetopt.core.plan import Plan
    from fleetopt.evaluate.planfile import PlanFileWriter

    base = api.solve(None, mip_gap=0.02).plan.arrays()
    loaded, _ = api.load(None)
    scale = np.random.default_rng(0).uniform(0.5, 1.0, size=n)
    stack = {k: np.repeat(v[None], n, axis=0) for k, v in base.items()}
    for name in ("buy_blocks", "held_training", "held_inference", "redeploy", "retire_training",
                 "retire_inference", "active", "contract_gpus", "draws"):  # fmt: skip
        stack[name] *= scale.reshape(-1, *([1] * base[name].ndim))
    writer = PlanFileWriter(path, loaded.model.name, loaded.content_hash)
    writer.add(Plan(**stack), [f"plan-{p}" for p in range(n)])
    writer.close()


def compiled_bytes(path: Path, slip: bool) -> tuple[int, int]:
    """(compiled plans, their slipped variants), bytes."""
    from fleetopt import api
    from fleetopt.evaluate.chunking import slip_variant_bytes
    from fleetopt.evaluate.sources import read_plans

    model = api.edit(None, {"risk.delivery_slip": {"probability": 0.3, "min_quarters": 1, "max_quarters": 2}})
    _, data = api.load(model if slip else None)
    batch = read_plans(path, data).compile(data)
    return batch.nbytes, slip_variant_bytes(batch)


def one(path: Path, folder: Path, scenarios: int, backend: str, slip: bool) -> dict:
    command = ["fleetopt", "evaluate", "--plans", str(path), "--scenarios", str(scenarios),
               "--backend", backend, "--out", str(folder), *(["--set", SLIP] if slip else [])]  # fmt: skip
    timed = Path("/usr/bin/time").exists()
    started = time.perf_counter()
    done = subprocess.run((["/usr/bin/time", "-v"] if timed else []) + command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stderr)
    if timed:
        line = next(x for x in done.stderr.splitlines() if "Maximum resident set size" in x)
        peak_kb = int(line.split(":")[1])
    else:
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    plans, variants = compiled_bytes(path, slip)
    return {"slip": slip, "peak_rss_mb": round(peak_kb / 1024), "seconds": round(seconds, 1),
            "compiled_plans_mb": round(plans / 1e6), "slip_variants_mb": round(variants / 1e6)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plans.npz"
        write_plans(path, args.plans)
        for slip in (False, True):
            print(one(path, Path(tmp) / f"run-{slip}", args.scenarios, args.backend, slip), flush=True)


if __name__ == "__main__":
    main()
