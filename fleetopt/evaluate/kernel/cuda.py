"""The fused kernel on a GPU: compiled by NVRTC through CuPy once per shape and process, launched
over plans and scenario tiles, with the device copies of the last scenario block, chunk of plans
and forecast kept while their host objects live."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.evaluate.kernel.arguments import kernel_arguments, kernel_results, output_arrays
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.scenario_arguments import scenario_arguments
from fleetopt.evaluate.kernel.shape import PLANS_PER_THREAD, THREADS_PER_BLOCK, KernelShape
from fleetopt.evaluate.kernel.source import KERNEL_NAME, kernel_source
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import SimulationConstants

# nvcc / NVRTC options: no contraction of multiply-adds, so the GPU rounds as the C build and NumPy do
CUDA_OPTIONS = ("--std=c++14", "--fmad=false")


# kernels compiled for this process, by shape (CuPy also caches them on disk by source)
_CUDA_KERNELS: dict[KernelShape, Any] = {}


def cuda_kernel(shape: KernelShape, cp: Any) -> Any:
    """The kernel compiled by NVRTC for ``shape`` (once per shape and process)."""
    if shape not in _CUDA_KERNELS:
        _CUDA_KERNELS[shape] = cp.RawKernel(kernel_source(shape), KERNEL_NAME, options=CUDA_OPTIONS)
    return _CUDA_KERNELS[shape]


def launch_grid(P: int, S: int) -> tuple[tuple[int, int], tuple[int]]:
    """(grid, block) of a launch: PLANS_PER_THREAD plans per block column (grid x), scenario tiles
    on grid y."""
    tiles = max(1, min(65535, -(-S // THREADS_PER_BLOCK)))
    return (-(-P // PLANS_PER_THREAD), tiles), (THREADS_PER_BLOCK,)


class _Held:
    """The device copy of one host object (a scenario block, a chunk of plans), made once while
    the object lives and let go with it."""

    def __init__(self) -> None:
        self.entry: tuple | None = None

    def __bool__(self) -> bool:  # whether a copy is held
        return self.entry is not None

    def get(self, key_object: Any, make: Callable[[], Any]) -> Any:
        if self.entry is not None and self.entry[0]() is key_object:
            return self.entry[1]

        def forget(ref):
            if self.entry is not None and self.entry[0] is ref:
                self.entry = None

        value = make()
        self.entry = (weakref.ref(key_object, forget), value)
        return value


# The last scenario block and the last chunk of plans uploaded to the GPU, with their device
# arrays: every chunk of plans of a run is simulated on the same block, and every scenario block
# of a chunk on the same plans, so each is copied once.
_ON_DEVICE = _Held()
_PLANS_ON_DEVICE = _Held()


def _device_scenarios(scen: ScenarioSet, xp: Any) -> dict[str, Any]:
    """:func:`scenario_arguments` of ``scen`` on ``xp``, made once while ``scen`` lives."""
    return _ON_DEVICE.get(scen, lambda: scenario_arguments(scen, xp))


@dataclass
class DevicePlans:
    """A chunk's :func:`plan_tables` on the device, copied from pinned host memory on ``stream``:
    a kernel that reads them first waits for ``event`` (recorded after the last copy)."""

    tables: dict[str, Any]
    event: Any
    pinned: list  # the host staging buffers, kept alive until the copies are done


def upload_tables(tables: dict[str, np.ndarray], cp: Any, stream: Any = None) -> DevicePlans:
    """``tables`` on the device: staged through pinned host memory and copied asynchronously on
    ``stream`` (default: the current stream), so the copy overlaps kernels on other streams.

    The device arrays are allocated on ``stream`` too. CuPy's pool gives a freed block again only
    to allocations on the stream it was allocated on, safe in that stream's order. A block taken
    on the compute stream could still be waiting for a queued kernel to write it: the results of
    a chunk still running are freed as soon as they are read into other arrays."""
    out, pinned_buffers = {}, []
    with stream if stream is not None else contextlib.nullcontext():
        for name, array in tables.items():
            host = np.ascontiguousarray(array)
            if host.nbytes == 0:
                out[name] = cp.asarray(host)
                continue
            pinned_memory = cp.cuda.alloc_pinned_memory(host.nbytes)
            pinned = np.frombuffer(pinned_memory, host.dtype, host.size).reshape(host.shape)
            pinned[...] = host
            device = cp.empty(host.shape, dtype=host.dtype)
            device.set(pinned, stream=stream)
            out[name] = device
            pinned_buffers.append(pinned_memory)
        event = cp.cuda.Event()
        event.record(stream)
    return DevicePlans(out, event, pinned_buffers)


def stage_plans(consts: SimulationConstants, plans: PlanBatch, cp: Any, stream: Any = None) -> DevicePlans:
    """:func:`plan_tables` of ``plans``, made on the host and copied to the device on ``stream``."""
    return upload_tables(plan_tables(consts, plans), cp, stream)


def device_plans(consts: SimulationConstants, plans: PlanBatch, cp: Any) -> DevicePlans:
    """:func:`stage_plans` of ``plans`` on the current stream, once while ``plans`` lives."""
    return _PLANS_ON_DEVICE.get(plans, lambda: stage_plans(consts, plans, cp))


# The forecast (one deterministic scenario) on the device, held apart from the run's scenario block
# so that checking each chunk of plans on it does not copy the block again.
_FORECAST_ON_DEVICE = _Held()


def simulate_cuda(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    cp: Any = None,
    tables: dict | None = None,
    forecast: bool = False,
) -> dict:
    """Run the fused kernel on the current CUDA device (CuPy, or ``cp``). ``tables``: the plans'
    tables already on the device (:func:`device_plans`, :func:`upload_tables`); ``forecast``:
    ``scen`` is the forecast, kept on the device apart from the run's scenarios."""
    if cp is None:
        import cupy as cp
    shape = KernelShape.of(consts, plans)
    kernel = cuda_kernel(shape, cp)
    outputs = output_arrays(plans.P, scen.S, cp, consts.present_cost, consts.policy.prepay_borrowing_base)
    if plans.P == 0 or scen.S == 0:
        return kernel_results(outputs)
    staged = tables if tables is not None else device_plans(consts, plans, cp)
    if isinstance(staged, DevicePlans):  # the kernel waits for their copy (perhaps on another stream)
        cp.cuda.get_current_stream().wait_event(staged.event)
        staged = staged.tables
    if forecast:
        rows = _FORECAST_ON_DEVICE.get(scen, lambda: scenario_arguments(scen, cp))
    else:
        rows = _device_scenarios(scen, cp)
    args = kernel_arguments(consts, plans, scen, cp, outputs, rows, staged)
    grid, block = launch_grid(plans.P, scen.S)
    kernel(grid, block, tuple(args))
    return kernel_results(outputs)
