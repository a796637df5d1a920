"""Whether an evaluation keeps within `--max-memory`: the peak resident memory the evaluation adds
to a process that holds the model and the compiled plans, against the budget, across shapes.

    python -m benchmarks.bench_memory_budget [--plans 1000] [--backend numpy,cpu-kernel] [--workers 2]

The plans are `bench_slip_memory`'s (the default model's MILP plan, each scaled by a factor of its
own). Each run is a fresh process: it reads and compiles the plans (outside the budget, as
docs/cli.md says), hands the memory the compile freed back to the system (glibc's `malloc_trim`,
else the evaluation would reuse it unseen), resets the peak resident memory
(`/proc/self/clear_refs`), evaluates with the budget and reads the peak (`VmHWM`) back: "added" is
that peak less the memory held before the evaluation. Linux with glibc only.

With `--workers N` the chunks run in N worker processes, sized as `fleetopt evaluate --workers N`
sizes them (`jobfolder.worker_process_sizes`): each worker's peak is read the same way, from the
memory it holds once started (fleetopt and the model: "worker_base_mb", outside the budget), and
"added" is the parent's and every worker's added together, an upper bound of what the process tree
held at once (each at its own peak).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_slip_memory import write_plans
from fleetopt.evaluate import chunking, engine, process_executor
from fleetopt.evaluate.backend import resolve_backend
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.kernel.cpu import build_cpu_kernel
from fleetopt.evaluate.simulate import SimulationConstants

SLIP = {"probability": 0.3, "min_quarters": 1, "max_quarters": 2}
# (plans, scenarios, budget MB, slip): many plans x few scenarios, few plans x many, with a slip, and
# few plans x very many, whose rows of results (4 x 24.8 MB) go to a temporary file (chunking.split_chunk_sizes)
SHAPES = [(1000, 10, 50, False), (100, 1000, 50, False), (10, 10000, 20, False), (1000, 10, 300, True),
          (4, 100000, 50, False)]


def _kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1])


def _trim_and_reset() -> int:
    """The memory freed handed back and the peak reset: the resident memory now, KB."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _kb("VmRSS")


_WORKER_BASE_KB: list[int] = []


def _measured_worker_start(data, parent: int) -> None:
    """A worker's start (process_executor._init_worker), then its memory trimmed and its peak reset."""
    _ORIGINAL_INIT(data, parent)
    _WORKER_BASE_KB[:] = [_trim_and_reset()]


def _measured_worker_chunk(chunk, spec, backend_name: str) -> dict:
    """A worker's chunk (process_executor._process_chunk), with the worker's pid, base and peak (KB)."""
    out = _ORIGINAL_CHUNK(chunk, spec, backend_name)
    out["bench_worker"] = (os.getpid(), _WORKER_BASE_KB[0], _kb("VmHWM"))
    return out


_ORIGINAL_INIT, _ORIGINAL_CHUNK = process_executor._init_worker, process_executor._process_chunk


def _evaluate_in_workers(data, batch, scenarios: int, budget: int, backend: str, workers: int):
    """``engine.evaluate`` in ``workers`` processes, sized as `fleetopt evaluate --workers` sizes
    them: the result, each worker's (base, peak) and this process's peak while they ran, KB."""
    be = choose_backend(backend, 1, data, batch, scenarios, gpu=False)
    runner = process_executor.ProcessExecutor(workers, be.name)
    plan_chunk, scenario_chunk = chunking.worker_process_sizes(data, batch, scenarios, be.name, budget, workers)
    process_executor._init_worker, process_executor._process_chunk = _measured_worker_start, _measured_worker_chunk
    seen: dict[int, tuple[int, int]] = {}
    parent_peak: list[int] = []
    run = runner.run

    def recorded(*args, **kwargs):
        results = run(*args, **kwargs)
        for r in results:
            pid, base, peak = r.pop("bench_worker")
            seen[pid] = (base, max(peak, seen.get(pid, (0, 0))[1]))
        parent_peak.append(_kb("VmHWM"))  # while the workers ran (the forecast check runs after them)
        return results

    runner.run = recorded
    result = engine.evaluate(data, batch, scenarios, 0, backend=be, max_memory=budget, plan_chunk=plan_chunk,
                             scenario_chunk=scenario_chunk, executor=runner)  # fmt: skip
    return result, list(seen.values()), parent_peak[0]


def child(path: str, plans: int, scenarios: int, budget_mb: int, slip: bool, backend: str, workers: int = 1
          ) -> None:  # fmt: skip
    """One run, in this process: prints its row as JSON."""
    import time

    from fleetopt import api
    from fleetopt.evaluate.sources import read_plans

    _, data = api.load(api.edit(None, {"risk.delivery_slip": SLIP}) if slip else None)
    batch = read_plans(path, data).compile(data).take(slice(0, plans))
    be = resolve_backend(backend, None)
    if be.name == "cpu-kernel":  # built (or loaded from the cache) before the measurement
        build_cpu_kernel(be.threads, SimulationConstants.from_data(data), batch)
    budget = budget_mb * 10**6
    before = _trim_and_reset()
    started = time.perf_counter()
    if workers > 1:
        result, in_workers, beside = _evaluate_in_workers(data, batch, scenarios, budget, backend, workers)
        with_workers = beside - before + sum(peak - base for base, peak in in_workers)
        added_kb = max(_kb("VmHWM") - before, with_workers)
    else:
        result = engine.evaluate(data, batch, scenarios, 0, backend=be, max_memory=budget)
        in_workers, added_kb = [], _kb("VmHWM") - before
    row = {
        "backend": backend, "workers": workers, "plans": plans, "scenarios": scenarios, "slip": slip,
        "budget_mb": budget_mb, "chunk": f"{result.plan_chunk} x {result.scenario_chunk}",
        "held_before_mb": round(before * 1024 / 1e6), "added_mb": round(added_kb * 1024 / 1e6, 1),
        "slip_variants_mb": round(chunking.slip_variant_bytes(batch) / 1e6),
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    if in_workers:
        row["parent_added_mb"] = round((beside - before) * 1024 / 1e6, 1)
        row["worker_added_mb"] = [round((peak - base) * 1024 / 1e6, 1) for base, peak in in_workers]
        row["worker_base_mb"] = [round(base * 1024 / 1e6) for base, _ in in_workers]
    print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000, help="plans in the file (each shape takes its own)")
    parser.add_argument("--backend", default="numpy,cpu-kernel")
    parser.add_argument("--plan-file", type=Path, help="the plans: written here if missing, else reused")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (fleetopt evaluate --workers)")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, plans, scenarios, budget, slip, backend, workers = args.child
        child(path, int(plans), int(scenarios), int(budget), slip == "True", backend, int(workers))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.plan_file or Path(tmp) / "plans.npz"
        if not path.exists():
            write_plans(path, args.plans)
        for backend in args.backend.split(","):
            for plans, scenarios, budget, slip in SHAPES:
                plans = min(plans, args.plans)
                shape = [str(path), str(plans), str(scenarios), str(budget), str(slip), backend, str(args.workers)]
                done = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory_budget", "--child", *shape],
                                      capture_output=True, text=True)  # fmt: skip
                print(done.stdout.strip() if done.returncode == 0 else done.stderr.strip()[-400:], flush=True)


if __name__ == "__main__":
    main()
