"""How plans and scenarios are laid out for the array simulation (:mod:`fleetopt.evaluate.simulate`).

NumPy is fast on long contiguous rows and slow on strided reads, selections (``where``) and
temporaries that outgrow the caches; this layout keeps a quarter's work to few such passes.

* :class:`ScenarioRows`: each risk factor time-major, so that one (factor, quarter) is a
  contiguous row over the scenarios (the factors and their dtypes come from
  :data:`fleetopt.evaluate.factors.FACTORS`);
* :class:`PlanColumns`: each plan quantity as a (P, 1) column per quarter, with its site totals,
  the sites, contracts, uses and generations any plan in the batch uses each quarter (the rest
  hold zeros and are skipped, which changes no bits);
* :class:`PowerShortfall`: the share of each site's planned draw that is powered in a quarter
  where a power block may be late, for the short sites only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from fleetopt.core.arrays import fits, reusing
from fleetopt.core.economics.policy_balances import ForgoneRepaid
from fleetopt.evaluate.factors import FACTORS, taken_shares
from fleetopt.evaluate.liquidity import inverse, positive_divisor
from fleetopt.evaluate.pairs import Pairs
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet

REL = 1e-9  # power and delivery comparisons tolerate solver round-off


class ScenarioRows:
    """The scenario block laid out time-major: each factor of
    :data:`~fleetopt.evaluate.factors.FACTORS` as an (..., T, S) array of its dtype, by name
    (``rows.price_factor[g, t]`` is one contiguous (S,) row)."""

    def __init__(self, scen: ScenarioSet, xp: Any):
        def rows(arr, dtype):  # (S, ..., T) -> (..., T, S)
            return xp.ascontiguousarray(xp.moveaxis(xp.asarray(arr).astype(dtype, copy=False), 0, -1))

        self.xp = xp
        self.factors = {f.name: rows(scen.factors[f.name], f.dtype) for f in FACTORS}

    def __getattr__(self, name: str) -> Any:
        factors = self.__dict__.get("factors", {})
        if name in factors:
            return factors[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def alive_row(self, k: int, t: int) -> Any:
        """(S,) 1.0 while contract k's customer has not defaulted by quarter t, else 0.0 (a
        default is permanent: the simulation relies on it)."""
        return self.contract_alive[k, t].astype(self.xp.float64)

    def kept_row(self, k: int, t: int) -> Any:
        """(S,) the share of contract k its customer still takes in quarter t (``risk.contract_scale_back``),
        or None where no contract may be cut (then nothing is multiplied, so nothing changes)."""
        kept = self.contract_kept_share
        return kept[k, t] if kept.shape[0] else None

    def taken_row(self, k: int, t: int) -> Any:
        """(S,) the share of contract k its customer takes in quarter t: 0.0 once it has defaulted,
        else the share it keeps (:meth:`kept_row`; 1.0 without a scale-back)."""
        return taken_shares(self.contract_alive[k, t], self.kept_row(k, t))


def _columns(arr: np.ndarray, xp: Any) -> Any:
    """(P, ..., T) -> (..., T, P, 1): a plan-level (P, 1) column per index, broadcasting over scenarios."""
    return xp.asarray(np.ascontiguousarray(np.moveaxis(arr, 0, -1))[..., None])


def _site_total(arr: np.ndarray, axis: int) -> np.ndarray:
    """Sum over the site ``axis`` in site order: the same bits as :func:`over_sites` with every weight 1."""
    parts = np.moveaxis(arr, axis, 0)
    total = parts[0]
    for i in range(1, parts.shape[0]):
        total = total + parts[i]
    return total


def per_facility(arr: np.ndarray, xp: Any) -> Any:
    """(P, F, T) -> (T, P, 1, F): a quarter's (P, 1) column per debt facility, facilities last."""
    return xp.asarray(np.ascontiguousarray(arr.transpose(2, 0, 1))[:, :, None, :])


class PlanColumns:
    """The plans' per-quarter quantities as (P, 1) columns, with their site totals, and which
    contracts, uses and generations any plan in the batch serves each quarter (the others add
    exactly nothing and are skipped)."""

    def __init__(self, plans: PlanBatch, xp: Any):
        T = plans.held.shape[1]
        self.K = plans.contract_gpus.shape[1]
        self._contract_columns(plans, xp)
        supply_total, gpus_total, revenue_total = self._market_columns(plans, xp)
        self._cost_columns(plans, xp)
        self._debt_columns(plans, xp)
        self._fleet_columns(plans, xp)
        self._used_sites(plans)
        self._quarter_activity(plans, T)
        self._demand_cap_columns(supply_total, gpus_total, revenue_total, xp)
        self._freed_columns(plans, T, xp)
        self._liquidity_columns(plans, xp)
        self._plans_xp = (plans, xp)  # for the idle GPUs' columns, made only where the policy offers them

    def _contract_columns(self, plans: PlanBatch, xp: Any) -> None:
        """The GPUs each plan gives each contract, and what a contract must get not to be short."""
        self.accepted = xp.asarray(plans.accepted.T[:, :, None])  # (K, P, 1) 1.0 taken, 0.0 not
        self.contract_gpus = _columns(plans.contract_gpus, xp)  # (K, I, T, P, 1)
        contract_total = _site_total(plans.contract_gpus, 2)  # (P, K, T)
        self.contract_total = _columns(contract_total, xp)
        # what a contract must get from its deadline not to be short: the plan's own GPUs, or the
        # contract's where the plan serves it with fewer (PlanBatch.contract_owed); and per (k, t)
        # the plans that serve it with fewer ((P, 1) bool), where any does
        owed = plans.contract_owed
        self.contract_required = _columns(np.where(owed > 0, owed, contract_total), xp)
        self.owing = {(int(k), int(t)): xp.asarray(owed[:, k, t, None] > 0) for k, t in zip(
            *np.nonzero((owed > 0).any(axis=0)), strict=True)}  # fmt: skip

    def _market_columns(self, plans: PlanBatch, xp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The planned market sales by site and their site totals; returns the totals of supply,
        GPUs and revenue (P, 2, ...) for the demand cap's shortcut (:meth:`_demand_cap_columns`)."""
        self.market_revenue = _columns(plans.market_revenue, xp)  # (2, G, I, T, P, 1)
        revenue_total = _site_total(plans.market_revenue, 3)  # (P, 2, G, T)
        self.market_revenue_total = _columns(revenue_total, xp)
        self.supply = _columns(plans.market_supply, xp)  # (2, I, T, P, 1)
        supply_total = _site_total(plans.market_supply, 2)  # (P, 2, T)
        self.supply_total = _columns(supply_total, xp)
        self.market_gpus = _columns(plans.market_gpus, xp)
        gpus_total = _site_total(plans.market_gpus, 2)
        self.market_gpus_total = _columns(gpus_total, xp)
        return supply_total, gpus_total, revenue_total

    def _cost_columns(self, plans: PlanBatch, xp: Any) -> None:
        """The plans' costs and book figures each quarter, and where any plan has sale proceeds."""
        self.electricity = _columns(plans.electricity, xp)  # (I, T, P, 1)
        self.electricity_total = _columns(_site_total(plans.electricity, 1), xp)  # (T, P, 1)
        self.fixed_costs = _columns(plans.site_fixed + plans.other_opex, xp)  # (T, P, 1)
        self.depreciation = _columns(plans.depreciation, xp)
        self.book = _columns(plans.book_disposed, xp)
        self.proceeds = _columns(plans.proceeds, xp)
        self.capex = _columns(plans.capex, xp)
        self.any_proceeds = (plans.proceeds != 0).any(axis=0)  # (T,)

    def _debt_columns(self, plans: PlanBatch, xp: Any) -> None:
        """The debt facilities' planned flows, and what a cancelled order leaves undrawn and repaid."""
        self.draws, self.prepay, self.scheduled = (
            per_facility(plans.draws, xp),
            per_facility(plans.prepay, xp),
            per_facility(plans.scheduled, xp),
        )
        # the GPU-backed facilities a cancelled order may leave undrawn: their deferrable draws, and
        # the shares of their balances each plan repays (T, P, 1, L)
        slots = list(plans.forgone_facilities())
        self.ltv_facility_draws = per_facility(plans.ltv_facility_draws[:, slots], xp)
        self.repaid = [
            ForgoneRepaid(tuple(slots), principal, prepaid)
            for principal, prepaid in zip(per_facility(plans.principal_share[:, slots], xp),
                                          per_facility(plans.prepaid_share[:, slots], xp), strict=True)
        ]  # fmt: skip

    def _fleet_columns(self, plans: PlanBatch, xp: Any) -> None:
        """The GPUs held (as 1 / GPUs), their collateral, and the fleet, power and book at the horizon."""
        held = plans.held
        self.inv_held = _columns(np.where(held > 0, 1.0 / np.where(held > 0, held, 1.0), 0.0), xp)
        self.terminal_fleet = xp.asarray(plans.terminal_fleet[:, None])
        # the borrowing base's collateral at forecast resale values (T, P, 1), and by generation
        self.collateral = _columns(plans.collateral, xp)
        self.collateral_required = _columns(plans.collateral_required, xp)  # by the plan's own balances
        self.gen_collateral = _columns(plans.gen_collateral, xp)  # (G, T, P, 1)
        self.terminal_power = xp.asarray(plans.terminal_power[:, None])
        self.terminal_book = xp.asarray(plans.terminal_book[:, None])

    def _used_sites(self, plans: PlanBatch) -> None:
        """The sites any plan in the batch uses, per column with a site axis (the others hold zeros)."""
        self.used = {
            "contract_gpus": (plans.contract_gpus != 0).any(axis=0),  # (K, I, T)
            "market_revenue": (plans.market_revenue != 0).any(axis=0),  # (2, G, I, T)
            "supply": (plans.market_supply != 0).any(axis=0),  # (2, I, T)
            "market_gpus": (plans.market_gpus != 0).any(axis=0),
            "electricity": (plans.electricity != 0).any(axis=0),  # (I, T)
        }

    def _quarter_activity(self, plans: PlanBatch, T: int) -> None:
        """The contracts any plan serves, and the uses and generations it sells, each quarter."""
        served = (plans.contract_gpus != 0).any(axis=(0, 2)) | (plans.contract_owed > 0).any(axis=0)  # (K, T)
        self.served_contracts = [np.flatnonzero(served[:, t]) for t in range(T)]  # or owed GPUs
        sold = plans.market_revenue != 0  # (P, 2, G, I, T)
        self.generations_sold = [
            [np.flatnonzero(sold[:, u, :, :, t].any(axis=(0, 2))) for t in range(T)] for u in range(2)
        ]
        self.any_market = (
            sold.any(axis=(0, 2, 3))
            | (plans.market_supply != 0).any(axis=(0, 2))
            | (plans.market_gpus != 0).any(axis=(0, 2))
        )  # (2, T)

    def _demand_cap_columns(self, supply_total: np.ndarray, gpus_total: np.ndarray, revenue_total: np.ndarray,
                            xp: Any) -> None:  # fmt: skip
        """Where the cheaper demand cap applies (every plan supplies the market or sells nothing in
        it), and the supply it divides by."""
        idle = (supply_total == 0) & (gpus_total == 0) & (revenue_total == 0).all(axis=2)  # (P, 2, T)
        self.supply_positive_or_idle = ((supply_total > 0) | idle).all(axis=0)  # (2, T)
        self.supply_safe = _columns(np.where(supply_total > 0, supply_total, 1.0), xp)  # (2, T, P, 1)

    @cached_property
    def idle(self) -> IdleColumns:
        """The policy's idle GPUs (``idle_gpus_to_market``), made on first use."""
        return IdleColumns(*self._plans_xp)

    def _freed_columns(self, plans: PlanBatch, T: int, xp: Any) -> None:
        """What a contract's GPUs would supply and earn on its use's market (the policy's freed capacity)."""
        self.freed_supply = _columns(plans.freed_supply, xp)  # (K, I, T, P, 1)
        self.freed_supply_total = _columns(_site_total(plans.freed_supply, 2), xp)  # (K, T, P, 1)
        self.freed_revenue = _columns(plans.freed_revenue, xp)  # (K, G, I, T, P, 1)
        freed_total = _site_total(plans.freed_revenue, 3)  # (P, K, G, T)
        self.freed_revenue_total = _columns(freed_total, xp)
        freed_any = (freed_total != 0).any(axis=0)  # (K, G, T)
        self.freed_generations = [
            [np.flatnonzero(freed_any[k, :, t]) for t in range(T)] for k in range(self.K)
        ]
        self.used["freed_revenue"] = (plans.freed_revenue != 0).any(axis=0)  # (K, G, I, T)
        # (K, T, P, 1) whether a plan has any GPUs of contract k to offer in quarter t
        offers = (plans.contract_gpus != 0).any(axis=2) | (plans.freed_supply != 0).any(axis=2)
        offers |= (plans.freed_revenue != 0).any(axis=(2, 3))
        self.freed_plans = _columns(offers, xp)
        self.every_plan_offers = offers.all(axis=0)  # (K, T)
        self.used["freed_supply"] = (plans.freed_supply != 0).any(axis=0)  # (K, I, T)

    def _liquidity_columns(self, plans: PlanBatch, xp: Any) -> None:
        """The policy's liquidity rules (fleetopt/evaluate/liquidity.py): by generation, and the orders."""
        for name in ("gen_market_gpus", "gen_market_count", "gen_market_supply", "gen_market_electricity",
                     "gen_held", "gen_opex", "gen_depreciation", "gen_sale_value", "gen_book",
                     "gen_retired_proceeds", "gen_retired_book", "gen_retired_gpus", "gen_sellable",
                     "gen_market_earned", "order_gpus"):  # fmt: skip
            setattr(self, name, _columns(getattr(plans, name), xp))  # (..., T, P, 1)
        # (..., T) whether any plan's figure is not 0 (else taking a share of it out changes nothing)
        adjusted = ("gen_market_supply", "gen_market_count", "gen_market_electricity", "gen_opex",
                    "gen_depreciation")  # fmt: skip
        self.gen_any = {name: (getattr(plans, name) != 0).any(axis=0) for name in adjusted}
        self.gen_market_inverse = _columns(inverse(plans.gen_market_gpus), xp)  # 1 / GPUs (0 where none)
        # by use, generation and site, for a quarter short of power (2, G, I, T, P, 1): what of a
        # generation taken out has power, and the MW its GPUs taken out leave to the GPUs left
        self.gen_site_market = {
            name: _columns(getattr(plans, f"gen_site_market_{name}"), xp)
            for name in ("count", "supply", "electricity", "mw")
        }
        self.used["gen_site_market"] = (
            (plans.gen_site_market_supply != 0) | (plans.gen_site_market_count != 0)
            | (plans.gen_site_market_electricity != 0) | (plans.gen_site_market_mw != 0)
        ).any(axis=0)  # (2, G, I, T)
        # (G, T, P, 1) each generation's market electricity summed as the short path sums it (each use's
        # sites in order, then the uses; operations._less_market_electricity): the same bits on either path
        by_use = _site_total(plans.gen_site_market_electricity, 3)  # (P, 2, G, T)
        self.gen_market_bill = _columns(by_use[:, 0] + by_use[:, 1], xp)
        self.gen_on_market = (plans.gen_market_gpus > 0).any(axis=0)  # (G, T) some plan has GPUs to sell
        self.gen_ordered = (plans.order_gpus != 0).any(axis=0)  # (G, T) some plan orders GPUs of g
        self.gen_is_held = (plans.gen_held > 0).any(axis=0)  # (G, T) some plan holds GPUs of g
        self.gen_held_inverse = _columns(inverse(plans.gen_held), xp)
        # (G, T) whether any plan disposes of GPUs of a generation in a quarter (else nothing to take out)
        self.gen_retires = (plans.gen_retired_gpus != 0).any(axis=0)
        self.gen_terminal = xp.asarray(np.ascontiguousarray(plans.gen_terminal.T)[..., None])  # (G, P, 1)
        self.gen_terminal_book = xp.asarray(np.ascontiguousarray(plans.gen_terminal_book.T)[..., None])
        orders = ("order_capex", "order_capex_next", "order_deposit", "order_saving", "order_ebitda_next",
                  "forecast_cash_flow", "ltv_draws", "ltv_draw_rate", "ltv_draw_floating", "ltv_collateral",
                  "ltv_outstanding")
        for name in orders:
            setattr(self, name, _columns(getattr(plans, name), xp))  # (T, P, 1)
        self.any_order = (plans.order_capex > 0).any(axis=0)  # (T,)
        self.any_ltv_draws = (plans.ltv_draws > 0).any(axis=0)  # (T,) GPU-backed draws the rule may defer
        self.any_prepay = (plans.prepay > 0).any(axis=(0, 1))  # (T,) some plan prepays debt (policy: the cut)
        self.liquidity_buffer = xp.asarray(plans.liquidity_buffer[:, None])


class IdleColumns:
    """The policy's idle GPUs (``idle_gpus_to_market``, docs/evaluation.md policy rule 5): their
    ``idle_*`` tables (2, G, I, T, P, 1) by name, each site's planned draw and MW online beyond it
    (I, T, P, 1), and per quarter the (site, use, generation) groups any plan holds idle, in the order
    they are offered: sites in order; at each, inference, then training; generations newest first."""

    def __init__(self, plans: PlanBatch, xp: Any):
        self.tables = {name: _columns(getattr(plans, f"idle_{name}"), xp)
                       for name in ("gpus", "supply", "revenue", "mw", "electricity")}  # fmt: skip
        self.headroom = _columns(np.maximum(plans.online_mw - plans.drawn_mw, 0.0), xp)
        self.drawn = _columns(plans.drawn_mw, xp)
        held_idle = (plans.idle_gpus > 0).any(axis=0)  # (2, G, I, T)
        _, G, I, T = held_idle.shape
        self.groups = [
            [(i, u, g) for i in range(I) for u in (1, 0) for g in reversed(range(G)) if held_idle[u, g, i, t]]
            for t in range(T)
        ]


@dataclass
class Shortfall:
    """Power in a quarter where some pair may lack it: per site, the share of its planned draw
    that is powered ((P, S) or (P, 1); None: 1 for every pair), the powered share of the GPUs
    serving contracts and of those offered to each market (the policy's order; the same ``phi``
    without it), and the fixed site cost saved on late MW (USD); at the sites with shares, the MW
    online and where the site is not short (else None), from which the shares are made again for
    the GPUs left after the policy's takeout (:meth:`PowerShortfall.after_taken`)."""

    phi: list
    fixed_saved: Any
    contract: list
    market: tuple[list, list]  # training, inference
    online: list | None = None
    powered: list | None = None
    _contract_pairs: tuple | None = None

    def contract_pairs(self, shape: tuple[int, int], xp: Any) -> tuple[Pairs, list]:
        """The pairs where some site's contracted GPUs lack power, and the contract shares taken
        at them (None: 1); at every other pair each contract is delivered in full."""
        if self._contract_pairs is None:
            pairs = Pairs.where(self.contract_mask(shape, xp), shape, xp)
            self._contract_pairs = (pairs, self.contract_shares_at(pairs))
        return self._contract_pairs

    def contract_mask(self, shape: tuple[int, int], xp: Any) -> Any:
        """(P, S) True where some site's contracted GPUs lack power."""
        mask = xp.zeros(shape, dtype=bool)
        for share in self.contract:
            if share is not None:
                mask |= share < 1.0
        return mask

    def contract_shares_at(self, pairs: Pairs) -> list:
        """Each site's contract share at ``pairs`` (None: 1)."""
        return [None if p is None else pairs.take(p) for p in self.contract]


class PowerShortfall:
    """Which (plan, scenario) pairs lack power, and how much, each quarter.

    A power block group that is late in a scenario is offline from its planned online quarter for
    its delay; so is an increase of a site's contracted capacity that is late (``step_delay``). A
    plan may also draw more than it planned online. Only sites with late MW or an over-drawn plan
    get shares; the others are fully powered (None), which keeps a short quarter's extra work to
    the sites that are short.
    """

    def __init__(self, fixed_cost_per_mw, capacity_step_mw: np.ndarray, plans: PlanBatch, scen: ScenarioSet,
                 T: int, xp: Any, contracts_first: bool = False, takes_out: bool = False):  # fmt: skip
        self.xp, self.plans, self.S = xp, plans, scen.S
        self.contracts_first = contracts_first
        self.takes_out = takes_out  # the policy may take GPUs out (liquidity.Liquidity.on)
        self.fixed_cost_per_mw = fixed_cost_per_mw
        self.over_drawn = plans.drawn_mw > plans.online_mw * (1.0 + REL) + REL  # (P, I, T)
        # quarters in which some pair may lack power: an over-drawn site, or a block group late
        self.maybe_short = {int(t) for t in np.flatnonzero(self.over_drawn.any(axis=(0, 1)))}
        # (site of each plan's group, planned online quarter, MW, late until (P, S) or (1, S))
        self.blocks = []
        for b in range(plans.build_mw.shape[1]):
            delay = scen.delay[:, plans.build_site[:, b], plans.build_start[:, b]].T  # (P, S)
            self._late(plans.build_site[:, b], plans.build_online[:, b], plans.build_mw[:, b], delay, T)
        for i, t in zip(*np.nonzero(capacity_step_mw), strict=True):  # the same for every plan: (1, S)
            step = (np.array([i]), np.array([t]), capacity_step_mw[i, t : t + 1])
            self._late(*step, scen.step_delay[:, i, t][None, :], T)

    def _late(self, site: np.ndarray, online: np.ndarray, mw: np.ndarray, delay: np.ndarray, T: int) -> None:
        """Keep a group (per plan, or one for all plans) that is late in some pair."""
        late = (delay > 0) & (mw > 0)[:, None]
        if not late.any():  # on time for every pair: never offline
            return
        until = online[:, None] + delay
        self.maybe_short.update(range(int(online[late.any(axis=1)].min()), min(T, int(until[late].max()))))
        self.blocks.append((site, online, mw, self.xp.asarray(until)))

    def quarter(self, t: int) -> Shortfall | None:
        """The power shares of quarter ``t``, or None where no pair can be short of power.

        A site whose late MW leave every pair powered (no pair draws more than is online) gets
        None, exactly as its shares of 1 would give; its late MW still save fixed costs."""
        if t not in self.maybe_short:
            return None
        plans = self.plans
        phi, fixed_saved = [], 0.0
        contract, training, inference, online, powered = [], [], [], [], []
        for i in range(plans.drawn_mw.shape[1]):
            late_i = self._late_mw(i, t)
            if not isinstance(late_i, float):
                fixed_saved = fixed_saved + self.fixed_cost_per_mw[i] * late_i
            shares = None
            if not isinstance(late_i, float) or self.over_drawn[:, i, t].any():
                shares = self._site_shares(i, t, late_i)
            by_use = (None,) * 6 if shares is None else shares
            for out, value in zip((phi, contract, inference, training, online, powered), by_use, strict=True):
                out.append(value)
        if all(p is None for p in phi) and isinstance(fixed_saved, float):
            return None
        return Shortfall(phi, fixed_saved, contract, (training, inference), online, powered)

    def after_taken(self, short: Shortfall, taken_mw: list, t: int) -> Shortfall:
        """``short`` with each short site's MW given to the GPUs left after the policy's takeout:
        ``taken_mw`` per site, the (training, inference) market MW taken out there ((P, S) or None
        each; None: nothing taken out at the site). The draw's share ``phi`` is the planned draw's.
        Where nothing is taken out (0.0 MW) the shares are the same bits as :meth:`quarter`'s."""
        xp, drawn_mw = self.xp, self.plans.drawn_mw
        contract, training, inference = list(short.contract), list(short.market[0]), list(short.market[1])
        for i, taken in enumerate(taken_mw):
            if taken is None:
                continue
            online, powered = short.online[i], short.powered[i]
            if self.contracts_first:  # the MW left, as an array of the pairs' shape (written over)
                shape = np.broadcast_shapes(online.shape, *(mw.shape for mw in taken if mw is not None))
                left = xp.maximum(xp.broadcast_to(online, shape), 0.0)
                _, inference[i], training[i] = self._in_order(i, t, left, powered, taken)
                continue
            drawn = xp.asarray(drawn_mw[:, i, t][:, None])
            for mw in taken:
                drawn = drawn if mw is None else drawn - mw
            contract[i] = training[i] = inference[i] = _draw_share(online, drawn, powered, xp)
        return replace(short, contract=contract, market=(training, inference), _contract_pairs=None)

    def online(self, i: int, t: int) -> Any:
        """MW online at site ``i`` in quarter ``t`` ((P, S) where a block is late in some pair, else the
        plan's (P, 1)): the plan's less the MW late, as the shares are made from."""
        late_i = self._late_mw(i, t) if t in self.maybe_short else 0.0
        online = self.xp.asarray(self.plans.online_mw[:, i, t][:, None])
        return online if isinstance(late_i, float) else online - late_i

    def _late_mw(self, i: int, t: int) -> Any:
        """MW of site ``i`` late in quarter ``t`` ((P, S) or (1, S); 0.0: none in any pair)."""
        late_i = 0.0
        for site, online_from, mw, until in self.blocks:
            building = (site == i) & (mw > 0) & (online_from <= t)
            if building.any():
                late_i = late_i + (t < until) * self.xp.asarray((mw * building)[:, None])
        return late_i

    def _site_shares(self, i: int, t: int, late_i: Any) -> tuple | None:
        """(draw, contracts, inference market, training market) powered shares of site ``i`` in
        quarter ``t``, the MW online and where the site is powered (not short); None where no
        pair is short (every share 1)."""
        xp, plans = self.xp, self.plans
        online = xp.asarray(plans.online_mw[:, i, t][:, None]) - late_i
        drawn = xp.asarray(plans.drawn_mw[:, i, t][:, None])
        tolerated = online * (1.0 + REL)
        tolerated += REL
        short = drawn > tolerated
        if not bool(short.any()):
            return None
        powered = ~short
        share = _draw_share(online, drawn, powered, xp)
        if not self.contracts_first:
            return share, share, share, share, online, powered
        return (share, *self._in_order(i, t, xp.maximum(online, 0.0), powered), online, powered)

    def _in_order(self, i: int, t: int, left: Any, powered: Any, taken: tuple = (None, None)) -> tuple:
        """Powered shares of the contracted, inference-market and training-market GPUs of site
        ``i`` when its ``left`` MW (an array this function may overwrite) go to them in that
        order (1 where the site is ``powered``); ``taken``: the (training, inference) market MW
        the policy took out (None: none), which need no power. Where the policy may take GPUs out,
        a market's need is floored at 0 whether or not any is taken out at the site (as the
        kernel's fo_site_shares), so that a need negative by round-off counts the same whatever the
        other plans simulated with it."""
        xp, plans = self.xp, self.plans
        shares = []
        needs = (plans.contract_mw[:, i, t], plans.market_mw[:, 1, i, t], plans.market_mw[:, 0, i, t])
        for j, (need, mw) in enumerate(zip(needs, (None, taken[1], taken[0]), strict=True)):
            need = xp.asarray(need[:, None])
            if j > 0 and self.takes_out:
                need = need if mw is None else need - mw  # (an array made here: floored in place)
                need = xp.maximum(need, 0.0) if mw is None else reusing(need, xp.maximum, need, 0.0)
            share = left / positive_divisor(need, xp)
            xp.minimum(share, 1.0, out=share)
            shares.append(xp.maximum(share, powered, out=share))
            left = xp.subtract(left, need, out=left)
            xp.maximum(left, 0.0, out=left)
        return tuple(shares)


def _draw_share(online: Any, drawn: Any, powered: Any, xp: Any) -> Any:
    """The share of a site's ``drawn`` MW its ``online`` MW power, in [0, 1]; 1 where it is
    ``powered``. ``maximum(share, powered)`` is ``where(short, share, 1)`` for shares in [0, 1], in
    one cheap pass (a ``where`` costs about ten)."""
    share = online / positive_divisor(drawn, xp)
    xp.maximum(share, 0.0, out=share)
    xp.minimum(share, 1.0, out=share)
    return xp.maximum(share, powered, out=share)


def over_sites(values: Any, phi: list, used: np.ndarray) -> Any:
    """Sum over the leading (site) axis of ``values``, site i weighted by ``phi[i]``, in site order.

    Sites no plan uses (``used`` False: all zeros) are skipped and a weight of None is 1 and
    skipped: adding 0.0 or multiplying by 1.0 changes no bits, so this is the plain site total
    wherever every weight is 1.
    """
    total, made = None, False  # made: ``total`` is an array made here, so added to in place
    for i in np.flatnonzero(used):
        weighted = phi[i] is not None
        term = values[i] * phi[i] if weighted else values[i]
        if total is None:
            total, made = term, weighted
        elif made and fits(term.shape, total):
            total += term
        elif weighted and fits(total.shape, term):  # the sum written over the product (a + b is b + a)
            term += total
            total, made = term, True
        else:
            total, made = total + term, True
    return 0.0 if total is None else total


def unpowered(values: Any, phi: list, used: np.ndarray) -> Any:
    """Sum over the leading (site) axis of ``values``, site i weighted by the share of it without
    power, ``1 - phi[i]``, in site order; None where no ``used`` site has a share (every weight 0).

    Where every share is 1 the sum is exactly 0.0, so a quantity less it keeps its bits."""
    total = None
    for i in np.flatnonzero(used):
        if phi[i] is not None:
            term = 1.0 - phi[i]  # then weighted and summed in place: the same operations in order
            term = _times(term, values[i])
            if total is None:
                total = term
            elif fits(term.shape, total):
                total += term
            else:
                total = total + term
    return total


def _times(made: Any, x: Any) -> Any:
    """``made * x``, written over ``made`` (an array made by the caller) where it has the product's shape."""
    if fits(getattr(x, "shape", ()), made):
        made *= x
        return made
    return made * x


def over_sites_at(pairs: Pairs, values: Any, phi: list, used: np.ndarray) -> Any:
    """:func:`over_sites` at ``pairs``, with ``phi`` already taken at them."""
    return over_sites([pairs.take(values[i]) if used[i] else None for i in range(len(used))], phi, used)


def fully_powered(phi: list, used: np.ndarray) -> bool:
    """Whether none of the ``used`` sites has a power share other than 1."""
    return all(phi[i] is None for i in np.flatnonzero(used))
