"""What the kernel reads of each plan, computed once per plan (:func:`plan_tables`): site totals,
the term loans' balances, principal and forecast interest, contract revenue at full delivery, and
bit masks of what each plan does each quarter, with the same arithmetic as the NumPy simulation
and :func:`~fleetopt.core.economics.quarter_finance.finance_step`, so the kernel's results match NumPy's."""

from __future__ import annotations

import numpy as np

from fleetopt.core.economics.debt import FinanceState, Financing, collateral_required
from fleetopt.evaluate.kernel.c_types import bit_mask
from fleetopt.evaluate.kernel.shape import KernelShape
from fleetopt.evaluate.layout import REL, _site_total, per_facility
from fleetopt.evaluate.liquidity import inverse
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.simulate import SimulationConstants


def _term_loans(fin: Financing, plans: PlanBatch) -> dict[str, np.ndarray]:
    """The term loans of every plan through the horizon, (P, T) each: the arithmetic of
    core.economics.quarter_finance.finance_step on the (P, 1, F) balances the NumPy simulation carries
    (they never depend on the scenario), so every number has the same bits as there."""
    P, _, T = plans.draws.shape
    state = FinanceState.opening(fin, (P, 1), np, balance_batch=(P, 1))

    draws, prepay, scheduled = (per_facility(a, np) for a in (plans.draws, plans.prepay, plans.scheduled))
    out = {name: np.empty((P, T)) for name in ("forecast_interest", "floating_balance", "principal",
                                               "repaid_at_maturity", "debt_flow", "term_debt",
                                               "prepaid_total", "refinanced_balance",
                                               "prepaid_collateral")}  # fmt: skip
    F = draws.shape[-1]
    out["prepaid"], out["unpaid"], out["owed"] = np.empty((P, T, F)), np.empty((P, T, F)), np.empty((P, T, F))
    out["available"] = np.empty((P, T, F))
    for t in range(T):
        balance = state.balance
        out["forecast_interest"][:, t] = (np.asarray(fin.rate_quarterly[:, t]) * balance).sum(axis=-1)[:, 0]
        out["floating_balance"][:, t] = (np.asarray(fin.floating[:, t]) * balance).sum(axis=-1)[:, 0]
        out["refinanced_balance"][:, t] = (np.asarray(fin.refinanced[:, t]) * balance).sum(axis=-1)[:, 0]
        available = balance + draws[t]
        out["available"][:, t] = available[:, 0]
        principal = np.minimum(scheduled[t], available)
        pay_early = np.minimum(prepay[t], available - principal)
        state.balance = available - principal - pay_early
        out["prepaid"][:, t], out["unpaid"][:, t] = pay_early[:, 0], (scheduled[t] - principal)[:, 0]
        out["owed"][:, t] = state.balance[:, 0]
        out["prepaid_total"][:, t] = pay_early.sum(axis=-1)[:, 0]
        out["prepaid_collateral"][:, t] = collateral_required(fin, pay_early)[:, 0]
        principal_total = principal.sum(axis=-1)
        out["principal"][:, t] = principal_total[:, 0]
        at_maturity = fin.repaid_at_maturity[:, t]  # as economics.quarter_finance.finance_step sums it
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


def _base_columns(consts: SimulationConstants, plans: PlanBatch, shape: KernelShape, loans: dict) -> dict:
    """The quarter table's ``base_*`` columns (policy rule 6), (P, T, FB) each: of :func:`_term_loans`
    (``loans``), the plans' and the facilities' terms on the base slots."""
    fin, slots, P = consts.financing, list(shape.base_slots), plans.P

    def every_plan(arr):  # (FB, T) -> (P, T, FB)
        return np.broadcast_to(arr.T.astype(np.float64), (P, *arr.T.shape))

    return {
        "base_available": loans["available"][:, :, slots],
        "base_scheduled": plans.scheduled[:, slots].transpose(0, 2, 1),
        "base_prepay": plans.prepay[:, slots].transpose(0, 2, 1),
        "base_owed": loans["owed"][:, :, slots],
        "base_rate": every_plan(fin.rate_quarterly[slots]),
        "base_floating": every_plan(fin.floating[slots]),
        "base_refinanced": every_plan(fin.refinanced[slots]),
        "base_matures": every_plan(fin.repaid_at_maturity[slots]),
        "base_weight": every_plan(np.repeat(fin.collateral_weight[slots][:, None], consts.T, axis=1)),
        "base_draws": plans.ltv_facility_draws[:, slots].transpose(0, 2, 1),
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
        "plan_flags": bit_mask(_quarter_flags(consts, plans, shape, loans), 2),
        "plan_served": bit_mask((plans.contract_gpus != 0).any(axis=2), 1),  # (P, K, T) -> (P, T)
        "plan_accepted": bit_mask(plans.accepted != 0, 1),
        "plan_short": bit_mask(over_drawn | owed.any(axis=1), 1),  # computed on the per-site path
        "plan_owed": bit_mask(owed, 1),  # (P, K, T) -> (P, T)
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
        "plan_idle": bit_mask((plans.idle_gpus > 0).any(axis=(1, 2, 3)), 1),
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
        **_base_columns(consts, plans, shape, loans),
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
    floats = floats | _forgone_floats(consts, shape, plans) | _base_floats(consts, shape, plans)
    # quarters whose interest may follow the spread shift: refinanced balances, the plan's or kept
    # by a cut prepayment or forgone (draws moved with an order are never refinanced: they come
    # before maturity)
    refinanced = (loans["refinanced_balance"] != 0) | _kept_floats(consts, shape, plans, "refinanced")
    refinanced = refinanced | _forgone_floats(consts, shape, plans, "refinanced")
    refinanced = refinanced | _base_floats(consts, shape, plans, "refinanced")
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


def _base_floats(consts: SimulationConstants, shape: KernelShape, plans: PlanBatch,
                 which: str = "floating") -> np.ndarray:  # fmt: skip
    """(P, T) quarters in which principal policy rule 6 prepaid may follow the rate shift (``which``
    "refinanced": the spread shift): one of its facilities floats then (from quarter 1: the first
    prepayment is at the end of quarter 0)."""
    out = np.zeros((plans.P, consts.T), dtype=bool)
    for f in shape.base_slots:
        out[:, 1:] |= (getattr(consts.financing, which)[f, 1:] > 0)[None, :]
    return out
