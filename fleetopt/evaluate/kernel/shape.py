"""The sizes kernel.cu is compiled for (:class:`KernelShape`: one compiled kernel per shape), the
per-plan quarter table's fields (:data:`QUARTER_FIELDS`), and the limits of the kernel's
fixed-size state, beyond which the array code runs (:func:`kernel_fits`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.covenants import (
    BORROWING_BASE,
    CATALOGUE,
    QUANTITIES,
    TOLERANCE_USD,
    coefficient_table,
    kind_bit,
)
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.evaluate.covenant_tests import base_cure_order
from fleetopt.evaluate.kernel.scenario_arguments import KERNEL_FACTORS, SCENARIO_FORMS
from fleetopt.evaluate.layout import REL
from fleetopt.evaluate.operations import TINY
from fleetopt.evaluate.planbatch import PlanBatch
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
MAX_BASE_FACILITIES = 16  # GPU-secured facilities policy rule 6 prepays (KernelShape.base_slots)
THREADS_PER_BLOCK = 128
PLANS_PER_THREAD = 1  # plans a GPU thread simulates side by side on one scenario (FO_PLANS)


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
    # the prepayment rule (core.economics.quarter_finance.finance_step) compiled in: it is on and some
    # plan prepays
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
    # rows of contract_kept_share a scenario holds (risk.contract_scale_back: K, else 0): the scale-back's
    # reads are compiled in only then (kernel.cu FO_SCALE_BACK)
    contracts_cut: int = 0
    # each pair's present cost (SimulationConstants.present_cost) compiled in only where asked (kernel.cu
    # FO_PRESENT_COST): off, the kernel is the one without it, registers and all
    present_cost: bool = False
    # policy rule 6's mandatory prepayments (policy.prepay_borrowing_base, kernel.cu FO_BASE_PREPAY): the
    # GPU-secured facilities in the order a deficiency repays them (covenant_tests.base_cure_order), each a
    # slot of the principal the pair owes less than the plan; the quarters the base is tested, first and
    # last. Empty where the rule is off or no base is tested: the kernel is the one without it
    base_slots: tuple[int, ...] = ()
    base_quarters: tuple[int, int] = (0, -1)

    @property
    def FP(self) -> int:
        return len(self.prepaid)

    @property
    def FL(self) -> int:
        return len(self.forgone)

    @property
    def FB(self) -> int:
        return len(self.base_slots)

    @classmethod
    def of(cls, consts: SimulationConstants, plans: PlanBatch, scenario_major: bool = False) -> KernelShape:
        I, K = plans.drawn_mw.shape[1], plans.contract_gpus.shape[1]
        B, G = plans.build_mw.shape[1], plans.market_revenue.shape[2]
        cuts = consts.policy.cut_prepayments and bool((plans.prepay > 0).any())
        prepaid = tuple(int(f) for f in np.flatnonzero(_tracked_prepayments(consts, plans))) if cuts else ()
        rows = _covenant_rows(consts)
        idle = consts.policy.idle_gpus_to_market and bool((plans.idle_gpus > 0).any())
        forgone = _forgone_facilities(consts, plans)
        slots, tested = _base_prepay(consts)
        return cls(consts.T, I, K, B, G, consts.covenant_window, rows, scenario_major, cuts, prepaid, idle,
                   forgone, consts.cash_covering_debt_cures, consts.contracts_cut,
                   consts.present_cost, slots, tested)  # fmt: skip

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
            consts.contracts_cut, False, *_base_prepay(consts),
        )

    def scenario_rows(self) -> dict[str, int]:
        """Rows per scenario of each scenario parameter (its shape's product: row = index * T + t)."""
        sizes = {"G": self.G, "U": 2, "K": self.K, "I": self.I, "T": self.T, "K_CUT": self.contracts_cut}
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
            "FO_PRESENT_COST": int(self.present_cost),
            "FO_BASE_PREPAY": int(self.FB > 0), "FO_FB": self.FB,
            "FO_BASE_FROM": self.base_quarters[0], "FO_BASE_UNTIL": self.base_quarters[1],
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
        # the slot of one kind of each slot of another's facility (-1: none), as chains the compiler folds:
        # the prepaid slot of each forgone slot's; and with rule 6, between its base slots and the others
        chains = {"FO_FORGONE_PREPAID_SLOT": (self.forgone, self.prepaid)}
        if self.FB:
            chains |= {"FO_BASE_KEPT_SLOT": (self.base_slots, self.prepaid),
                       "FO_BASE_FORGONE_SLOT": (self.base_slots, self.forgone),
                       "FO_KEPT_BASE_SLOT": (self.prepaid, self.base_slots),
                       "FO_FORGONE_BASE_SLOT": (self.forgone, self.base_slots)}  # fmt: skip
        lines += [f"#define {name}(j) ({_slot_chain(*slots)}-1)" for name, slots in chains.items()]
        return "\n".join(lines) + "\n"


def _slot_chain(of: tuple[int, ...], to: tuple[int, ...]) -> str:
    """The C chain giving, for slot j of facilities ``of``, the slot of its facility in ``to``."""
    return "".join(f"(j) == {j} ? {to.index(f) if f in to else -1} : " for j, f in enumerate(of))


def _tracked_prepayments(consts: SimulationConstants, plans: PlanBatch) -> np.ndarray:
    """(F,) the facilities whose cut prepayments a pair tracks (KernelShape.prepaid): those prepaid
    before the last quarter; with policy rule 6, in any quarter (its prepayment takes the balance a cut
    kept on its facility first, the last quarter's too)."""
    prepay = plans.prepay if consts.policy.prepay_borrowing_base else plans.prepay[..., :-1]
    return (prepay > 0).any(axis=(0, 2))


def _base_prepay(consts: SimulationConstants) -> tuple[tuple[int, ...], tuple[int, int]]:
    """KernelShape.base_slots and base_quarters: none where the rule is off or no base is tested."""
    tests = [test for test in consts.covenants if test.kind.facility_test]
    if not consts.policy.prepay_borrowing_base or not tests:
        return (), (0, -1)
    order = tuple(base_cure_order(consts.financing.collateral_weight))
    return order, (min(t.first_quarter for t in tests), max(t.last_quarter for t in tests))


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
# simulate.py and core.economics.quarter_finance.finance_step, so the kernel's results match NumPy's.
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
    # plan repays by principal and by prepayment (economics.debt.repaid_shares), 1.0 where it is a bullet
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
    # policy rule 6, per base slot (KernelShape.base_slots): the plan's balance at the start of t plus
    # its draws, its scheduled principal and planned prepayment, its balance at the end of t, the
    # facility's forecast rate, floating and refinanced quarters, 1.0 at a bullet's maturity, its
    # collateral weight and the draws the order rule may defer with an order (ltv_facility_draws)
    ("base_available", lambda s: s.FB),
    ("base_scheduled", lambda s: s.FB),
    ("base_prepay", lambda s: s.FB),
    ("base_owed", lambda s: s.FB),
    ("base_rate", lambda s: s.FB),
    ("base_floating", lambda s: s.FB),
    ("base_refinanced", lambda s: s.FB),
    ("base_matures", lambda s: s.FB),
    ("base_weight", lambda s: s.FB),
    ("base_draws", lambda s: s.FB),
)


def _forgone_facilities(consts: SimulationConstants, plans: PlanBatch) -> tuple[int, ...]:
    """The facilities whose draws the order rule may defer with an order (KernelShape.forgone)."""
    if not consts.policy.defer_orders:
        return ()
    return plans.forgone_facilities()


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
        prepaid = int(_tracked_prepayments(consts, plans).sum())
        if prepaid > MAX_PREPAID_FACILITIES:
            when = "in any quarter" if consts.policy.prepay_borrowing_base else "before the last quarter"
            return (
                f"the fused kernel tracks cut prepayments on at most {MAX_PREPAID_FACILITIES} "
                f"{'facility' if MAX_PREPAID_FACILITIES == 1 else 'facilities'} "
                f"prepaid {when} (these plans: {prepaid})"
            )
    secured = len(_base_prepay(consts)[0])
    if secured > MAX_BASE_FACILITIES:
        return (f"the fused kernel makes policy.prepay_borrowing_base's prepayments on at most "
                f"{MAX_BASE_FACILITIES} GPU-secured facilities (this model: {secured})")  # fmt: skip
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
