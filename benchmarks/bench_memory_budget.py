"""Whether an evaluation keeps within `--max-memory`: the peak resident memory the evaluation adds
to a process that holds the model and the compiled plans, against the budget, across shapes.

    python -m benchmarks.bench_memory_budget [--plans 1000] [--backend numpy,cpu-kernel]

The plans are `bench_slip_memory`'s (the default model's MILP plan, each scaled by a factor of its
own). Each run is a fresh process: it reads and compiles the plans (outside the budget, as
docs/cli.md says), hands the memory the compile freed back to the system (glibc's `malloc_trim`,
else the evaluation would reuse it unseen), resets the peak resident memory
(`/proc/self/clear_refs`), evaluates with the budget and reads the peak (`VmHWM`) back: "added" is
that peak less the memory held before the evaluation. Linux with glibc only.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_slip_memory import write_plans

SLIP = {"probability": 0.3, "min_quarters": 1, "max_quarters": 2}
# (plans, scenarios, budget MB, slip): many plans x few scenarios, few plans x many, with a slip
SHAPES = [(1000, 10, 50, False), (100, 1000, 50, False), (10, 10000, 20, False), (1000, 10, 300, True)]


def _kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1])


def child(path: str, plans: int, scenarios: int, budget_mb: int, slip: bool, backend: str) -> None:
    """One run, in this process: prints its row as JSON."""
    import time

    from fleetopt import api
    from fleetopt.evaluate import engine
    from fleetopt.evaluate.sources import read_plans

    _, data = api.load(api.edit(None, {"risk.delivery_slip": SLIP}) if slip else None)
    batch = read_plans(path, data).compile(data).take(slice(0, plans))
    be = engine.resolve_backend(backend, None)
    if be.name == "cpu-kernel":  # built (or loaded from the cache) before the measurement
        engine.build_cpu_kernel(be.threads, engine.SimulationConstants.from_data(data), batch)
    budget = budget_mb * 10**6
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _kb("VmRSS")
    started = time.perf_counter()
    result = engine.evaluate(data, batch, scenarios, 0, backend=be, max_memory=budget)
    added_mb = (_kb("VmHWM") - before) * 1024 / 1e6
    print(json.dumps({
        "backend": backend, "plans": plans, "scenarios": scenarios, "slip": slip, "budget_mb": budget_mb,
        "chunk": f"{result.plan_chunk} x {result.scenario_chunk}", "held_before_mb": round(before * 1024 / 1e6),
        "added_mb": round(added_mb, 1), "slip_variants_mb": round(engine.slip_variant_bytes(batch) / 1e6),
        "seconds": round(time.perf_counter() - started, 1),
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000, help="plans in the file (each shape takes its own)")
    parser.add_argument("--backend", default="numpy,cpu-kernel")
    parser.add_argument("--plan-file", type=Path, help="the plans: written here if missing, else reused")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, plans, scenarios, budget, slip, backend = args.child
        child(path, int(plans), int(scenarios), int(budget), slip == "True", backend)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.plan_file or Path(tmp) / "plans.npz"
        if not path.exists():
            write_plans(path, args.plans)
        for backend in args.backend.split(","):
            for plans, scenarios, budget, slip in SHAPES:
                plans = min(plans, args.plans)
                shape = [str(path), str(plans), str(scenarios), str(budget), str(slip), backend]
                done = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory_budget", "--child", *shape],
                                      capture_output=True, text=True)  # fmt: skip
                print(done.stdout.strip() if done.returncode == 0 else done.stderr.strip()[-400:], flush=True)


if __name__ == "__main__":
    main()
