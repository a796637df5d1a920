"""The fused CUDA kernel (kernel.cu) and how to call it from CuPy, or from the CPU for testing.

The kernel takes the same inputs as :func:`fleetopt.evaluate.simulate.simulate` and returns the
same (P, S) results; :func:`kernel_arguments` lays them out once for both callers.
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
import weakref
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import RESULT_FIELDS, SimulationConstants

MAX_SITES, MAX_CONTRACTS, MAX_FACILITIES = 32, 64, 16
THREADS_PER_BLOCK = 128


def kernel_source() -> str:
    return (resources.files("fleetopt.evaluate") / "kernel.cu").read_text()


def kernel_fits(plans: PlanBatch) -> str | None:
    """Why the fused kernel cannot take these plans (its fixed-size state), or None."""
    I, K, F = plans.drawn_mw.shape[1], plans.contract_gpus.shape[1], plans.draws.shape[1]
    if I > MAX_SITES or K > MAX_CONTRACTS or F > MAX_FACILITIES:
        return (
            f"the fused kernel holds at most {MAX_SITES} sites, {MAX_CONTRACTS} contracts and "
            f"{MAX_FACILITIES} facilities (this model: {I}, {K}, {F})"
        )
    return None


def _f64(a, xp):
    return xp.ascontiguousarray(xp.asarray(a, dtype=xp.float64))


def _i32(a, xp):
    return xp.ascontiguousarray(xp.asarray(a, dtype=xp.int32))


def scenario_arguments(scen: ScenarioSet, xp: Any) -> list:
    """The scenario arrays of the kernel, time-major ((..., T, S): a warp reads one contiguous row)."""

    def rows(a):
        return np.moveaxis(a, 0, -1)

    return [
        _f64(rows(scen.price_factor), xp), _f64(rows(scen.demand), xp), _f64(rows(scen.contract_alive), xp),
        _i32(rows(scen.delay), xp), _f64(rows(scen.rate_shift), xp), _f64(rows(scen.electricity_factor), xp),
        _f64(rows(scen.resale_factor), xp),
    ]  # fmt: skip


def kernel_arguments(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any,
    scenario_arrays: list | None = None,
) -> list:
    """Every kernel argument in order: contiguous float64/int32 arrays on ``xp`` and typed scalars.
    ``scenario_arrays``: :func:`scenario_arguments` of ``scen``, when the caller already made them."""
    P, S = plans.P, scen.S
    fin = consts.financing

    def f64(a):
        return _f64(a, xp)

    def i32(a):
        return _i32(a, xp)

    inv_held = np.where(plans.held > 0, 1.0 / np.where(plans.held > 0, plans.held, 1.0), 0.0)
    return [
        np.int64(P * S), np.int32(S), np.int32(consts.T), np.int32(plans.drawn_mw.shape[1]),
        np.int32(plans.contract_gpus.shape[1]), np.int32(plans.draws.shape[1]),
        np.int32(plans.build_mw.shape[1]),
        f64(plans.market_revenue), f64(plans.market_supply), f64(plans.market_gpus), f64(plans.contract_gpus),
        f64(plans.accepted), f64(plans.drawn_mw), f64(plans.online_mw), f64(plans.electricity),
        f64(plans.site_fixed), f64(plans.other_opex), f64(plans.depreciation), f64(plans.book_disposed),
        f64(plans.proceeds), f64(plans.capex), f64(plans.draws), f64(plans.prepay), f64(plans.scheduled),
        f64(inv_held), f64(plans.terminal_fleet), f64(plans.terminal_power), i32(plans.build_site),
        i32(plans.build_start), i32(plans.build_online), f64(plans.build_mw),
        *(scenario_arrays if scenario_arrays is not None else scenario_arguments(scen, xp)),
        f64(consts.discount), f64(consts.fixed_cost_per_mw), f64(consts.contract_revenue_per_gpu),
        i32(consts.contract_deadline), f64(consts.contract_penalty), f64(fin.rate_quarterly),
        f64(fin.floating), f64(fin.opening_balance), np.int32(consts.covenant_from),
        np.int32(1 if np.isfinite(consts.max_debt_to_ebitda) else 0),
        np.float64(consts.max_debt_to_ebitda if np.isfinite(consts.max_debt_to_ebitda) else 0.0),
        np.float64(consts.min_dscr), np.float64(consts.min_liquidity),
        np.float64(consts.min_liquidity_fraction),
        np.float64(fin.opening_cash), np.float64(fin.min_cash), np.float64(fin.tax_rate),
        np.float64(fin.revolver_limit), np.float64(fin.revolver_rate_quarterly),
    ]  # fmt: skip


def _outputs(P: int, S: int, xp: Any) -> list:
    return [xp.empty((P, S), dtype=xp.float64) for _ in RESULT_FIELDS]


def _results(outputs: list) -> dict:
    out = dict(zip(RESULT_FIELDS, outputs, strict=True))
    out["breach"] = out["breach"] > 0.5
    out["default"] = out["default"] > 0.5
    return out


_CUDA_KERNEL = None
# The last scenario block uploaded to the GPU, with its device arrays: every chunk of plans of a
# run is simulated on the same block, so it is copied once. Cleared when the block is freed.
_ON_DEVICE: list = []


def _device_scenarios(scen: ScenarioSet, xp: Any) -> list:
    """:func:`scenario_arguments` of ``scen`` on ``xp``, made once while ``scen`` lives."""
    if _ON_DEVICE and _ON_DEVICE[0][0]() is scen:
        return _ON_DEVICE[0][1]

    def forget(ref):
        if _ON_DEVICE and _ON_DEVICE[0][0] is ref:
            _ON_DEVICE.clear()

    arrays = scenario_arguments(scen, xp)
    _ON_DEVICE[:] = [(weakref.ref(scen, forget), arrays)]
    return arrays


def simulate_cuda(consts: SimulationConstants, plans: PlanBatch, scen: ScenarioSet) -> dict:
    """Run the fused kernel on the current CUDA device (CuPy)."""
    import cupy as cp

    global _CUDA_KERNEL
    if _CUDA_KERNEL is None:
        _CUDA_KERNEL = cp.RawKernel(kernel_source(), "fleetopt_evaluate", options=("--std=c++14",))
    outputs = _outputs(plans.P, scen.S, cp)
    n_pairs = plans.P * scen.S
    blocks = min(65535 * 8, (n_pairs + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)
    args = kernel_arguments(consts, plans, scen, cp, _device_scenarios(scen, cp))
    _CUDA_KERNEL((blocks,), (THREADS_PER_BLOCK,), (*args, *outputs))
    return _results(outputs)


# ---------------------------------------------------------------- the same source on the CPU (tests)


class CpuKernel:
    """kernel.cu compiled as C with the system compiler and called through ctypes.

    Lets machines without a GPU check the kernel's arithmetic against the NumPy simulation.
    """

    def __init__(self, compiler: str = "cc"):
        self._dir = tempfile.TemporaryDirectory(prefix="fleetopt-kernel-")
        src = Path(self._dir.name) / "kernel.c"
        lib = Path(self._dir.name) / "kernel.so"
        src.write_text(kernel_source())
        subprocess.run(
            [compiler, "-O2", "-std=c99", "-shared", "-fPIC", "-o", str(lib), str(src), "-lm"],
            check=True,
            capture_output=True,
        )
        self._lib = ctypes.CDLL(str(lib))
        self._lib.fleetopt_evaluate.restype = None

    def simulate(self, consts: SimulationConstants, plans: PlanBatch, scen: ScenarioSet) -> dict:
        args = kernel_arguments(consts, plans, scen, np)
        outputs = _outputs(plans.P, scen.S, np)
        converted = []
        for value in (*args, *outputs):
            if isinstance(value, np.ndarray):
                converted.append(ctypes.c_void_p(value.ctypes.data))
            elif isinstance(value, np.int64):
                converted.append(ctypes.c_longlong(int(value)))
            elif isinstance(value, np.int32):
                converted.append(ctypes.c_int(int(value)))
            else:
                converted.append(ctypes.c_double(float(value)))
        keep_alive = (args, outputs)  # the arrays must outlive the call
        self._lib.fleetopt_evaluate(*converted)
        del keep_alive
        return _results(outputs)
