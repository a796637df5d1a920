"""The key figures of a solved plan (summary.json's) and how each is written for people."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.metric_columns import CVAR5_NPV_LABEL
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import HOURS_PER_QUARTER
from fleetopt.core.results.cost import (
    budget_shortfall,
    cost_per_h100_hour,
    h100_hours_in_service,
    market_revenue_of,
    present_cost_parts,
)
from fleetopt.core.results.covenant_words import (
    CUSHION_FIGURES,
    CUSHION_MEANS,
    covenant_cushions,
    covenant_headroom,
    liquidity_cover,
    lowest_cushion,
    quarters_tested,
)
from fleetopt.core.results.customers import customer_figures
from fleetopt.core.results.fleet import gpus_bought, power_built_mw
from fleetopt.core.results.shocks import shocked_cash
from fleetopt.core.results.valuation import cash_timing_credit, npv_at_other_rates
from fleetopt.core.units import (
    format_duration,
    format_gap,
    format_h100_hours,
    format_mw,
    format_percent,
    format_solver_status,
    format_times,
    format_usd,
    format_usd_per_hour,
)

# metrics.csv's figures of the demand a plan serves over the scenarios: a lab's (a cost solve's
# plans); of a plan solved for NPV they are its share of the whole market, which the terminal,
# compare and the run registry leave out
LAB_FIGURES = ("demand_served_share", "shortfall_probability")


# the present cost of plans solved for least cost over the scenarios (metric_columns.PRESENT_COST_COLUMNS),
# each statistic named first, as the NPV's are ("mean NPV", "CVaR5 NPV"); lower is better, so its tail is
# the 5 % of highest costs: CVaR95 their mean, P95 the least of them (docs/evaluation.md, "The present cost")
MEAN_COST_LABEL = "mean present cost"  # present_cost_mean_usd
P95_COST_LABEL = "P95 present cost"  # present_cost_p95_usd
CVAR95_COST_LABEL = "CVaR95 present cost"  # present_cost_cvar95_usd
CVAR95_COST_MEANS = "the mean present cost of the costliest 5 % of the scenarios"
P95_COST_MEANS = ("the k-th highest present cost, k = ceil(5 % of the scenarios): the least of the costliest "
                  "5 %")


# of them, what the run registry keeps of an evaluation's plan shown (`fleetopt runs` lists them)
KEPT_PRESENT_COST = ("present_cost_mean_usd", "present_cost_cvar95_usd")


def present_cost_shown(row) -> bool:
    """Whether an evaluation's metrics ``row`` (a mapping) has the present cost over the scenarios: only
    where its plans were solved for least cost (an NPV plan's metrics have no such column)."""
    mean = row.get("present_cost_mean_usd")
    return mean is not None and bool(np.isfinite(float(mean)))


# a cost solve's summary.json figures only: of a plan solved for NPV (a neocloud's, whose market
# revenue is real) the cash less that revenue (the default model: -$99.7B) read as a real shortfall
COST_SOLVE_FIGURES = (
    "min_cash_without_market_revenue_usd", "budget_shortfall_usd", "forecast_demand_h100_hours",
)  # fmt: skip


def horizon_totals(lines: dict) -> dict[str, float]:
    """Revenue (and of it, the contracts'), GPU and power capex over the horizon, USD, from a plan's
    statement lines."""
    return {
        "revenue_total_usd": float(lines["revenue_usd"].sum()),
        "revenue_contracts_total_usd": float(lines["revenue_contracts_usd"].sum()),
        "capex_gpu_total_usd": float(lines["capex_gpu_usd"].sum()),
        "capex_power_total_usd": float(lines["capex_power_usd"].sum()),
    }


# the horizon's sums, as the terminal and the report name them: nominal, unlike the NPVs beside them
CAPEX_LABEL = "capex over the horizon, undiscounted (GPUs / power)"


PEAK_DEBT_FORECAST_LABEL = "peak debt on the forecast (at a quarter's end)"  # compare's and the report's


# npv_limited_cvar5_usd: compare's, the report's
NPV_LIMITED_CVAR5_LABEL = f"{CVAR5_NPV_LABEL} with limited liability"


REVENUE_LABEL = "revenue over the horizon, undiscounted"


# why the lowest DSCR and the liquidity cover have no value (a lab's plan without debt), as the
# terminal, the report and `runs show` say it
NONE_MEANS = {
    "min_dscr": "n/a: no debt service is due",
    # a horizon of four quarters or fewer has no quarter with a whole year after it (a hand check)
    "min_liquidity_cover": ("n/a: no debt service is due in a whole year ahead inside the horizon "
                            "(none in a horizon of four quarters or fewer)"),
    "time_limit_seconds": "none (no time limit)",  # a sweep's --time-limit
}  # fmt: skip


def liquidity_cover_words(fig: dict) -> str:
    """'0.59x at the end of 2026Q3', or why there is none where no year ahead owes debt service."""
    cover = fig["min_liquidity_cover"]
    if cover is None:
        return NONE_MEANS["min_liquidity_cover"]
    return f"{format_times(cover)} at the end of {fig['min_liquidity_cover_quarter']}"


def dscr_words(fig: dict) -> str:
    """The lowest DSCR, '1.42x', or why there is none (no quarter it covers owes debt service)."""
    return NONE_MEANS["min_dscr"] if fig["min_dscr"] is None else format_times(fig["min_dscr"])


_RATIOS = {"min_dscr", "max_debt_to_ebitda", "min_liquidity_cover"}  # x: a coverage or leverage ratio


# the measure of `lowest_covenant_headroom`, which runs recorded until 2026-12-03 (fleetopt 0.4.5)
_HEADROOM_MEASURE = "the tightest covenant's 1 - ratio / limit, or ratio / limit - 1 for a minimum"


# %: shares of scenarios (a sweep's rule_breach_limit, the P(breach) its rule admits) or of a covenant's limit
_SHARES = ("probability", "_share", "headroom", "breach_limit")


def figure_text(key: str, value) -> str:
    """A recorded figure by what its name says it is: USD, a ratio (1.95x), a share or headroom (%),
    seconds, GPUs, MW; n/a when there is none (a bound a solve did not prove, no covenant)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return NONE_MEANS.get(key, "n/a")  # why, where the figure's name alone tells
    if key.endswith("status") and isinstance(value, str):  # HiGHS's 'time_limit' in words
        return format_solver_status(value, None)
    if isinstance(value, bool):  # Python's True and False, in words
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if key.endswith("_hour_usd"):  # a price per GPU-hour: in cents, $0.61 (format_usd wrote "$1")
        return format_usd_per_hour(value)
    if key.endswith("_usd"):
        return format_usd(value)
    if "h100_hours" in key:  # compute_in_service_h100_hours (and _discounted)
        return format_h100_hours(value)
    if key in _RATIOS:
        return format_times(value)
    if key == "lowest_covenant_headroom":  # an older run's: not the "may fall" share, said so
        return f"{format_percent(value, 2)} ({_HEADROOM_MEASURE})"
    if key == "lowest_covenant_cushion":
        return f"{format_percent(value, 2)} ({CUSHION_MEANS})"
    if key in ("gap", "mip_gap"):  # the gap a solve reached, and the one it was asked for
        return format_gap(value)
    if "headroom" in key:  # a covenant's margin: to the hundredth, as the gap
        return format_percent(value, 2)
    if any(part in key for part in _SHARES):  # shares of scenarios, as every other table writes them
        return format_percent(value)
    if key.endswith("_seconds"):  # as every time is written: 0.0395 s, 0:01:00 (it wrote 0.04 s, 60.00 s)
        return format_duration(value)
    if key.startswith("gpus_"):
        return f"{value:,.0f} GPUs"
    if key.endswith("_mw"):
        return format_mw(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def headline_frame(fig: dict) -> pd.DataFrame:
    """A :func:`headline`'s figures for people: a row per figure of one value or a list of names
    (the contracts accepted; "none" for an empty one), indexed by its key, with the ``value`` as
    computed and as ``shown`` by :func:`figure_text` ($164.0M, 1.95x, 2,000 GPUs); the figures of
    several values (each covenant's headroom, the NPV at other rates, the revenue by customer, the
    shocks the plan survives) stay in the dict."""
    def names(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    rows = {key: (", ".join(value) or "none") if names(value) else value for key, value in fig.items()
            if names(value) or not isinstance(value, (dict, list))}  # fmt: skip
    shown = [figure_text(key, value) for key, value in rows.items()]
    index = pd.Index(list(rows), name="figure")
    return pd.DataFrame({"value": list(rows.values()), "shown": shown}, index=index)


def headline(data: ModelData, plan: Plan, st: Statements, objective: str = "npv") -> dict:
    """Key figures of a plan under the forecast (units in the keys: USD, MW, GPUs; ratios bare),
    each defined in docs/formulation.md, "What a solve writes" (summary.json's fields), the
    ``shocked`` cash as the MILP of ``objective`` holds it (:func:`shocked_cash`). Note that
    ``min_liquidity_usd`` is the lowest end-of-quarter cash reached, not the model file's
    covenant floor of that name."""
    lines = st.lines
    dscr = lines["dscr"][quarters_tested(data, "dscr")]
    finite = dscr[np.isfinite(dscr)]
    headroom = covenant_headroom(data, st)
    opening, costs, end_value = present_cost_parts(data, st)
    hours, discounted_hours = h100_hours_in_service(data, plan)
    timing = cash_timing_credit(data, lines["equity_cash_flow_usd"])
    real_budget = float((lines["cash_usd"] - np.cumsum(market_revenue_of(lines))).min())
    cover, cover_quarter = _cover_and_label(data, lines)
    return {
        "npv_usd": st.npv_usd,
        "npv_quarters_usd": st.npv_quarters_usd,
        "cash_timing_credit_usd": timing,
        "npv_cash_held_usd": st.npv_usd - timing,
        "npv_at_other_rates_usd": npv_at_other_rates(data, st),
        "npv_terminal_usd": st.npv_terminal_usd,
        "terminal_assets_usd": st.terminal_assets_usd,
        "liquidation_tax_usd": st.liquidation_tax_usd,
        "tax_last_quarter_usd": float(lines["tax_usd"][-1]),
        "owed_end_usd": st.owed_end_usd,
        "debt_end_usd": float(lines["debt_usd"][-1]),
        "terminal_discount_factor": float(data.discount[-1]),
        # the cost objective's figure (any objective): the fleet at the start and the costs, less the
        # value at the end, present value
        "present_cost_usd": opening + costs - end_value,
        "present_cost_opening_fleet_usd": opening,
        "present_cost_quarters_usd": costs,
        "present_cost_per_h100_hour_usd": cost_per_h100_hour(opening + costs - end_value, discounted_hours),
        "compute_in_service_h100_hours": hours,
        "compute_in_service_h100_hours_discounted": discounted_hours,
        "peak_debt_usd": float(lines["debt_usd"].max()),
        "min_liquidity_usd": float(lines["cash_usd"].min()),
        # cash against the next year's debt service, at its lowest (liquidity_cover), and its quarter
        "min_liquidity_cover": cover,
        "min_liquidity_cover_quarter": cover_quarter,
        # a lab's real budget under the cost objective: cash less the market revenue to date, which
        # there values the GPUs' own use (formulation §6, "Cost"; taxes as computed)
        "min_cash_without_market_revenue_usd": real_budget,
        # how far that falls below the budget floor finance.min_cash_usd (0: it does not, as the cost
        # objective's cash floor holds it, formulation §5.10)
        "budget_shortfall_usd": budget_shortfall(data, real_budget),
        # the forecast's market demand over the horizon, both uses, which a cost solve meets exactly
        "forecast_demand_h100_hours": HOURS_PER_QUARTER * float(sum(np.sum(d) for d in data.demand)),
        "min_dscr": float(finite.min()) if finite.size else None,
        "max_debt_to_ebitda": _highest(lines["debt_to_ebitda"][quarters_tested(data, "leverage")]),
        **dict(zip(CUSHION_FIGURES, lowest_cushion(data, headroom), strict=True)),
        "covenant_headroom": headroom,
        "covenant_cushion": covenant_cushions(data, headroom),
        "gpus_bought": gpus_bought(data, plan),
        "gpus_retired": float(plan.retire.sum()),
        "gpus_redeployed": float(plan.redeploy.sum()),
        "power_built_mw": power_built_mw(data, plan),
        "contracts_accepted": [c.name for k, c in enumerate(data.contracts) if plan.accepted[k] > 0.5],
        "contracts_declined": [c.name for k, c in enumerate(data.contracts) if plan.accepted[k] <= 0.5],
        **horizon_totals(lines),
        **customer_figures(data, lines),
        "shocked": shocked_cash(data, plan, st, objective=objective),
    }


def _highest(values: np.ndarray) -> float | None:
    """The largest of ``values``; None where there are none (a test never tested)."""
    return float(values.max()) if values.size else None


def _cover_and_label(data: ModelData, lines: dict) -> tuple[float | None, str | None]:
    # the cash due: a bullet repaid at maturity too (it is not the DSCR's debt service)
    cover, t = liquidity_cover(lines["cash_usd"], lines["interest_usd"] + lines["principal_usd"])
    return cover, None if t is None else data.quarter_labels[t]
