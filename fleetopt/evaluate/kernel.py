"""The fused CUDA kernel (kernel.cu) and how to call it from CuPy, or from the CPU for testing.

The kernel takes the same inputs as :func:`fleetopt.evaluate.simulate.simulate` and returns the
same (P, S) results. :data:`KERNEL_ARGUMENTS` declares its parameters once, in order: the C
parameter list prepended to kernel.cu (:func:`kernel_source`) and the values passed by both
callers (:func:`kernel_arguments`) are generated from it.
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.covenants import coefficient_table
from fleetopt.core.economics import Financing
from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.factors import FACTORS
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import RESULT_FIELDS, SimulationConstants

MAX_SITES, MAX_CONTRACTS, MAX_FACILITIES = 32, 64, 16
THREADS_PER_BLOCK = 128


# ---------------------------------------------------------------- the kernel's parameters, declared once


@dataclass(frozen=True)
class KernelCall:
    """What one kernel call's arguments are made from."""

    consts: SimulationConstants
    plans: PlanBatch
    S: int
    scenario_rows: dict[str, Any]  # scenario_arguments(scen): one time-major array per factor
    outputs: dict[str, Any]  # RESULT_FIELDS -> (P, S) float64, written by the kernel

    @property
    def fin(self) -> Financing:
        return self.consts.financing


@dataclass(frozen=True)
class KernelArgument:
    """One kernel parameter: its C name, its C type (a key of :data:`_C_TYPES`) and its value."""

    name: str
    c_type: str
    value: Callable[[KernelCall], Any]


def _plan(name: str, attribute: str, c_type: str = "const double*") -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: getattr(call.plans, attribute))


def _constant(name: str, value: Callable[[SimulationConstants], Any], c_type: str) -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: value(call.consts))


def _financing(name: str, attribute: str, c_type: str) -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: getattr(call.fin, attribute))


def _inverse_held(plans: PlanBatch) -> np.ndarray:
    """1 / GPUs held (0 where none are): utilisation is GPUs in use times this."""
    held = plans.held
    return np.where(held > 0, 1.0 / np.where(held > 0, held, 1.0), 0.0)


# Every parameter of fo_pair and fleetopt_evaluate, in order. kernel_source() writes the C
# parameter list from it (FO_PARAMS, FO_ARGS) and kernel_arguments() the values, so the two
# cannot drift apart. A new model-constant array is one row here (e.g. ``_constant("covenant_coef",
# lambda c: c.covenant_coef, "const double*")``, with an "int" row for a new size), used by name
# in kernel.cu; a new risk factor is a row of fleetopt.evaluate.factors.FACTORS.
KERNEL_ARGUMENTS: tuple[KernelArgument, ...] = (
    # sizes
    KernelArgument("n_pairs", "long long", lambda call: call.plans.P * call.S),
    KernelArgument("S", "int", lambda call: call.S),
    KernelArgument("T", "int", lambda call: call.consts.T),
    KernelArgument("I", "int", lambda call: call.plans.drawn_mw.shape[1]),
    KernelArgument("K", "int", lambda call: call.plans.contract_gpus.shape[1]),
    KernelArgument("F", "int", lambda call: call.plans.draws.shape[1]),
    KernelArgument("B", "int", lambda call: call.plans.build_mw.shape[1]),
    KernelArgument("G", "int", lambda call: call.plans.market_revenue.shape[2]),
    # plans: leading axis P
    _plan("mrev", "market_revenue"), _plan("msup", "market_supply"), _plan("mgpu", "market_gpus"),
    _plan("cgpu", "contract_gpus"), _plan("accepted", "accepted"), _plan("drawn", "drawn_mw"),
    _plan("online_plan", "online_mw"), _plan("elec", "electricity"), _plan("site_fixed", "site_fixed"),
    _plan("other_opex", "other_opex"), _plan("depreciation", "depreciation"),
    _plan("book", "book_disposed"), _plan("proceeds", "proceeds"), _plan("capex", "capex"),
    _plan("draws", "draws"), _plan("prepay", "prepay"), _plan("sched", "scheduled"),
    KernelArgument("inv_held", "const double*", lambda call: _inverse_held(call.plans)),
    _plan("terminal_fleet", "terminal_fleet"), _plan("terminal_power", "terminal_power"),
    _plan("build_site", "build_site", "const int*"), _plan("build_start", "build_start", "const int*"),
    _plan("build_online", "build_online", "const int*"), _plan("build_mw", "build_mw"),
    # scenarios: time-major, last axis S (consecutive threads read consecutive scenarios)
    *(
        KernelArgument(f.name, f"const {f.c_type}*", lambda call, name=f.name: call.scenario_rows[name])
        for f in FACTORS
    ),
    # model constants
    _constant("discount", lambda c: c.discount, "const double*"),
    _constant("fixed_cost_per_mw", lambda c: c.fixed_cost_per_mw, "const double*"),
    _constant("contract_revenue_per_gpu", lambda c: c.contract_revenue_per_gpu, "const double*"),
    _constant("contract_deadline", lambda c: c.contract_deadline, "const int*"),
    _constant("contract_penalty", lambda c: c.contract_penalty, "const double*"),
    _financing("rate_q", "rate_quarterly", "const double*"),
    _financing("floating", "floating", "const double*"),
    _financing("opening_balance", "opening_balance", "const double*"),
    # covenant tests, one row each (fleetopt.core.covenants.coefficient_table)
    _constant("covenant_from", lambda c: c.covenant_from, "int"),
    _constant("covenant_window", lambda c: c.covenant_window, "int"),
    _constant("R", lambda c: len(c.covenants), "int"),
    _constant("covenant_coef", lambda c: coefficient_table(c.covenants)[0], "const double*"),
    _constant("covenant_index", lambda c: coefficient_table(c.covenants)[1], "const int*"),
    _financing("opening_cash", "opening_cash", "double"),
    _financing("min_cash_floor", "min_cash", "double"),
    _financing("tax_rate", "tax_rate", "double"),
    KernelArgument("loss_carry_forward", "int", lambda call: int(call.fin.loss_carry_forward)),
    _financing("revolver_limit", "revolver_limit", "double"),
    _financing("revolver_rate_q", "revolver_rate_quarterly", "double"),
    # outputs: (P, S)
    *(
        KernelArgument(f"out_{field}", "double*", lambda call, field=field: call.outputs[field])
        for field in RESULT_FIELDS
    ),
)  # fmt: skip


class _CType(NamedTuple):
    """How a value becomes an argument of one C type."""

    on_xp: Callable[[Any, Any], Any]  # (value, xp) -> the argument CuPy (or NumPy) passes
    for_ctypes: Callable[[Any], Any]  # that argument -> what ctypes passes to the C build


_C_TYPES: dict[str, _CType] = {
    "long long": _CType(lambda v, xp: np.int64(v), lambda v: ctypes.c_longlong(int(v))),
    "int": _CType(lambda v, xp: np.int32(v), lambda v: ctypes.c_int(int(v))),
    "double": _CType(lambda v, xp: np.float64(v), lambda v: ctypes.c_double(float(v))),
    "const double*": _CType(lambda v, xp: _f64(v, xp), lambda v: ctypes.c_void_p(v.ctypes.data)),
    "const int*": _CType(lambda v, xp: _i32(v, xp), lambda v: ctypes.c_void_p(v.ctypes.data)),
    # outputs: (P, S) float64 arrays the caller made
    "double*": _CType(lambda v, xp: v, lambda v: ctypes.c_void_p(v.ctypes.data)),
}


def c_prelude() -> str:
    """The C parameter list of the kernel, generated from :data:`KERNEL_ARGUMENTS`:
    ``FO_PARAMS`` (declarations) and ``FO_ARGS`` (names, to pass them on)."""
    params = ", \\\n    ".join(f"{a.c_type} {a.name}" for a in KERNEL_ARGUMENTS)
    names = ", \\\n    ".join(a.name for a in KERNEL_ARGUMENTS)
    return (
        "// generated by fleetopt/evaluate/kernel.py from KERNEL_ARGUMENTS\n"
        f"#define FO_PARAMS \\\n    {params}\n"
        f"#define FO_ARGS \\\n    {names}\n"
        '#line 1 "kernel.cu"\n'
    )


def kernel_source() -> str:
    """kernel.cu with its generated parameter list: the whole compilable source."""
    return c_prelude() + (resources.files("fleetopt.evaluate") / "kernel.cu").read_text()


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


def scenario_arguments(scen: ScenarioSet, xp: Any) -> dict[str, Any]:
    """The kernel's scenario arrays by factor name, time-major ((..., T, S): a warp reads one
    contiguous row), in each factor's C type."""
    convert = {"double": _f64, "int": _i32}
    return {f.name: convert[f.c_type](np.moveaxis(scen.factors[f.name], 0, -1), xp) for f in FACTORS}


def kernel_arguments(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any,
    outputs: dict[str, Any],
    scenario_arrays: dict[str, Any] | None = None,
) -> list:
    """Every kernel argument in the order of :data:`KERNEL_ARGUMENTS`: contiguous float64/int32
    arrays on ``xp``, typed scalars and the ``outputs`` (RESULT_FIELDS -> (P, S) arrays).
    ``scenario_arrays``: :func:`scenario_arguments` of ``scen``, when the caller already made them."""
    rows = scenario_arrays if scenario_arrays is not None else scenario_arguments(scen, xp)
    call = KernelCall(consts, plans, scen.S, rows, outputs)
    return [_C_TYPES[a.c_type].on_xp(a.value(call), xp) for a in KERNEL_ARGUMENTS]


def _outputs(P: int, S: int, xp: Any) -> dict[str, Any]:
    return {field: xp.empty((P, S), dtype=xp.float64) for field in RESULT_FIELDS}


def _results(outputs: dict[str, Any]) -> dict:
    out = dict(outputs)
    out["breach"] = out["breach"] > 0.5
    out["default"] = out["default"] > 0.5
    return out


_CUDA_KERNEL = None
# The last scenario block uploaded to the GPU, with its device arrays: every chunk of plans of a
# run is simulated on the same block, so it is copied once. Cleared when the block is freed.
_ON_DEVICE: list = []


def _device_scenarios(scen: ScenarioSet, xp: Any) -> dict[str, Any]:
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
    args = kernel_arguments(consts, plans, scen, cp, outputs, _device_scenarios(scen, cp))
    _CUDA_KERNEL((blocks,), (THREADS_PER_BLOCK,), tuple(args))
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
        outputs = _outputs(plans.P, scen.S, np)
        args = kernel_arguments(consts, plans, scen, np, outputs)  # they must outlive the call
        as_ctypes = [_C_TYPES[a.c_type].for_ctypes(v) for a, v in zip(KERNEL_ARGUMENTS, args, strict=True)]
        self._lib.fleetopt_evaluate(*as_ctypes)
        return _results(outputs)
