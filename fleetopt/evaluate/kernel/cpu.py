"""The C build of the kernel (the CPU backend ``cpu-kernel``): kernel.cu compiled as C with the
system compiler, kept in the build cache, loaded and called through ctypes."""

from __future__ import annotations

import ctypes
import shlex
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fleetopt.evaluate.build_cache import BuildCache
from fleetopt.evaluate.kernel.arguments import (
    KERNEL_ARGUMENTS,
    check_arguments,
    kernel_arguments,
    kernel_results,
    output_arrays,
)
from fleetopt.evaluate.kernel.c_types import C_TYPES
from fleetopt.evaluate.kernel.compiler import (
    C_FLAGS,
    KernelBuildError,
    build_library,
    flags_taken,
    found_c_compiler,
)
from fleetopt.evaluate.kernel.shape import KernelShape
from fleetopt.evaluate.kernel.source import kernel_source
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import SimulationConstants


class CpuKernel:
    """kernel.cu compiled as C with the system compiler (one shared library per model shape, with
    OpenMP over pairs where the compiler has it) and called through ctypes.

    The CPU backend ``cpu-kernel``; also lets machines without a GPU check the kernel's arithmetic
    against the NumPy simulation. ``threads``: OpenMP threads (default: every usable core).
    ``gpu_code``: compile the GPU's code paths instead of the C build's own (its scenario quarter
    loaded once, its branches; ``FO_GPU_CODE`` in kernel.cu), for the tests.
    """

    def __init__(
        self,
        compiler: str | None = None,
        threads: int | None = None,
        openmp: bool = True,
        gpu_code: bool = False,
    ):
        self.compiler = compiler or found_c_compiler()
        self.cache = BuildCache(self.compiler)
        found = self.cache.settings(lambda: flags_taken(self.compiler))
        # this machine's instruction set (the library is built here, for here): no effect on rounding
        flags = [*C_FLAGS, "-march=native"] if found["march_native"] else list(C_FLAGS)
        self.openmp = openmp and found["openmp"]
        self.flags = [*flags, "-fopenmp"] if self.openmp else flags
        if gpu_code:
            self.flags.append("-DFO_GPU_CODE=1")
        self.threads = threads
        self._libraries: dict[KernelShape, Any] = {}
        self._lock = threading.Lock()

    def library(self, shape: KernelShape) -> Any:
        """The shared library for ``shape``: compiled once per machine (kept in the build cache)."""
        with self._lock:
            if shape not in self._libraries:
                self._libraries[shape] = self._built(kernel_source(shape))
            return self._libraries[shape]

    def _built(self, source: str) -> Any:
        """``source`` built (or found in the build cache) and loaded. A file there that cannot be
        loaded (damaged, foreign) is built again once; a folder whose libraries cannot be loaded
        raises :class:`KernelBuildError`."""
        command = [*shlex.split(self.compiler), *self.flags, "-shared", "-fPIC"]
        key = " ".join(command) + "\n" + source
        for _ in range(2):
            path = self.cache.library(key, lambda lib: build_library(command, source, lib))
            try:
                return _loaded(path)
            except (OSError, AttributeError) as exc:
                path.unlink(missing_ok=True)  # damaged or foreign: built again, once
                failure = exc
        raise KernelBuildError(
            f"built in {path.parent} cannot be loaded ({failure}): a folder on a file system that does not "
            "let programs run (mounted noexec) does this; set $FLEETOPT_CACHE_DIR to another folder"
        )

    def simulate(
        self,
        consts: SimulationConstants,
        plans: PlanBatch,
        scen: ScenarioSet,
        tables: dict | None = None,
        scenario_rows: dict | None = None,
    ) -> dict:
        """The (P, S) results of ``plans`` on ``scen``; ``tables``: their :func:`plan_tables`, and
        ``scenario_rows``: ``scenario_arguments(scen, np, scenario_major=True)``, where the caller
        made them once for several calls."""
        lib = self.library(KernelShape.of(consts, plans, scenario_major=True))
        outputs = output_arrays(plans.P, scen.S, np, consts.present_cost, consts.policy.prepay_borrowing_base)
        args = kernel_arguments(
            consts, plans, scen, np, outputs, scenario_rows, tables, scenario_major=True
        )  # they must outlive the call
        check_arguments(args)
        as_ctypes = [C_TYPES[a.c_type].for_ctypes(v) for a, v in zip(KERNEL_ARGUMENTS, args, strict=True)]
        with self._lock:  # the thread count is process-wide in OpenMP
            lib.fleetopt_threads(self.threads or 0)
            lib.fleetopt_evaluate(*as_ctypes)
        return kernel_results(outputs)


def _loaded(path: Path) -> Any:
    """The kernel's library at ``path``, its two functions declared."""
    handle = ctypes.CDLL(str(path))
    handle.fleetopt_evaluate.restype = None
    handle.fleetopt_evaluate.argtypes = [C_TYPES[a.c_type].ctype for a in KERNEL_ARGUMENTS]
    handle.fleetopt_threads.restype = ctypes.c_int
    handle.fleetopt_threads.argtypes = [ctypes.c_int]
    return handle


_CPU_KERNELS: dict[int | None, CpuKernel] = {}


def cpu_kernel(threads: int | None = None) -> CpuKernel:
    """The process's C build of the kernel for ``threads`` OpenMP threads (built once)."""
    if threads not in _CPU_KERNELS:
        _CPU_KERNELS[threads] = CpuKernel(threads=threads)
    return _CPU_KERNELS[threads]


def check_c_compiler(threads: int | None = None) -> None:
    """Refuse a C compiler that cannot build even a probe library here (:class:`KernelBuildError`;
    probed once per machine and compiler), before work that the C build would finish: a sweep's
    solves. The kernel's own build is :func:`build_cpu_kernel`, once its plans exist."""
    cpu_kernel(threads)


def build_cpu_kernel(threads: int | None, consts: SimulationConstants, plans: PlanBatch) -> None:
    """Build (or find in the build cache) and load the C build of the kernel for ``plans``, so that
    a compiler or cache folder that cannot serve fails before a run starts
    (:class:`KernelBuildError`)."""
    cpu_kernel(threads).library(KernelShape.of(consts, plans, scenario_major=True))
