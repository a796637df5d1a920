"""A plan's operating economics: the unit coefficients the MILP and the evaluator share (revenue per
GPU-quarter, MW per GPU, electricity and site costs per MW), the operating lines of a solved plan
(revenue, costs, EBITDA, depreciation, investing flows) and its assets at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.units import facility_mw


def mw_per_gpu(data: ModelData) -> np.ndarray:
    """(S, I) facility MW drawn by one GPU in service: kW x PUE / 1000."""
    pue = np.array([s.pue for s in data.sites])
    return facility_mw(1.0, data.kw_per_gpu[:, None], pue[None, :])


def market_revenue_per_gpu(data: ModelData) -> np.ndarray:
    """(2, S, T) USD earned by one GPU rented on the market for a quarter."""
    return data.market_price * data.hours * data.billed_utilization


def contract_revenue_per_gpu(data: ModelData) -> np.ndarray:
    """(K,) USD earned by one contracted GPU in a quarter (contracts bill every hour)."""
    return np.array([k.price_usd_per_gpu_hour * data.hours for k in data.contracts])


def electricity_cost_per_mw(data: ModelData) -> np.ndarray:
    """(I, T) USD for drawing one MW for a whole quarter."""
    return np.array([s.electricity_usd_per_mwh for s in data.sites]) * data.hours


def site_fixed_cost_per_mw(data: ModelData) -> np.ndarray:
    """(I,) USD each site costs a quarter per MW online, drawn or not (``fixed_cost_per_mw_quarter_usd``):
    the statements' ``site_fixed_usd``, the MILP's objective and the evaluator's saving on late power."""
    return np.array([s.fixed_cost_per_mw_quarter_usd for s in data.sites], dtype=np.float64)


def drawn_mw(data: ModelData, held: np.ndarray, in_service: np.ndarray) -> np.ndarray:
    """(..., I, T) facility MW drawn: GPUs in service at full power, the rest of those held at idle
    power. ``held`` and ``in_service`` are (..., S, I, T) GPU counts."""
    idle = data.idle_fraction[:, None, None]
    per_gpu = mw_per_gpu(data)[:, :, None]
    return (per_gpu * (idle * held + (1.0 - idle) * in_service)).sum(axis=-3)


def _over_starts(blocks: np.ndarray, schedule: np.ndarray) -> np.ndarray:
    """(..., T) schedule of the blocks started: ``blocks`` (..., T) by start quarter times the (T, T)
    schedule of one block, summed over start quarters. Elementwise products summed in order, not a
    matrix product, so that a plan's figures do not depend on how many plans are computed with it."""
    return (blocks[..., :, None] * schedule).sum(axis=-2)


def operating_lines(data: ModelData, plan: Plan) -> dict[str, np.ndarray]:
    """Quarterly revenue, costs, EBITDA, depreciation, investing flows of a plan, USD, each (T,).

    ``plan`` may hold a stack of plans (every decision array with a leading plan axis, see
    :meth:`Plan.stack`): each line is then (P, T), and every plan's figures are the ones it has
    alone, bit for bit (no reduction mixes plans)."""
    lead = plan.buy_blocks.shape[:-3]  # () for one plan, (P,) for a stack
    held = np.zeros((*lead, data.S, data.I, data.T))  # GPUs held by SKU and site
    for (s, i), cohorts in data.cohorts_by_sku_site.items():
        held[..., s, i, :] = plan.held[..., cohorts, :].sum(axis=-2)
    mw = drawn_mw(data, held, plan.active.sum(axis=-4))
    online = power_online_mw(data, plan.build_blocks)
    lines, per_contract = _revenue_lines(data, plan, lead)
    lines.update(_cost_lines(data, plan, lead, mw, online))
    lines["ebitda_usd"] = lines["revenue_usd"] - (
        lines["electricity_usd"]
        + lines["gpu_opex_usd"]
        + lines["site_fixed_usd"]
        + lines["redeployment_usd"]
        + lines["overhead_usd"]
    )
    lines.update(_asset_lines(data, plan, lead))
    for i, site in enumerate(data.sites):
        lines[f"mw_used_{site.name}"] = mw[..., i, :]
        lines[f"mw_available_{site.name}"] = online[..., i, :]
    for k, contract in enumerate(data.contracts):
        lines[f"revenue_contract_{contract.name}_usd"] = per_contract[..., k, :]
    lines["gpus_held"] = plan.held.sum(axis=-2)
    lines["gpus_in_service"] = plan.active.sum(axis=(-4, -3, -2))
    lines["fleet_resale_value_usd"] = (data.resale_gross * plan.held).sum(axis=-2)
    lines["contract_payments_usd"] = plan.accepted @ data.contract_payments.live  # cash, not revenue
    return lines


def deferred_revenue_end(data: ModelData, plan: Plan) -> Any:
    """USD of prepayments received and not yet earned after the horizon's last quarter (a float,
    or (P,) for a stack): the terminal value deducts it (docs/formulation.md §6)."""
    return plan.accepted @ data.contract_payments.deferred_end


def market_gpus(data: ModelData, plan: Plan) -> np.ndarray:
    """(..., 2, S, I, T) the GPUs the plan (or a stack of plans) offers the market, by use: those in
    service in the use that no contract of that use takes."""
    return plan.active - contracted_gpus_by_use(data, plan)


def contracted_gpus_by_use(data: ModelData, plan: Plan) -> np.ndarray:
    """(..., 2, S, I, T) the GPUs serving the plan's (or a stack's) contracts, by the contracts' use:
    each contract's GPUs added in contract order."""
    by_use = np.zeros(plan.active.shape)
    for k, contract in enumerate(data.contracts):
        by_use[..., contract.use, :, :, :] += plan.contract_gpus[..., k, :, :, :]
    return by_use


def _revenue_lines(data: ModelData, plan: Plan, lead: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Revenue by source, and (..., K, T) revenue per contract."""
    market = market_gpus(data, plan)
    revenue_market = (market_revenue_per_gpu(data)[:, :, None, :] * market).sum(axis=(-3, -2))
    per_contract = contract_revenue_per_gpu(data)[:, None] * plan.contract_gpus.sum(axis=(-3, -2))
    lines: dict[str, np.ndarray] = {
        "revenue_training_market_usd": revenue_market[..., 0, :],
        "revenue_inference_market_usd": revenue_market[..., 1, :],
        "revenue_contracts_usd": (
            per_contract.sum(axis=-2) if len(data.contracts) else np.zeros((*lead, data.T))
        ),
    }
    lines["revenue_usd"] = (
        lines["revenue_training_market_usd"]
        + lines["revenue_inference_market_usd"]
        + lines["revenue_contracts_usd"]
    )
    return lines, per_contract


def _cost_lines(data: ModelData, plan: Plan, lead: tuple, mw: np.ndarray, online: np.ndarray) -> dict:
    """Operating costs: electricity for the MW drawn, GPU opex, site fixed costs on the MW online,
    redeployment and overhead."""
    sku_of = np.array([c.sku for c in data.cohorts], dtype=int)
    return {
        "electricity_usd": (electricity_cost_per_mw(data) * mw).sum(axis=-2),
        "gpu_opex_usd": (data.opex_per_gpu_quarter[sku_of][:, None] * plan.held).sum(axis=-2),
        "site_fixed_usd": (site_fixed_cost_per_mw(data)[:, None] * online).sum(axis=-2),
        "redeployment_usd": data.redeploy_cost * plan.redeploy.sum(axis=-2),
        "overhead_usd": np.zeros((*lead, data.T)) + data.overhead,
    }


def _asset_lines(data: ModelData, plan: Plan, lead: tuple) -> dict[str, np.ndarray]:
    """Depreciation, disposals and capex of GPUs and power plant."""
    schedules = data.site_schedules
    retire = plan.retire

    def over_sites(schedule: str) -> np.ndarray:
        blocks = plan.build_blocks
        parts = (_over_starts(blocks[..., i, :], getattr(schedules[i], schedule)) for i in range(data.I))
        return sum(parts, np.zeros((*lead, data.T)))

    return {
        "depreciation_gpu_usd": (data.depreciation * plan.held).sum(axis=-2),
        "depreciation_power_usd": over_sites("depreciation"),
        "gain_on_disposal_usd": ((data.proceeds - data.book_value) * retire).sum(axis=-2),
        "capex_gpu_usd": gpu_purchases_usd(data, plan.buy_blocks),
        "capex_power_usd": over_sites("capex"),
        "disposal_proceeds_usd": (data.proceeds * retire).sum(axis=-2),
        "book_value_disposed_usd": (data.book_value * retire).sum(axis=-2),
    }


def block_price_usd(data: ModelData) -> np.ndarray:
    """(S, T) USD of one block of each SKU bought in each quarter: its GPUs at the SKU's ``capex_path``
    of the quarter."""
    return data.capex_path * data.block_size[:, None]


def gpus_of_blocks(data: ModelData, blocks: np.ndarray) -> np.ndarray:
    """(..., S, I, T) the GPUs of purchase ``blocks`` (..., S, I, T): blocks x each SKU's block size."""
    return blocks * data.block_size[:, None, None]


def gpus_of_blocks_by_sku(data: ModelData, blocks: np.ndarray) -> np.ndarray:
    """(..., S, T) the GPUs of purchase ``blocks`` (..., S, I, T) by SKU: the blocks over the sites x
    each SKU's block size (blocks summed first: not the sites' sum of :func:`gpus_of_blocks`)."""
    return blocks.sum(axis=-2) * data.block_size[:, None]


def gpu_purchases_usd(data: ModelData, buy_blocks: np.ndarray, price: np.ndarray | None = None) -> np.ndarray:
    """(..., T) what the GPUs bought each quarter cost, USD: blocks x GPUs a block x the price of a
    GPU, the SKU's ``capex_path`` of the quarter bought, or ``price`` (..., S, I, T) where a plan pays
    another (a slip's late GPUs, paid at their signed price)."""
    price = data.capex_path[:, None, :] if price is None else price
    return (buy_blocks * data.block_size[:, None, None] * price).sum(axis=(-3, -2))


def power_online_mw(data: ModelData, build_blocks: np.ndarray) -> np.ndarray:
    """(..., I, T) facility MW online: existing capacity plus blocks whose lead time has passed."""
    return np.stack(
        [
            site.capacity_mw + site.block_mw * _over_starts(build_blocks[..., i, :], schedules.online)
            for i, (site, schedules) in enumerate(zip(data.sites, data.site_schedules, strict=True))
        ],
        axis=-2,
    )


def opening_fleet_value(data: ModelData) -> float:
    """What the installed GPUs would fetch if sold in the horizon's first quarter, present value,
    USD: each installed cohort's GPUs at its first quarter's proceeds (resale less the selling cost;
    a cohort past the maximum age too: the plan sells it then, for the same), discounted as a sale
    then is (DF_0). The cost objective charges it as it
    credits the value at the end (formulation §6, "Cost"), so that a fleet the plan merely holds costs
    what it loses in value, not less than nothing, and one sold at once costs nothing."""
    held = [c for c in data.cohorts if c.existing]
    proceeds = sum((c.initial_training + c.initial_inference) * data.proceeds[c.index, 0] for c in held)
    return float(data.discount[0] * proceeds)


def terminal_assets(data: ModelData, plan: Plan) -> tuple[Any, Any]:
    """At the end of the horizon: (net realisable value of the fleet, book value of power plant), USD
    (floats for one plan, (P,) arrays for a stack)."""
    fleet = (data.terminal_value * plan.held[..., :, -1]).sum(axis=-1)
    power = sum(
        (plan.build_blocks[..., i, :] * schedules.book_end).sum(axis=-1)
        for i, schedules in enumerate(data.site_schedules)
    )
    if np.ndim(fleet) == 0:
        return float(fleet), float(power)
    return fleet, power + np.zeros_like(fleet)


def terminal_fleet_book(data: ModelData, plan: Plan) -> Any:
    """Book value of the GPUs held at the end, USD (a float, or (P,) for a stack): the tax basis of
    their liquidation (:func:`liquidation_tax`)."""
    book = (data.terminal_book * plan.held[..., :, -1]).sum(axis=-1)
    return float(book) if np.ndim(book) == 0 else book
