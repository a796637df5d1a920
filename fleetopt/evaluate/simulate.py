"""Array-level simulation of plans under scenarios: the reference implementation.

Every (plan, scenario) pair is simulated quarter by quarter with its own state (cash, debt,
revolver, contract status), vectorised over a (P, S) grid with NumPy or CuPy (``xp``). Loops run
only over the small axes (sites, generations, contracts, facilities) in a fixed order, so a
pair's result does not depend on the chunk it is computed in. The fused CUDA kernel
(:mod:`fleetopt.evaluate.kernel`) implements the same quarter and is tested against this code.

Semantics (docs/evaluation.md): the plan's decisions are fixed; power blocks that are late leave
GPUs at their site unpowered in proportion; a contract not delivered in full after its deadline
is cancelled with its penalty, and a defaulted customer's contracts end; market sales are capped
by realised demand; prices, electricity, resale values and floating rates follow the scenario;
cash below the minimum draws the revolver, and beyond it the scenario is a liquidity default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.covenants import FLOWS, CovenantTest, window_mean
from fleetopt.core.data import ModelData
from fleetopt.core.economics import (
    FinanceState,
    Financing,
    QuarterFinance,
    contract_revenue_per_gpu,
    finance_step,
)
from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.layout import (
    REL,
    PlanColumns,
    PowerShortfall,
    ScenarioRows,
    Shortfall,
    fully_powered,
    over_sites,
)
from fleetopt.evaluate.scenarios import ScenarioSet

# A pair whose cash ends more than this below the minimum after the revolver is in default.
DEFAULT_TOLERANCE_USD = 1.0


@dataclass(frozen=True)
class SimulationConstants:
    """Model-level numbers the simulation needs besides the plans and scenarios."""

    T: int
    discount: np.ndarray  # (T,)
    fixed_cost_per_mw: np.ndarray  # (I,)
    contract_revenue_per_gpu: np.ndarray  # (K,)
    contract_deadline: np.ndarray  # (K,)
    contract_penalty: np.ndarray  # (K,)
    financing: Financing
    covenants: tuple[CovenantTest, ...]  # fleetopt/core/covenants.py
    covenant_window: int  # quarters of flows the covenant tests average
    covenant_from: int  # first tested quarter (T without covenants)

    @classmethod
    def from_data(cls, data: ModelData) -> SimulationConstants:
        return cls(
            T=data.T,
            discount=data.discount,
            fixed_cost_per_mw=np.array([s.fixed_cost_per_mw_quarter_usd for s in data.sites]),
            contract_revenue_per_gpu=contract_revenue_per_gpu(data),
            contract_deadline=np.array([c.deadline for c in data.contracts], dtype=np.int64),
            contract_penalty=np.array([c.penalty_usd for c in data.contracts]),
            financing=Financing.from_data(data, with_revolver=True),
            covenants=data.covenants,
            covenant_window=data.covenant_window,
            covenant_from=int(np.argmax(data.covenant_tested)) if data.covenant_tested.any() else data.T,
        )


RESULT_FIELDS = ("npv", "min_cash", "breach", "default", "utilisation")


def simulate(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any = np,
    record: tuple[str, ...] = (),
    rows: ScenarioRows | None = None,
) -> dict[str, Any]:
    """Simulate every plan under every scenario; returns (P, S) arrays of ``RESULT_FIELDS``.

    ``plans`` and ``scen`` may hold NumPy arrays; they are moved to ``xp``. ``record`` names
    quarterly lines (e.g. ``cash_usd``, ``debt_usd``) to return as (P, S, T) paths. ``rows``:
    ``scen`` already laid out (callers simulating several plan batches on one block).
    """
    T = consts.T
    P, S = plans.P, scen.S
    fin = consts.financing
    state = FinanceState.opening(fin, (P, S), xp, balance_batch=(P, 1))
    sc = rows if rows is not None else ScenarioRows(scen, xp)
    pl = PlanColumns(plans, xp)
    power = PowerShortfall(consts.fixed_cost_per_mw, plans, scen, T, xp)
    # contract status (1.0 or 0.0), updated lazily: customer defaults are permanent, so catching
    # up on the quarters a contract was not looked at gives the same status
    status = xp.empty((pl.K, P, S))
    status[...] = pl.accepted

    npv = xp.zeros((P, S))
    min_cash = xp.full((P, S), xp.inf)
    breach = xp.zeros((P, S), dtype=bool)
    flows = {name: [] for name in FLOWS}  # the covenants' flows of the last quarters (trailing tests)
    util = xp.zeros((P, S))
    paths = {name: xp.zeros((P, S, T)) for name in record}
    prev_cash = state.cash.copy()

    for t in range(T):
        ebitda, gpus_used = _operations(consts, pl, sc, status, power.quarter(t), t, xp)
        step = _financing(fin, state, pl, sc, t, ebitda, xp)
        cash = state.cash
        npv += consts.discount[t] * (cash - prev_cash)
        prev_cash = cash
        xp.minimum(min_cash, cash, out=min_cash)
        if consts.covenants:
            breach = _covenants(consts, breach, t, flows, ebitda, step, xp)
        util += gpus_used * pl.inv_held[t]
        if record:
            lines = {**step.lines(), "ebitda_usd": ebitda}
            for name in record:
                paths[name][:, :, t] = lines[name]

    debt_end = state.balance.sum(axis=-1) + state.revolver
    terminal = pl.terminal_fleet * sc.resale_factor[T - 1] + pl.terminal_power
    npv += consts.discount[T - 1] * (terminal - debt_end)
    return {
        "npv": npv,
        "min_cash": min_cash,
        "breach": breach,
        # cash below the minimum after the revolver in any quarter: its lowest cash says it
        "default": min_cash < fin.min_cash - DEFAULT_TOLERANCE_USD,
        "utilisation": util / T,
        **paths,
    }


def _financing(fin: Financing, state: FinanceState, pl, sc, t: int, ebitda: Any, xp: Any) -> QuarterFinance:
    """Quarter ``t``'s financing (:func:`finance_step`), disposals at the scenario's resale value."""
    if pl.any_proceeds[t]:
        cash_proceeds = pl.proceeds[t] * sc.resale_factor[t]
        gain, investing = cash_proceeds - pl.book[t], pl.capex[t] - cash_proceeds
    else:  # nothing sold this quarter in any plan: no scenario resale value to apply
        gain, investing = -pl.book[t], pl.capex[t]
    return finance_step(
        fin, state, t, ebitda, pl.depreciation[t], gain, investing, pl.draws[t], pl.prepay[t],
        pl.scheduled[t], sc.rate_shift[t], xp,
    )  # fmt: skip


def _operations(consts, pl, sc, status, short: Shortfall | None, t: int, xp: Any) -> tuple[Any, Any]:
    """EBITDA and GPUs in use (sold or delivered) in quarter ``t``; updates the contract status.

    With ``short`` None every pair is fully powered; otherwise each site's planned draw is scaled
    by its powered share. Both give the same bits for a pair whose every share is 1, so whether a
    quarter takes the short path (which depends on the other pairs simulated with it) cannot
    change a pair's result.
    """
    phi = None if short is None else short.phi
    contract_revenue, delivered_gpus, penalty = _contracts(consts, pl, sc, status, phi, t, xp)
    market_revenue, sold_gpus = _market(pl, sc, phi, t, xp)
    if short is None:
        electricity = pl.electricity_total[t] * sc.electricity_factor[t]
        ebitda = market_revenue + contract_revenue - electricity - pl.fixed_costs[t]
    else:
        planned = over_sites(pl.electricity[:, t], phi, pl.used["electricity"][:, t])
        electricity = planned * sc.electricity_factor[t]
        fixed = pl.fixed_costs[t] - short.fixed_saved
        ebitda = market_revenue + contract_revenue - electricity - fixed - penalty
    return ebitda, sold_gpus + delivered_gpus


def _covenants(consts: SimulationConstants, breach: Any, t: int, flows: dict, ebitda: Any,
               step: QuarterFinance, xp: Any) -> Any:  # fmt: skip
    """``breach`` or any covenant test of quarter ``t`` missed (fleetopt/core/covenants.py)."""
    window = consts.covenant_window
    quarter = {"ebitda": ebitda, "debt_service": step.debt_service, "interest": step.interest}
    if window > 1:  # the flows of the last quarters, tested or not, for the trailing averages
        for name in FLOWS:
            flows[name] = [*flows[name][1 - window :], quarter[name]]
    tests = [test for test in consts.covenants if test.tested[t]]
    if not tests:
        return breach
    values = {"debt": step.debt, "cash": step.cash}
    for name in FLOWS:
        values[name] = window_mean(flows[name], window) if window > 1 else quarter[name]
    for test in tests:
        breach |= test.breached(values, xp)
    return breach


def _contracts(consts, pl, sc, status, phi, t: int, xp: Any) -> tuple[Any, Any, Any]:
    """Revenue, GPUs delivered and penalties of the contracts in quarter ``t``; updates ``status``.

    A contract no plan serves this quarter adds nothing and is skipped (adding 0.0 changes no
    bits, so the skipping cannot make a pair's result depend on the other plans in its chunk).
    Status is 1.0 or 0.0: multiplying by it is exact and much cheaper than selecting.
    """
    revenue = gpus = penalty = None
    for k in pl.served_contracts[t]:
        alive = sc.alive_row(k, t)
        used = pl.used["contract_gpus"][k, :, t]
        if phi is None or fully_powered(phi, used):
            status[k] *= alive
            delivered = pl.contract_total[k, t]
        else:
            delivered = over_sites(pl.contract_gpus[k, :, t], phi, used)
            if t >= consts.contract_deadline[k]:
                # not delivered in full after the deadline: cancelled, with its penalty
                undelivered = delivered < pl.contract_total[k, t] * (1.0 - REL) - REL
                before = status[k] if t == 0 else status[k] * sc.alive_row(k, t - 1)
                penalty = _plus(penalty, consts.contract_penalty[k] * (before * undelivered))
                status[k] = before * alive * ~undelivered
            else:
                status[k] *= alive
        served = delivered * status[k]
        revenue = _plus(revenue, consts.contract_revenue_per_gpu[k] * served)
        gpus = _plus(gpus, served)
    return _zero(revenue), _zero(gpus), _zero(penalty)


def _plus(total: Any, x: Any) -> Any:
    """``total + x`` where None means nothing yet: saves a pass adding x to 0.0 (the result can
    differ from 0.0 + x only in the sign of a zero, which no comparison or sum can see)."""
    return x if total is None else total + x


def _zero(total: Any) -> Any:
    return 0.0 if total is None else total


def _market(pl, sc, phi, t: int, xp: Any) -> tuple[Any, Any]:
    """Market revenue and GPUs sold in quarter ``t``: planned sales scaled by power, capped by demand."""
    revenue_total = sold_total = None
    for u in range(2):
        if not pl.any_market[u, t]:
            continue
        used = pl.used["market_revenue"][u, :, :, t]  # (G, I)
        powered = phi is None or (
            fully_powered(
                phi, pl.used["supply"][u, :, t] | pl.used["market_gpus"][u, :, t] | used.any(axis=0)
            )
        )
        if powered:  # the site totals: the same bits as the weighted sums with every weight 1
            supply, gpus = pl.supply_total[u, t], pl.market_gpus_total[u, t]
        else:
            supply = over_sites(pl.supply[u, :, t], phi, pl.used["supply"][u, :, t])
            gpus = over_sites(pl.market_gpus[u, :, t], phi, pl.used["market_gpus"][u, :, t])
        revenue = None
        for g in pl.generations_sold[u][t]:
            base = (
                pl.market_revenue_total[u, g, t]
                if powered
                else over_sites(pl.market_revenue[u, g, :, t], phi, used[g])
            )
            revenue = _plus(revenue, base * sc.price_factor[g, t])
        revenue = _zero(revenue)
        cap = sc.demand[u, t]
        if powered and pl.supply_positive_or_idle[u, t]:
            # cap / supply where demand binds, else exactly 1 (supply / supply)
            scale = xp.minimum(cap, supply) / pl.supply_safe[u, t]
        else:
            scale = xp.where(supply > cap, cap / xp.where(supply > 0, supply, 1.0), 1.0)
        revenue_total = _plus(revenue_total, revenue * scale)
        sold_total = _plus(sold_total, gpus * scale)
    return _zero(revenue_total), _zero(sold_total)
