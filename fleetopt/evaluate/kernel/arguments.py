"""The kernel's parameters, declared once (:data:`KERNEL_ARGUMENTS`, in order: the C parameter list
:mod:`~fleetopt.evaluate.kernel.source` writes and the values both callers pass are generated
from it), the values of one call (:func:`kernel_arguments`), checked against their C types
(:func:`check_arguments`), and the (P, S) outputs the kernel writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.covenants import coefficient_table
from fleetopt.core.economics.debt import Financing
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.evaluate.kernel.c_types import C_TYPES, POINTER_DTYPES, bit_mask
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.scenario_arguments import KERNEL_FACTORS, SCENARIO_FORMS, scenario_arguments
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import BASE_PREPAY_FIELDS, PRESENT_COST, RESULT_FIELDS
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import SimulationConstants


@dataclass(frozen=True)
class KernelCall:
    """What one kernel call's arguments are made from."""

    consts: SimulationConstants
    tables: dict[str, Any]  # plan_tables(consts, plans), on the caller's device
    P: int
    S: int
    scenario_rows: dict[str, Any]  # scenario_arguments(scen): one time-major array per factor
    outputs: dict[str, Any]  # RESULT_FIELDS -> (P, S) float64, written by the kernel

    @property
    def fin(self) -> Financing:
        return self.consts.financing


@dataclass(frozen=True)
class KernelArgument:
    """One kernel parameter: its C name, its C type (a key of :data:`C_TYPES`), its value and what
    it depends on (``size``, ``plan``, ``scenario``, ``constant`` or ``output``)."""

    name: str
    c_type: str
    value: Callable[[KernelCall], Any]
    kind: str = "constant"


def _plan(name: str, c_type: str = "const double*") -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: call.tables[name], "plan")


def _constant(name: str, value: Callable[[SimulationConstants], Any], c_type: str) -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: value(call.consts))


def _financing(name: str, attribute: str, c_type: str) -> KernelArgument:
    return KernelArgument(name, c_type, lambda call: getattr(call.fin, attribute))


def _payment_bits(payments, which: str) -> np.ndarray:
    """Which contracts have a payment (contract_book.contract_payments) each quarter, one uint64 mask a
    quarter: ``live`` or ``ended`` (T,), or ``deferred_end`` (1,) for the terminal deduction."""
    values = getattr(payments, which)
    if which == "deferred_end":
        return bit_mask(values[:, None] != 0.0, 0)
    return bit_mask(values != 0.0, 0)


def _step_bits(capacity_step_mw: np.ndarray) -> np.ndarray:
    """(I, T) increases of the sites' contracted capacity -> (I,) uint64: bit u set where site i's
    increases in quarter u >= 1 (the quarters whose late power the kernel checks), so that a pair
    visits those quarters only."""
    due = np.asarray(capacity_step_mw) > 0.0
    due[:, 0] = False
    return bit_mask(due, 1)


def _scenario_parameter(factor) -> KernelArgument:
    if factor.name in SCENARIO_FORMS:
        name, c_type, _ = SCENARIO_FORMS[factor.name]
    else:
        name, c_type = factor.name, f"const {factor.c_type}*"
    return KernelArgument(name, c_type, lambda call, name=name: call.scenario_rows[name], "scenario")


# Every parameter of the kernel, in order. kernel_source() writes the C parameter list from it
# (FO_PARAMS, FO_ARGS) and kernel_arguments() the values, so the two cannot drift apart. A new
# per-plan quantity is a QUARTER_FIELDS row (or a plan_tables entry and a _plan row here); a new
# model constant one _constant row; a new risk factor a row of fleetopt.evaluate.factors.FACTORS.
KERNEL_ARGUMENTS: tuple[KernelArgument, ...] = (
    # sizes (the model's other sizes are compile-time constants: KernelShape)
    KernelArgument("P", "long long", lambda call: call.P, "size"),
    KernelArgument("S", "long long", lambda call: call.S, "size"),
    # plans: plan_tables(), leading axis P
    _plan("plan_quarter"), _plan("plan_flags", "const unsigned long long*"),
    _plan("plan_served", "const unsigned long long*"), _plan("plan_accepted", "const unsigned long long*"),
    _plan("plan_short", "const unsigned long long*"), _plan("plan_owed", "const unsigned long long*"),
    _plan("cgpu"), _plan("msup"), _plan("mgpu"), _plan("mrev"), _plan("elec"), _plan("drawn"),
    _plan("online_plan"), _plan("build_site", "const int*"), _plan("build_start", "const int*"),
    _plan("build_online", "const int*"), _plan("build_mw"), _plan("terminal_fleet"), _plan("terminal_power"),
    _plan("terminal_book"), _plan("gtbook"),
    _plan("cmw"), _plan("mmw"), _plan("fsup"), _plan("frev"), _plan("gterm"), _plan("lbuf"),
    _plan("gmsup"), _plan("gmcnt"), _plan("gmelec"), _plan("gmmw"),
    _plan("igpu"), _plan("isup"), _plan("irev"), _plan("imw"), _plan("ielec"),
    _plan("plan_idle", "const unsigned long long*"),
    _plan("slot_rate"), _plan("slot_floating"), _plan("slot_refinanced"), _plan("slot_collateral_weight"),
    # scenarios: time-major, last axis S (consecutive threads read consecutive scenarios)
    *(_scenario_parameter(f) for f in KERNEL_FACTORS),
    # model constants
    _constant("discount", lambda c: c.discount, "const double*"),
    _constant("fixed_cost_per_mw", lambda c: c.fixed_cost_per_mw, "const double*"),
    _constant("step_mw", lambda c: c.capacity_step_mw, "const double*"),
    _constant("step_bits", lambda c: _step_bits(c.capacity_step_mw), "const unsigned long long*"),
    _constant("contract_revenue_per_gpu", lambda c: c.contract_revenue_per_gpu, "const double*"),
    _constant("contract_deadline", lambda c: c.contract_deadline, "const int*"),
    _constant("contract_size", lambda c: c.contract_size, "const double*"),
    _constant("contract_penalty", lambda c: c.contract_penalty, "const double*"),
    _constant("contract_use", lambda c: c.contract_use, "const int*"),
    _constant("delay_allowance", lambda c: c.delay_allowance, "const int*"),
    _constant("delay_penalty", lambda c: c.delay_penalty, "const double*"),
    # the customers' payments besides revenue (fleetopt.core.data.ContractPayments): (K, T), (K,)
    _constant("pay_live", lambda c: c.contract_payments.live, "const double*"),
    _constant("pay_ended", lambda c: c.contract_payments.ended, "const double*"),
    _constant("deferred_end", lambda c: c.contract_payments.deferred_end, "const double*"),
    *(
        _constant(f"{name}_bits", lambda c, which=which: _payment_bits(c.contract_payments, which),
                  "const unsigned long long*")
        for name, which in (("pay_live", "live"), ("pay_ended", "ended"), ("deferred", "deferred_end"))
    ),
    # the policy's rules (fleetopt.schema.policy.Policy): 1 on, 0 off
    _constant("contracts_first", lambda c: int(c.policy.power_to_contracts_first), "int"),
    _constant("reschedule", lambda c: int(c.policy.reschedule_late_contracts), "int"),
    _constant("freed_to_market", lambda c: int(c.policy.freed_gpus_to_market), "int"),
    _constant("defer_orders", lambda c: int(c.policy.defer_orders), "int"),
    _constant("distress_sales", lambda c: int(c.policy.distress_sales), "int"),
    _constant("sale_lot", lambda c: float(c.policy.sale_block_gpus), "double"),
    _constant("sale_share", lambda c: c.policy.sale_share, "double"),
    # covenant tests, one row each (fleetopt.core.covenants.coefficient_table; layout: KernelShape)
    _constant("covenant_coef", lambda c: coefficient_table(c.covenants)[0], "const double*"),
    _constant("covenant_from", lambda c: c.covenant_from, "int"),
    _constant("equity_cures", lambda c: c.equity_cures, "int"),
    _financing("opening_cash", "opening_cash", "double"),
    _financing("min_cash_floor", "min_cash", "double"),
    _financing("default_cash", "default_cash", "double"),
    _constant("default_below", lambda c: c.financing.default_cash - LIQUIDITY_TOLERANCE_USD, "double"),
    _financing("tax_rate", "tax_rate", "double"),
    KernelArgument("loss_carry_forward", "int", lambda call: int(call.fin.loss_carry_forward)),
    _financing("opening_loss_pool", "opening_loss_pool", "double"),
    _financing("revolver_limit", "revolver_limit", "double"),
    _financing("revolver_rate_q", "revolver_rate_quarterly", "double"),
    _constant("opening_fleet_value", lambda c: c.opening_fleet_value, "double"),
    # outputs: (P, S); the present cost's and policy rule 6's only where compiled in (FO_PRESENT_COST,
    # FO_BASE_PREPAY), else one unread value
    *(
        KernelArgument(f"out_{field}", "double*", lambda call, field=field: call.outputs[field], "output")
        for field in (*RESULT_FIELDS, PRESENT_COST, *BASE_PREPAY_FIELDS)
    ),
)  # fmt: skip


def kernel_arguments(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any,
    outputs: dict[str, Any],
    scenario_arrays: dict[str, Any] | None = None,
    tables: dict[str, Any] | None = None,
    scenario_major: bool = False,
) -> list:
    """Every kernel argument in the order of :data:`KERNEL_ARGUMENTS`: contiguous float64, int32
    and uint64 arrays on ``xp``, typed scalars and the ``outputs`` (RESULT_FIELDS -> (P, S) arrays).
    ``scenario_arrays``: :func:`scenario_arguments` of ``scen``, and ``tables``: the plans'
    :func:`plan_tables` on ``xp``, when the caller already made them."""
    rows = scenario_arrays if scenario_arrays is not None else scenario_arguments(scen, xp, scenario_major)
    tables = tables if tables is not None else plan_tables(consts, plans)
    call = KernelCall(consts, tables, plans.P, scen.S, rows, outputs)
    return [C_TYPES[a.c_type].on_xp(a.value(call), xp) for a in KERNEL_ARGUMENTS]


def output_arrays(P: int, S: int, xp: Any, present_cost: bool = False,
                  base_prepay: bool = False) -> dict[str, Any]:  # fmt: skip
    """The kernel's (P, S) outputs; ``present_cost``'s (P, S) only where it is computed, and policy rule 6's
    where it is on (``base_prepay``: zeros, which the kernel adds to where it is compiled in, and where
    no base is tested leaves)."""
    cost = xp.empty((P, S) if present_cost else (1,), dtype=xp.float64)
    base = {name: xp.zeros((P, S) if base_prepay else (1,), dtype=xp.float64) for name in BASE_PREPAY_FIELDS}
    results = {field: xp.empty((P, S), dtype=xp.float64) for field in RESULT_FIELDS}
    return {**results, PRESENT_COST: cost, **base}


def kernel_results(outputs: dict[str, Any]) -> dict:
    """The kernel's outputs as NumPy's simulation gives them: flags as bools, the present cost and
    policy rule 6's only where computed."""
    out = dict(outputs)
    for name in (PRESENT_COST, *BASE_PREPAY_FIELDS):
        if out[name].ndim == 1:
            del out[name]
    for flag in ("breach", "uncured_breach", "default"):  # bool, as NumPy's simulation gives them
        out[flag] = out[flag] > 0.5
    return out


def check_arguments(args: list) -> None:
    """Each argument has its declared C type: scalars of the declared width, contiguous arrays of
    the declared dtype (a wrong one would be read as garbage by the C build or on the GPU)."""
    scalars = {"long long": np.int64, "int": np.int32, "double": np.float64}
    if len(args) != len(KERNEL_ARGUMENTS):
        raise TypeError(f"the kernel takes {len(KERNEL_ARGUMENTS)} arguments, got {len(args)}")
    for declared, value in zip(KERNEL_ARGUMENTS, args, strict=True):
        if declared.c_type in scalars:
            if type(value) is not scalars[declared.c_type]:
                raise TypeError(f"{declared.name}: {declared.c_type} expected, got {type(value).__name__}")
            continue
        dtype = getattr(value, "dtype", None)
        if dtype != POINTER_DTYPES[declared.c_type] or not value.flags.c_contiguous:
            raise TypeError(
                f"{declared.name}: contiguous {POINTER_DTYPES[declared.c_type].__name__} expected"
            )
