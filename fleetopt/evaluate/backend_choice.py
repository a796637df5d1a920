"""Which backend runs an evaluation of a given size (`--backend auto`), and a backend that
cannot run here refused before any solve.

:func:`choose_backend` picks, for the run's plans, scenarios and quarters, among CuPy, the C build
of the kernel and NumPy, from NumPy's estimated time (:func:`numpy_seconds`) against CuPy's start
(:data:`CUPY_START_S`) and the size from which the C build pays for itself
(:data:`AUTO_C_BUILD_PAIR_QUARTERS`); :mod:`fleetopt.evaluate.backend` knows the machine, not the
run."""

from __future__ import annotations

from fleetopt.core.data import ModelData
from fleetopt.core.units import format_duration
from fleetopt.evaluate.backend import Backend, c_compiler, gpu_with_cupy, resolve_backend
from fleetopt.evaluate.chunking import NUMPY_S_PER_BLOCK, check_scenarios_fit
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.evaluate.kernel.cpu import build_cpu_kernel, check_c_compiler
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.simulate import SimulationConstants

# `auto` on a machine without a usable GPU runs the C build of the kernel (the same results as
# NumPy, about 2.5x its speed on the 2-core development machine) from this many plan-scenario-
# quarters on: about 4 s of NumPy there, where the build, 1.3 s the first time on a machine and
# then kept, has paid for itself. Below it, NumPy (no compiler needed, nothing built).
AUTO_C_BUILD_PAIR_QUARTERS = 25_000_000

# `auto` on a machine with a GPU and CuPy runs an evaluation on the CPU when NumPy would finish it
# in less time than CuPy takes to start. Measured on an NVIDIA H200 machine (benchmarks/README.md,
# "GPU"): `fleetopt evaluate` of one plan on 10,000 scenarios took 3.6 s in all on NumPy and 5.3 s
# on CuPy with its kernels already compiled (20.1 s on a fresh machine, which compiles them), of
# which the evaluation 0.30 s on NumPy, mostly per scenario (its factors, the metrics), and NumPy
# ran 7.75e6 plan-scenario-quarters a second at scale: an estimate from those figures.
CUPY_START_S = 1.7
NUMPY_S_PER_SCENARIO = 30e-6
NUMPY_PAIR_QUARTERS_PER_S = 7.75e6


def _runs_on_the_cpu(plans: int, scenarios: int, quarters: int) -> bool:
    """Whether ``auto`` runs an evaluation of this size on the CPU of a machine with a GPU: where
    CuPy is installed and NumPy would finish before CuPy has started."""
    return gpu_with_cupy() and numpy_seconds(plans, scenarios, quarters) < CUPY_START_S


def numpy_seconds(plans: int, scenarios: int, quarters: int) -> float:
    """NumPy's estimated time for an evaluation, s: per scenario and per plan-scenario-quarter."""
    return scenarios * NUMPY_S_PER_SCENARIO + plans * scenarios * quarters / NUMPY_PAIR_QUARTERS_PER_S


def chunked_numpy_seconds(plans: int, scenarios: int, quarters: int, plan_chunk: int, scenario_chunk: int
                          ) -> float:  # fmt: skip
    """:func:`numpy_seconds` of a run in chunks of ``plan_chunk`` plans on blocks of ``scenario_chunk``
    scenarios: each block a call (:data:`NUMPY_S_PER_BLOCK`), and scenarios split into blocks made
    again for every chunk of plans (one block is made once for the run)."""
    chunks, blocks = -(-plans // plan_chunk), -(-scenarios // scenario_chunk)
    made = chunks if blocks > 1 else 1
    return (numpy_seconds(plans, scenarios, quarters) + (made - 1) * scenarios * NUMPY_S_PER_SCENARIO
            + chunks * blocks * NUMPY_S_PER_BLOCK)  # fmt: skip


def choose_backend(
    name: str, threads: int | None, data: ModelData, plans: PlanBatch, n_scenarios: int, gpu: bool = True
) -> Backend:
    """The backend ``name`` for evaluating ``plans`` on ``n_scenarios`` scenarios of ``data``.

    ``auto``: CuPy on a usable CUDA device, unless NumPy would finish the run before CuPy has
    started (:func:`numpy_seconds` under :data:`CUPY_START_S`): then on the CPU, as ``gpu=False``,
    saying so, without starting CuPy; else the C build of the kernel where the run has at
    least :data:`AUTO_C_BUILD_PAIR_QUARTERS` plan-scenario-quarters, a C compiler is found, the
    model fits the kernel and the build can be made and loaded here (built now, before the run);
    else NumPy, whose ``note`` says why when a build was tried and failed. ``cpu-kernel`` is
    built now too, so that a compiler or build cache that fails stops the run before it starts.
    ``gpu=False``: for CPU worker processes, ``auto`` as on a machine without a GPU."""
    work = plans.P * n_scenarios * data.T
    if name == "auto" and gpu and _runs_on_the_cpu(plans.P, n_scenarios, data.T):
        be = choose_backend(name, threads, data, plans, n_scenarios, gpu=False)
        return be.noted(
            f"auto: NumPy finishes this run ({work:,} plan-scenario-quarters, about "
            f"{format_duration(numpy_seconds(plans.P, n_scenarios, data.T))}) before CuPy would start (about "
            f"{CUPY_START_S:g} s); --backend cupy asks for the GPU"
        )
    be = resolve_backend("numpy" if name == "auto" and not gpu else name, threads)
    consts = SimulationConstants.from_data(data)
    why = kernel_fits(plans, consts)
    if be.name == "cpu-kernel" and why is None:
        build_cpu_kernel(be.threads, consts, plans)
    if why is not None and be.name != "numpy":  # the run line must not claim a kernel that cannot run
        path = "NumPy simulation" if be.name == "cpu-kernel" else "unfused simulation on the GPU"
        return be.noted(f"{why}: a chunk of plans beyond it runs the {path}, with the same results")
    if name != "auto" or be.name != "numpy" or work < AUTO_C_BUILD_PAIR_QUARTERS:
        return be
    if why is not None:
        return be.noted(f"auto chose NumPy: {why}")
    if c_compiler() is None:
        return be
    try:
        build_cpu_kernel(be.threads, consts, plans)
    except KernelBuildError as exc:
        return be.noted(f"auto chose NumPy: the C build of the kernel {exc.reason}")
    kernel = resolve_backend("cpu-kernel", be.threads)
    return kernel.noted(f"auto: {work:,} plan-scenario-quarters, the same results as NumPy and faster")


def check_backend_runs(
    data: ModelData, n_scenarios: int, backend: str, threads: int | None, n_plans: int | None = None
) -> None:
    """Refuse, before any solve, a backend that cannot run here: one missing, too little memory for
    ``n_scenarios``, or (``cpu-kernel``) a C compiler that cannot build (:func:`check_c_compiler`).
    ``n_plans``: at most the plans the run will evaluate; ``auto`` for so few that they run on the
    CPU (:func:`choose_backend`) is checked there, without starting CuPy."""
    if backend == "auto" and n_plans is not None and _runs_on_the_cpu(n_plans, n_scenarios, data.T):
        backend = "numpy"
    be = resolve_backend(backend, threads)
    check_scenarios_fit(data, n_scenarios, be)
    if be.name == "cpu-kernel":
        check_c_compiler(be.threads)
