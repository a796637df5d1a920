"""Where a GPU evaluation's time goes, on the default model's MILP plan repeated (as bench_evaluate):

    python -m benchmarks.gpu_profile --plan-file plans.npz [--plans 10000] [--scenarios 10000]
    python -m benchmarks.gpu_profile --plan-file plans.npz --plans 1000 --once [--lineinfo]   # one launch, for ncu

Where the kernel's stalls are, by source line (Nsight Compute on the lent machine):

    ncu --clock-control none -k fleetopt_evaluate -c 1 --section WarpStateStats --section SourceCounters \
        python -m benchmarks.gpu_profile --plan-file plans.npz --plans 1000 --once --lineinfo

1. the whole ``evaluate`` call on CuPy (fused kernel), after a warm-up of the same size, and a
   cProfile of it (host side: where the wall time goes while the GPU works);
2. its parts alone: making the scenarios on the host, copying them to the device, the fused kernel
   (CUDA events; plans and scenarios already on the device) and the metrics;
3. launch variants of the kernel, each timed alone as in 2 and checked against the shipped launch
   (the same NPVs to the bit): blocks per multiprocessor in ``__launch_bounds__``, threads per
   block, plans per thread. With ``--variants-plans`` plans, to keep each run short (0: none).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_jobs import batch_of
from fleetopt.evaluate.chunk_eval import horizon_demand
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.kernel.arguments import kernel_arguments, output_arrays
from fleetopt.evaluate.kernel.cuda import CUDA_OPTIONS, _device_scenarios, device_plans
from fleetopt.evaluate.kernel.shape import PLANS_PER_THREAD, THREADS_PER_BLOCK, KernelShape
from fleetopt.evaluate.kernel.source import KERNEL_NAME, kernel_source
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants

SHIPPED_BOUNDS = "__launch_bounds__(FO_THREADS, 3)"
# (label, blocks per multiprocessor in __launch_bounds__, threads per block, plans per thread)
VARIANTS = [
    ("shipped", 3, THREADS_PER_BLOCK, PLANS_PER_THREAD),
    ("2 blocks/SM", 2, THREADS_PER_BLOCK, PLANS_PER_THREAD),
    ("4 blocks/SM", 4, THREADS_PER_BLOCK, PLANS_PER_THREAD),
    ("1 block/SM (no cap)", 1, THREADS_PER_BLOCK, PLANS_PER_THREAD),
    ("64 threads, 6 blocks/SM", 6, 64, PLANS_PER_THREAD),
    ("256 threads, 1 block/SM", 1, 256, PLANS_PER_THREAD),
    ("2 plans/thread, 2 blocks/SM", 2, THREADS_PER_BLOCK, 2),
]


def host(array) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)


def whole_evaluate(data, batch, S: int) -> None:
    evaluate(data, batch, S, seed=1, backend="cupy")  # warm-up: every kernel it uses compiled
    started = time.perf_counter()
    res = evaluate(data, batch, S, seed=1, backend="cupy")
    wall = time.perf_counter() - started
    print(f"evaluate: {batch.P:,} plans x {S:,} scenarios x {data.T} quarters in {wall:.2f} s "
          f"({batch.P * S * data.T / wall:.3g} plan-scenario-quarters/s; chunks {res.plan_chunk} plans "
          f"x {res.scenario_chunk} scenarios; kernel {res.kernel})")  # fmt: skip
    profile = cProfile.Profile()
    profile.enable()
    evaluate(data, batch, S, seed=1, backend="cupy")
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(30)
    print(text.getvalue())


class Launch:
    """One compiled variant of the kernel and its arguments for (plans, scenarios) on the device."""

    def __init__(self, cp, data, batch, scen, blocks: int, threads: int, plans_per_thread: int,
                 lineinfo: bool = False):  # fmt: skip
        consts = SimulationConstants.from_data(data)
        source = kernel_source(KernelShape.of(consts, batch))
        for old, new in [
            (SHIPPED_BOUNDS, f"__launch_bounds__(FO_THREADS, {blocks})"),
            (f"#define FO_THREADS {THREADS_PER_BLOCK}\n", f"#define FO_THREADS {threads}\n"),
            (f"#define FO_PLANS {PLANS_PER_THREAD}\n", f"#define FO_PLANS {plans_per_thread}\n"),
        ]:
            assert old in source, old
            source = source.replace(old, new, 1)
        started = time.perf_counter()
        options = CUDA_OPTIONS + (("-lineinfo",) if lineinfo else ())  # source lines for a profiler
        self.kernel = cp.RawKernel(source, KERNEL_NAME, options=options)
        self.kernel.compile()
        self.compile_seconds = time.perf_counter() - started
        self.outputs = output_arrays(batch.P, scen.S, cp)
        staged = device_plans(consts, batch, cp)
        cp.cuda.get_current_stream().wait_event(staged.event)
        self.args = tuple(kernel_arguments(consts, batch, scen, cp, self.outputs, _device_scenarios(scen, cp),
                                           staged.tables))  # fmt: skip
        self.grid = (-(-batch.P // plans_per_thread), max(1, min(65535, -(-scen.S // threads))))
        self.block = (threads,)
        self.cp = cp

    def run(self) -> None:
        self.kernel(self.grid, self.block, self.args)

    def seconds(self, repeat: int) -> float:
        cp = self.cp
        self.run()  # first launch: module load
        cp.cuda.Device().synchronize()
        start, stop, best = cp.cuda.Event(), cp.cuda.Event(), float("inf")
        for _ in range(repeat):
            start.record()
            self.run()
            stop.record()
            stop.synchronize()
            best = min(best, cp.cuda.get_elapsed_time(start, stop) / 1e3)
        return best


def parts(cp, data, batch, S: int, repeat: int) -> None:
    """The evaluation's parts alone, for the shipped launch."""
    started = time.perf_counter()
    scen = generate_scenarios(data, 1, 0, S)
    made = time.perf_counter() - started
    started = time.perf_counter()
    _device_scenarios(scen, cp)
    cp.cuda.Device().synchronize()
    copied = time.perf_counter() - started
    launch = Launch(cp, data, batch, scen, 3, THREADS_PER_BLOCK, PLANS_PER_THREAD)
    kernel = launch.seconds(repeat)
    k = launch.kernel
    started = time.perf_counter()
    buffers = {name: launch.outputs[name] for name in RESULT_FIELDS}
    buffers["breach"], buffers["default"] = buffers["breach"] > 0.5, buffers["default"] > 0.5
    metrics = plan_metrics(buffers, cp, data.T, cp.asarray(horizon_demand(scen)))
    {name: host(v) for name, v in metrics.items()}
    metric_seconds = time.perf_counter() - started
    pq = batch.P * S * data.T
    print(f"scenarios made on the host: {made:.2f} s; copied to the device: {copied:.2f} s")
    print(f"kernel alone: {kernel:.3f} s, {pq / kernel:.3g} plan-scenario-quarters/s (best of {repeat}); "
          f"compiled by NVRTC in {launch.compile_seconds:.1f} s: {k.num_regs} registers, "
          f"{k.local_size_bytes} bytes local, {k.shared_size_bytes} bytes shared")  # fmt: skip
    print(f"metrics of the {batch.P:,} x {S:,} results: {metric_seconds:.3f} s")


def variants(cp, data, batch, S: int, repeat: int) -> None:
    scen = generate_scenarios(data, 1, 0, S)
    pq = batch.P * S * data.T
    reference = None
    print(f"launch variants, {batch.P:,} plans x {S:,} scenarios x {data.T} quarters, best of {repeat}:")
    print("| variant | registers | local bytes | compile s | kernel s | plan-scenario-quarters/s | same NPVs |")
    print("|---|---|---|---|---|---|---|")
    for label, blocks, threads, per_thread in VARIANTS:
        try:
            launch = Launch(cp, data, batch, scen, blocks, threads, per_thread)
            seconds = launch.seconds(repeat)
        except Exception as exc:  # a variant that does not compile or launch: say so, try the next
            print(f"| {label} | failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} |")
            continue
        npv = host(launch.outputs["npv"])
        reference = npv if reference is None else reference
        same = bool(np.array_equal(npv, reference))
        k = launch.kernel
        print(f"| {label} | {k.num_regs} | {k.local_size_bytes} | {launch.compile_seconds:.1f} | {seconds:.3f} | "
              f"{pq / seconds:.3g} | {same} |", flush=True)  # fmt: skip
        del launch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan-file", required=True, help="a plan file of the default model (bench_evaluate.prepare)")
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--variants-plans", type=int, default=2_000, help="0: no launch variants")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--once", action="store_true", help="one launch of the shipped kernel, nothing else")
    parser.add_argument("--lineinfo", action="store_true", help="with --once: compiled with source-line information")
    args = parser.parse_args()
    import cupy as cp

    print(f"device: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {cp.__version__}", flush=True)
    data, batch = batch_of(Path(args.plan_file), args.plans)
    if args.once:
        scen = generate_scenarios(data, 1, 0, args.scenarios)
        Launch(cp, data, batch, scen, 3, THREADS_PER_BLOCK, PLANS_PER_THREAD, args.lineinfo).run()
        cp.cuda.Device().synchronize()
        return
    whole_evaluate(data, batch, args.scenarios)
    parts(cp, data, batch, args.scenarios, args.repeat)
    if args.variants_plans > 0:
        data, batch = batch_of(Path(args.plan_file), args.variants_plans)
        variants(cp, data, batch, args.scenarios, args.repeat)


if __name__ == "__main__":
    main()
