"""Plans compiled for the evaluator: per-quarter quantities with a leading plan axis.

A :class:`PlanBatch` holds, for each plan, what its fixed decisions earn and cost at forecast
prices, broken down only as far as the risk factors need (by use, generation and site), so
the simulation multiplies by scenario factors instead of re-pricing every cohort. The unit
coefficients are those of :mod:`fleetopt.core.economics`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.economics.debt import (
    Financing,
    collateral_required,
    repaid_shares,
    scheduled_principal,
)
from fleetopt.core.economics.operating import (
    contracted_gpus_by_use,
    electricity_cost_per_mw,
    gpu_purchases_usd,
    gpus_of_blocks,
    market_gpus,
    market_revenue_per_gpu,
    mw_per_gpu,
    operating_lines,
    terminal_assets,
    terminal_fleet_book,
)
from fleetopt.core.plan import Plan
from fleetopt.core.purchases import allocated_words, over_allocation
from fleetopt.core.units import counts_apart, format_usd, mw_apart, usd_apart, with_unit
from fleetopt.errors import InputError
from fleetopt.evaluate.liquidity import inverse, taken_ebitda
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.simulate import forecast_cash_flow
from fleetopt.evaluate.slip import gpu_prices, slipped_variants


class PlanFileError(InputError):
    """A plan file that cannot be used with this model."""


class PlanLimitError(PlanFileError):
    """A plan that breaks a hard limit of the model (:func:`refuse_limit_breaks`); ``problem``: which,
    in words (a what-if names the change that made it, :func:`fleetopt.compare.run.compare_what_if`)."""

    def __init__(self, problem: str):
        super().__init__(f"{problem}: the model forbids it, so its figures would be meaningless (evaluate it "
                         "on the model it was made for, or solve this model again for a plan it allows)")
        self.problem = problem


def with_buffers(batch: PlanBatch, buffers: list | None) -> PlanBatch:
    """``batch`` with each plan's policy liquidity buffer (USD) where ``buffers`` gives one (None:
    the model's, as compiled)."""
    for p, buffer in enumerate(buffers or ()):
        if buffer is not None:
            for plans in (batch, *batch.slipped.values()):
                plans.liquidity_buffer[p] = float(buffer)
    return batch


def solved_for(batch: PlanBatch, objective: str | None) -> PlanBatch:
    """``batch`` with its plans marked solved for least cost where ``objective`` (their solve's) is
    "cost", so that an evaluation computes their present cost (``PlanBatch.solved_for_cost``)."""
    batch.solved_for_cost = objective == "cost"
    return batch


COMPILE_CHUNK = 512  # plans compiled at once: bounds the temporaries (~1 MB per plan on `neocloud`)


def compile_plans(
    data: ModelData,
    plans: list[Plan] | Plan,
    labels: list[str],
    chunk: int = COMPILE_CHUNK,
    check_limits: bool = False,
    slips: bool = True,
) -> PlanBatch:
    """Turn full plans (a list, or a stack from :meth:`Plan.stack`) into the evaluator's
    per-quarter quantities, ``chunk`` plans at a time. A plan's figures do not depend on the
    others compiled with it. ``check_limits``: refuse a plan that breaks a hard limit of the
    model (plans from files; see :func:`limit_problem`). ``slips``: with the plans' variants under
    each delivery slip a scenario may draw; False for a run on the forecast, which never slips
    (a slip the plans could not take is then not refused: a solve's plan was lost so)."""
    if isinstance(plans, Plan):
        P = plans.buy_blocks.shape[0] if plans.buy_blocks.ndim else 0
    else:
        P = len(plans)
        for plan, label in zip(plans, labels, strict=True):
            problems = plan.shape_problems(data)
            if problems:
                raise PlanFileError(f"plan {label!r} does not fit the model: {problems[0]}")
    if P == 0:
        empty = Plan.empty(data).arrays()
        none = Plan(**{k: np.zeros((0, *v.shape)) for k, v in empty.items()})
        return compile_stack(data, none, [], slips=slips)

    def parts():
        for start in range(0, P, chunk):
            rows = slice(start, min(P, start + chunk))
            stack = (
                Plan(**{k: v[rows] for k, v in plans.arrays().items()})
                if isinstance(plans, Plan)
                else Plan.stack(plans[rows])
            )
            yield compile_stack(data, stack, list(labels[rows]), check_limits, slips)

    return PlanBatch.concatenate(parts(), total=P)


def compile_stack(data: ModelData, stack: Plan, labels: list[str], check_limits: bool = False,
                  slips: bool = True) -> PlanBatch:  # fmt: skip
    """:func:`compile_plans` for one stack of plans (leading plan axis on every decision array), with
    its variants under each delivery slip a scenario may draw where ``slips``
    (:mod:`fleetopt.evaluate.slip`)."""
    stack = _declined_contracts_cleared(data, _checked_stack(data, stack, labels), labels)
    batch = _compiled(data, stack, labels, check_limits)
    if slips:
        batch.slipped = slipped_variants(
            data, stack, lambda s, paid, price: _compiled(data, s, labels, capex=paid, price=price)
        )
    return batch


def _compiled(data: ModelData, stack: Plan, labels: list[str], check_limits: bool = False,
              capex: np.ndarray | None = None, price: np.ndarray | None = None) -> PlanBatch:  # fmt: skip
    """The :class:`PlanBatch` of a checked ``stack``; ``capex``: (P, T) USD added to its capex (a
    delivery slip's GPUs paid at their signed price), None: none; ``price``: (P, S, I, T) USD the
    GPUs bought in a quarter are paid, on average (a slip's late GPUs at their signed price), for the
    policy's order rule; None: the model's ``capex_path``."""
    P = len(labels)
    rev_per_gpu = market_revenue_per_gpu(data)  # (2, S, T)
    fin = Financing.from_data(data, with_revolver=False)
    market, market_revenue, market_supply = _market_tables(data, stack, rev_per_gpu)
    freed = _freed_capacity(data, stack.contract_gpus, rev_per_gpu)
    mw = mw_per_gpu(data)[:, :, None]  # (S, I, 1)
    # every total the scenarios only scale comes from the statements' own operating lines
    lines = operating_lines(data, stack)
    if check_limits:
        refuse_limit_breaks(data, stack, labels, lines)
    drawn = np.stack([lines[f"mw_used_{site.name}"] for site in data.sites], axis=1)
    by_generation = _generation_tables(data, stack, market)
    price = gpu_prices(data, stack) if price is None else price
    orders = _order_tables(data, stack, price)
    ltv = _ltv_draw_tables(data, fin, stack, _deferrable_share(data, stack, orders["order_capex"], price))
    terminal_fleet, terminal_power = terminal_assets(data, stack)
    build = _build_groups(data, stack.build_blocks)
    batch = PlanBatch(
        labels=list(labels),
        market_revenue=market_revenue,
        market_supply=market_supply,
        market_gpus=market.sum(axis=2),
        contract_gpus=stack.contract_gpus.sum(axis=2),
        contract_owed=contract_owed(data, stack),
        contract_mw=(mw * stack.contract_gpus).sum(axis=(1, 2)),
        market_mw=(mw * market).sum(axis=2),
        freed_supply=freed[0],
        freed_revenue=freed[1],
        accepted=stack.accepted.copy(),
        drawn_mw=drawn,
        online_mw=np.stack([lines[f"mw_available_{site.name}"] for site in data.sites], axis=1),
        electricity=electricity_cost_per_mw(data) * drawn,
        site_fixed=lines["site_fixed_usd"],
        other_opex=lines["gpu_opex_usd"] + lines["redeployment_usd"] + lines["overhead_usd"],
        depreciation=lines["depreciation_gpu_usd"] + lines["depreciation_power_usd"],
        book_disposed=lines["book_value_disposed_usd"],
        proceeds=lines["disposal_proceeds_usd"],
        capex=lines["capex_gpu_usd"] + lines["capex_power_usd"] + (0.0 if capex is None else capex),
        draws=stack.draws.copy(),
        prepay=stack.prepay.copy(),
        scheduled=scheduled_principal(fin, stack.draws),
        held=lines["gpus_held"],
        collateral=lines["fleet_resale_value_usd"],
        terminal_fleet=terminal_fleet,
        terminal_power=terminal_power,
        terminal_book=terminal_fleet_book(data, stack),
        **by_generation,
        **_idle_tables(data, stack, rev_per_gpu),
        **orders,
        **ltv,
        # set below, from the plans' own run on the forecast
        gen_market_earned=np.zeros_like(by_generation["gen_market_gpus"]),
        order_saving=np.zeros((P, data.T)),
        order_ebitda_next=np.zeros((P, data.T)),
        forecast_cash_flow=np.zeros((P, data.T)),
        liquidity_buffer=np.full(P, data.policy.liquidity_buffer_usd),
        build_site=build[0].astype(np.int32),
        build_start=build[1].astype(np.int32),
        build_online=build[2].astype(np.int32),
        build_mw=build[3],
    )
    batch.forecast_cash_flow, batch.gen_market_earned = forecast_cash_flow(data, batch)
    earned = batch.gen_market_earned
    # deferring the order defers the same share of the GPU-backed draws: they save nothing now
    batch.order_saving = orders["order_capex"] - _ebitda_taken(by_generation, orders["order_gpus"], earned)
    batch.order_saving -= ltv["ltv_draws"]
    batch.order_ebitda_next[:, :-1] = _ebitda_taken(
        {name: by_generation[name][..., 1:] for name in ("gen_market_gpus", "gen_held", "gen_opex")},
        orders["order_gpus"][..., :-1], earned[..., 1:])
    return batch


def _checked_stack(data: ModelData, stack: Plan, labels: list[str]) -> Plan:
    """``stack`` when its arrays fit the model with one plan per label and every contract is taken
    (1) or not (0); else :class:`PlanFileError` naming what does not fit."""
    P = len(labels)
    problems = stack.shape_problems(data, stacked=True)
    counts = {name: arr.shape[0] for name, arr in stack.arrays().items() if arr.ndim}
    if problems or set(counts.values()) != {P} or len(counts) < len(stack.arrays()):
        detail = problems[0] if problems else f"{P} labels, plans per array {counts}"
        raise PlanFileError(f"plans do not fit the model: {detail}")
    bad = ~np.isin(stack.accepted, (0.0, 1.0))
    if bad.any():
        p, k = (int(x) for x in np.argwhere(bad)[0])
        raise PlanFileError(
            f"plan {labels[p]!r}: accepted[{k}] (contract {data.contracts[k].name!r}) is "
            f"{stack.accepted[p, k]:g}; a contract is taken (1) or not (0)"
        )
    return stack


def _market_tables(data: ModelData, stack: Plan, rev_per_gpu: np.ndarray) -> tuple[np.ndarray, ...]:
    """The GPUs each plan sells on the market (P, 2, S, I, T: active less contracted, by use), their
    forecast revenue by generation (P, 2, G, I, T) and their H100-equivalent supply (P, 2, I, T)."""
    P, I = stack.active.shape[0], data.I
    market = market_gpus(data, stack)  # (P, 2, S, I, T)
    market_revenue = np.zeros((P, 2, data.G, I, data.T))
    market_supply = np.zeros((P, 2, I, data.T))
    for s in range(data.S):
        g = data.sku_generation[s]
        market_revenue[:, :, g] += rev_per_gpu[:, s, None, :] * market[:, :, s]
        market_supply += data.throughput[:, s, None, None] * market[:, :, s]
    return market, market_revenue, market_supply


def serves_contracts_short(data: ModelData, plan: Plan) -> bool:
    """Whether ``plan`` serves some contract it takes with fewer GPUs than the contract has, from
    its deadline (:func:`contract_owed`): then it reacts on the forecast too."""
    return bool((contract_owed(data, Plan.stack([plan])) > 0).any())


def contract_owed(data: ModelData, stack: Plan) -> np.ndarray:
    """(P, K, T) each contract's GPUs in the quarters from its deadline through its term in which a
    plan taking it serves it with fewer (beyond round-off), else 0: a plan made for another version
    of the contract, or one that assumed its customer gone (the sweep's lost-customer stress)."""
    owed = np.zeros((stack.accepted.shape[0], len(data.contracts), data.T))
    for k, con in enumerate(data.contracts):
        term = slice(con.deadline, con.end + 1)
        served = stack.contract_gpus[:, k].sum(axis=(1, 2))[:, term]  # (P, quarters)
        short = served < con.gpus - _COUNT_TOLERANCE * max(1.0, con.gpus)
        owed[:, k, term] = np.where(short & (stack.accepted[:, k, None] > 0), con.gpus, 0.0)
    return owed


# GPUs a MILP's round-off may leave on a contract its plan does not take (HiGHS: 3e-12); more is a
# plan that contradicts itself
STRAY_CONTRACT_GPUS = 1e-6


def _declined_contracts_cleared(data: ModelData, stack: Plan, labels: list[str]) -> Plan:
    """``stack`` with no GPU on a contract it does not take: round-off there serves the market, as
    any GPU on no contract (else the evaluator would see a contract that 'ends' and frees it);
    PlanFileError for more than round-off."""
    declined = (stack.accepted == 0)[:, :, None, None, None]  # (P, K) against (P, K, S, I, T)
    stray = np.where(declined, np.abs(stack.contract_gpus), 0.0)
    if not stray.any():
        return stack
    if stray.max() > STRAY_CONTRACT_GPUS:
        p, k = (int(x) for x in np.argwhere(stray > STRAY_CONTRACT_GPUS)[0][:2])
        raise PlanFileError(
            f"plan {labels[p]!r} puts {stray[p, k].sum():g} GPU-quarters on contract "
            f"{data.contracts[k].name!r}, which it does not take (accepted[{k}] = 0)"
        )
    return replace(stack, contract_gpus=np.where(declined, 0.0, stack.contract_gpus))


def _freed_capacity(data: ModelData, contract_gpus: np.ndarray, rev_per_gpu: np.ndarray) -> tuple:
    """What each contract's planned GPUs would supply ((P, K, I, T), H100-equivalent) and earn
    ((P, K, G, I, T), forecast prices) on the market of the contract's use: the policy offers them
    there when the contract ends early (docs/evaluation.md)."""
    P, K, _, I, T = contract_gpus.shape
    supply = np.zeros((P, K, I, T))
    revenue = np.zeros((P, K, data.G, I, T))
    for k, con in enumerate(data.contracts):
        for s in con.skus:
            gpus = contract_gpus[:, k, s]
            supply[:, k] += data.throughput[con.use, s] * gpus
            revenue[:, k, data.sku_generation[s]] += rev_per_gpu[con.use, s, None, :] * gpus
    return supply, revenue


def _generation_tables(data: ModelData, stack: Plan, market: np.ndarray) -> dict[str, np.ndarray]:
    """The ``gen_*`` fields of :class:`PlanBatch`: a plan's GPUs by generation, each quarter."""
    P, T, G = stack.held.shape[0], data.T, data.G
    cost = electricity_cost_per_mw(data) * mw_per_gpu(data)[:, :, None]  # (S, I, T) per GPU
    out = {name: np.zeros((P, G, T)) for name in (
        "gen_market_gpus", "gen_market_electricity", "gen_held", "gen_opex", "gen_depreciation",
        "gen_sale_value", "gen_book", "gen_retired_proceeds", "gen_retired_book", "gen_retired_gpus",
        "gen_collateral")}  # fmt: skip
    out["gen_market_count"] = np.zeros((P, 2, G, T))
    out["gen_market_supply"] = np.zeros((P, 2, G, T))
    for name in ("count", "supply", "electricity", "mw"):
        out[f"gen_site_market_{name}"] = np.zeros((P, 2, G, data.I, T))
    mw = mw_per_gpu(data)  # (S, I) facility MW per GPU
    out["gen_terminal"] = np.zeros((P, G))
    out["gen_terminal_book"] = np.zeros((P, G))
    for s in range(data.S):
        g = data.sku_generation[s]
        on_market = market[:, :, s].sum(axis=2)  # (P, 2, T) over sites
        out["gen_market_count"][:, :, g] += on_market
        out["gen_market_supply"][:, :, g] += data.throughput[:, s, None] * on_market
        out["gen_market_gpus"][:, g] += on_market.sum(axis=1)
        out["gen_market_electricity"][:, g] += (cost[s] * market[:, :, s].sum(axis=1)).sum(axis=1)
        out["gen_site_market_count"][:, :, g] += market[:, :, s]
        out["gen_site_market_supply"][:, :, g] += data.throughput[:, s, None, None] * market[:, :, s]
        out["gen_site_market_electricity"][:, :, g] += cost[s] * market[:, :, s]
        out["gen_site_market_mw"][:, :, g] += mw[s, :, None] * market[:, :, s]
    held, retire = stack.held, stack.retire  # (P, C, T)
    for c in data.cohorts:
        g = data.sku_generation[c.sku]
        out["gen_held"][:, g] += held[:, c.index]
        out["gen_opex"][:, g] += data.opex_per_gpu_quarter[c.sku] * held[:, c.index]
        out["gen_depreciation"][:, g] += data.depreciation[c.index] * held[:, c.index]
        out["gen_sale_value"][:, g] += data.proceeds[c.index] * held[:, c.index]
        out["gen_collateral"][:, g] += data.resale_gross[c.index] * held[:, c.index]
        out["gen_book"][:, g] += data.book_value[c.index] * held[:, c.index]
        out["gen_retired_proceeds"][:, g] += data.proceeds[c.index] * retire[:, c.index]
        out["gen_retired_book"][:, g] += data.book_value[c.index] * retire[:, c.index]
        out["gen_retired_gpus"][:, g] += retire[:, c.index]
        out["gen_terminal"][:, g] += data.terminal_value[c.index] * held[:, c.index, -1]
        out["gen_terminal_book"][:, g] += data.terminal_book[c.index] * held[:, c.index, -1]
    contracted = np.zeros((P, G, T))
    for s in range(data.S):
        contracted[:, data.sku_generation[s]] += stack.contract_gpus[:, :, s].sum(axis=(1, 2))
    # a distress sale is for good: it may take only market GPUs that no contract needs later (those
    # the plan sells later may go: its sale is then cut, Liquidity.planned_sales_cut)
    spare = np.stack([spare_after(out["gen_held"][:, g], contracted[:, g], contracts_only=True)
                      for g in range(G)], axis=1)  # fmt: skip
    out["gen_sellable"] = np.minimum(out["gen_market_gpus"], spare)
    return out


def _order_tables(data: ModelData, stack: Plan, price: np.ndarray) -> dict[str, np.ndarray]:
    """The ``order_*`` fields of :class:`PlanBatch`: the part of each quarter's GPU purchases the
    policy may defer (:func:`deferrable_gpus`), its price now (``price`` (P, S, I, T) a GPU) and next
    quarter, its deposit and its GPUs."""
    P, T, G = stack.held.shape[0], data.T, data.G
    out = {name: np.zeros((P, T)) for name in ("order_capex", "order_capex_next", "order_deposit")}
    out["order_gpus"] = np.zeros((P, G, T))
    deferrable = deferrable_gpus(data, stack)
    for s, i in data.cohorts_by_sku_site:
        gpus = deferrable[:, s, i]
        price_next = np.append(data.capex_path[s, 1:], 0.0)
        out["order_capex"] += price[:, s, i] * gpus
        out["order_capex_next"] += price_next * gpus
        out["order_deposit"] += data.order_deposit_share[s] * price[:, s, i] * gpus
        out["order_gpus"][:, data.sku_generation[s]] += gpus
    return out


def deferrable_gpus(data: ModelData, stack: Plan) -> np.ndarray:
    """(P, S, I, T) the GPUs of each quarter's purchase of an SKU at a site that the order rule may
    defer (policy rule 0): those not serving contracts in their SKU and site that quarter, and spare
    in every later quarter, so that cancelling them leaves every contract its GPUs; of an SKU still on
    sale the next quarter."""
    out = np.zeros(stack.buy_blocks.shape)
    contracted = stack.contract_gpus.sum(axis=1)  # (P, S, I, T)
    purchased = gpus_of_blocks(data, stack.buy_blocks)
    for (s, i), cohorts in data.cohorts_by_sku_site.items():
        pool = stack.held[:, cohorts].sum(axis=1)  # (P, T)
        free = np.clip(1.0 - contracted[:, s, i] / np.where(pool > 0, pool, 1.0), 0.0, 1.0)
        bought = purchased[:, s, i]  # (P, T)
        next_on_sale = np.append(data.on_sale[s, 1:], False)  # deferrable into the horizon only
        out[:, s, i] = np.minimum(bought * free * next_on_sale, spare_after(pool, contracted[:, s, i]))
    return out


def spare_after(pool: np.ndarray, contracted: np.ndarray, contracts_only: bool = False) -> np.ndarray:
    """(P, T) GPUs of a pool that no contract needs in any quarter after t: min over t' > t of
    (pool - contracted) at t', floored at 0 (inf after the last quarter). An order cancelled the
    quarter after it was deferred must leave every later contract its GPUs. ``contracts_only``:
    over the quarters t' with GPUs under contract alone (a distress sale: the GPUs the plan itself
    sells later may go before; Liquidity.planned_sales_cut then cuts its sale)."""
    spare = np.maximum(pool - contracted, 0.0)
    if contracts_only:
        spare = np.where(contracted > 0, spare, np.inf)
    later = np.minimum.accumulate(spare[:, ::-1], axis=1)[:, ::-1]  # min over t' >= t
    return np.concatenate([later[:, 1:], np.full((pool.shape[0], 1), np.inf)], axis=1)


def _ebitda_taken(gen: dict, gpus: np.ndarray, earned: np.ndarray) -> np.ndarray:
    """(P, T) the EBITDA ``gpus`` (P, G, T) would contribute each quarter on the forecast, valued as
    the policy values GPUs taken out: the generation's average market GPU, of what ``earned``
    (P, G, T) says its market GPUs earn in the plan's run on the forecast (within the demand and the
    power online, less their electricity), less its average opex. What deferring an order loses (its
    saving is its price less this), and cancelling it the next quarter."""
    lost = 0.0
    for g in range(earned.shape[1]):
        market_inverse, held_inverse = inverse(gen["gen_market_gpus"][:, g]), inverse(gen["gen_held"][:, g])
        opex = gen["gen_opex"][:, g]
        lost = lost + taken_ebitda(gpus[:, g], market_inverse, held_inverse, earned[:, g], opex, np)
    return lost


def _deferrable_share(data: ModelData, stack: Plan, order_capex: np.ndarray, price: np.ndarray) -> np.ndarray:
    """(P, T) the deferrable order's share of the price of every GPU bought in the quarter (0 where
    none is bought): the share of the quarter's GPU-backed draws that funds it, and so goes with it
    when it is deferred (the rest funds GPUs that arrive as planned)."""
    bought = gpu_purchases_usd(data, stack.buy_blocks, price)
    return np.divide(order_capex, bought, out=np.zeros_like(bought), where=bought > 0)


def _ltv_draw_tables(data: ModelData, fin: Financing, stack: Plan, deferrable: np.ndarray) -> dict:
    """The ``ltv_*`` fields of :class:`PlanBatch`: the part of each quarter's draws on GPU-backed
    facilities that can still draw the next quarter and that funds the deferrable order (its
    ``deferrable`` share of the quarter's GPU purchases): the order rule defers a share of it with
    the order; the shares of each facility the plans repay each quarter
    (:func:`fleetopt.core.economics.debt.repaid_shares`), by which a cancelled order's draws never drawn
    are repaid; and the collateral the plans' balances left need (``collateral_required``)."""
    P, F, T = stack.draws.shape
    names = ("ltv_draws", "ltv_draw_rate", "ltv_draw_floating", "ltv_collateral", "ltv_outstanding")
    out = {name: np.zeros((P, T)) for name in names}
    out["ltv_facility_draws"] = np.zeros((P, F, T))
    scheduled = scheduled_principal(fin, stack.draws)
    repaid = repaid_shares(fin, stack.draws, stack.prepay, scheduled)
    out["principal_share"], out["prepaid_share"] = repaid.principal_share, repaid.prepaid_share
    owed = np.ascontiguousarray(repaid.owed.transpose(0, 2, 1))  # (P, T, F)
    out["collateral_required"] = collateral_required(fin, owed)
    # a draw the plan repays in its own quarter funds nothing after it: only what it still owes moves
    net_draws = np.minimum(stack.draws, repaid.owed)
    for f, facility in enumerate(data.facilities):
        if facility.max_ltv is None:
            continue
        movable = np.array([t + 1 in facility.draw_quarters for t in range(T)])
        draws = net_draws[:, f] * movable * deferrable
        out["ltv_facility_draws"][:, f] = draws
        out["ltv_draws"] += draws
        out["ltv_collateral"] += draws * facility.collateral_weight
        out["ltv_draw_rate"] += draws * np.append(fin.rate_quarterly[f, 1:], 0.0)
        out["ltv_draw_floating"] += draws * np.append(fin.floating[f, 1:], 0.0)
        # what of them the plan still owes after the next quarter's repayment (a cancellation's sizing)
        repaid_next = out["principal_share"][:, f, 1:] + out["prepaid_share"][:, f, 1:]
        out["ltv_outstanding"][:, :-1] += draws[:, :-1] * (1.0 - repaid_next)
    return out


# Slack for the float noise of a solver's solution: counts and MW absolutely, money relatively.
_COUNT_TOLERANCE = 1e-6
_MONEY_TOLERANCE = 1e-6


def refuse_limit_breaks(data: ModelData, stack: Plan, labels: list[str], lines: dict | None = None) -> None:
    """:class:`PlanLimitError` naming the first hard limit a plan of ``stack`` breaks
    (:func:`limit_problem`; ``lines``: the stack's operating lines, None: computed here)."""
    lines = operating_lines(data, stack) if lines is None else lines
    if problem := limit_problem(data, stack, labels, lines):
        raise PlanLimitError(problem)


def limit_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """The first hard limit of the model that a plan of ``stack`` breaks (negative quantities,
    GPUs bought beyond the supplier's allocation, GPUs held beyond those bought, a cohort's GPUs not
    following its balance, GPUs in service beyond those held, contracts served beyond their size or
    the GPUs in service, power blocks outside the site's expansion, power drawn beyond what is
    online, debt beyond a facility), named with its plan and where; None when every plan keeps
    within them. ``lines``: the stack's operating lines
    (:func:`fleetopt.core.economics.operating.operating_lines`)."""
    checks = (_negative_problem, _purchase_problem, _allocation_problem, _holding_problem, _balance_problem,
              _service_problem, _contract_problem, _build_problem, _power_problem, _debt_problem)  # fmt: skip
    for check in checks:
        problem = check(data, stack, labels, lines)
        if problem:
            return problem
    return None


def _negative_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    for name, values in stack.arrays().items():
        below = values < -_COUNT_TOLERANCE
        if below.any():
            where = tuple(int(x) for x in np.argwhere(below)[0])
            index = ", ".join(str(i) for i in where[1:])
            return (
                f"plan {labels[where[0]]!r}: {name}[{index}] is {values[where]:g}; "
                "quantities cannot be negative"
            )
    return None


def _purchase_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """GPUs bought only when on sale, and held whole in the quarter they arrive (they can move or
    retire only from the next quarter on)."""
    off_sale = (stack.buy_blocks > _COUNT_TOLERANCE) & ~data.on_sale[None, :, None, :]
    if off_sale.any():
        p, sku, site, t = (int(x) for x in np.argwhere(off_sale)[0])
        return (
            f"plan {labels[p]!r}: buys {data.sku_names[sku]} at site {data.sites[site].name!r} in "
            f"{data.quarter_labels[t]}, when it is not on sale"
        )
    purchased = gpus_of_blocks(data, stack.buy_blocks)
    for c in data.cohorts:
        if not c.is_purchase or not data.alive[c.index, c.bought]:
            continue
        gpus = purchased[:, c.sku, c.site, c.bought]
        held = stack.held[:, c.index, c.bought]
        short = np.abs(held - gpus) > _COUNT_TOLERANCE * np.maximum(1.0, gpus)
        if short.any():
            p = int(np.argmax(short))
            bought_text, held_text = counts_apart(gpus[p], held[p])
            return (
                f"plan {labels[p]!r}: buys {with_unit(bought_text, 'GPUs')} of {data.sku_names[c.sku]} at "
                f"site "
                f"{data.sites[c.site].name!r} in {data.quarter_labels[c.bought]} but holds "
                f"{held_text} of them that quarter"
            )
    return None


def _allocation_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """New GPUs of a generation bought in a quarter within the supplier's allocation: a plan made
    without it, evaluated under a model with it, was evaluated as if the supplier had delivered them."""
    bought, over = over_allocation(data, stack.buy_blocks)
    if not over.any():
        return None
    p, g, t = (int(x) for x in np.argwhere(over)[0])
    gpus, allocated = allocated_words(data, g, t, bought[p, g, t])
    return (f"plan {labels[p]!r}: buys {gpus} new {GENERATIONS[g]} GPUs in {data.quarter_labels[t]}, "
            f"more than {allocated}")  # fmt: skip


def _holding_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    bought = np.zeros((stack.held.shape[0], data.C))  # GPUs each cohort ever has: opening + purchase
    purchased = gpus_of_blocks(data, stack.buy_blocks)
    for c in data.cohorts:
        bought[:, c.index] = c.initial_training + c.initial_inference
        if c.bought >= 0:
            bought[:, c.index] += purchased[:, c.sku, c.site, c.bought]
    at = _first_above(stack.held, bought[:, :, None])
    if at is None:
        return None
    p, c, t = at
    cohort = data.cohorts[c]
    held, has = (with_unit(n, "GPUs") for n in counts_apart(stack.held[p, c, t], bought[p, c]))
    return (
        f"plan {labels[p]!r}: holds {held} of {data.sku_names[cohort.sku]} at site "
        f"{data.sites[cohort.site].name!r} in {data.quarter_labels[t]}, more than the "
        f"{has} it has of that purchase"
    )


def _balance_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """GPUs leave a cohort only by retirement and move only from training to inference (formulation
    §5.1-§5.2): in each quarter a use's GPUs retired (and, for training, moved to inference) are at
    most those it held the quarter before (its installed GPUs before the first), and it holds at
    most what is left, with the GPUs moved in; none outside the cohort's life. The quarter a cohort
    is bought, what it holds is checked with the purchase. A plan holding fewer scraps GPUs for
    nothing: wasteful, but its figures are still its own."""
    for c in data.cohorts:
        if problem := _cohort_balance_problem(data, stack, labels, c):
            return problem
    return None


def _cohort_balance_problem(data: ModelData, stack: Plan, labels: list[str], c) -> str | None:
    where = f"{data.sku_names[c.sku]} at site {data.sites[c.site].name!r}"
    bought_now = (np.arange(data.T) == c.bought) & c.is_purchase
    redeploy = stack.redeploy[:, c.index]
    for use, held, retired, moved_out, moved_in, initial in (
        ("training", stack.held_training[:, c.index], stack.retire_training[:, c.index], redeploy, 0.0,
         c.initial_training),
        ("inference", stack.held_inference[:, c.index], stack.retire_inference[:, c.index], 0.0, redeploy,
         c.initial_inference),
    ):  # fmt: skip
        gpus = f"{use} GPUs"
        if (stray := (held > _COUNT_TOLERANCE) & ~data.alive[c.index]).any():
            p, t = (int(x) for x in np.argwhere(stray)[0])
            return (f"plan {labels[p]!r}: holds {with_unit(_more_than_none(held[p, t]), gpus)} of {where} in "
                    f"{data.quarter_labels[t]}, outside that cohort's life")  # fmt: skip
        before = np.concatenate([np.full((held.shape[0], 1), initial), held[:, :-1]], axis=1)
        out = retired + moved_out
        if (at := _first_above(out, before)) is not None:
            p, t = at
            gone, had = counts_apart(out[p, t], before[p, t])
            return (f"plan {labels[p]!r}: retires or moves {with_unit(gone, gpus)} of {where} in "
                    f"{data.quarter_labels[t]}, more than the {had} held before")  # fmt: skip
        left = np.where(bought_now, np.inf, before - out + moved_in)
        if (at := _first_above(held, left)) is not None:
            p, t = at
            moved_in_now = np.broadcast_to(moved_in, held.shape)[p, t]
            kept, leaves, had, gone, came = counts_apart(held[p, t], left[p, t], before[p, t], out[p, t],
                                                         moved_in_now)  # fmt: skip
            return (
                f"plan {labels[p]!r}: holds {with_unit(kept, gpus)} of {where} in {data.quarter_labels[t]}, "
                f"more than the {leaves} its balance leaves ({had} held before, {gone} retired or moved out, "
                f"{came} moved in): GPUs leave a cohort only by retirement and move only from training to "
                "inference (formulation §5.1)"
            )
    return None


def _more_than_none(count: float) -> str:
    """A count refused for being more than none, written so that it shows (0.000002, not 0.00):
    against none (:func:`counts_apart`)."""
    return counts_apart(count, 0.0)[0]


def _build_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """Power blocks started only in a quarter the site's expansion allows (formulation
    `BUILD`: from its earliest start to the last whose block comes online in the horizon), at most
    its ``max_blocks`` in all."""
    blocks = stack.build_blocks  # (P, I, T)
    for i, site in enumerate(data.sites):
        outside = np.ones(data.T, dtype=bool)
        outside[list(site.build_quarters)] = False
        early_late = (blocks[:, i] > _COUNT_TOLERANCE) & outside
        if early_late.any():
            p, t = (int(x) for x in np.argwhere(early_late)[0])
            started = with_unit(_more_than_none(blocks[p, i, t]), "power blocks")
            return (f"plan {labels[p]!r}: starts {started} at site {site.name!r} in "
                    f"{data.quarter_labels[t]}, a quarter its expansion does not allow (a block must come "
                    "online within the horizon, from the expansion's earliest start)")  # fmt: skip
        total = blocks[:, i].sum(axis=1)
        if (over := total > site.max_blocks + _COUNT_TOLERANCE).any():
            p = int(np.argmax(over))
            started, most = counts_apart(total[p], site.max_blocks)
            return (f"plan {labels[p]!r}: starts {with_unit(started, 'power blocks')} at site {site.name!r}, "
                    f"more than its expansion's max_blocks, {most}")  # fmt: skip
    return None


def _service_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """GPUs in service for a use within the GPUs held for it and installed (formulation §5.3,
    ``use_limit``): each cohort at its service share; in training only where the SKU is eligible for
    it that quarter (the ``ACT`` set: ``training_eligible``)."""
    ineligible = (stack.active[:, 0] > _COUNT_TOLERANCE) & ~data.training_eligible[None, :, None, :]
    if ineligible.any():
        p, sku, site, t = (int(x) for x in np.argwhere(ineligible)[0])
        active = with_unit(_more_than_none(stack.active[p, 0, sku, site, t]), f"{data.sku_names[sku]} GPUs")
        return (f"plan {labels[p]!r}: has {active} in training service at site "
                f"{data.sites[site].name!r} in {data.quarter_labels[t]}, when that SKU is not eligible for "
                "training")  # fmt: skip
    installed = installed_by_use(data, stack)
    at = _first_above(stack.active, installed)
    if at is None:
        return None
    p, u, sku, site, t = at
    active, held = counts_apart(stack.active[p, u, sku, site, t], installed[p, u, sku, site, t])
    active = with_unit(active, f"{data.sku_names[sku]} GPUs")
    return (
        f"plan {labels[p]!r}: has {active} in {USES[u]} service at site "
        f"{data.sites[site].name!r} in {data.quarter_labels[t]}, more than the {held} it holds installed "
        f"for {USES[u]}"
    )


def installed_by_use(data: ModelData, stack: Plan) -> np.ndarray:
    """(P, 2, S, I, T) the GPUs each plan holds configured for each use and installed: each cohort
    at its service share (formulation §5.3, ``use_limit``: the most it may have in service)."""
    installed = np.zeros(stack.active.shape)
    for c in data.cohorts:
        share = np.array([data.service_share(c.index, t) for t in range(data.T)])
        installed[:, 0, c.sku, c.site] += share * stack.held_training[:, c.index]
        installed[:, 1, c.sku, c.site] += share * stack.held_inference[:, c.index]
    return installed


def _idle_tables(data: ModelData, stack: Plan, rev_per_gpu: np.ndarray) -> dict[str, np.ndarray]:
    """The ``idle_*`` fields of :class:`PlanBatch` (P, 2, G, I, T), for the policy's
    ``idle_gpus_to_market`` (docs/evaluation.md, policy rule 5): by use, generation and site, the GPUs
    a plan holds installed for the use and not in service (none of an SKU not eligible for training
    in training; less than ``_COUNT_TOLERANCE`` counts as none), their H100-equivalent supply in the
    use, their revenue at forecast prices, and the facility MW and forecast electricity they would add
    by running at full draw instead of their idle fraction."""
    idle = installed_by_use(data, stack) - stack.active
    idle[:, 0] *= data.training_eligible[None, :, None, :]
    idle = np.where(idle > _COUNT_TOLERANCE, idle, 0.0)
    extra_mw = mw_per_gpu(data) * (1.0 - data.idle_fraction)[:, None]  # (S, I) per GPU
    extra_cost = electricity_cost_per_mw(data) * extra_mw[:, :, None]  # (S, I, T) per GPU
    P, I, T = stack.active.shape[0], data.I, data.T
    out = {f"idle_{name}": np.zeros((P, 2, data.G, I, T)) for name in ("gpus", "supply", "revenue", "mw",
                                                                      "electricity")}  # fmt: skip
    for s in range(data.S):
        g, gpus = data.sku_generation[s], idle[:, :, s]  # (P, 2, I, T)
        out["idle_gpus"][:, :, g] += gpus
        out["idle_supply"][:, :, g] += data.throughput[:, s, None, None] * gpus
        out["idle_revenue"][:, :, g] += rev_per_gpu[:, s, None, :] * gpus
        out["idle_mw"][:, :, g] += extra_mw[s, :, None] * gpus
        out["idle_electricity"][:, :, g] += extra_cost[s] * gpus
    return out


def _contract_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    """A signed contract taken; each contract served only by its eligible SKUs within its term, with
    no more GPUs than it has; the GPUs serving a use's contracts within those in service for it
    (formulation §5.3 and §5.4)."""
    for k, con in enumerate(data.contracts):
        name = f"contract {con.name!r}"
        declined = (stack.accepted[:, k] == 0) & con.signed
        if declined.any():
            return f"plan {labels[int(np.argmax(declined))]!r}: declines the signed {name}"
        gpus = stack.contract_gpus[:, k]  # (P, S, I, T)
        allowed = np.zeros(gpus.shape[1:], dtype=bool)
        allowed[list(con.skus), :, con.start : con.end + 1] = True
        stray = (gpus > _COUNT_TOLERANCE) & ~allowed
        if stray.any():
            p, sku, _, t = (int(x) for x in np.argwhere(stray)[0])
            return (f"plan {labels[p]!r}: serves {name} with {data.sku_names[sku]} GPUs in "
                    f"{data.quarter_labels[t]}, which its SKUs or term do not allow")  # fmt: skip
        total = gpus.sum(axis=(1, 2))  # (P, T)
        if (at := _first_above(total, con.gpus)) is not None:
            p, t = at
            served, size = counts_apart(total[p, t], con.gpus)
            served = with_unit(served, "GPUs")
            return (f"plan {labels[p]!r}: serves {name} with {served} in {data.quarter_labels[t]}, "
                    f"more than its {size}")  # fmt: skip
    serving = contracted_gpus_by_use(data, stack)  # (P, 2, S, I, T)
    at = _first_above(serving, stack.active)
    if at is None:
        return None
    p, u, sku, site, t = at
    served, active = counts_apart(serving[p, u, sku, site, t], stack.active[p, u, sku, site, t])
    served = with_unit(served, f"{data.sku_names[sku]} GPUs")
    return (
        f"plan {labels[p]!r}: serves {USES[u]} contracts with {served} at site "
        f"{data.sites[site].name!r} in {data.quarter_labels[t]}, more than the {active} it has in "
        f"{USES[u]} service there"
    )


def _first_above(value: np.ndarray, limit: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first entry of ``value`` above ``limit`` beyond a solver's round-off (None:
    none is)."""
    over = value > limit + _COUNT_TOLERANCE * np.maximum(1.0, limit)
    return tuple(int(x) for x in np.argwhere(over)[0]) if over.any() else None


def _power_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    for site in data.sites:
        used, online = lines[f"mw_used_{site.name}"], lines[f"mw_available_{site.name}"]
        if (at := _first_above(used, online)) is not None:
            p, t = at
            drawn, has = mw_apart(used[p, t], online[p, t])
            return (
                f"plan {labels[p]!r}: draws {drawn} at site {site.name!r} in "
                f"{data.quarter_labels[t]}, more than the {has} the plan has online"
            )
    return None


def _debt_problem(data: ModelData, stack: Plan, labels: list[str], lines: dict) -> str | None:
    for f, fac in enumerate(data.facilities):
        headroom = fac.undrawn_usd
        outside = np.ones(data.T, dtype=bool)
        outside[list(fac.draw_quarters)] = False
        drawn = stack.draws[:, f, :]
        late = (drawn > _COUNT_TOLERANCE) & outside
        if late.any():
            p, t = (int(x) for x in np.argwhere(late)[0])
            return (
                f"plan {labels[p]!r}: draws {format_usd(drawn[p, t])} on facility {fac.name!r} in "
                f"{data.quarter_labels[t]}, outside its draw window"
            )
        total = drawn.sum(axis=1)
        over = total > headroom + _MONEY_TOLERANCE * max(1.0, fac.size_usd)
        if over.any():
            p = int(np.argmax(over))
            drawn, left = usd_apart(total[p], headroom)
            return (
                f"plan {labels[p]!r}: draws {drawn} on facility {fac.name!r}, more than the {left} left "
                f"of its {format_usd(fac.size_usd)}"
            )
    return None


def _build_groups(data: ModelData, blocks: np.ndarray) -> np.ndarray:
    """(4, P, B) site, start quarter, online quarter and MW of each plan's power builds, in
    (site, quarter) order, padded with 0 MW groups to the plan with most."""
    P, I, T = blocks.shape
    built = blocks.reshape(P, I * T) != 0
    B = int(built.sum(axis=1).max(initial=0))
    where = np.argsort(~built, axis=1, kind="stable")[:, :B]  # the built (site, quarter) first, in order
    real = np.take_along_axis(built, where, axis=1)
    site, start = where // T, where % T
    lead = np.array([s.lead_time for s in data.sites], dtype=np.int64)
    block_mw = np.array([s.block_mw for s in data.sites])
    count = np.take_along_axis(blocks.reshape(P, I * T), where, axis=1)
    return np.where(real, np.stack([site, start, start + lead[site], count * block_mw[site]]), 0.0)
