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
    a = xp.asarray
    T = consts.T
    P, S = plans.P, scen.S
    I = plans.drawn_mw.shape[1]
    K = plans.contract_gpus.shape[1]
    B = plans.build_mw.shape[1]
    fin = consts.financing
    state = FinanceState.opening(fin, (P, S), xp, balance_batch=(P, 1))

    # scenario arrays, broadcast as (1, S, ...)
    price = a(scen.price_factor)[None]  # (1, S, G, T)
    demand = a(scen.demand)[None]
    alive = a(scen.contract_alive)[None]
    shift = a(scen.rate_shift)[None]
    efac = a(scen.electricity_factor)[None]
    rfac = a(scen.resale_factor)[None]

    # plan arrays, broadcast as (P, 1, ...)
    mrev = a(plans.market_revenue)[:, None]
    msup = a(plans.market_supply)[:, None]
    mgpu = a(plans.market_gpus)[:, None]
    cgpu = a(plans.contract_gpus)[:, None]
    drawn = a(plans.drawn_mw)[:, None]
    online_plan = a(plans.online_mw)[:, None]
    elec = a(plans.electricity)[:, None]

    def col(arr):  # (P, T) -> (P, 1, T)
        return a(arr)[:, None]

    site_fixed, other_opex, depreciation = (
        col(plans.site_fixed),
        col(plans.other_opex),
        col(plans.depreciation),
    )
    book, proceeds, capex = (
        col(plans.book_disposed),
        col(plans.proceeds),
        col(plans.capex),
    )
    draws, prepay, sched = a(plans.draws)[:, None], a(plans.prepay)[:, None], a(plans.scheduled)[:, None]

    # late power: a block group is offline from its planned online quarter for its scenario delay
    maybe_short = _quarters_maybe_short(plans, scen, T)
    if B:
        delay = a(scen.delay)[:, plans.build_site, plans.build_start]  # (S, P, B)
        late_from = a(plans.build_online)[:, None, :]
        late_until = late_from + xp.transpose(delay, (1, 0, 2))  # (P, S, B)
        build_mw = a(plans.build_mw)[:, None, :]
        # per site, which block groups are its own (None: no plan in this chunk builds there)
        site_mask = [
            a((plans.build_site == i) & (plans.build_mw > 0))[:, None, :]
            if ((plans.build_site == i) & (plans.build_mw > 0)).any()
            else None
            for i in range(I)
        ]
    inv_held = a(np.where(plans.held > 0, 1.0 / np.where(plans.held > 0, plans.held, 1.0), 0.0))[:, None]

    status = xp.broadcast_to(a(plans.accepted)[:, None, :], (P, S, K)).copy()
    npv = xp.zeros((P, S))
    min_cash = xp.full((P, S), xp.inf)
    breach = xp.zeros((P, S), dtype=bool)
    default = xp.zeros((P, S), dtype=bool)
    util = xp.zeros((P, S))
    paths = {name: xp.zeros((P, S, T)) for name in record}
    prev_cash = state.cash.copy()

    for t in range(T):
        # power: the share phi_i of each site's planned draw that its MW online can carry (None: all 1)
        phi = None
        fixed_saved = 0.0
        if t in maybe_short:
            phi = []
            late_mw = build_mw * ((late_from <= t) & (t < late_until)) if B else None
            for i in range(I):
                late_i = 0.0
                if B and site_mask[i] is not None:
                    late_i = (late_mw * site_mask[i]).sum(axis=-1)
                    fixed_saved = fixed_saved + consts.fixed_cost_per_mw[i] * late_i
                online = online_plan[:, :, i, t] - late_i
                d = drawn[:, :, i, t]
                short = d > online * (1.0 + _REL) + _REL
                phi.append(xp.where(short, xp.clip(online / xp.where(d > 0, d, 1.0), 0.0, 1.0), 1.0))

        # contracts: delivered GPUs, cancellation after the deadline, customer default
        contract_revenue = 0.0
        penalty = 0.0
        delivered_gpus = 0.0
        for k in range(K):
            delivered = _over_sites(cgpu[:, :, k, :, t], phi)
            ended = alive[:, :, k, t] <= 0
            if phi is not None and t >= consts.contract_deadline[k]:
                planned = cgpu[:, :, k, :, t].sum(axis=-1)
                undelivered = delivered < planned * (1.0 - _REL) - _REL
                penalty = penalty + xp.where(
                    (status[:, :, k] > 0) & undelivered, consts.contract_penalty[k], 0.0
                )
                ended = ended | undelivered
            status[:, :, k] = xp.where(ended, 0.0, status[:, :, k])
            served = delivered * status[:, :, k]
            contract_revenue = contract_revenue + consts.contract_revenue_per_gpu[k] * served
            delivered_gpus = delivered_gpus + served

        # market: planned sales scaled by power, capped by realised demand, at scenario prices
        market_revenue = 0.0
        sold_gpus = 0.0
        for u in range(2):
            supply = _over_sites(msup[:, :, u, :, t], phi)
            gpus = _over_sites(mgpu[:, :, u, :, t], phi)
            revenue = 0.0
            for g in range(3):
                revenue = revenue + _over_sites(mrev[:, :, u, g, :, t], phi) * price[:, :, g, t]
            cap = demand[:, :, u, t]
            scale = xp.where(supply > cap, cap / xp.where(supply > 0, supply, 1.0), 1.0)
            market_revenue = market_revenue + revenue * scale
            sold_gpus = sold_gpus + gpus * scale

        electricity = _over_sites(elec[:, :, :, t], phi) * efac[:, :, t]
        fixed_costs = site_fixed[:, :, t] + other_opex[:, :, t]
        ebitda = market_revenue + contract_revenue - electricity - (fixed_costs - fixed_saved) - penalty
        cash_proceeds = proceeds[:, :, t] * rfac[:, :, t]
        step = finance_step(
            fin, state, t, ebitda, depreciation[:, :, t], cash_proceeds - book[:, :, t],
            capex[:, :, t] - cash_proceeds, draws[:, :, :, t], prepay[:, :, :, t], sched[:, :, :, t],
            shift[:, :, t], xp,
        )  # fmt: skip

        cash = state.cash
        npv = npv + consts.discount[t] * (cash - prev_cash)
        prev_cash = cash
        min_cash = xp.minimum(min_cash, cash)
        default = default | (cash < fin.min_cash - DEFAULT_TOLERANCE_USD)
        if t >= consts.covenant_from:
            debt = step["debt_usd"]
            tol = COVENANT_TOLERANCE_USD
            if np.isfinite(consts.max_debt_to_ebitda):
                breach = breach | ((debt > consts.max_debt_to_ebitda * 4.0 * ebitda + tol) & (debt > 0))
            if consts.min_dscr > 0:
                service = step["debt_service_usd"]
                breach = breach | ((ebitda < consts.min_dscr * service - tol) & (service > 0))
            if consts.min_liquidity > 0:
                breach = breach | (cash < consts.min_liquidity - tol)
            if consts.min_liquidity_fraction > 0:
                breach = breach | (cash < consts.min_liquidity_fraction * debt - tol)
        util = util + (sold_gpus + delivered_gpus) * inv_held[:, :, t]
        for name in record:
            paths[name][:, :, t] = ebitda if name == "ebitda_usd" else step[name]

    debt_end = state.balance.sum(axis=-1) + state.revolver
    terminal = a(plans.terminal_fleet)[:, None] * rfac[:, :, T - 1] + a(plans.terminal_power)[:, None]
    npv = npv + consts.discount[T - 1] * (terminal - debt_end)
    out = {"npv": npv, "min_cash": min_cash, "breach": breach, "default": default, "utilisation": util / T}
    out.update(paths)
    return out


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


def _over_sites(values: Any, phi: list | None) -> Any:
    """Sum over the last (site) axis of ``values``, each site weighted by ``phi``, in site order.

    With ``phi`` None every weight is 1 and skipped; x * 1.0 == x, so both give the same bits.
    """
    total = values[..., 0] if phi is None else values[..., 0] * phi[0]
    for i in range(1, values.shape[-1]):
        total = total + (values[..., i] if phi is None else values[..., i] * phi[i])
    return total
