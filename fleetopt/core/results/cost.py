"""The figures of a plan solved for least cost (formulation §6, "Cost"): its present cost and parts, the
levelized cost per H100-equivalent GPU-hour, the budget floor and the forecast demand, in figures and
words."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import TOLERANCE_USD
from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import opening_fleet_value
from fleetopt.core.economics.statements import Statements
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import HOURS_PER_QUARTER
from fleetopt.core.units import format_h100_hours, format_usd, format_usd_per_hour, listed, quoted


def market_revenue_of(lines: dict) -> np.ndarray:
    """Each quarter's market revenue, training and inference (USD): under the cost objective the
    value of the GPUs' own use, which no one pays, so a lab's real cash is its cash less the sum of
    it to date (formulation §5.10, as the MILP's ``imputed_revenue``)."""
    return lines["revenue_training_market_usd"] + lines["revenue_inference_market_usd"]


def present_cost_parts(data: ModelData, st: Statements) -> tuple[float, float, float]:
    """The cost objective's three parts (formulation §6, "Cost"), USD: the installed fleet's value
    at the start (:func:`~fleetopt.core.economics.operating.opening_fleet_value`), the quarters' costs
    sum_t DF_t (capex - disposal proceeds + interest + opex), opex = revenue - EBITDA, and the
    value at the end DF_{T-1} x terminal assets (the present cost is the first two less the third)."""
    lines = st.lines
    opex = lines["revenue_usd"] - lines["ebitda_usd"]
    costs = (lines["capex_gpu_usd"] + lines["capex_power_usd"] - lines["disposal_proceeds_usd"]
             + lines["interest_usd"] + opex)  # fmt: skip
    end_value = float(data.discount[-1] * st.terminal_assets_usd)
    return opening_fleet_value(data), float((data.discount * costs).sum()), end_value


def present_cost(data: ModelData, st: Statements) -> float:
    """The cost objective's figure of a plan, USD: the fleet it starts with plus its quarters' costs,
    less its value at the end."""
    opening, costs, end_value = present_cost_parts(data, st)
    return opening + costs - end_value


def compute_in_service(data: ModelData, plan: Plan) -> np.ndarray:
    """(T,) H100-equivalent GPUs in service each quarter on the forecast: the GPUs serving the market
    and the contracts, by use, times their throughput in that use, summed over SKUs and sites."""
    return np.einsum("us,usit->t", data.throughput, plan.active)


def h100_hours_in_service(data: ModelData, plan: Plan) -> tuple[float, float]:
    """The H100-equivalent GPU-hours in service over the horizon, 2,190 h x :func:`compute_in_service`
    summed, and the same with each quarter's discounted as its costs are, sum_t DF_t x 2,190 h x
    :func:`compute_in_service` (the levelized cost's divisor)."""
    in_service = compute_in_service(data, plan)
    return (HOURS_PER_QUARTER * float(in_service.sum()),
            HOURS_PER_QUARTER * float(np.dot(data.discount, in_service)))  # fmt: skip


def cost_per_h100_hour(present_cost_usd: float, discounted_hours: float) -> float | None:
    """The present cost per H100-equivalent GPU-hour in service, USD (formulation §6, "Cost"):
    levelized, as a power plant's cost per MWh is, the price that, charged for every such hour
    in service, pays the present cost: ``present_cost_usd`` over the discounted hours of
    :func:`h100_hours_in_service`; None where nothing is in service."""
    return present_cost_usd / discounted_hours if discounted_hours > 0 else None


# what the NPV and the cash count under the cost objective (formulation §6, "Cost"), after their label
MARKET_VALUED = " (the GPUs' own use valued at market prices, as revenue)"


# a cost plan's real budget figure (headline's min_cash_without_market_revenue_usd), as printed
WITHOUT_MARKET_REVENUE = "lowest cash less the market revenue to date (the GPUs' own use: no one pays it)"


def cost_plans_note(plans: list[str] | int) -> str:
    """What the figures of plans solved for least cost count (``plans``: their labels, or the
    number of plans of a run, all of them solved so)."""
    if isinstance(plans, int):
        which = "The plan was" if plans == 1 else "The plans were"
    else:
        which = f"{listed(quoted(plan) for plan in plans)} {'was' if len(plans) == 1 else 'were'}"
    return (f"{which} solved for least cost (`fleetopt solve --objective cost`): NPV, cash and revenue "
            "value the GPUs' own use at market prices, as revenue, as a neocloud's would be; the present "
            "cost is the objective (docs/formulation.md §6)")  # fmt: skip


def budget_shortfall(data: ModelData, cash_without_market_revenue: float) -> float:
    """USD by which a cost plan's lowest cash less the market revenue to date falls below the budget
    floor ``finance.min_cash_usd``; 0.0 where it does not (within the covenants' 1-USD tolerance),
    as for every plan the cost objective solves since version 0.4.8, whose cash floor holds it
    (formulation §5.10): a run folder of an earlier one may show it."""
    short = data.min_cash - cash_without_market_revenue
    return float(short) if short > TOLERANCE_USD else 0.0


def budget_words(data: ModelData, cash_without_market_revenue: float) -> str:
    """Where a cost plan's lowest cash less the market revenue to date stands to the budget floor
    ``finance.min_cash_usd``: 'the budget floor finance.min_cash_usd: $250.0M', or where it falls
    below (a run of before 0.4.8) 'below finance.min_cash_usd, $250.0M, by $860.4M'."""
    short = budget_shortfall(data, cash_without_market_revenue)
    if short:
        return f"below finance.min_cash_usd, {format_usd(data.min_cash)}, by {format_usd(short)}"
    return f"the budget floor finance.min_cash_usd: {format_usd(data.min_cash)}"


def present_cost_arithmetic(fig: dict) -> str:
    """How a :func:`headline`'s present cost is made: 'the installed fleet's resale value at the start
    (what keeping it forgoes) $239.4M + the quarters' costs (present value) $908.4M - the value at
    the end $368.0M (0.751, the last quarter's discount factor, x GPUs at resale and power plant at
    book $489.9M)' (the first part only where the model has an installed fleet)."""
    opening = fig.get("present_cost_opening_fleet_usd", 0.0)  # 0 in a summary written before 0.4.3
    end = opening + fig["present_cost_quarters_usd"] - fig["present_cost_usd"]
    factor = f"{fig['terminal_discount_factor']:.3f}, the last quarter's discount factor,"
    opening_words = "the installed fleet's resale value at the start (what keeping it forgoes)"
    start = f"{opening_words} {format_usd(opening)} + " if opening else ""
    costs = format_usd(fig["present_cost_quarters_usd"])
    return (f"{start}the quarters' costs (present value) {costs} - the value at the end {format_usd(end)} "
            f"({factor} x GPUs at resale and power plant at book "
            f"{format_usd(fig['terminal_assets_usd'])})")  # fmt: skip


# a cost plan's levelized cost (headline's present_cost_per_h100_hour_usd), as printed
COST_PER_H100_HOUR = "present cost per H100-equivalent GPU-hour in service (levelized)"


def cost_per_h100_hour_basis(fig: dict) -> str:
    """What a :func:`headline`'s levelized cost divides, as the cost is discounted: 'the present
    cost $779.7M over 1,286,311,835 H100-equivalent GPU-hours in service, each quarter's discounted
    as its costs are (1,567,287,647 undiscounted)'; why there is none where no GPU is in service."""
    if fig.get("present_cost_per_h100_hour_usd") is None:
        return "no GPU in service on the forecast: nothing to divide the present cost by"
    # whole hours: the division checks by hand
    discounted = f"{fig['compute_in_service_h100_hours_discounted']:,.0f}"
    hours = f"{fig['compute_in_service_h100_hours']:,.0f}"
    return (f"the present cost {format_usd(fig['present_cost_usd'])} over {discounted} H100-equivalent "
            f"GPU-hours in service, each quarter's discounted as its costs are ({hours} undiscounted)")


def cost_per_h100_hour_words(fig: dict) -> str:
    """A :func:`headline`'s levelized cost and its basis: '$0.61 (the present cost $779.7M over ...)'."""
    per_hour = format_usd_per_hour(fig.get("present_cost_per_h100_hour_usd"))
    return f"{per_hour} ({cost_per_h100_hour_basis(fig)})"


# a cost solve's market demand on the forecast, as printed
FORECAST_DEMAND_LABEL = "market demand on the forecast"


def forecast_demand_words(fig: dict) -> str:
    """A cost solve's demand on the forecast: '1.57B H100-equivalent GPU-hours over the horizon, all
    served (the cost objective meets it in every quarter, no more: ...)', scaled as `runs show`
    writes the figure (:func:`format_h100_hours`)."""
    return (f"{format_h100_hours(fig['forecast_demand_h100_hours'])} over the horizon, all served (the "
            "cost objective meets it in every quarter, no more: formulation §5.5)")


# a cost solve's objective (formulation §6), as the terminal, a notebook and the report name it
COST_LABEL = "present cost of the plan (the objective)"


def present_cost_words(fig: dict) -> str:
    """The present cost and its arithmetic: '$779.7M = the installed fleet's resale value at ...'."""
    return f"{format_usd(fig['present_cost_usd'])} = {present_cost_arithmetic(fig)}"
