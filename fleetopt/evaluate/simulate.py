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

from fleetopt.data import ModelData
from fleetopt.economics import FinanceState, Financing, finance_step
from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet

# A pair whose cash ends more than this below the minimum after the revolver is in default.
DEFAULT_TOLERANCE_USD = 1.0
# A covenant is breached only when missed by more than this (USD of the tested amounts): a plan the
# MILP makes meet a covenant with equality must not breach it on the forecast through round-off.
COVENANT_TOLERANCE_USD = 1.0
_REL = 1e-9  # power and delivery comparisons tolerate solver round-off


@dataclass(frozen=True)
class SimulationConstants:
    """Model-level numbers the simulation needs besides the plans and scenarios."""

    T: int
    discount: np.ndarray  # (T,)
    fixed_cost_per_mw: np.ndarray  # (I,)
    contract_revenue_per_gpu: np.ndarray  # (K,)
    contract_deadline: np.ndarray  # (K,)
    contract_penalty: np.ndarray  # (K,)
    covenant_from: int  # first tested quarter (T when there are no covenants)
    max_debt_to_ebitda: float  # inf when absent
    min_dscr: float  # 0 when absent
    min_liquidity: float  # 0 when absent
    min_liquidity_fraction: float
    financing: Financing

    @classmethod
    def from_data(cls, data: ModelData) -> SimulationConstants:
        from fleetopt.economics import contract_revenue_per_gpu

        cov = data.model.finance.covenants
        return cls(
            T=data.T,
            discount=data.discount,
            fixed_cost_per_mw=np.array([s.fixed_cost_per_mw_quarter_usd for s in data.sites]),
            contract_revenue_per_gpu=contract_revenue_per_gpu(data),
            contract_deadline=np.array([c.deadline for c in data.contracts], dtype=np.int64),
            contract_penalty=np.array([c.penalty_usd for c in data.contracts]),
            covenant_from=data.model.first_quarter_offset(cov.test_from) if cov else data.T,
            max_debt_to_ebitda=cov.max_debt_to_ebitda
            if cov and cov.max_debt_to_ebitda is not None
            else np.inf,
            min_dscr=cov.min_dscr if cov and cov.min_dscr is not None else 0.0,
            min_liquidity=cov.min_liquidity_usd if cov and cov.min_liquidity_usd is not None else 0.0,
            min_liquidity_fraction=cov.min_liquidity_fraction_of_debt
            if cov and cov.min_liquidity_fraction_of_debt
            else 0.0,
            financing=Financing.from_data(data, with_revolver=True),
        )


RESULT_FIELDS = ("npv", "min_cash", "breach", "default", "utilisation")


def simulate(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any = np,
    record: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Simulate every plan under every scenario; returns (P, S) arrays of ``RESULT_FIELDS``.

    ``plans`` and ``scen`` may hold NumPy arrays; they are moved to ``xp``. ``record`` names
    quarterly lines (e.g. ``cash_usd``, ``debt_usd``) to return as (P, S, T) paths.
    """
    T = consts.T
    P, S = plans.P, scen.S
    fin = consts.financing
    state = FinanceState.opening(fin, (P, S), xp, balance_batch=(P, 1))
    sc = _Scenarios(scen, xp)
    pl = _PlanColumns(plans, xp)
    power = _Power(consts, plans, scen, xp)
    # contract status, updated lazily (customer defaults are permanent, so catching up on the
    # quarters a contract was not looked at gives the same status)
    status = xp.empty((pl.K, P, S), dtype=bool)
    status[...] = pl.accepted

    npv = xp.zeros((P, S))
    min_cash = xp.full((P, S), xp.inf)
    tested_min_cash = xp.full((P, S), xp.inf)  # lowest cash in quarters the covenants are tested
    breach = xp.zeros((P, S), dtype=bool)
    util = xp.zeros((P, S))
    paths = {name: xp.zeros((P, S, T)) for name in record}
    prev_cash = state.cash.copy()

    for t in range(T):
        phi, fixed_saved = power.shares(t)
        contract_revenue, delivered_gpus, penalty = _contracts(consts, pl, sc, status, phi, t, xp)
        market_revenue, sold_gpus = _market(pl, sc, phi, t, xp)

        if phi is None:
            electricity = pl.electricity_total[t] * sc.efac[t]
            ebitda = market_revenue + contract_revenue - electricity - pl.fixed_costs[t]
        else:
            electricity = _over_sites(pl.electricity[:, t], phi) * sc.efac[t]
            ebitda = (
                market_revenue + contract_revenue - electricity - (pl.fixed_costs[t] - fixed_saved) - penalty
            )
        if pl.any_proceeds[t]:
            cash_proceeds = pl.proceeds[t] * sc.rfac[t]
            gain, investing = cash_proceeds - pl.book[t], pl.capex[t] - cash_proceeds
        else:  # nothing sold this quarter in any plan: no scenario resale value to apply
            gain, investing = -pl.book[t], pl.capex[t]
        step = finance_step(
            fin, state, t, ebitda, pl.depreciation[t], gain, investing, pl.draws[t], pl.prepay[t],
            pl.scheduled[t], sc.shift[t], xp,
        )  # fmt: skip

        cash = state.cash
        npv += consts.discount[t] * (cash - prev_cash)
        prev_cash = cash
        xp.minimum(min_cash, cash, out=min_cash)
        if t >= consts.covenant_from:
            breach = _covenants(consts, breach, ebitda, step, xp)
            xp.minimum(tested_min_cash, cash, out=tested_min_cash)
        util += (sold_gpus + delivered_gpus) * pl.inv_held[t]
        for name in record:
            paths[name][:, :, t] = ebitda if name == "ebitda_usd" else step[name]

    if consts.min_liquidity > 0:  # cash below the floor in any tested quarter
        breach |= tested_min_cash < consts.min_liquidity - COVENANT_TOLERANCE_USD
    debt_end = state.balance.sum(axis=-1) + state.revolver
    terminal = pl.terminal_fleet * sc.rfac[T - 1] + pl.terminal_power
    npv += consts.discount[T - 1] * (terminal - debt_end)
    out = {
        "npv": npv,
        "min_cash": min_cash,
        "breach": breach,
        # cash below the minimum after the revolver in any quarter: its lowest cash says it
        "default": min_cash < fin.min_cash - DEFAULT_TOLERANCE_USD,
        "utilisation": util / T,
    }
    out.update(paths)
    return out


def _covenants(consts: SimulationConstants, breach: Any, ebitda: Any, step: dict, xp: Any) -> Any:
    """``breach`` or any covenant missed this quarter (the liquidity floor is checked at the end)."""
    tol = COVENANT_TOLERANCE_USD
    debt = step["debt_usd"]
    if np.isfinite(consts.max_debt_to_ebitda):
        # debt above the multiple of annualised EBITDA, when there is debt
        breach |= debt > xp.maximum(consts.max_debt_to_ebitda * 4.0 * ebitda + tol, 0.0)
    if consts.min_dscr > 0:
        service = step["debt_service_usd"]
        breach |= (ebitda < consts.min_dscr * service - tol) & (service > 0)
    if consts.min_liquidity_fraction > 0:
        breach |= step["cash_usd"] < consts.min_liquidity_fraction * debt - tol
    return breach


def _contracts(consts, pl, sc, status, phi, t: int, xp: Any) -> tuple[Any, Any, Any]:
    """Revenue, GPUs delivered and penalties of the contracts in quarter ``t``; updates ``status``.

    A contract no plan serves this quarter adds nothing and is skipped (adding 0.0 changes no
    bits, so the skipping cannot make a pair's result depend on the other plans in its chunk).
    """
    revenue = gpus = penalty = 0.0
    for k in pl.served_contracts[t]:
        alive = sc.alive[k, t]
        if phi is None:
            status[k] &= alive
            delivered = pl.contract_total[k, t]
        else:
            delivered = _over_sites(pl.contract_gpus[k, :, t], phi)
            if t >= consts.contract_deadline[k]:
                # not delivered in full after the deadline: cancelled, with its penalty
                undelivered = delivered < pl.contract_total[k, t] * (1.0 - _REL) - _REL
                before = status[k] if t == 0 else status[k] & sc.alive[k, t - 1]
                penalty = penalty + xp.where(before & undelivered, consts.contract_penalty[k], 0.0)
                status[k] = before & alive & ~undelivered
            else:
                status[k] &= alive
        served = xp.where(status[k], delivered, 0.0)
        revenue = revenue + consts.contract_revenue_per_gpu[k] * served
        gpus = gpus + served
    return revenue, gpus, penalty


def _market(pl, sc, phi, t: int, xp: Any) -> tuple[Any, Any]:
    """Market revenue and GPUs sold in quarter ``t``: planned sales scaled by power, capped by demand."""
    revenue_total = sold_total = 0.0
    for u in range(2):
        if not pl.any_market[u, t]:
            continue
        if phi is None:
            supply, gpus = pl.supply_total[u, t], pl.market_gpus_total[u, t]
        else:
            supply = _over_sites(pl.supply[u, :, t], phi)
            gpus = _over_sites(pl.market_gpus[u, :, t], phi)
        revenue = 0.0
        for g in pl.generations_sold[u][t]:
            base = (
                pl.market_revenue_total[u, g, t]
                if phi is None
                else _over_sites(pl.market_revenue[u, g, :, t], phi)
            )
            revenue = revenue + base * sc.price[g, t]
        cap = sc.demand[u, t]
        if phi is None and pl.supply_positive_or_idle[u, t]:
            # cap / supply where demand binds, else exactly 1 (supply / supply)
            scale = xp.minimum(cap, supply) / pl.supply_safe[u, t]
        else:
            scale = xp.where(supply > cap, cap / xp.where(supply > 0, supply, 1.0), 1.0)
        revenue_total = revenue_total + revenue * scale
        sold_total = sold_total + gpus * scale
    return revenue_total, sold_total


class _Scenarios:
    """The scenario block laid out time-major, so that each (factor, quarter) is a contiguous (S,) row."""

    def __init__(self, scen: ScenarioSet, xp: Any):
        def rows(arr):  # (S, ..., T) -> (..., T, S)
            return xp.ascontiguousarray(xp.moveaxis(xp.asarray(arr), 0, -1))

        self.price = rows(scen.price_factor)  # (G, T, S)
        self.demand = rows(scen.demand)  # (2, T, S)
        self.alive = rows(scen.contract_alive > 0)  # (K, T, S) bool
        self.shift = rows(scen.rate_shift)  # (T, S)
        self.efac = rows(scen.electricity_factor)
        self.rfac = rows(scen.resale_factor)


def _columns(arr: np.ndarray, xp: Any) -> Any:
    """(P, ..., T) -> (..., T, P, 1): a plan-level (P, 1) column per index, broadcasting over scenarios."""
    return xp.asarray(np.ascontiguousarray(np.moveaxis(arr, 0, -1))[..., None])


def _site_total(arr: np.ndarray, axis: int) -> np.ndarray:
    """Sum over the site ``axis`` in site order: the same bits as :func:`_over_sites` with every weight 1."""
    parts = np.moveaxis(arr, axis, 0)
    total = parts[0]
    for i in range(1, parts.shape[0]):
        total = total + parts[i]
    return total


class _PlanColumns:
    """The plans' per-quarter quantities as (P, 1) columns, with their site totals, and which
    contracts, uses and generations any plan in the batch serves each quarter (the others add
    exactly nothing and are skipped)."""

    def __init__(self, plans: PlanBatch, xp: Any):
        T = plans.held.shape[1]
        self.K = plans.contract_gpus.shape[1]
        self.accepted = xp.asarray(plans.accepted.T[:, :, None] > 0.5)  # (K, P, 1)
        self.contract_gpus = _columns(plans.contract_gpus, xp)  # (K, I, T, P, 1)
        contract_total = _site_total(plans.contract_gpus, 2)  # (P, K, T)
        self.contract_total = _columns(contract_total, xp)
        self.market_revenue = _columns(plans.market_revenue, xp)  # (2, G, I, T, P, 1)
        revenue_total = _site_total(plans.market_revenue, 3)  # (P, 2, G, T)
        self.market_revenue_total = _columns(revenue_total, xp)
        self.supply = _columns(plans.market_supply, xp)  # (2, I, T, P, 1)
        supply_total = _site_total(plans.market_supply, 2)  # (P, 2, T)
        self.supply_total = _columns(supply_total, xp)
        self.market_gpus = _columns(plans.market_gpus, xp)
        gpus_total = _site_total(plans.market_gpus, 2)
        self.market_gpus_total = _columns(gpus_total, xp)
        self.electricity = _columns(plans.electricity, xp)  # (I, T, P, 1)
        self.electricity_total = _columns(_site_total(plans.electricity, 1), xp)  # (T, P, 1)
        self.drawn_mw = _columns(plans.drawn_mw, xp)
        self.online_mw = _columns(plans.online_mw, xp)
        self.fixed_costs = _columns(plans.site_fixed + plans.other_opex, xp)  # (T, P, 1)
        self.depreciation = _columns(plans.depreciation, xp)
        self.book = _columns(plans.book_disposed, xp)
        self.proceeds = _columns(plans.proceeds, xp)
        self.capex = _columns(plans.capex, xp)
        self.any_proceeds = (plans.proceeds != 0).any(axis=0)  # (T,)

        def per_facility(arr):  # (P, F, T) -> (T, P, 1, F)
            return xp.asarray(np.ascontiguousarray(arr.transpose(2, 0, 1))[:, :, None, :])

        self.draws, self.prepay, self.scheduled = (
            per_facility(plans.draws),
            per_facility(plans.prepay),
            per_facility(plans.scheduled),
        )
        held = plans.held
        self.inv_held = _columns(np.where(held > 0, 1.0 / np.where(held > 0, held, 1.0), 0.0), xp)
        self.terminal_fleet = xp.asarray(plans.terminal_fleet[:, None])
        self.terminal_power = xp.asarray(plans.terminal_power[:, None])

        # what any plan in the batch does each quarter
        self.served_contracts = [
            np.flatnonzero((plans.contract_gpus[..., t] != 0).any(axis=(0, 2))) for t in range(T)
        ]
        sold = plans.market_revenue != 0  # (P, 2, G, I, T)
        self.generations_sold = [
            [np.flatnonzero(sold[:, u, :, :, t].any(axis=(0, 2))) for t in range(T)] for u in range(2)
        ]
        self.any_market = (
            sold.any(axis=(0, 2, 3))
            | (plans.market_supply != 0).any(axis=(0, 2))
            | (plans.market_gpus != 0).any(axis=(0, 2))
        )  # (2, T)
        idle = (supply_total == 0) & (gpus_total == 0) & (revenue_total == 0).all(axis=2)  # (P, 2, T)
        # every plan either supplies the market or sells nothing in it: the cheaper demand cap applies
        self.supply_positive_or_idle = ((supply_total > 0) | idle).all(axis=0)  # (2, T)
        self.supply_safe = _columns(np.where(supply_total > 0, supply_total, 1.0), xp)  # (2, T, P, 1)


class _Power:
    """Share of each site's planned draw that its MW online can carry, per quarter.

    A power block group that is late in a scenario is offline from its planned online quarter for
    its delay. ``shares(t)`` returns None in a quarter where no pair can be short of power (every
    share is 1), else a list over sites of (P, S) or (P, 1) shares, None for a site no pair is
    short at, and the fixed site cost saved on late MW.
    """

    def __init__(self, consts: SimulationConstants, plans: PlanBatch, scen: ScenarioSet, xp: Any):
        self.xp = xp
        self.consts = consts
        self.plans = plans
        self.maybe_short = _quarters_maybe_short(plans, scen, consts.T)
        self.over_drawn = plans.drawn_mw > plans.online_mw * (1.0 + _REL) + _REL  # (P, I, T)
        self.blocks = []  # (site of each plan's group, planned online quarter, MW, late until) per group
        B = plans.build_mw.shape[1]
        if B and self.maybe_short:
            delay = scen.delay[:, plans.build_site, plans.build_start]  # (S, P, B)
            for b in range(B):
                if not (plans.build_mw[:, b] > 0).any():
                    continue
                until = plans.build_online[:, b][:, None] + delay[:, :, b].T  # (P, S)
                self.blocks.append(
                    (
                        plans.build_site[:, b],
                        plans.build_online[:, b],
                        plans.build_mw[:, b],
                        xp.asarray(until),
                    )
                )
        self.columns = None

    def shares(self, t: int):
        if t not in self.maybe_short:
            return None, 0.0
        xp, plans, consts = self.xp, self.plans, self.consts
        I = plans.drawn_mw.shape[1]
        phi, fixed_saved = [], 0.0
        for i in range(I):
            late_i = 0.0
            for site, online_from, mw, until in self.blocks:
                building = (site == i) & (mw > 0) & (online_from <= t)  # (P,) plans whose group may be late
                if building.any():
                    late_i = late_i + xp.where(
                        xp.asarray(building[:, None]) & (t < until), xp.asarray(mw[:, None]), 0.0
                    )
            if isinstance(late_i, float) and not self.over_drawn[:, i, t].any():
                phi.append(None)
                continue
            if not isinstance(late_i, float):
                fixed_saved = fixed_saved + consts.fixed_cost_per_mw[i] * late_i
            online = xp.asarray(plans.online_mw[:, i, t][:, None]) - late_i
            d = xp.asarray(plans.drawn_mw[:, i, t][:, None])
            short = d > online * (1.0 + _REL) + _REL
            phi.append(xp.where(short, xp.clip(online / xp.where(d > 0, d, 1.0), 0.0, 1.0), 1.0))
        if all(p is None for p in phi):
            return None, 0.0
        return phi, fixed_saved


def _quarters_maybe_short(plans: PlanBatch, scen: ScenarioSet, T: int) -> set[int]:
    """Quarters in which some (plan, scenario) pair may lack power: a late block or an over-drawn site."""
    quarters: set[int] = set()
    over = plans.drawn_mw > plans.online_mw * (1.0 + _REL) + _REL  # (P, I, T)
    quarters.update(int(t) for t in np.flatnonzero(over.any(axis=(0, 1))))
    if plans.build_mw.shape[1]:
        delay = scen.delay[:, plans.build_site, plans.build_start]  # (S, P, B)
        late = (delay > 0) & (plans.build_mw[None] > 0)
        if late.any():
            start = plans.build_online[None].repeat(delay.shape[0], axis=0)[late]
            stop = start + delay[late]
            for t in range(int(start.min()), min(T, int(stop.max()))):
                quarters.add(t)
    return quarters


def _over_sites(values: Any, phi: list) -> Any:
    """Sum over the leading (site) axis of ``values``, site i weighted by ``phi[i]``, in site order.

    A weight of None is 1 and skipped: x * 1.0 == x, so the bits are those of the plain sum.
    """
    total = values[0] if phi[0] is None else values[0] * phi[0]
    for i in range(1, len(phi)):
        total = total + (values[i] if phi[i] is None else values[i] * phi[i])
    return total
