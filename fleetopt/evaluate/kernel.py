"""The fused kernel (kernel.cu) and how to call it: from CuPy on a GPU, or compiled as C on the CPU.

The kernel takes the same inputs as :func:`fleetopt.evaluate.simulate.simulate` and returns the
same (P, S) results. What depends only on the plan is computed here once per plan
(:func:`plan_tables`: site totals, the term loans' balances, principal and forecast interest,
contract revenue at full delivery, and bit masks of what each plan does each quarter); what
depends only on the scenario once per scenario block (:func:`scenario_arguments`); the kernel's
pair loop streams through both. The model's sizes are compile-time constants
(:class:`KernelShape`): one kernel is compiled per shape and cached.

:data:`KERNEL_ARGUMENTS` declares the kernel's parameters once, in order: the C parameter list
prepended to kernel.cu (:func:`kernel_source`) and the values passed by both callers
(:func:`kernel_arguments`) are generated from it.
"""

from __future__ import annotations

import contextlib
import ctypes
import shlex
import socket
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.covenants import (
    BORROWING_BASE,
    CATALOGUE,
    QUANTITIES,
    TOLERANCE_USD,
    coefficient_table,
    kind_bit,
)
from fleetopt.core.economics import (
    LIQUIDITY_TOLERANCE_USD,
    FinanceState,
    Financing,
    collateral_required,
)
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.evaluate.backend import BackendError, c_compiler
from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.build_cache import BuildCache
from fleetopt.evaluate.factors import FACTORS
from fleetopt.evaluate.layout import REL, _site_total, per_facility
from fleetopt.evaluate.liquidity import inverse
from fleetopt.evaluate.operations import TINY
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import SimulationConstants

# The pair's state is fixed-size: contract status and the quarters a pair may lack power are bit
# masks of one 64-bit word, the sites' power shares registers. Larger models run the array code.
MAX_SITES, MAX_CONTRACTS, MAX_QUARTERS = 32, 64, 64
MAX_LATE_QUARTERS = 7  # late quarters a contract's count holds (FO_LATE_PLANES bit planes)
# The kernel is compiled with one double of state per facility a chunk's plans prepay before the last
# quarter (KernelShape.prepaid), which the prepayment rule tracks per pair, and one per GPU-backed
# facility whose draws a cancelled order may leave undrawn (KernelShape.forgone): plans prepaying one
# facility compile as before; each more spills more on a GPU (tests/test_kernel_compile.py). Beyond
# these counts (above every bundled model's facilities) the array code runs.
MAX_PREPAID_FACILITIES = 16
MAX_FORGONE_FACILITIES = 16
THREADS_PER_BLOCK = 128
PLANS_PER_THREAD = 1  # plans a GPU thread simulates side by side on one scenario (FO_PLANS)
# nvcc / NVRTC options: no contraction of multiply-adds, so the GPU rounds as the C build and NumPy do
CUDA_OPTIONS = ("--std=c++14", "--fmad=false")
# kernel.cu's entry point: extern "C", as CuPy looks it up by this name (tests/test_kernel_compile.py)
KERNEL_NAME = "fleetopt_evaluate"

# the factors the kernel reads, in FACTORS' order (a delivery slip acts on the plans: factors.RiskFactor)
KERNEL_FACTORS = tuple(f for f in FACTORS if f.kernel)


# ---------------------------------------------------------------- the model's shape, fixed at compile time


# kernel.cu keeps the first breach's kind bits in the low byte of fo_state.breach (FO_FIRST_BREACH)
assert len(CATALOGUE) <= 8, "a covenant kind's bit beyond the first breach's byte in kernel.cu"


@dataclass(frozen=True)
class KernelShape:
    """The sizes kernel.cu is compiled for (one compiled kernel per shape)."""

    T: int  # quarters
    I: int  # sites
    K: int  # contracts
    B: int  # power-block groups per plan
    G: int  # generations
    W: int  # quarters of flows the covenant tests average
    # covenant tests, one row each: greater quantity, lesser quantity (-1: a USD amount), quantity
    # that must be positive (-1: always), 1 for a max test, greater / lesser coefficient is 1.0, the
    # kind's first_breach bit (at ROW_BIT), the first and the last quarter tested (the borrowing base:
    # 0 and T - 1; a test tied to a facility's life: finance.covenants.tested_while_owed)
    covenants: tuple[tuple[int, int, int, int, int, int, int, int, int], ...]
    # scenario arrays scenario-major ((S, ...): one pair's rows contiguous, for the C build) rather
    # than time-major ((..., S): a warp's reads of one row contiguous, for the GPU)
    scenario_major: bool = False
    # the prepayment rule (core.economics.finance_step) compiled in: it is on and some plan prepays
    cuts: bool = False
    # facilities whose cut prepayments a pair tracks: those the plans prepay before the last quarter
    # (after it only the sum kept matters), in facility order
    prepaid: tuple[int, ...] = ()
    # the policy's idle GPUs (idle_gpus_to_market, policy rule 5) compiled in: it is on and some plan
    # holds idle GPUs (without it the kernel is the rule-off one, registers and all:
    # tests/test_kernel_compile.py)
    idle: bool = False
    # GPU-backed facilities whose draws the order rule may defer, and so leave undrawn where it
    # cancels the order (PlanBatch.ltv_facility_draws; FinanceState.forgone), in facility order
    forgone: tuple[int, ...] = ()
    # a breach whose cash covers the debt is repaid, not uncured (covenants.cash_covering_debt_cures),
    # compiled in only then: off, the kernel is the one without it, registers and all
    cash_covers: bool = False

    @property
    def FP(self) -> int:
        return len(self.prepaid)

    @property
    def FL(self) -> int:
        return len(self.forgone)

    @classmethod
    def of(cls, consts: SimulationConstants, plans: PlanBatch, scenario_major: bool = False) -> KernelShape:
        I, K = plans.drawn_mw.shape[1], plans.contract_gpus.shape[1]
        B, G = plans.build_mw.shape[1], plans.market_revenue.shape[2]
        cuts = consts.policy.cut_prepayments and bool((plans.prepay > 0).any())
        before_last = (plans.prepay[..., :-1] > 0).any(axis=(0, 2))
        prepaid = tuple(int(f) for f in np.flatnonzero(before_last)) if cuts else ()
        rows = _covenant_rows(consts)
        idle = consts.policy.idle_gpus_to_market and bool((plans.idle_gpus > 0).any())
        forgone = _forgone_facilities(consts, plans)
        return cls(consts.T, I, K, B, G, consts.covenant_window, rows, scenario_major, cuts, prepaid, idle,
                   forgone, consts.cash_covering_debt_cures)  # fmt: skip

    @classmethod
    def of_model(cls, data: Any, B: int = 8, scenario_major: bool = False,
                 prepaid_count: int = 1) -> KernelShape:
        """The shape of ``data`` (a ModelData) for plans with ``B`` power-block groups that prepay
        its first ``prepaid_count`` facilities before the last quarter (:attr:`prepaid`, those
        facilities): for compile checks, which need no plans."""
        consts = SimulationConstants.from_data(data)
        K = len(data.contracts)
        cuts = consts.policy.cut_prepayments and bool(data.facilities)
        slots = tuple(range(min(len(data.facilities), prepaid_count))) if cuts else ()
        # the order rule at its largest: as many GPU-backed facilities as the kernel tracks
        backed = [f for f, facility in enumerate(data.facilities) if facility.max_ltv is not None]
        forgone = tuple(backed[:MAX_FORGONE_FACILITIES]) if consts.policy.defer_orders else ()
        return cls(
            data.T, data.I, K, B, data.G, consts.covenant_window, _covenant_rows(consts), scenario_major,
            cuts, slots, consts.policy.idle_gpus_to_market, forgone, consts.cash_covering_debt_cures,
        )

    def scenario_rows(self) -> dict[str, int]:
        """Rows per scenario of each scenario parameter (its shape's product: row = index * T + t)."""
        sizes = {"G": self.G, "U": 2, "K": self.K, "I": self.I, "T": self.T}
        out = {}
        for f in KERNEL_FACTORS:
            name = SCENARIO_FORMS[f.name][0] if f.name in SCENARIO_FORMS else f.name
            out[name] = self.T if f.name in SCENARIO_FORMS else int(np.prod([sizes[d] for d in f.dims]))
        return out

    def fields(self) -> list[tuple[str, int]]:
        """The per-plan quarter table's fields and their widths, in order (:data:`QUARTER_FIELDS`)."""
        return [(name, width(self)) for name, width in QUARTER_FIELDS]

    def defines(self) -> dict[str, int | float]:
        """The constants kernel.cu is compiled with: sizes, table offsets and flag bits, and the
        tolerances NumPy's simulation uses (each written once, here read from its Python name)."""
        out = {
            "FO_REL": REL, "FO_COVENANT_TOLERANCE_USD": TOLERANCE_USD,
            "FO_LIQUIDITY_TOLERANCE_USD": LIQUIDITY_TOLERANCE_USD, "FO_TINY": TINY,
            "FO_LATE_PLANES": MAX_LATE_QUARTERS.bit_length(), "FO_QUARTERS_PER_YEAR": QUARTERS_PER_YEAR,
            "FO_T": self.T, "FO_I": self.I, "FO_K": self.K, "FO_B": self.B, "FO_G": self.G,
            "FO_W": self.W, "FO_R": len(self.covenants), "FO_CUT": int(self.cuts), "FO_FP": self.FP,
            "FO_FL": self.FL,
            "FO_IDLE_RULE": int(self.idle),
            # a borrowing base test (its quantities, QUANTITIES 5 and 6, are made only then)
            "FO_BASE": int(any(row[ROW_BIT] == kind_bit(BORROWING_BASE) for row in self.covenants)),
            # a test on EBITDA less tax (the DSCR with dscr_cash_flow: ebitda_less_tax): its flow is kept
            "FO_CFADS": int(any(QUANTITIES.index("ebitda_less_tax") in row[:3] for row in self.covenants)),
            # a test on net debt (leverage with leverage_numerator: net_debt): made only then
            "FO_NET_DEBT": int(any(QUANTITIES.index("net_debt") in row[:3] for row in self.covenants)),
            "FO_CASH_COVERS": int(self.cash_covers),
            "FO_THREADS": THREADS_PER_BLOCK,
            "FO_PLANS": PLANS_PER_THREAD,
        }  # fmt: skip
        at = 0
        for name, width in self.fields():
            out[f"FO_Q_{name.upper()}"] = at
            at += width
        out["FO_NQ"] = at
        out["FO_SCENARIO_MAJOR"] = int(self.scenario_major)
        out.update({f"FO_ROWS_{name}": rows for name, rows in self.scenario_rows().items()})
        out.update(
            FO_F_SOLD=0, FO_F_MARKET=2 * self.G, FO_F_PROCEEDS=2 * self.G + 2, FO_F_FLOATING=2 * self.G + 3,
            FO_F_REFINANCED=2 * self.G + 4,
        )
        return out

    def prelude(self) -> str:
        lines = [f"#define {name} {value}" for name, value in self.defines().items()]
        rows = " ".join(f"ROW({r}, {', '.join(map(str, row))})" for r, row in enumerate(self.covenants))
        lines.append(f"#define FO_COVENANT_ROWS(ROW) {rows}")
        # the prepaid slot of each forgone slot's facility (-1: none), as a chain the compiler folds
        slot = "".join(f"(l) == {l} ? {self.prepaid.index(f) if f in self.prepaid else -1} : "
                       for l, f in enumerate(self.forgone))  # fmt: skip
        lines.append(f"#define FO_FORGONE_PREPAID_SLOT(l) ({slot}-1)")
        return "\n".join(lines) + "\n"


ROW_BIT = 6  # the kind's bit in a row of KernelShape.covenants


def _covenant_rows(consts: SimulationConstants) -> tuple:
    """The covenant tests' layout (KernelShape.covenants) from core.covenants.coefficient_table."""
    coef, index = coefficient_table(consts.covenants)
    return tuple(
        (*(int(v) for v in index[r]), int(coef[r, 0] == 1.0), int(coef[r, 1] == 1.0), kind_bit(test.kind),
         test.first_quarter, test.last_quarter)
        for r, test in enumerate(consts.covenants)
    )  # fmt: skip


# The per-plan quarter table (plan_quarter[P][T][FO_NQ]): (name, width). kernel.cu reads field f
# of quarter t at offset FO_Q_<NAME>; plan_tables() fills it with the same arithmetic as
# simulate.py and core.economics.finance_step, so the kernel's results match NumPy's.
QUARTER_FIELDS: tuple[tuple[str, Callable[[KernelShape], int]], ...] = (
    ("contract_total", lambda s: s.K),  # GPUs serving each contract, summed over sites
    ("contract_revenue", lambda s: s.K),  # their revenue at full delivery
    ("supply", lambda s: 2),  # H100-equivalent market supply by use
    ("supply_safe", lambda s: 2),  # the supply, 1.0 where it is not positive
    ("market_gpus", lambda s: 2),
    ("market_revenue", lambda s: 2 * s.G),  # by use and generation, at forecast prices
    ("electricity", lambda s: 1),
    ("fixed_costs", lambda s: 1),  # site fixed costs plus other opex
    ("depreciation_net", lambda s: 1),  # depreciation less the gain on disposals without proceeds
    ("outflow_fixed", lambda s: 1),  # capex plus debt flows (quarters without proceeds)
    ("depreciation", lambda s: 1),
    ("book", lambda s: 1),
    ("proceeds", lambda s: 1),
    ("capex", lambda s: 1),
    ("debt_flow", lambda s: 1),  # principal plus prepayments less draws
    ("inv_held", lambda s: 1),  # 1 / GPUs held (0 where none are)
    ("forecast_interest", lambda s: 1),  # on the term loans at forecast rates
    ("floating_balance", lambda s: 1),  # balances that follow the reference rate
    ("refinanced_balance", lambda s: 1),  # refinanced bullets' balances: they follow the spread shift too
    ("principal", lambda s: 1),  # scheduled principal paid
    ("repaid_at_maturity", lambda s: 1),  # the part of it repaying bullets at maturity (not debt service)
    ("term_debt", lambda s: 1),  # term loans outstanding at the end of the quarter
    ("collateral_required", lambda s: 1),  # the collateral their GPU-secured balances need (borrowing base)
    ("collateral", lambda s: 1),  # the GPUs' gross resale value at forecast resale values
    ("gen_collateral", lambda s: s.G),  # by generation
    # the prepayment rule, per prepaid facility slot (KernelShape.prepaid): the plan's prepayment, the
    # scheduled principal its own balance no longer covers, and its prepayments in all
    ("prepaid", lambda s: s.FP),
    ("unpaid", lambda s: s.FP),
    ("slot_matures", lambda s: s.FP),  # 1.0 where the slot's facility is a bullet repaid at maturity in t
    ("prepaid_total", lambda s: 1),
    ("prepaid_collateral", lambda s: 1),  # the collateral the prepayments release (borrowing base)
    ("freed_supply", lambda s: s.K),  # each contract's GPUs on its use's market (policy), H100-equivalent
    ("freed_revenue", lambda s: s.K * s.G),  # and their revenue by generation, at forecast prices
    # by generation, for the policy's liquidity rules (fleetopt/evaluate/liquidity.py)
    ("gen_market_count", lambda s: 2 * s.G),  # by use, then generation
    ("gen_market_supply", lambda s: 2 * s.G),
    ("gen_market_electricity", lambda s: s.G),
    ("gen_held", lambda s: s.G),
    ("gen_opex", lambda s: s.G),
    ("gen_market_earned", lambda s: s.G),  # what the market GPUs earn on the forecast (order rule)
    ("gen_depreciation", lambda s: s.G),
    ("gen_sale_value", lambda s: s.G),
    ("gen_book", lambda s: s.G),
    ("gen_retired_proceeds", lambda s: s.G),
    ("gen_retired_book", lambda s: s.G),
    ("gen_retired_gpus", lambda s: s.G),  # the GPUs it disposes of (Liquidity.planned_sales_cut)
    ("gen_sellable", lambda s: s.G),  # market GPUs a distress sale may take (none a later contract needs)
    ("gen_market_gpus_inv", lambda s: s.G),  # 1 / gen_market_gpus, 1 / gen_held (0 where none are):
    ("gen_held_inv", lambda s: s.G),  # the taken shares without a division in every pair's quarter
    ("order_gpus", lambda s: s.G),
    ("order_capex", lambda s: 1),
    ("order_capex_next", lambda s: 1),
    ("order_deposit", lambda s: 1),
    ("order_saving", lambda s: 1),
    ("order_ebitda_next", lambda s: 1),
    ("forecast_cash_flow", lambda s: 1),
    ("ltv_draws", lambda s: 1),  # GPU-backed draws the order rule defers with the order (PlanBatch)
    ("ltv_draw_rate", lambda s: 1),
    ("ltv_draw_floating", lambda s: 1),
    ("ltv_collateral", lambda s: 1),  # the collateral those draws need
    ("ltv_outstanding", lambda s: 1),  # what of them the plan owes after t + 1's repayment
    # per forgone slot (KernelShape.forgone): its facility's ltv_draws, the shares of its balance the
    # plan repays by principal and by prepayment (economics.repaid_shares), 1.0 where it is a bullet
    # repaid at maturity, its forecast rate, floating and refinanced quarters, and collateral weight
    ("forgone_draws", lambda s: s.FL),
    ("forgone_principal", lambda s: s.FL),
    ("forgone_prepaid", lambda s: s.FL),
    ("forgone_matures", lambda s: s.FL),
    ("forgone_rate", lambda s: s.FL),
    ("forgone_floating", lambda s: s.FL),
    ("forgone_refinanced", lambda s: s.FL),
    ("forgone_weight", lambda s: s.FL),
    ("forgone_owed", lambda s: s.FL),  # the plan's balance at the end of t (_term_loans)
)


def _bits(flags: np.ndarray, axis: int) -> np.ndarray:
    """Booleans along ``axis`` (at most 64) packed into uint64 words, bit j for index j."""
    flags = np.moveaxis(np.asarray(flags, dtype=bool), axis, -1)
    weights = np.left_shift(np.uint64(1), np.arange(flags.shape[-1], dtype=np.uint64))
    return (
        np.bitwise_or.reduce(np.where(flags, weights, np.uint64(0)), axis=-1)
        if flags.shape[-1]
        else (np.zeros(flags.shape[:-1], dtype=np.uint64))
    )


def _term_loans(fin: Financing, plans: PlanBatch) -> dict[str, np.ndarray]:
    """The term loans of every plan through the horizon, (P, T) each: the arithmetic of
    core.economics.finance_step on the (P, 1, F) balances the NumPy simulation carries (they never
    depend on the scenario), so every number has the same bits as there."""
    P, _, T = plans.draws.shape
    state = FinanceState.opening(fin, (P, 1), np, balance_batch=(P, 1))

    draws, prepay, scheduled = (per_facility(a, np) for a in (plans.draws, plans.prepay, plans.scheduled))
    out = {name: np.empty((P, T)) for name in ("forecast_interest", "floating_balance", "principal",
                                               "repaid_at_maturity", "debt_flow", "term_debt",
                                               "prepaid_total", "refinanced_balance",
                                               "prepaid_collateral")}  # fmt: skip
    F = draws.shape[-1]
    out["prepaid"], out["unpaid"], out["owed"] = np.empty((P, T, F)), np.empty((P, T, F)), np.empty((P, T, F))
    for t in range(T):
        balance = state.balance
        out["forecast_interest"][:, t] = (np.asarray(fin.rate_quarterly[:, t]) * balance).sum(axis=-1)[:, 0]
        out["floating_balance"][:, t] = (np.asarray(fin.floating[:, t]) * balance).sum(axis=-1)[:, 0]
        out["refinanced_balance"][:, t] = (np.asarray(fin.refinanced[:, t]) * balance).sum(axis=-1)[:, 0]
        available = balance + draws[t]
        principal = np.minimum(scheduled[t], available)
        pay_early = np.minimum(prepay[t], available - principal)
        state.balance = available - principal - pay_early
        out["prepaid"][:, t], out["unpaid"][:, t] = pay_early[:, 0], (scheduled[t] - principal)[:, 0]
        out["owed"][:, t] = state.balance[:, 0]
        out["prepaid_total"][:, t] = pay_early.sum(axis=-1)[:, 0]
        out["prepaid_collateral"][:, t] = collateral_required(fin, pay_early)[:, 0]
        principal_total = principal.sum(axis=-1)
        out["principal"][:, t] = principal_total[:, 0]
        at_maturity = fin.repaid_at_maturity[:, t]  # as economics.finance_step sums it
        matured = (principal * at_maturity).sum(axis=-1)[:, 0] if at_maturity.any() else 0.0
        out["repaid_at_maturity"][:, t] = matured
        out["debt_flow"][:, t] = (principal_total + pay_early.sum(axis=-1) - draws[t].sum(axis=-1))[:, 0]
        out["term_debt"][:, t] = state.balance.sum(axis=-1)[:, 0]
    return out


# PlanBatch fields the quarter table takes as they are: (P, G, T) by generation, (P, T) orders
_BY_GENERATION = (
    "gen_market_electricity", "gen_held", "gen_opex", "gen_depreciation",
    "gen_sale_value", "gen_book", "gen_retired_proceeds", "gen_retired_book", "gen_sellable", "order_gpus",
    "gen_collateral", "gen_retired_gpus", "gen_market_earned",
)  # fmt: skip
_ORDERS = ("order_capex", "order_capex_next", "order_deposit", "order_saving", "order_ebitda_next",
           "forecast_cash_flow", "ltv_draws", "ltv_draw_rate", "ltv_draw_floating", "ltv_collateral",
           "ltv_outstanding")


def _forgone_facilities(consts: SimulationConstants, plans: PlanBatch) -> tuple[int, ...]:
    """The facilities whose draws the order rule may defer with an order (KernelShape.forgone)."""
    if not consts.policy.defer_orders:
        return ()
    return plans.forgone_facilities()


def _forgone_columns(consts: SimulationConstants, plans: PlanBatch, shape: KernelShape,
                     owed: np.ndarray) -> dict:
    """The quarter table's ``forgone_*`` columns, (P, T, FL) each; ``owed`` (P, T, F): what each plan
    owes each facility at the end of each quarter (:func:`_term_loans`)."""
    fin, slots, P = consts.financing, list(shape.forgone), plans.P

    def every_plan(arr):  # (FL, T) -> (P, T, FL)
        return np.broadcast_to(arr.T.astype(np.float64), (P, *arr.T.shape))

    return {
        "forgone_draws": plans.ltv_facility_draws[:, slots].transpose(0, 2, 1),
        "forgone_principal": plans.principal_share[:, slots].transpose(0, 2, 1),
        "forgone_prepaid": plans.prepaid_share[:, slots].transpose(0, 2, 1),
        "forgone_matures": every_plan(fin.repaid_at_maturity[slots]),
        "forgone_rate": every_plan(fin.rate_quarterly[slots]),
        "forgone_floating": every_plan(fin.floating[slots]),
        "forgone_refinanced": every_plan(fin.refinanced[slots]),
        "forgone_weight": every_plan(np.repeat(fin.collateral_weight[slots][:, None], consts.T, axis=1)),
        "forgone_owed": owed[:, :, slots],
    }


def plan_tables(consts: SimulationConstants, plans: PlanBatch) -> dict[str, np.ndarray]:
    """What the kernel reads of each plan, computed once per plan: the quarter table
    (``plan_quarter`` (P, T, FO_NQ)), bit masks of what each plan does each quarter
    (``plan_flags``, ``plan_served`` (P, T)), of its contracts taken (``plan_accepted`` (P,)) and of
    the quarters it draws more than it planned online (``plan_short``), and the per-site arrays the
    kernel reads only in a quarter short of power."""
    shape = KernelShape.of(consts, plans)
    T = consts.T
    loans = _term_loans(consts.financing, plans)
    slots = list(shape.prepaid)
    loans["prepaid"], loans["unpaid"] = loans["prepaid"][..., slots], loans["unpaid"][..., slots]
    matures = consts.financing.repaid_at_maturity[slots].T.astype(np.float64)  # (T, FP), every plan's
    loans["slot_matures"] = np.broadcast_to(matures, (plans.P, *matures.shape))
    over_drawn = (plans.drawn_mw > plans.online_mw * (1.0 + REL) + REL).any(axis=1)  # (P, T)
    owed = plans.contract_owed > 0  # (P, K, T): contracts the plan serves with fewer GPUs than they have
    return {
        "plan_quarter": _quarter_table(consts, plans, shape, loans),
        "plan_flags": _bits(_quarter_flags(consts, plans, shape, loans), 2),
        "plan_served": _bits((plans.contract_gpus != 0).any(axis=2), 1),  # (P, K, T) -> (P, T)
        "plan_accepted": _bits(plans.accepted != 0, 1),
        "plan_short": _bits(over_drawn | owed.any(axis=1), 1),  # computed on the per-site path
        "plan_owed": _bits(owed, 1),  # (P, K, T) -> (P, T)
        "cgpu": plans.contract_gpus, "msup": plans.market_supply, "mgpu": plans.market_gpus,
        "mrev": plans.market_revenue, "elec": plans.electricity, "drawn": plans.drawn_mw,
        "online_plan": plans.online_mw, "build_site": plans.build_site, "build_start": plans.build_start,
        "build_online": plans.build_online, "build_mw": plans.build_mw,
        "terminal_fleet": plans.terminal_fleet, "terminal_power": plans.terminal_power,
        "terminal_book": plans.terminal_book, "gtbook": plans.gen_terminal_book,
        "cmw": plans.contract_mw, "mmw": plans.market_mw, "fsup": plans.freed_supply,
        "frev": plans.freed_revenue, "gterm": plans.gen_terminal, "lbuf": plans.liquidity_buffer,
        # by use, generation and site (P, 2, G, I, T): what of the GPUs taken out has power, and the
        # MW they leave to the GPUs left (short quarters)
        "gmsup": plans.gen_site_market_supply, "gmcnt": plans.gen_site_market_count,
        "gmelec": plans.gen_site_market_electricity, "gmmw": plans.gen_site_market_mw,
        # the policy's idle GPUs (idle_gpus_to_market), by use, generation and site (P, 2, G, I, T), and
        # the quarters each plan holds any (P,)
        "igpu": plans.idle_gpus, "isup": plans.idle_supply, "irev": plans.idle_revenue,
        "imw": plans.idle_mw, "ielec": plans.idle_electricity,
        "plan_idle": _bits((plans.idle_gpus > 0).any(axis=(1, 2, 3)), 1),
        # the prepaid slots' forecast rates and floating quarters, (FP, T) (the same for every plan)
        "slot_rate": consts.financing.rate_quarterly[slots].reshape(-1, T),
        "slot_floating": consts.financing.floating[slots].reshape(-1, T),
        "slot_refinanced": consts.financing.refinanced[slots].reshape(-1, T),
        "slot_collateral_weight": consts.financing.collateral_weight[slots],
    }  # fmt: skip


def _quarter_table(
    consts: SimulationConstants, plans: PlanBatch, shape: KernelShape, loans: dict
) -> np.ndarray:
    """(P, T, FO_NQ): each plan's per-quarter figures in the kernel's field order (``shape.fields``)."""
    P, T, G = plans.P, consts.T, shape.G
    contract_total = _site_total(plans.contract_gpus, 2)  # (P, K, T)
    supply = _site_total(plans.market_supply, 2)  # (P, 2, T)
    revenue = _site_total(plans.market_revenue, 3)  # (P, 2, G, T)
    held = plans.held
    per_quarter = {
        "contract_total": contract_total.transpose(0, 2, 1),
        "contract_revenue": (consts.contract_revenue_per_gpu[:, None] * contract_total).transpose(0, 2, 1),
        "supply": supply.transpose(0, 2, 1),
        "supply_safe": np.where(supply > 0, supply, 1.0).transpose(0, 2, 1),
        "market_gpus": _site_total(plans.market_gpus, 2).transpose(0, 2, 1),
        "market_revenue": revenue.transpose(0, 3, 1, 2).reshape(P, T, 2 * G),
        "electricity": _site_total(plans.electricity, 1),
        "fixed_costs": plans.site_fixed + plans.other_opex,
        "depreciation_net": plans.depreciation - (-plans.book_disposed),
        "outflow_fixed": plans.capex + loans["debt_flow"],
        "depreciation": plans.depreciation,
        "book": plans.book_disposed,
        "proceeds": plans.proceeds,
        "capex": plans.capex,
        "collateral": plans.collateral,
        "collateral_required": plans.collateral_required,
        # 1 / x where positive, else 0: kernel.cu's fo_inverse, to the bit
        "inv_held": inverse(held),
        "gen_market_gpus_inv": inverse(plans.gen_market_gpus).transpose(0, 2, 1),
        "gen_held_inv": inverse(plans.gen_held).transpose(0, 2, 1),
        "freed_supply": _site_total(plans.freed_supply, 2).transpose(0, 2, 1),
        "freed_revenue": _site_total(plans.freed_revenue, 3).transpose(0, 3, 1, 2).reshape(P, T, -1),
        **{name: getattr(plans, name).transpose(0, 2, 1) for name in _BY_GENERATION},
        "gen_market_count": plans.gen_market_count.transpose(0, 3, 1, 2).reshape(P, T, 2 * G),
        "gen_market_supply": plans.gen_market_supply.transpose(0, 3, 1, 2).reshape(P, T, 2 * G),
        **{name: getattr(plans, name) for name in _ORDERS},
        **loans,
        **_forgone_columns(consts, plans, shape, loans["owed"]),
    }
    columns = [
        np.asarray(per_quarter[name], dtype=np.float64).reshape(P, T, width) for name, width in shape.fields()
    ]
    return np.ascontiguousarray(np.concatenate(columns, axis=2))


def _quarter_flags(
    consts: SimulationConstants, plans: PlanBatch, shape: KernelShape, loans: dict
) -> np.ndarray:
    """(P, T, 2 G + 5) booleans of what each plan does each quarter: sells a generation in a use,
    sells in a use at all, has proceeds, floating interest, refinanced interest (``plan_flags``)."""
    P, T, G = plans.P, consts.T, shape.G
    sold = (plans.market_revenue != 0).any(axis=3)  # (P, 2, G, T): any site
    market = sold.any(axis=2) | (plans.market_supply != 0).any(axis=2) | (plans.market_gpus != 0).any(axis=2)
    if consts.policy.freed_gpus_to_market:  # a contract's GPUs may reach its use's market
        for k, u in enumerate(consts.contract_use):
            sold[:, u] |= (plans.freed_revenue[:, k] != 0).any(axis=2)
            market[:, u] |= (plans.contract_gpus[:, k] != 0).any(axis=1)
    if consts.policy.idle_gpus_to_market:  # idle GPUs may reach their use's market: its demand and prices
        idle = (plans.idle_gpus > 0).any(axis=3)  # (P, 2, G, T)
        sold |= idle
        market |= idle.any(axis=2)
    # quarters whose interest may follow the rate shift: the plan's floating balances, and balances
    # the policy changes (prepayments cut, draws deferred with an order)
    floats = loans["floating_balance"] != 0
    floats = floats | _kept_floats(consts, shape, plans) | _moved_floats(consts, plans)
    floats = floats | _forgone_floats(consts, shape, plans)
    # quarters whose interest may follow the spread shift: refinanced balances, the plan's or kept
    # by a cut prepayment or forgone (draws moved with an order are never refinanced: they come
    # before maturity)
    refinanced = (loans["refinanced_balance"] != 0) | _kept_floats(consts, shape, plans, "refinanced")
    refinanced = refinanced | _forgone_floats(consts, shape, plans, "refinanced")
    return np.concatenate(
        [
            sold.transpose(0, 3, 1, 2).reshape(P, T, 2 * G),
            market.transpose(0, 2, 1),
            (plans.proceeds != 0)[..., None],
            floats[..., None],
            refinanced[..., None],
        ],
        axis=2,
    )


def _moved_floats(consts: SimulationConstants, plans: PlanBatch) -> np.ndarray:
    """(P, T) quarters in which draws deferred into them by the order rule save floating interest."""
    out = np.zeros((plans.P, consts.T), dtype=bool)
    if consts.policy.defer_orders:
        out[:, 1:] = plans.ltv_draw_floating[:, :-1] != 0
    return out


def _kept_floats(consts: SimulationConstants, shape: KernelShape, plans: PlanBatch,
                 which: str = "floating") -> np.ndarray:  # fmt: skip
    """(P, T) quarters in which a balance kept by a cut prepayment may follow the rate shift: a
    prepaid facility floats (``which`` "refinanced": is a refinanced bullet's, and follows the
    spread shift) and the plan has prepaid it before."""
    out = np.zeros((plans.P, consts.T), dtype=bool)
    for f in shape.prepaid:
        before = np.cumsum(plans.prepay[:, f] > 0, axis=1) > 0  # (P, T): prepaid by t
        after = np.concatenate([np.zeros((plans.P, 1), dtype=bool), before[:, :-1]], axis=1)
        out |= after & (getattr(consts.financing, which)[f] > 0)[None, :]
    return out


def _forgone_floats(consts: SimulationConstants, shape: KernelShape, plans: PlanBatch,
                    which: str = "floating") -> np.ndarray:  # fmt: skip
    """(P, T) quarters in which a balance a cancelled order left undrawn may follow the rate shift
    (``which`` "refinanced": the spread shift): its facility floats then, and the plan's first
    deferrable draws on it came a quarter before or earlier (deferred, then cancelled: the kernel
    charges the quarter of the cancellation's interest on them there too)."""
    out = np.zeros((plans.P, consts.T), dtype=bool)
    for f in shape.forgone:
        drawn = np.cumsum(plans.ltv_facility_draws[:, f] > 0, axis=1) > 0  # (P, T): by t
        after = np.zeros_like(drawn)
        after[:, 1:] = drawn[:, :-1]
        out |= after & (getattr(consts.financing, which)[f] > 0)[None, :]
    return out


def kernel_fits(plans: PlanBatch, consts: SimulationConstants) -> str | None:
    """Why the fused kernel cannot take these plans under ``consts`` (its fixed-size state: the
    model's delay allowances and the plans' prepaid facilities count too), or None."""
    I, K, G = plans.drawn_mw.shape[1], plans.contract_gpus.shape[1], plans.market_revenue.shape[2]
    T = plans.held.shape[1]
    if I > MAX_SITES or K > MAX_CONTRACTS or T > MAX_QUARTERS or 2 * G + 5 > 64:
        return (
            f"the fused kernel holds at most {MAX_SITES} sites, {MAX_CONTRACTS} contracts and "
            f"{MAX_QUARTERS} quarters (this model: {I}, {K}, {T})"
        )
    if consts.policy.cut_prepayments:
        prepaid = int((plans.prepay[..., :-1] > 0).any(axis=(0, 2)).sum())
        if prepaid > MAX_PREPAID_FACILITIES:
            return (
                f"the fused kernel tracks cut prepayments on at most {MAX_PREPAID_FACILITIES} "
                f"{'facility' if MAX_PREPAID_FACILITIES == 1 else 'facilities'} "
                f"prepaid before the last quarter (these plans: {prepaid})"
            )
    forgone = len(_forgone_facilities(consts, plans))
    if forgone > MAX_FORGONE_FACILITIES:
        return (
            f"the fused kernel tracks the draws of cancelled orders on at most {MAX_FORGONE_FACILITIES} "
            f"GPU-backed {'facility' if MAX_FORGONE_FACILITIES == 1 else 'facilities'} "
            f"(these plans: {forgone})"
        )
    if any(not t.tested[t.first_quarter : t.last_quarter + 1].all() for t in consts.covenants):
        return "the fused kernel tests a covenant in each quarter from its first to its last (these skip one)"
    allowance = int(consts.delay_allowance.max(initial=0))
    if consts.policy.reschedule_late_contracts and allowance >= MAX_LATE_QUARTERS:
        return (
            f"the fused kernel counts a contract's late quarters to {MAX_LATE_QUARTERS} (this model "
            f"allows {allowance})"
        )
    return None


# ---------------------------------------------------------------- the kernel's parameters, declared once


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
    """One kernel parameter: its C name, its C type (a key of :data:`_C_TYPES`), its value and what
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


def _alive_bits(alive: np.ndarray) -> np.ndarray:
    """contract_alive (S, K, T) -> (S, T) uint64: bit k set while contract k's customer has not
    defaulted (a default is permanent, as simulate.py relies on too)."""
    return _bits(np.asarray(alive) > 0, 1)


def _payment_bits(payments, which: str) -> np.ndarray:
    """Which contracts have a payment (contract_book.contract_payments) each quarter, one uint64 mask a
    quarter: ``live`` or ``ended`` (T,), or ``deferred_end`` (1,) for the terminal deduction."""
    values = getattr(payments, which)
    if which == "deferred_end":
        return _bits(values[:, None] != 0.0, 0)
    return _bits(values != 0.0, 0)


def _step_bits(capacity_step_mw: np.ndarray) -> np.ndarray:
    """(I, T) increases of the sites' contracted capacity -> (I,) uint64: bit u set where site i's
    increases in quarter u >= 1 (the quarters whose late power the kernel checks), so that a pair
    visits those quarters only."""
    due = np.asarray(capacity_step_mw) > 0.0
    due[:, 0] = False
    return _bits(due, 1)


# Risk factors the kernel reads in another form than the declared one: factor name -> (kernel
# parameter, its C type, how it is made from the (S, ...) factor). Every other factor is passed
# as declared in FACTORS, time-major, under its own name.
SCENARIO_FORMS: dict[str, tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = {
    "contract_alive": ("alive_bits", "const unsigned long long*", _alive_bits),
}


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
    # outputs: (P, S)
    *(
        KernelArgument(f"out_{field}", "double*", lambda call, field=field: call.outputs[field], "output")
        for field in RESULT_FIELDS
    ),
)  # fmt: skip


class _CType(NamedTuple):
    """How a value becomes an argument of one C type."""

    on_xp: Callable[[Any, Any], Any]  # (value, xp) -> the argument CuPy (or NumPy) passes
    for_ctypes: Callable[[Any], Any]  # that argument -> what ctypes passes to the C build
    ctype: Any  # the ctypes type of the C parameter (argtypes of the C build)


def _array(dtype_name: str) -> Callable[[Any, Any], Any]:
    return lambda v, xp: xp.ascontiguousarray(xp.asarray(v, dtype=getattr(xp, dtype_name)))


_C_TYPES: dict[str, _CType] = {
    "long long": _CType(lambda v, xp: np.int64(v), lambda v: ctypes.c_longlong(int(v)), ctypes.c_longlong),
    "int": _CType(lambda v, xp: np.int32(v), lambda v: ctypes.c_int(int(v)), ctypes.c_int),
    "double": _CType(lambda v, xp: np.float64(v), lambda v: ctypes.c_double(float(v)), ctypes.c_double),
    "const double*": _CType(_array("float64"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
    "const int*": _CType(_array("int32"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
    "const unsigned long long*": _CType(
        _array("uint64"), lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p
    ),
    # outputs: (P, S) float64 arrays the caller made
    "double*": _CType(lambda v, xp: v, lambda v: ctypes.c_void_p(v.ctypes.data), ctypes.c_void_p),
}

# numpy dtype of each pointer type (the fake-CuPy test and the C build check arguments against it)
POINTER_DTYPES = {
    "const double*": np.float64, "const int*": np.int32, "const unsigned long long*": np.uint64,
    "double*": np.float64,
}  # fmt: skip


def _c_declaration(a: KernelArgument) -> str:
    if a.c_type.endswith("*"):  # no aliasing between the arrays: the compiler may cache loads
        return f"{a.c_type} FO_RESTRICT {a.name}"
    return f"{a.c_type} {a.name}"


def c_prelude(shape: KernelShape | None = None) -> str:
    """The C parameter list of the kernel, generated from :data:`KERNEL_ARGUMENTS`: ``FO_PARAMS``
    (declarations) and ``FO_ARGS`` (names, to pass them on), after the model's shape."""
    params = ", \\\n    ".join(_c_declaration(a) for a in KERNEL_ARGUMENTS)
    names = ", \\\n    ".join(a.name for a in KERNEL_ARGUMENTS)
    return (
        "// generated by fleetopt/evaluate/kernel.py from KernelShape and KERNEL_ARGUMENTS\n"
        + (shape.prelude() if shape is not None else "")
        + f"#define FO_PARAMS \\\n    {params}\n"
        f"#define FO_ARGS \\\n    {names}\n"
        '#line 1 "kernel.cu"\n'
    )


def kernel_source(shape: KernelShape) -> str:
    """kernel.cu with its generated sizes and parameter list: the whole compilable source."""
    return c_prelude(shape) + (resources.files("fleetopt.evaluate") / "kernel.cu").read_text()


def scenario_arguments(scen: ScenarioSet, xp: Any, scenario_major: bool = False) -> dict[str, Any]:
    """The kernel's scenario arrays by parameter name, in each parameter's C type: time-major
    ((..., T, S): a warp reads one contiguous row; the GPU) or, with ``scenario_major``, as the
    scenario set holds them ((S, ..., T): one pair's rows contiguous; the C build). Made on the
    host, then copied to ``xp``."""
    out = {}
    for f in KERNEL_FACTORS:
        if f.name in SCENARIO_FORMS:
            name, c_type, form = SCENARIO_FORMS[f.name]
            values = form(scen.factors[f.name])
        else:
            name, c_type, values = f.name, f"const {f.c_type}*", scen.factors[f.name]
        out[name] = _C_TYPES[c_type].on_xp(values if scenario_major else np.moveaxis(values, 0, -1), xp)
    return out


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
    return [_C_TYPES[a.c_type].on_xp(a.value(call), xp) for a in KERNEL_ARGUMENTS]


def _outputs(P: int, S: int, xp: Any) -> dict[str, Any]:
    return {field: xp.empty((P, S), dtype=xp.float64) for field in RESULT_FIELDS}


def _results(outputs: dict[str, Any]) -> dict:
    out = dict(outputs)
    for flag in ("breach", "uncured_breach", "default"):  # bool, as NumPy's simulation gives them
        out[flag] = out[flag] > 0.5
    return out


# ---------------------------------------------------------------- on a GPU (CuPy)

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
    outputs = _outputs(plans.P, scen.S, cp)
    if plans.P == 0 or scen.S == 0:
        return _results(outputs)
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
    return _results(outputs)


# ---------------------------------------------------------------- the same source on the CPU


# a compiler that takes longer than these on the kernel (a few seconds here) or on a probe of what
# it takes (well under a second) is taken as hung
BUILD_TIMEOUT_S = 300
PROBE_TIMEOUT_S = 60


class KernelBuildError(BackendError):
    """The C build of the kernel cannot be made or loaded here; ``reason``: why, in one line."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(
            f"the C build of the kernel (fleetopt/evaluate/kernel.cu) {reason}"
            + (f":\n{detail[-2000:]}\n" if detail else ". ")
            + "Evaluate with backend 'numpy' (--backend numpy), or point $CC at a working C compiler"
        )

    def __reduce__(self):  # raised in a worker process: made again from its parts, not its message
        return type(self), (self.reason, self.detail)


def found_c_compiler() -> str:
    """This machine's C compiler (:func:`c_compiler`), else a :class:`KernelBuildError` naming the
    machine (a Ray node's build fails there, not on the machine that started the run)."""
    compiler = c_compiler()
    if compiler is None:
        raise KernelBuildError(
            f"needs a C compiler (cc, gcc or clang on PATH, or $CC): none was found on {socket.gethostname()}"
        )
    return compiler


def _run_compiler(command: list[str], what: str = "", timeout: float = BUILD_TIMEOUT_S,
                  made: Path | None = None) -> None:
    """Run a compiler ``command``; a compiler that cannot be run, fails, hangs or, succeeding, makes
    no file ``made`` (``CC=echo``: it was blamed on a folder mounted noexec) raises a
    :class:`KernelBuildError` naming it (``what``: what it built, when not the kernel)."""
    by = f"by {command[0]!r}{what}"
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KernelBuildError(f"{by} did not finish in {timeout:.0f} s") from None
    except OSError as exc:  # not executable, its interpreter missing, gone since it was found
        raise KernelBuildError(f"{by} could not be run ({exc.strerror or exc})") from None
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        lines = said.splitlines()
        first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
        shown = f": {first[:200]}" if first else ", printing nothing"
        raise KernelBuildError(f"{by} failed (exit status {result.returncode}{shown})", said)
    if made is not None and (not made.exists() or made.stat().st_size == 0):
        raise KernelBuildError(f"{by} made no library, though it ran without error: not a C compiler")


def _probe(compiler: str, flags: list[str], folder: Path, openmp: bool) -> None:
    """Build a small library with ``compiler`` and ``flags`` (and OpenMP, with ``openmp``)."""
    src = folder / "probe.c"
    body = "#include <omp.h>\nint probe(void) { return omp_get_max_threads(); }\n"
    src.write_text(body if openmp else "int probe(void) { return 1; }\n")
    command = [*shlex.split(compiler), *flags, "-shared", "-fPIC", "-o", str(folder / "probe.so"), str(src)]
    _run_compiler(command, " (a probe library)", PROBE_TIMEOUT_S, made=folder / "probe.so")


def _compiles(compiler: str, flags: list[str], folder: Path, openmp: bool = True) -> bool:
    """Whether ``compiler`` builds a shared library with ``flags`` (and OpenMP, with ``openmp``)."""
    try:
        _probe(compiler, flags, folder, openmp)
    except KernelBuildError:
        return False
    return True


def _flags_taken(compiler: str) -> dict:
    """Whether ``compiler`` takes -march=native and OpenMP here (probed once per machine). A
    compiler that cannot build even a plain library raises :class:`KernelBuildError`, so that
    nothing is kept of it."""
    with tempfile.TemporaryDirectory(prefix="fleetopt-probe-") as name:
        folder = Path(name)
        _probe(compiler, list(C_FLAGS), folder, openmp=False)
        native = _compiles(compiler, [*C_FLAGS, "-march=native"], folder, openmp=False)
        flags = [*C_FLAGS, "-march=native"] if native else list(C_FLAGS)
        return {"march_native": native, "openmp": _compiles(compiler, [*flags, "-fopenmp"], folder)}


def _build(command: list[str], source: str, lib: Path) -> None:
    """Compile ``source`` with ``command`` into ``lib`` (:func:`_run_compiler`'s errors)."""
    src = lib.with_suffix(".c")
    try:
        src.write_text(source)
        _run_compiler([*command, "-o", str(lib), str(src), "-lm"], made=lib)
    finally:
        src.unlink(missing_ok=True)


# C build flags: optimised, no contraction of multiply-adds (the same rounding as NumPy and the
# GPU build), no errno or traps from floating point (lets the compiler compute both sides of a
# select instead of branching; neither changes a result)
C_FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]


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
        found = self.cache.settings(lambda: _flags_taken(self.compiler))
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
            path = self.cache.library(key, lambda lib: _build(command, source, lib))
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
        outputs = _outputs(plans.P, scen.S, np)
        args = kernel_arguments(
            consts, plans, scen, np, outputs, scenario_rows, tables, scenario_major=True
        )  # they must outlive the call
        check_arguments(args)
        as_ctypes = [_C_TYPES[a.c_type].for_ctypes(v) for a, v in zip(KERNEL_ARGUMENTS, args, strict=True)]
        with self._lock:  # the thread count is process-wide in OpenMP
            lib.fleetopt_threads(self.threads or 0)
            lib.fleetopt_evaluate(*as_ctypes)
        return _results(outputs)


def _loaded(path: Path) -> Any:
    """The kernel's library at ``path``, its two functions declared."""
    handle = ctypes.CDLL(str(path))
    handle.fleetopt_evaluate.restype = None
    handle.fleetopt_evaluate.argtypes = [_C_TYPES[a.c_type].ctype for a in KERNEL_ARGUMENTS]
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
