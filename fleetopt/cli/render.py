"""Terminal tables: a model, a solve, evaluation metrics, sweep candidates, comparisons, the run registry."""

from __future__ import annotations

import io
import math
import os
import threading
import time
from collections import defaultdict
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleetopt.compare import COLUMN_HEADERS, PURCHASE_DIFF_COLUMNS
from fleetopt.core.covenants import BORROWING_BASE
from fleetopt.core.data import build_data
from fleetopt.core.results import (
    CAPEX_LABEL,
    CASH_HELD_LABEL,
    COST_LABEL,
    COST_PER_H100_HOUR,
    CUSTOMERS_LABEL,
    FORECAST_DEMAND_LABEL,
    GPU_CAPEX_LABEL,
    LIQUIDITY_COVER_LABEL,
    MARKET_VALUED,
    NOTHING_BOUGHT,
    NPV_QUARTERS_LABEL,
    NPV_TERMINAL_LABEL,
    OTHER_RATES_LABEL,
    POWER_BUILT_LABEL,
    REVENUE_LABEL,
    SOON_RETIRED_LABEL,
    WITHOUT_MARKET_REVENUE,
    bought_nothing,
    budget_words,
    cash_held_words,
    cost_per_h100_hour_words,
    covenant_headroom_text,
    customer_words,
    dscr_name,
    dscr_words,
    figure_text,
    forecast_demand_words,
    gpu_capex_by_year,
    headline,
    liquidity_cover_words,
    lowest_quarter,
    npv_terminal_words,
    other_rates_words,
    power_built_mw_by_site,
    present_cost_words,
    purchases_by_generation_year,
    revenue_words,
    shocked_cash_label,
    soon_retired,
    tested_from,
    trailing_year_headroom,
    untested_breaches,
    worst_shock,
)
from fleetopt.core.tail import TAIL, cvar_name
from fleetopt.core.units import (
    counted,
    format_difference,
    format_figure,
    format_gap,
    format_mw,
    format_percent,
    format_rate,
    format_solver_status,
    format_usd,
    format_usd_per_hour,
)
from fleetopt.evaluate.factors import slipping_skus
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    DEBT_AT_DEFAULT_METRICS,
    DEBT_AT_UNCURED_METRICS,
    FORECAST_MARK,
    FORECAST_MARK_MEANS,
    FORECAST_OK,
    LENDERS_SHARE,
    LIMITED_LIABILITY,
    MEDIAN_QUARTER_OF,
    MEDIAN_QUARTER_WORDS,
    REACTION_LABELS,
    REACTION_USD_LABELS,
    SHORTFALL_SHARE,
    event_words,
    first_breach_column,
    limited_liability_differs,
    median_quarter_label,
    reaction_labels,
)
from fleetopt.milp.completion import completion_facts
from fleetopt.milp.highs import MipProgress, mip_progress
from fleetopt.runs.registry import DAMAGED, OUT_OF_SAMPLE, PURCHASES_FILE, recorded_out_of_sample
from fleetopt.schema.loading import MODEL_CHANGES, LoadedModel, model_words, recorded_changes
from fleetopt.schema.series import resolve_series
from fleetopt.stochastic.paired import (
    OUT_OF_SAMPLE_COLUMNS,
    out_of_sample_action,
    out_of_sample_lines,
    out_of_sample_verdict_word,
    out_of_sample_words,
    paired_cells,
    paired_words,
)
from fleetopt.stochastic.run import (
    COMMITMENT_COLUMNS,
    commitment_lines,
    first_stage_text,
    forecast_gap_note,
    gap_words,
    in_sample_labels,
    keeps_rp,
    measure_rows,
    measure_unavailable,
    plan_facts,
)
from fleetopt.sweep.run import IDLE_BUFFER


def text_console(**options) -> Console:
    """A console that prints text as given: model names, plan labels and paths are the user's
    ("[draft]" is not a style, ":100:" not an emoji); styles are given as rich Text."""
    return Console(markup=False, emoji=False, **options)


def plain_text(renderables, width: int = 120) -> str:
    """Tables as the terminal shows them, without colour, for a text file."""
    console = text_console(file=io.StringIO(), width=width, record=True, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def model_summary_table(loaded: LoadedModel) -> Table:
    """A table of what a model describes: horizon, SKUs by generation, sites, contracts, debt."""
    m = loaded.model
    n = m.horizon.quarters
    labels = m.quarter_labels
    title = Text(f"{m.name}: {m.description}" if m.description else m.name)
    table = Table(title=title, show_header=False)
    table.add_column("block", style="bold")
    table.add_column("contents")
    table.add_row(
        "horizon",
        f"{labels[0]}..{labels[-1]} ({n} quarters), "
        f"discount rate {format_rate(m.horizon.discount_rate_annual)}/year",
    )
    table.add_row("SKUs", _skus_text(m))
    table.add_row("sites", _sites_text(m))
    installed = sum(c.gpus for c in m.fleet)
    table.add_row("fleet", f"{installed:,} GPUs installed in {counted(len(m.fleet), 'cohort')}")
    contract_lines = [
        f"{name}: {c.customer}, {c.gpus:,} GPUs {c.use} from {c.start} for {c.term_quarters} quarters "
        f"at {format_usd_per_hour(c.price_usd_per_gpu_hour)}/GPU-hour "
        f"({'signed' if c.signed else 'optional'})"
        for name, c in m.contracts.items()
    ]
    table.add_row("contracts", "\n".join(contract_lines) or "none")
    f, data = m.finance, build_data(loaded)
    table.add_row("market", _market_text(data))
    cash = f"{format_usd(f.opening_cash_usd)} opening, {format_usd(f.min_cash_usd)} minimum"
    if f.default_cash_usd is not None:
        cash += f", liquidity default below {format_usd(f.default_cash_usd)} (evaluator)"
    table.add_row("cash", cash)
    table.add_row("debt", _debt_text(m))
    if f.covenants:
        period = " (trailing four quarters)" if f.covenants.ebitda_period == "trailing_four_quarters" else ""
        tests = [test.describe() for test in data.covenants]
        table.add_row("covenants", ", ".join([f"from {f.covenants.test_from}{period}", *tests]))
    limits_text = _limits_text(m, data)
    if limits_text:
        table.add_row("limits", limits_text)
    if m.robustness:
        table.add_row("robustness", describe_robustness(m.robustness))
    table.add_row("risk", _risk_text(m.risk, {c.customer for c in m.contracts.values()}, data))
    table.add_row("policy", _policy_text(m.policy))
    return table


def _market_text(data) -> str:
    """The market the plan sells into (a lab's own demand under the cost objective): each use's
    demand, H100-equivalent GPUs, in the first and last quarters, and each SKU's price per GPU-hour
    in the first quarter, and the share of hours billed."""
    first, last = data.quarter_labels[0], data.quarter_labels[-1]
    uses = []
    for u, use in enumerate(("training", "inference")):
        demand = data.demand[u]
        price = data.market_price[u, :, 0]
        prices = ", ".join(f"{name} {format_usd_per_hour(price[j])}"
                           for j, name in enumerate(data.sku_names) if price[j] > 0)  # fmt: skip
        uses.append(f"{use}: demand {demand[0]:,.0f} H100-eq. GPUs in {first} to {demand[-1]:,.0f} in {last}"
                    + (f"; prices per GPU-hour in {first}: {prices}" if prices else ""))  # fmt: skip
    return "\n".join(uses) + f"\n{format_rate(data.billed_utilization)} of hours billed"


def _limits_text(m, data) -> str:
    """The plan's commercial limits that bind anything ("" none): the largest customer's revenue
    share, the share below investment grade, and each generation's new-GPU allocation per quarter
    (its range over the horizon)."""
    parts = []
    if m.limits.max_customer_revenue_share < 1.0:
        parts.append(f"a customer at most {format_rate(m.limits.max_customer_revenue_share)} of revenue")
    if m.limits.max_customer_revenue_share_per_year < 1.0:
        share = m.limits.max_customer_revenue_share_per_year
        parts.append(f"a customer at most {format_rate(share)} of any year's revenue")
    if m.limits.max_non_investment_grade_share_per_year < 1.0:
        share = m.limits.max_non_investment_grade_share_per_year
        parts.append(f"customers below investment grade or unrated at most {format_rate(share)} of any "
                     "year's contract revenue")  # fmt: skip
    for generation in m.limits.new_gpus_per_quarter:
        row = data.new_gpu_allocation[generation.rank]
        low, high = float(row.min()), float(row.max())
        span = f"{low:,.0f}" if low == high else f"{low:,.0f} to {high:,.0f}"
        parts.append(f"new {generation.value} GPUs at most {span} a quarter")
    return "; ".join(parts)


def _slip_text(slip, slipping: list[str]) -> str:
    """'deliveries of SKUs not yet shipping (VR-NVL72, RU-NVL576) late 100%, by 2 quarters': the SKUs
    that slip (``slipping``, docs/evaluation.md, "Delivery slips"), named or by default; where none
    does (every one on sale when the horizon starts, installed, or first on sale after its last
    quarter: schema/model.py ``never_slipping``), that the slip moves nothing."""
    if not slipping:
        return ("no delivery slips: risk.delivery_slip moves no SKU of this model (each it would slip is on "
                "sale when the horizon starts, installed, or first on sale after its last "
                "quarter)")  # fmt: skip
    which = f" ({', '.join(slipping)})"
    low, high = slip.min_quarters, slip.max_quarters
    by = counted(high, "quarter") if low == high else f"{low} to {high} quarters"
    return f"deliveries of SKUs not yet shipping{which} late {format_rate(slip.probability)}, by {by}"


def _risk_text(risk, customers: set[str], data) -> str:
    """The scenario generator's factors that move (docs/evaluation.md), each in a few words
    (``customers``: the contracts' customers, rated or not; ``data``: the model's, for the SKUs that slip)."""
    parts = []
    if risk.price_volatility_annual:
        across = f"correlation across generations {risk.price_correlation_across_generations:g}"
        parts.append(f"prices {format_rate(risk.price_volatility_annual)}/sqrt(year) ({across})")
    if risk.demand_volatility_annual:
        parts.append(f"demand {format_rate(risk.demand_volatility_annual)}/sqrt(year)")
    if risk.new_generation_price_step:
        step = format_rate(risk.new_generation_price_step)
        parts.append(f"prices step down {step} at a newer generation's release")
    if risk.self_competition and risk.self_competition.probability_per_quarter:
        shock = risk.self_competition
        drops = f"prices -{format_rate(shock.price_drop_min)} to -{format_rate(shock.price_drop_max)}"
        sold = format_rate(shock.probability_per_quarter)
        parts.append(f"hyperscaler capacity sold {sold}/quarter ({drops})")
    hazard = f"{format_rate(risk.customer_default_hazard_per_quarter)}/quarter"
    if risk.customer_ratings:
        rated = counted(len(risk.customer_ratings), "customer")
        others = f", {hazard} for the others" if customers - set(risk.customer_ratings) else ""
        parts.append(f"customer defaults by credit rating for {rated}{others}")
    elif risk.customer_default_hazard_per_quarter:
        parts.append(f"customer defaults {hazard}")
    if risk.power_delay and (risk.power_delay.probability or risk.power_delay.contracted_probability):
        delay = risk.power_delay
        late = counted(delay.max_extra_quarters, "quarter")
        parts.append(f"late power (new blocks {format_rate(delay.probability)}, up to {late}; contracted "
                     f"capacity {format_rate(delay.contracted_probability)})")  # fmt: skip
    for name, value, bp in (("reference rate", risk.reference_rate_volatility_annual, True),
                            ("electricity", risk.electricity_price_volatility_annual, False),
                            ("resale values", risk.resale_value_volatility_annual, False)):  # fmt: skip
        if value:
            parts.append(f"{name} {f'{value * 1e4:.0f}bp' if bp else format_rate(value)}/sqrt(year)")
    if risk.ai_cycle:
        parts.append("a common AI-cycle factor")
    if risk.delivery_slip and risk.delivery_slip.probability:
        parts.append(_slip_text(risk.delivery_slip, [data.sku_names[s] for s in slipping_skus(data)]))
    if not parts:
        return "none: every scenario is the forecast"
    return "; ".join(parts) + ("" if risk.mean_one else "; shocks on top of the forecast (mean_one: false)")


def _policy_text(policy) -> str:
    """The evaluator's rules that are on, with the cash buffer (docs/evaluation.md, Policy)."""
    if policy.open_loop:
        return "every rule off: plans run as planned, whatever the scenario (open loop)"
    rules = [words for name, words in POLICY_RULE_WORDS.items() if getattr(policy, name)]
    off = [words for name, words in POLICY_RULE_WORDS.items() if not getattr(policy, name)]
    text = ", ".join(rules) + (f" (off: {', '.join(off)})" if off else "")
    lots = ""
    if policy.distress_sales:
        discount = policy.distress_sale_discount
        below = f" at {discount * 100:g} % below resale value" if discount else ""
        lots = f", distress sales in lots of {policy.sale_block_gpus:,} GPUs{below}"
    return f"{text}; cash buffer {format_usd(policy.liquidity_buffer_usd)} above the minimum{lots}"


# each rule of the policy in a few words, in the order docs/evaluation.md states them
POLICY_RULE_WORDS = {
    "power_to_contracts_first": "power to contracts first",
    "reschedule_late_contracts": "late contracts rescheduled",
    "freed_gpus_to_market": "freed GPUs to the market",
    "defer_orders": "orders deferred or cancelled when cash runs short",
    "distress_sales": "distress sales",
    "cut_prepayments": "prepayments cut",
    "idle_gpus_to_market": "idle GPUs to the market",
}


def _skus_text(m) -> str:
    by_gen: dict[str, list[str]] = defaultdict(list)
    for name, sku in m.skus.items():
        until = f"..{sku.available_until}" if sku.available_until else "+"
        by_gen[sku.generation.value].append(
            f"{name} (on sale {sku.available_from}{until}, {sku.power_kw_per_gpu:g} kW/GPU, "
            f"blocks of {sku.block_size_gpus} GPUs)"
        )
    return "\n".join(f"{g}: {', '.join(v)}" for g, v in by_gen.items())


def _sites_text(m) -> str:
    site_lines = []
    for name, site in m.sites.items():
        mw = resolve_series(site.power_capacity_mw, m.first_quarter, m.horizon.quarters)
        line = f"{name}: {_capacity_words(mw, m.quarter_labels)}, PUE {site.pue:g}"
        if site.expansion:
            e = site.expansion
            line += (
                f"; can add up to {e.max_blocks} x {e.block_mw:g} MW "
                f"({counted(e.lead_time_quarters, 'quarter')} lead time, {format_usd(e.capex_per_mw_usd)}/MW)"
            )
        site_lines.append(line)
    return "\n".join(site_lines)


def _capacity_words(mw, labels: list[str], most: int = 4) -> str:
    """A site's contracted MW over the horizon: '0 MW online at start, +15 MW in 2027Q1'; one that
    changes in more than ``most`` quarters (growth) by its level at the end: '20 MW online at start,
    26.4 MW by 2028Q2'."""
    start = f"{format_mw(mw[0])} online at start"
    changes = [(labels[t], mw[t] - mw[t - 1]) for t in range(1, len(mw)) if abs(mw[t] - mw[t - 1]) > 1e-9]
    if not changes:
        return start
    if len(changes) > most:
        return f"{start}, {format_mw(mw[-1])} by {labels[-1]}"
    return ", ".join([start, *(f"{format_difference(change, 'MW')} in {q}" for q, change in changes)])


def _debt_text(m) -> str:
    debt_lines = [
        f"{name}: {format_usd(fac.opening_balance_usd)} drawn of {format_usd(fac.size_usd)}, "
        + (
            f"fixed {format_percent(fac.fixed_rate_annual, 2)}"
            if fac.fixed_rate_annual is not None
            else f"reference + {format_percent(fac.spread_over_reference_annual, 2)}"
        )
        + (f", LTV <= {format_rate(fac.max_ltv)}" if fac.max_ltv is not None else "")
        for name, fac in m.finance.facilities.items()
    ]
    return "\n".join(debt_lines) or "none"


def describe_robustness(r) -> str:
    """What a `robustness` block asks the plan to survive, in words."""
    parts = []
    if r.market_price_drop:
        parts.append(f"market prices -{format_rate(r.market_price_drop)} in every quarter")
    if r.lose_any_customer:
        parts.append("the loss of any one customer")
    if r.power_delay_quarters:
        parts.append(f"every power block {r.power_delay_quarters} quarters late")
    tested = "cash and covenants" if r.covenants else "cash"
    return f"{tested} must survive " + ", ".join(parts)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else format_figure(x, "share")


def unread_rows(fixed) -> str:
    """' (its rows of other decisions are not read: 2 retire)' where the purchases ``fixed`` came from
    a solve's plan.csv whose rows besides its purchases were skipped, else '': an edited retire or
    move row changed nothing, which `solve` and `validate --purchases` say."""
    kinds = ", ".join(f"{n} {decision}" for decision, n in fixed.unread)
    return f" (its rows of other decisions are not read: {kinds})" if fixed.unread else ""


def solve_summary_tables(result) -> list:
    """Renderables for the terminal after a solve: status line, purchases table, key figures."""
    data, plan = result.data, result.plan
    fig = headline(data, plan, result.statements, result.objective_kind)
    status = Table(show_header=False, title="solve")
    status.add_column("", style="bold")
    status.add_column("")
    status.add_row("status", format_solver_status(result.status, result.gap))
    status.add_row(f"objective ({result.objective_kind})", format_usd(result.objective_usd))
    status.add_row("gap", format_gap(result.gap))
    if result.purchases is not None:
        fixed = result.purchases
        status.add_row(
            "purchases",
            Text(f"fixed from {fixed.source}: {fixed.gpus(data):,.0f} GPUs in {counted(fixed.rows, 'row')} "
                 f"(none elsewhere); the solver chose the rest{unread_rows(fixed)}"),
        )  # fmt: skip
    if result.completion is not None:  # solve --rescue: how the purchases were completed, what they break
        for label, words, bad in completion_facts(result.completion):
            status.add_row(label, Text(words, style="bold red" if bad else ""))
    status.add_row("build / solve time", f"{result.build_seconds:.2f} s / {result.solve_seconds:.2f} s")
    size = result.model_size
    status.add_row(
        "model size",
        f"{size['variables']:,} variables ({size['integer_variables']:,} integer), "
        f"{size['constraints']:,} constraints",
    )
    key = Table(show_header=False, title="plan")
    key.add_column("", style="bold")
    key.add_column("")
    cost = result.objective_kind == "cost"
    if cost:  # the objective first; the NPV then values the plan's own compute at market prices
        key.add_row(COST_LABEL, present_cost_words(fig))
        key.add_row(COST_PER_H100_HOUR, cost_per_h100_hour_words(fig))
        key.add_row(FORECAST_DEMAND_LABEL, forecast_demand_words(fig))
    key.add_row("NPV of equity cash flows" + (MARKET_VALUED if cost else ""), format_usd(fig["npv_usd"]))
    key.add_row(NPV_QUARTERS_LABEL, format_usd(fig["npv_quarters_usd"]))
    key.add_row(NPV_TERMINAL_LABEL, npv_terminal_words(fig))
    key.add_row(CASH_HELD_LABEL, cash_held_words(fig))
    key.add_row(OTHER_RATES_LABEL, other_rates_words(fig))
    key.add_row(CAPEX_LABEL,
                f"{format_usd(fig['capex_gpu_total_usd'])} / {format_usd(fig['capex_power_total_usd'])}")
    valued = MARKET_VALUED if cost else ""
    key.add_row(REVENUE_LABEL + valued, revenue_words(fig, bool(data.contracts)))
    if data.contracts:  # a lab planning its own demand may have none: rows of "none" say nothing
        key.add_row(CUSTOMERS_LABEL, customer_words(data, fig))
    if bought_nothing(data, plan, result.objective_kind):  # said, not left to a table of zeros
        key.add_row("GPUs bought", NOTHING_BOUGHT)
    key.add_row("GPUs retired / redeployed", f"{fig['gpus_retired']:,.0f} / {fig['gpus_redeployed']:,.0f}")
    by_site = zip(data.sites, power_built_mw_by_site(data, plan), strict=True)
    built = ", ".join(f"{site.name} {format_mw(mw)}" for site, mw in by_site if mw)
    key.add_row(POWER_BUILT_LABEL, built or "none")
    if data.contracts:
        key.add_row("contracts accepted", ", ".join(fig["contracts_accepted"]) or "none")
        key.add_row("contracts declined", ", ".join(fig["contracts_declined"]) or "none")
    # a plan that never borrows (a lab's) has no debt service to cover: its two "n/a" rows said nothing
    debt_free = fig["min_dscr"] is None and fig["min_liquidity_cover"] is None and fig["peak_debt_usd"] == 0
    key.add_row("peak debt (at a quarter's end)",
                format_usd(fig["peak_debt_usd"]) + (NO_DEBT_SERVICE if debt_free else ""))
    lowest_at = data.quarter_labels[lowest_quarter(result.statements.lines["cash_usd"])]
    key.add_row("lowest cash" + (MARKET_VALUED if cost else ""),
                f"{format_usd(fig['min_liquidity_usd'])} ({lowest_at})")
    if not debt_free:
        key.add_row(LIQUIDITY_COVER_LABEL, liquidity_cover_words(fig))
    if cost:  # what a lab's budget floor really faces (formulation §6, "Cost")
        real = fig["min_cash_without_market_revenue_usd"]
        key.add_row(WITHOUT_MARKET_REVENUE, f"{format_usd(real)} ({budget_words(data, real)})")
    tested = tested_from(data)
    if not debt_free:
        key.add_row(f"lowest {dscr_name(data)}{tested_from(data, 'dscr')}", dscr_words(fig))
    yearly = trailing_year_headroom(data, result.statements)
    headroom = covenant_headroom_text(data, fig, yearly) or "no covenants"
    key.add_row(f"covenant headroom, each in its tightest quarter{tested}", headroom)
    early = untested_breaches(data, result.statements)
    if early is not None:  # "no breach" holds only by the grace the model assumes
        key.add_row("breached before testing starts (an assumed grace: finance.covenants.test_from)", early)
    soon = soon_retired(data, plan, result.statements)
    if soon is not None:
        key.add_row(SOON_RETIRED_LABEL, soon)
    worst = worst_shock(fig)
    if worst is not None:
        key.add_row(
            shocked_cash_label(cost),
            f"{format_usd(worst['lowest_cash_usd'])} in {worst['quarter']} ({worst['case']})",
        )
    return [status, purchases_table(data, plan.buy_blocks), key]


def purchases_table(data, buy_blocks, title: str = "GPUs bought by generation and year") -> Table:
    """GPUs bought by generation and year of purchase blocks (S, I, T), and their capex by year (a
    planner deciding next year's orders read GPUs, not what they cost); turned, a row per year,
    where the years do not fit across the console (a 40-quarter model's eleven years cut the
    generations' names short: 'generati…')."""
    buys = purchases_by_generation_year(data, buy_blocks)
    purchases = Table(title=title)
    purchases.add_column("generation")
    for year in buys.columns:
        purchases.add_column(year, justify="right")
    for gen, row in buys.iterrows():
        purchases.add_row(gen, *(f"{v:,.0f}" for v in row))
    purchases.add_section()
    purchases.add_row(GPU_CAPEX_LABEL, *(format_usd(v) for v in gpu_capex_by_year(data, buy_blocks)))
    return unbroken(purchases)


NO_DEBT_SERVICE = " (no debt in any quarter: no debt service, DSCR or cover of it to show)"


def evaluation_table(metrics, title: str) -> Table:
    """Metrics of the given plans (rows of an evaluation's metrics frame)."""
    table = Table(title=title)
    for name in (
        "plan",
        "mean NPV",
        "s.e.",
        "mean NPV, no default",
        "P5 NPV",
        "CVaR5 NPV",
        "P(NPV<0)",
        "P(breach)",
        "P(liq. default)",
        *(["P(any default)"] if "any_default_probability" in metrics else []),  # a run before 0.4.14: none
        "mean lowest cash",
        "util.",
    ):
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        either = [format_percent(row["any_default_probability"])] if "any_default_probability" in row else []
        table.add_row(
            Text(("" if row.get(FORECAST_OK, True) else f"{FORECAST_MARK} ") + str(row["plan"])),
            format_usd(row["npv_mean_usd"]),
            format_usd(row["npv_mean_se_usd"]),
            format_usd(row["npv_mean_no_default_usd"]),
            format_usd(row["npv_p5_usd"]),
            format_usd(row["npv_cvar5_usd"]),
            format_percent(row["loss_probability"]),
            format_percent(row["breach_probability"]),
            format_percent(row["default_probability"]),
            *either,
            format_usd(row["expected_min_cash_usd"]),
            format_percent(row["mean_utilisation"]),
        )
    notes = [UTIL_MEANS]
    if FORECAST_OK in metrics and not metrics[FORECAST_OK].all():
        notes.insert(0, f"{FORECAST_MARK} {FORECAST_MARK_MEANS} (run with its policy)")
    table.caption = "; ".join(notes)
    return unbroken(table)


def limited_liability_table(metrics, title: str) -> Table | None:
    """The mean and CVaR5 NPV with limited liability of the given plans, and their NPV if lenders
    accelerate where it differs for some plan; None where they are every plan's NPV figures (no
    default, no company worth less than nothing at the end, no uncured breach before a default)."""
    accelerated = limited_liability_differs(metrics, ACCELERATED)
    if not (limited_liability_differs(metrics) or accelerated):
        return None
    caption = LIMITED_MEANS + (f"; accelerated: {ACCELERATED_MEANS}" if accelerated else "")
    table = Table(title=title, caption=caption)
    more = ("P(any default)", "mean, accelerated", "CVaR5, accelerated") if accelerated else ()
    for name in ("plan", "P(liq. default)", "mean NPV", "CVaR5 NPV", *more):  # as the evaluation table
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        limited = [format_usd(row[column]) for column in LIMITED_LIABILITY]
        if accelerated:
            limited += [_pct(row["any_default_probability"]), *(format_usd(row[c]) for c in ACCELERATED)]
        table.add_row(Text(str(row["plan"])), _pct(row["default_probability"]), *limited)
    return unbroken(table)


def debt_at_default_table(metrics, title: str, uncured: bool = False) -> Table | None:
    """The debt owed at a liquidity default (``uncured``: at an uncured covenant breach, the event of
    default on which lenders may accelerate) and how much of it the GPUs' sale and the cash cover,
    for the given plans; None where no plan has the event (or the evaluation has no such figures)."""
    figures = DEBT_AT_UNCURED_METRICS if uncured else DEBT_AT_DEFAULT_METRICS
    if not (figures[0] in metrics and metrics[figures[0]].notna().any()):
        return None
    table = Table(title=title, caption=DEBT_AT_UNCURED_MEANS if uncured else DEBT_AT_DEFAULT_MEANS)
    # in a credit analyst's terms: exposure at default, recovery rate, expected loss (USD averaged over
    # every scenario, those without a default at 0)
    exposure = "debt at the breach (exposure)" if uncured else "debt at default (exposure)"
    event = ("P(uncured)" if uncured else "P(default)", exposure)
    for name in ("plan", *event, "covered by GPUs and cash (recovery)", "uncovered, mean (expected loss)"):
        table.add_column(name, justify="left" if name == "plan" else "right")
    probability = LENDERS_SHARE[figures]
    for _, row in metrics.iterrows():
        debt, covered, uncovered = (row[column] for column in figures)
        table.add_row(Text(str(row["plan"])), _pct(row[probability]), format_usd(debt),
                      _pct(covered), format_usd(uncovered))  # fmt: skip
    return unbroken(table)


DEBT_AT_DEFAULT_MEANS = (
    "debt at default: mean over the scenarios that default of the debt owed at the end of the default's "
    "quarter; covered: the share of it that selling the GPUs still held, at the scenario's resale value "
    "less selling costs and the distress discount, and the cash left would repay; uncovered, mean: the "
    "rest, averaged over all scenarios (0 where none defaults), to be recovered from contracts and sites "
    "or lost; USD of the default's quarter, undiscounted (docs/evaluation.md)"
)


DEBT_AT_UNCURED_MEANS = (
    "debt at the breach: mean over the scenarios with an uncured covenant breach of the debt owed at the "
    "end of its quarter, what lenders who accelerated then would claim (counted, not simulated: no debt is "
    "accelerated); covered and uncovered as at a liquidity default (docs/evaluation.md)"
)


LIMITED_MEANS = ("a liquidity default ends the shareholders' claim, and a company worth less than nothing "
                 "at the end is worth nothing to them (docs/evaluation.md)")
ACCELERATED_MEANS = ("the lenders accelerate at the first event of default of either kind; at an uncured "
                     "covenant breach they take the GPUs and the cash to repay the debt, the shareholders "
                     "keep the rest")


# what the evaluation tables' short headings mean (metrics.csv has each figure unrounded)
UTIL_MEANS = ("s.e.: the mean NPV's standard error; mean NPV, no default: over the scenarios that never "
              "default (no liquidity default), a share 1 - P(liq. default) of them; "
              "P5 NPV: the k-th worst NPV, k = ceil(5 % of the scenarios); CVaR5 NPV: the mean "
              "NPV of those k worst; P(breach): a covenant missed in a quarter it is tested; "
              "P(liq. default): a liquidity default, cash below the model's default level after the "
              "revolver and sales in some quarter; P(any default): a liquidity default or a covenant "
              "breach the owners could not cure, either event of default, as lenders and credit default "
              "swaps count defaults; mean lowest cash: each scenario's lowest quarter-end cash, "
              "averaged (below zero where a default's shortfall is carried as negative cash); "
              "util.: the GPUs rented out (serving a contract, or on the market within the "
              "scenario's demand) over the GPUs held (orders deferred or cancelled and GPUs sold still "
              "count), mean over scenarios and quarters; "
              "metrics.csv has every figure unrounded")


def forecast_table(metrics, title: str, quarter_labels: list[str] | None, kinds) -> Table:
    """A deterministic evaluation's plans: their one scenario is the forecast, so each figure is the
    plan's own (no standard error, tail or shares) and each event a yes or no: the covenant its
    first breach breaks and the quarter it breaks in, the quarter of a default, the policy's
    reactions it needed. ``kinds``: the covenants as the model tests them (``ModelData.covenant_kinds``:
    its DSCR "(EBITDA - tax) / debt service" where it tests that)."""
    table = Table(title=title)
    for name in ("plan", "NPV on the forecast", "lowest cash", "util.", "liquidity default",
                 "covenant breach", "policy reactions"):  # fmt: skip
        text = name in ("plan", "covenant breach", "policy reactions")
        table.add_column(name, justify="left" if text else "right")
    for _, row in metrics.iterrows():
        missed = [k.label for k in kinds if row.get(first_breach_column(k), 0) > 0]
        breach = ("yes: " + ", ".join(missed) if missed else "yes") if row["breach_probability"] > 0 else "no"
        default = "yes" if row["default_probability"] > 0 else "no"
        if quarter_labels is not None:  # the one scenario's quarter: its median (NaN where none broke)
            if breach != "no" and "breach_median_quarter" in row:
                breach += f", in {median_quarter_label(row['breach_median_quarter'], quarter_labels)}"
            if default == "yes" and "default_median_quarter" in row:
                default += f", in {median_quarter_label(row['default_median_quarter'], quarter_labels)}"
        reactions = [label for column, label in REACTION_LABELS.items() if row.get(column, 0) > 0]
        table.add_row(
            Text(str(row["plan"])),
            format_usd(row["npv_mean_usd"]),
            format_usd(row["expected_min_cash_usd"]),
            format_percent(row["mean_utilisation"]),
            default,
            Text(breach),
            Text(", ".join(reactions) or "none"),
        )
    return table


class FittedTable(Table):
    """A Table whose figure columns keep their figures and their headers' longest word whole
    (``wanted``: column -> width) where the console is wide enough: laid out by rich, else with
    each figure column at its longest figure or header word and only the labels giving way, else
    without its outer frame. On a narrower console (an 80-column terminal) it is printed turned, a
    row per figure and a column per plan, or where that does not fit either, plan by plan: never
    with a figure cut short ('-$1…' read as any sum) or cropped off the console's edge."""

    wanted: dict[int, int]
    text_columns: int

    def __rich_console__(self, console, options):
        for n, width in self.wanted.items():
            self.columns[n].min_width, self.columns[n].width = width, None
        self.show_edge = self.pad_edge = True
        # rich's layout can stop short of what fits (a column at its whole header, the plan
        # column at a word): then each figure column at its longest figure or header word, the
        # headers wrapped, and only the plan column giving way; then without the outer frame
        for tighter in (self._tight, self._frameless):
            if _fits(self, console, options):
                break
            tighter()
        if _fits(self, console, options):
            yield from super().__rich_console__(console, options)
            return
        turned = self.turned()
        yield turned if _fits(turned, console, options) else self.plan_by_plan()
        if self.caption:  # at the console's width: the turned table's narrow one folded it to a column
            yield Text(str(self.caption), style="italic")

    def _tight(self) -> None:
        for n, width in self.wanted.items():
            self.columns[n].width = width

    def _frameless(self) -> None:
        self.show_edge = self.pad_edge = False

    def _plans(self) -> list[tuple[Text, tuple]]:
        """Each row as (its text columns joined, its cells)."""
        k = self.text_columns
        rows = list(zip(*(column.cells for column in self.columns), strict=True))
        return [(Text(" ").join(_text(c) for c in row[:k] if str(c).strip()), row) for row in rows]

    def turned(self) -> Table:
        """The same cells, a row per figure column and a column per plan headed by its label."""
        table = Table(title=self.title)
        table.add_column("", justify="left", overflow="fold")
        plans = self._plans()
        for head, row in plans:
            figures = [len(c) for c in row[self.text_columns:] if isinstance(c, str)]
            table.add_column(head, justify="right", min_width=max(figures, default=1))
        for n, column in enumerate(self.columns[self.text_columns:], start=self.text_columns):
            table.add_row(_text(column.header), *(row[n] for _, row in plans))
        return table

    def plan_by_plan(self) -> Table:
        """The same cells, each plan's label then its figures one to a line."""
        table = Table(title=self.title, show_header=False)
        table.add_column(overflow="fold")
        table.add_column(justify="right", no_wrap=True)
        for head, row in self._plans():
            table.add_section()
            table.add_row(Text.assemble(head, style="bold"), "")
            for n, column in enumerate(self.columns[self.text_columns:], start=self.text_columns):
                table.add_row(Text.assemble("  ", _text(column.header)), row[n])
        return table


def _text(cell) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def _fits(table: Table, console, options) -> bool:
    """Whether rich lays ``table`` out within the console with every column at least as wide as it
    needs (:func:`_least`): its own rule can stop short of the columns' minimums, and then it crops
    the table at the edge or cuts figures short."""
    room = options.max_width - table._extra_width  # the borders (as rich's own layout counts them)
    widths = table._calculate_column_widths(console, options.update_width(room))
    need = [_least(table, n) + table._get_padding_width(n) for n in range(len(widths))]
    return sum(widths) <= room and all(w >= least for w, least in zip(widths, need, strict=True))


def _least(table: Table, n: int) -> int:
    """The narrowest column ``n`` may be: its set width or minimum (a figure column's), else its
    longest word, up to 12 characters (a label column folds longer words)."""
    column = table.columns[n]
    if column.width or column.min_width:
        return column.width or column.min_width
    words = [len(word) for cell in (column.header, *column.cells) for word in str(cell).split()]
    return min(max(words, default=1), 12)


def unbroken(table: Table, text_columns: int = 1) -> FittedTable:
    """``table`` with no header or figure cut short ('P(breac…') where the console has room: each
    column after the first ``text_columns`` keeps its longest figure and the longest word of its
    header (headers wrap at spaces), and the text columns (plan labels) give way, breaking a word
    that does not fit. A console too narrow for that gets the table turned (:meth:`FittedTable.turned`)."""
    table.__class__ = FittedTable  # the same table, laid out at print time for the console's width
    table.wanted, table.text_columns = {}, text_columns
    for n, column in enumerate(table.columns):
        if n < text_columns:
            column.overflow = "fold"
            continue
        words = [len(w) for w in str(column.header).split()]
        words += [len(cell) for cell in column.cells if isinstance(cell, str)]
        table.wanted[n] = max(words, default=1)
    return table


def reactions_table(metrics, title: str, contracts: bool = True) -> Table:
    """What the policy had to do for the given plans: the share of scenarios with each reaction (those
    of contracts only where the model has any, ``contracts``), and the mean GPU capex deferred,
    deposits forfeited and distress-sale proceeds (docs/evaluation.md, "Policy"; a run before 0.4.4
    has only the first)."""
    shown = reaction_labels(contracts)
    table = Table(title=title)
    table.add_column("plan", justify="left")
    for label in shown.values():
        table.add_column(label, justify="right")
    usd = [column for column in REACTION_USD_LABELS if column in metrics.columns]
    for column in usd:
        table.add_column(f"{REACTION_USD_LABELS[column]} (USD)", justify="right")
    for _, row in metrics.iterrows():
        shares = [format_percent(row[column]) for column in shown]
        table.add_row(Text(str(row["plan"])), *shares, *(format_usd(row[column]) for column in usd))
    return unbroken(table)


UNCURED = "uncured_breach_probability"


def first_breach_table(metrics, title: str, tested: tuple) -> Table | None:
    """Which covenant breaks first, for the given plans: the share of scenarios whose first breach
    misses each kind of covenant the model tests (``tested``: core.covenants.tested_kinds), at 0 %
    too; None when no plan breaches (or the metrics predate the columns)."""
    columns = {k: first_breach_column(k) for k in tested if first_breach_column(k) in metrics.columns}
    kinds = list(columns)
    if not kinds or not any((metrics[column] > 0).any() for column in columns.values()):
        return None
    uncured = UNCURED in metrics.columns  # not in the metrics of a run before fleetopt 0.4.11
    table = Table(title=title)
    table.add_column("plan", justify="left")
    table.add_column("any breach", justify="right")
    if uncured:
        table.add_column("uncured", justify="right")
    for kind in kinds:
        table.add_column(kind.label, justify="right")
    for _, row in metrics.iterrows():
        shares = [format_percent(row[columns[k]]) for k in kinds]
        shown = ["breach_probability", *([UNCURED] if uncured else [])]
        figures = [format_percent(row[column]) for column in shown]
        table.add_row(Text(str(row["plan"])), *figures, *shares)
    table.caption = (
        "two covenants can fail in the quarter of the first breach, so the shares can add up to more "
        "than any breach"
    )
    if uncured:
        table.caption += (
            "; uncured: a breached quarter the owners could not cure (never two quarters in a row, at "
            "most covenants.equity_cures), an event of default on which lenders may accelerate"
        )
    if BORROWING_BASE in kinds:
        table.caption += (
            "; borrowing base: GPU-secured debt / max LTV against the fleet's resale value at the "
            "scenario's GPU prices, every quarter (docs/evaluation.md, quarter step 6)"
        )
    return unbroken(table)


def when_it_breaks_table(metrics, title: str, quarter_labels: list[str]) -> Table | None:
    """When the given plans break: of the scenarios with a covenant breach (an uncured breach, a
    liquidity default), the median quarter of the first breach (of the uncured one, of the default),
    with their share; None when no plan
    breaks (or the metrics predate the columns)."""
    timing = [name for name in MEDIAN_QUARTER_OF if name in metrics.columns]
    if not timing or metrics[[MEDIAN_QUARTER_WORDS[n][1] for n in timing]].to_numpy().max() <= 0:
        return None
    table = Table(title=title)
    table.add_column("plan", justify="left")
    for name in timing:
        table.add_column(MEDIAN_QUARTER_WORDS[name][0], justify="right")
    for _, row in metrics.iterrows():
        cells = [
            f"{median_quarter_label(row[name], quarter_labels)} "
            f"({format_percent(row[MEDIAN_QUARTER_WORDS[name][1]])})"
            for name in timing
        ]
        table.add_row(Text(str(row["plan"])), *cells)
    return unbroken(table)


def demand_served_table(metrics, title: str, quarters: int, one: bool = False) -> Table:
    """The market demand the given plans serve (a lab's own demand, where it plans for it): the
    mean share served, the mean demand not served, as H100-equivalent GPUs short in an average
    quarter (GPU-quarters over the ``quarters`` of the horizon), and the share of scenarios short by
    more than 1 % of their demand (docs/evaluation.md, metrics.csv); ``one``: of the forecast alone
    (a deterministic evaluation), no mean and no probability, as its report says them."""
    short = f"short > {SHORTFALL_SHARE:.0%}"
    names = (("demand served on the forecast", "GPUs short in an average quarter (H100-eq.)", short) if one
             else ("demand served (mean)", "GPUs short in an average quarter (H100-eq.)", f"P({short})"))
    table = Table(title=title)
    for name in ("plan", *names):
        table.add_column(name, justify="left" if name == "plan" else "right")
    for _, row in metrics.iterrows():
        shortfall = float(row["shortfall_probability"])
        table.add_row(
            Text(str(row["plan"])),
            format_figure(row["demand_served_share"], "share"),  # n/a: the model has no market demand
            f"{row['unserved_demand_mean_gpu_quarters'] / quarters:,.0f}",
            event_words(shortfall) if one else format_percent(shortfall),
        )
    return unbroken(table)


# how often an evaluation not shown on a terminal (a log file, `docker logs`) says where it stands, seconds
PROGRESS_EVERY = 60.0


class progress_bar:
    """An evaluation's progress over (plan, scenario) pairs: a rich bar with plans per second on a
    terminal; elsewhere (a log file, `docker logs`, a batch system) a line on ``lines`` (stderr's
    console) about every ``every`` seconds, so a slow job is told from a stuck one. The pairs a
    resumed run reads back from its saved chunks come by :meth:`read_back`, which the rate and the
    time left leave out (a resume with 227 of 300 chunks saved read "232.1 plans/s" for about 27),
    as the executor reads them: a saved chunk found corrupt is computed again, and counted so (a
    count of the chunk files, before, took 90 corrupt chunks of 104 as read back: "no block of
    scenarios done yet" while it computed them, then 16.5 plans/s for about 125).

    Used as ``with progress_bar(console, n_scenarios) as advance: ... advance(done, total)``. Timed
    from the first pairs done, so that a sweep's candidates, solved before, print as they come;
    ``total_pairs`` given, from the start, and off a terminal a line comes each ``every`` seconds
    by the clock, not only when a block of pairs ends (one plan of 1,000,000 scenarios is one block
    of the C build: its evaluation said nothing for its 91 s).
    """

    def __init__(self, console, n_scenarios: int, lines=None, every: float = PROGRESS_EVERY,
                 clock=time.monotonic, total_pairs: int | None = None):  # fmt: skip
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.n_scenarios, self.kept, self.every, self.clock = n_scenarios, 0, every, clock
        self.lines = None if console.is_terminal else lines
        self.progress = Progress(
            TextColumn("evaluating"),
            BarColumn(),
            TextColumn("{task.fields[plans]:,.0f} plans"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # a file or pipe would get only the blank line it leaves
        )
        self.task, self.started, self.last, self.done = None, None, None, 0
        self.total, self.lock, self.stop, self.timer = total_pairs, threading.Lock(), threading.Event(), None

    def __enter__(self):
        if self.total is not None:
            self.started = self.last = self.clock()
            if self.lines is not None:
                self.timer = threading.Thread(target=self._every, daemon=True)
                self.timer.start()
        return self

    def _every(self) -> None:
        while not self.stop.wait(self.every):
            self.tick()

    def tick(self) -> None:
        """A line, where none came in the last ``every`` seconds (within 10 %: the timer's ticks)."""
        with self.lock:
            now = self.clock()
            if self.total is not None and now - self.last >= 0.9 * self.every:
                self._say(now, self.total)

    def __call__(self, pairs: int, total_pairs: int) -> None:
        self.advance(pairs, total_pairs)

    def read_back(self, pairs: int, total_pairs: int) -> None:
        """``pairs`` read back from saved chunks: done, not computed now."""
        self.advance(pairs, total_pairs, read_back=True)

    def advance(self, pairs: int, total_pairs: int, read_back: bool = False) -> None:
        with self.lock:
            self.kept += pairs if read_back else 0
            now = self.clock()
            if self.task is None:
                self.progress.start()
                self.task = self.progress.add_task("evaluate", total=total_pairs, plans=0.0, rate="")
                if self.started is None:
                    self.started = self.last = now
            self.total = total_pairs
            self.done += pairs
            self.progress.advance(self.task, pairs)
            rate = f"{self._rate(now):,.1f} plans/s"
            self.progress.update(self.task, plans=self.done / self.n_scenarios, rate=rate)
            if self.lines is not None and now - self.last >= self.every:
                self._say(now, total_pairs)

    def _say(self, now: float, total_pairs: int) -> None:
        """Print the progress :meth:`line` off a terminal, and note when (under ``self.lock``)."""
        self.last = now
        self.lines.print(f"  {self.line(now, total_pairs)}", soft_wrap=True, highlight=False)

    def _rate(self, now: float) -> float:
        """Plans per second computed by this run: the pairs read back from saved chunks left out."""
        return max(self.done - self.kept, 0) / self.n_scenarios / max(now - self.started, 1e-9)

    def line(self, now: float, total_pairs: int) -> str:
        """'evaluating: 120 of 300 plans (40%), 0:05:00, 0.4 plans/s, about 0:07:30 left'; before a
        block of pairs is done, 'evaluating: 0 of 1 plans (0%), 0:01:00, no block of scenarios done
        yet'."""
        rate = self._rate(now)
        plans, total = self.done / self.n_scenarios, total_pairs / self.n_scenarios
        text = (f"evaluating: {plans:,.{1 if total < 10 else 0}f} of {total:,.0f} plans "
                f"({format_percent(self.done / total_pairs, 0)}), {elapsed(now - self.started)}")  # fmt: skip
        if self.done <= self.kept:
            return text + ", no block of scenarios done yet"
        text += f", {rate:.3g} plans/s" if rate < 1 else f", {rate:,.1f} plans/s"  # one plan: 0.0137
        return text + (f", about {elapsed((total - plans) / rate)} left" if rate > 0 else "")

    def __exit__(self, *exc):
        self.stop.set()
        if self.timer is not None:
            self.timer.join()
        if self.task is not None:
            self.progress.stop()
        return False


def risk_weight_words(weight: float, alpha: float) -> str:
    """'risk weight L = 0.5 on the CVaR5 of value (the worst 5 % of scenarios; 0: the expected value
    alone)': the stochastic objective's settings in words (it read 'risk weight 0.0, CVaR alpha 0.05')."""
    return (f"risk weight L = {weight:g} on the {cvar_name(alpha)} of value (the worst {format_rate(alpha)} "
            "of scenarios; 0: the expected value alone)")


def elapsed(seconds: float) -> str:
    """'0:01:30': a time taken, as the evaluation's progress bar shows it."""
    return str(timedelta(seconds=int(seconds)))


def solving_line(progress: MipProgress, objective: str, offset: float = 0.0) -> str:
    """'solving: 0:01:30, best plan so far: NPV $18.69B, gap 0.17%': where a HiGHS run stands
    (``objective``: what its objective is; ``offset``: a constant of it HiGHS is not given, USD);
    'solving RP (the stochastic plan): ...' where the command runs several."""
    what = f" {progress.stage}" if progress.stage else ""
    line = f"solving{what}: {elapsed(progress.seconds)}"
    if not progress.priced:  # its objective is no plan's value
        return line
    if progress.best is None:
        return f"{line}, no plan found yet"
    line += f", best plan so far: {progress.called or objective} {format_usd(progress.best + offset)}"
    return line if progress.gap is None else f"{line}, gap {format_gap(progress.gap)}"


# how often a long HiGHS run says where it stands (solve_lines), seconds
SOLVING_EVERY = 15.0


class solve_lines:
    """While HiGHS solves (:func:`fleetopt.milp.highs.mip_progress`), a :func:`solving_line` on the
    terminal about every ``every`` seconds of a run that lasts longer, only where ``console``
    (stderr's) is a terminal: a file or pipe gets none, stdout never. Written to a copy of its file
    descriptor made on entry, as Pyomo captures descriptors 1 and 2 while HiGHS runs.

    Used as ``with solve_lines(err_console, "NPV"): api.solve(...)``; ``stream`` (a test's): the
    lines written there instead, terminal or not; ``clock``: the time the lines are spaced by."""

    def __init__(self, console, objective: str, offset: float = 0.0, every: float = SOLVING_EVERY,
                 clock=time.monotonic, stream=None):  # fmt: skip
        self.console, self.objective, self.offset, self.every = console, objective, offset, every
        self.clock, self.stream, self.own_stream = clock, stream, False
        self.listening, self.last, self.lock = None, -math.inf, threading.Lock()

    def __enter__(self):
        if self.stream is None and self.console.is_terminal:
            try:
                self.stream = open(os.dup(self.console.file.fileno()), "w", buffering=1)
                self.own_stream = True
            except (OSError, ValueError, AttributeError):  # no descriptor to copy: no lines
                pass
        if self.stream is not None:
            self.listening = mip_progress(self.report, self.every)
            self.listening.__enter__()
        return self

    def report(self, progress: MipProgress) -> None:
        """A line, unless the run is younger than ``every`` or the last line is (within 10 %: the
        timer's ticks come ``every`` seconds apart)."""
        with self.lock:
            now = self.clock()
            if progress.seconds < self.every or now - self.last < 0.9 * self.every:
                return
            self.last = now
            with suppress(OSError, ValueError):  # the terminal has gone: the work goes on
                self.stream.write(f"  {solving_line(progress, self.objective, self.offset)}\n")

    def __exit__(self, *exc):
        if self.listening is not None:
            self.listening.__exit__(*exc)
        if self.own_stream:
            with self.lock:
                self.stream.close()
        return False


def sweep_table(metrics, title: str) -> Table:
    """A sweep's candidates: marks, forecast NPV, mean and CVaR5 NPV (and the shareholders' CVaR5 with
    limited liability where it differs), P(breach), P(liq. default) and P(any default), the lenders'
    count (where the metrics have it: a pick with --allow-riskier cut P(liq. default) while it rose)."""
    limited = limited_liability_differs(metrics, ("npv_limited_cvar5_usd",))
    either = "any_default_probability" in metrics
    table = Table(title=title)
    names = ("", "plan", "NPV forecast", "NPV mean", "NPV CVaR5", *(("CVaR5, limited",) if limited else ()),
             "P(breach)", "P(liq. default)", *(("P(any default)",) if either else ()))  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name in ("", "plan") else "right")
    for _, r in metrics.iterrows():
        mark = (
            (">" if r["recommended"] else " ")
            + ("*" if r["on_front"] else " ")
            + (" " if r.get(FORECAST_OK, True) else FORECAST_MARK)
            # a cash buffer that never acted: the forecast optimum's row again, which read as a tie
            + ("=" if IDLE_BUFFER in str(r.get("note", "")) else " ")
        )
        table.add_row(
            mark,
            Text(str(r["plan"])),
            format_usd(r["forecast_npv_usd"]),
            format_usd(r["npv_mean_usd"]),
            format_usd(r["npv_cvar5_usd"]),
            *((format_usd(r["npv_limited_cvar5_usd"]),) if limited else ()),
            format_percent(r["breach_probability"]),
            format_percent(r["default_probability"]),
            *((format_percent(r["any_default_probability"]),) if either else ()),
        )
    # the evaluate table defines CVaR5 in its caption, and so does this one (a walkthrough found it not)
    table.caption = (
        "CVaR5: the mean NPV of the worst 5 % of scenarios"
        + (f"; CVaR5, limited: {LIMITED_MEANS}" if limited else "")
        + "; P(liq. default): a liquidity default"
        + ("; P(any default): it or an uncured covenant breach, either event of default as lenders count them"
           if either else "")
    )
    table.columns[0].min_width = 4  # the four marks, before the plan that gives way
    return unbroken(table, text_columns=2)


class ColumnGroups:
    """A table of a label column, figure columns and a last column, printed whole where every
    figure column has room for its longest figure and its header's longest word, else as several
    tables, each with the label and last columns and as many figure columns as fit (a comparison
    of six plans cut every figure short on a 120-column terminal: '$18.6…', '-$3.6…'); then the
    caption, at the console's width."""

    LABEL_WIDTH = 18  # the label column's least width (figure names fold within it)

    def __init__(self, title: str, caption: str, label: str, columns: list, rows: list, last: str):
        self.title, self.caption, self.label, self.last = title, caption, label, last
        self.columns, self.rows = columns, rows  # columns: header texts; rows: (label, cells, last)

    def _width(self, n: int) -> int:
        words = [len(w) for w in str(self.columns[n]).split()]
        return max([*words, *(len(row[1][n]) for row in self.rows), 1])

    def groups(self, room: int) -> list[list[int]]:
        """The figure columns in groups, each a table at most ``room`` wide (at least one a group)."""
        fixed = self.LABEL_WIDTH + self._frame()
        groups, used = [[]], fixed
        for n in range(len(self.columns)):
            need = self._width(n) + 3
            if groups[-1] and used + need > room:
                groups.append([])
                used = fixed
            groups[-1].append(n)
            used += need
        return groups

    def _last_width(self) -> int:
        return max([len(self.last), *(len(row[2]) for row in self.rows)])

    def _frame(self) -> int:
        """Every width of a table but its label and figure columns': their padding, the last column
        and the borders."""
        return 3 + self._last_width() + 3 + 1

    def table(self, group: list[int], part: str, room: int | None = None) -> Table:
        """The label column, the figure columns of ``group`` and the last column, each at the width
        :meth:`groups` counted (rich would widen one and crop the table at the console's edge); the
        label column also takes what is left of ``room`` (None: nothing), up to its longest label
        (folded at 18 on a 200-column terminal, a comparison's figure names ran to 200 lines)."""
        table = Table(title=self.title + part)
        others = self._frame() + sum(self._width(n) + 3 for n in group)
        longest = max([len(str(label)) for label, _, _ in self.rows] or [self.LABEL_WIDTH])
        spare = 0 if room is None else room - others
        table.add_column(self.label, width=max(self.LABEL_WIDTH, min(spare, longest)), overflow="fold")
        for n in group:
            table.add_column(Text(str(self.columns[n])), justify="right", width=self._width(n))
        table.add_column(self.last, width=self._last_width())
        for label, cells, last in self.rows:
            table.add_row(label, *(cells[n] for n in group), last)
        return table

    def __rich_console__(self, console, options):
        groups = self.groups(options.max_width)
        for k, group in enumerate(groups, start=1):
            part = f" ({k} of {len(groups)})" if len(groups) > 1 else ""
            yield self.table(group, part, options.max_width)
        if self.caption:  # the notes once, at the console's width (a narrow table's caption folded them)
            yield Text(self.caption, style="italic")


def comparison_tables(result) -> list:
    """Terminal tables of a plan comparison: figures side by side (in as many tables as the
    console's width needs), then purchase differences."""
    labels = result.labels
    rows = []
    for key, name, unit in result.rows():
        values = [float(result.figures.loc[key, label]) for label in labels]
        row = [result.cell(key, values, unit, n) for n in range(len(labels))]
        row += [result.difference_shown(key, values, unit, n) for n in range(1, len(labels))]
        rows.append((name, row, result.better(key)))
    figures = ColumnGroups(
        f"{result.subject()} on {counted(result.n_scenarios, 'common scenario')} (seed {result.seed})",
        " ".join(result.notes()),
        "figure", [*labels, *result.difference_headers()], rows, "better",
    )  # fmt: skip
    out = [figures]
    diffs = result.purchase_diff
    purchases = Table(title=f"purchases against {labels[0]} (GPUs, + more / - fewer)")
    for key in PURCHASE_DIFF_COLUMNS:
        purchases.add_column(COLUMN_HEADERS[key], justify="right" if key.startswith("gpus") else "left")
    for _, r in diffs.iterrows():
        gpus = f"{r['gpus_vs_first_plan']:+,.0f}"
        purchases.add_row(Text(r["plan"]), r["quarter"], r["sku"], r["site"], gpus)
    if diffs.empty:
        purchases.add_row("(no differences)", "", "", "", "")
    if not result.what_if:  # a what-if's two sides are one plan: the same purchases by construction
        out.append(purchases)
    mw = result.peak_mw_by_site()
    peak = Table(title="peak MW needed by site (facility MW: IT load x PUE)")
    peak.add_column("plan")
    for site in mw.columns:
        peak.add_column(site, justify="right")
    for plan in labels:
        peak.add_row(Text(plan), *(format_mw(mw.loc[plan, site]) for site in mw.columns))
    out.append(peak)
    if result.runs:
        runs = Table(title="where each plan comes from")
        runs.add_column(COLUMN_HEADERS["plan"])
        runs.add_column(COLUMN_HEADERS["run"], overflow="fold")
        for plan, run in zip(labels, result.runs, strict=True):
            runs.add_row(Text(plan), Text(run))
        out.append(runs)
    # last, where a terminal leaves the reader: each plan against the first on the figures read first
    out += [Text(f"In short: {result.verdict(n)}.", style="bold") for n in range(1, len(labels))]
    return out


def key_figure(kind: str, fig: dict) -> str:
    """A run's headline in the registry's list: the forecast NPV of a solved plan, the scenario
    figures of an evaluation (the plan it shows first, named) or of a sweep's pick, the stochastic
    plan against the forecast optimum out of sample (its in-sample RP where the record keeps no
    such comparison), each with its number of scenarios where the record keeps it (a CVaR5 over 20 is
    one scenario's NPV); a deterministic evaluation's one scenario is the forecast: its NPV there."""
    count = fig.get("n_scenarios", fig.get("scenarios")) if kind != "solve" else None
    whole = isinstance(count, int) and not isinstance(count, bool)
    seed = fig.get("seed", fig.get("scenario_seed"))  # two runs on other scenarios are told apart
    of_seed = f" (seed {seed})" if isinstance(seed, int) and not isinstance(seed, bool) else ""
    over = f" over {counted(count, 'scenario')}{of_seed}" if whole else ""
    if kind in ("evaluate", "sweep") and "npv_mean_usd" in fig:
        # the plan by its label (a purchases file's name), so two evaluations are told apart
        several = fig.get("n_plans", 1) > 1
        shown = f"{fig['plan']}: " if fig.get("plan") else ("first plan: " if several else "")
        pick = f"pick ({fig['recommended']}): " if fig.get("recommended") else "pick: "  # named, where kept
        whose = {"sweep": pick, "evaluate": shown}[kind]
        served = fig.get("demand_served_share")
        if fig.get("plans_objective") == "cost" and isinstance(served, float) and math.isfinite(served):
            return f"{whose}{_service_words(fig, served, over)}"  # a lab's service level, not its NPV
        if fig.get("deterministic"):  # worded as a solve's
            return f"{whose}NPV {format_usd(fig['npv_mean_usd'])} on the forecast"
        cvar5 = format_usd(fig["npv_cvar5_usd"])
        return f"{whose}mean NPV {format_usd(fig['npv_mean_usd'])}, CVaR5 {cvar5}{over}"
    if kind == "stochastic" and (oos := recorded_out_of_sample(fig)) is not None:
        return _out_of_sample_headline(oos, keeps_rp(fig))
    if kind == "stochastic" and "rp_usd" in fig:
        # RP named by what it is: a new user read "RP $12.96B" as nothing (stochastic/run.py's words)
        rp = format_usd(fig["rp_usd"])
        if fig.get("plan_value_usd") is not None and not keeps_rp(fig):  # RP's plan is not the plan
            kept = format_usd(fig["plan_value_usd"])
            return f"plan kept (the forecast's first stage) {kept}, the stochastic plan's (RP) {rp}{over}"
        weight = fig.get("risk_weight") or 0  # --risk-weight L: RP is (1 - L) E[V] + L CVaR(V)
        what = f"risk-weighted objective, L {weight:g}" if weight else "expected NPV less rescue penalties"
        return f"stochastic plan's in-sample value (RP: {what}) {rp}{over}"
    if fig.get("objective") == "cost" and "present_cost_usd" in fig:
        # its levelized cost (absent in a record written before it, None where no GPU is in service)
        per_hour = fig.get("present_cost_per_h100_hour_usd")
        hourly = "" if per_hour is None else f", {format_usd_per_hour(per_hour)} per H100-equivalent GPU-hour"
        return f"present cost {format_usd(fig['present_cost_usd'])} on the forecast{hourly}{_fixed(fig)}"
    # purchases completed with the rescue (solve --rescue): its plan breaks hard limits there
    rescued = "rescued, breaks hard limits: " if str(fig.get("status", "")).startswith("rescued") else ""
    if fig.get("policy_reacts"):  # as the report shows it: the plan as the company runs it
        return (f"{rescued}NPV {format_usd(fig['policy_npv_usd'])} on the forecast with its policy (the "
                f"MILP's {format_usd(fig.get('npv_usd'))}){_fixed(fig)}")  # fmt: skip
    if "npv_usd" in fig:
        return f"{rescued}NPV {format_usd(fig['npv_usd'])} on the forecast{_fixed(fig)}"
    return ""


def _out_of_sample_headline(oos: dict, rp_kept: bool = True) -> str:
    """A stochastic run in the registry's list by what to judge its plan by: the stochastic plan (the
    plan kept, where it keeps the forecast's first stage: not ``rp_kept``) less the forecast optimum
    on fresh scenarios (:func:`recorded_out_of_sample`), mean NPV and CVaR5 with their paired
    standard errors, and its verdict (:func:`out_of_sample_verdict_word`: 'worse', 'a trade'; its
    advice, too long for a list's column, is in `runs show`)."""
    cells = dict(paired_cells(oos["paired"]))
    verdict = out_of_sample_verdict_word(oos["paired"])  # `runs show` gives the advice too
    figures = f"mean NPV {cells['mean']}, CVaR5 {cells['CVaR5']}"
    return f"{_out_of_sample_what(oos, rp_kept)}: {figures}" + (f"; {verdict}" if verdict else "")


def _out_of_sample_what(oos: dict, rp_kept: bool = True) -> str:
    """'out of sample on 1,000 fresh scenarios (seed 8), stochastic plan less forecast optimum (paired
    standard error)' (the count and seed where recorded; 'plan kept (the forecast's first stage)'
    where it keeps that, not RP's)."""
    count = oos["scenarios"]
    whole = isinstance(count, int) and not isinstance(count, bool)
    over = f" on {counted(count, 'fresh scenario')} (seed {oos['seed']})" if whole else ""
    plan = "stochastic plan" if rp_kept else "plan kept (the forecast's first stage)"
    return f"out of sample{over}, {plan} less forecast optimum (paired standard error)"


def _fixed(fig: dict) -> str:
    """', purchases of p.csv fixed' for a solve given a purchases file (its name: solves of several
    people's plans are told apart in the list), else ''."""
    file = fig.get(PURCHASES_FILE)
    return f", purchases of {Path(file).name} fixed" if isinstance(file, str) else ""


def _service_words(fig: dict, served: float, over: str) -> str:
    """An evaluation of a cost plan in the registry's list: the demand it serves (docs/evaluation.md),
    'demand served 89.2% on average over 1,000 scenarios, more than 1% short in 81.8% of them'."""
    if fig.get("deterministic"):
        return f"demand served {format_percent(served)} on the forecast"
    short = fig.get("shortfall_probability")
    words = f"demand served {format_percent(served)} on average{over}"
    if not isinstance(short, float):
        return words
    return f"{words}, more than {SHORTFALL_SHARE:.0%} short in {format_percent(short)} of them"


class RunsListing:
    """`fleetopt runs`: a table of the runs, newest first, each folder whole (copied and pasted into
    the next command: it was folded mid-name, "/tmp/h-walk-us│er/runs/..."), the key figure wrapped
    in what width is left; where even so the table does not fit the terminal, a block per run."""

    HEADERS = ("id", "when (UTC)", "kind", "model", "key figure", "folder")
    KEY_WIDTH = 16  # the key figure's narrowest column, wrapped

    def __init__(self, records):
        self.rows = [_run_row(r) for r in records]

    def _narrowest(self) -> int:
        """The width of the table with every cell but the key figure whole: each column's widest
        cell, a space either side, and a border between and around them."""
        rows = [self.HEADERS, *self.rows]
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(self.HEADERS))]
        widths[self.HEADERS.index("key figure")] = self.KEY_WIDTH
        return sum(widths) + 3 * len(widths) + 1

    def __rich_console__(self, console, options):
        table = Table(title="runs (newest first)")
        for name in self.HEADERS:
            wraps = name == "key figure"  # the others are kept whole
            table.add_column(name, no_wrap=not wraps, min_width=self.KEY_WIDTH if wraps else None)
        for row in self.rows:
            table.add_row(*row)
        if self._narrowest() <= options.max_width:
            yield table
            return
        yield Text("runs (newest first): id, when (UTC), kind, model; key figure; folder")
        for number, when, kind, model, key, folder in self.rows:
            yield Text.assemble((number, "bold"), f"  {when}  {kind}  ", model)
            for line in Text(key).wrap(console, max(options.max_width - 3, 20)):
                yield Text.assemble("   ", line)
            # whole, the terminal wrapping it where it must: copied as one line
            yield Text.assemble("   ", folder, no_wrap=True, overflow="ignore")


def runs_table(records) -> RunsListing:
    """The runs as `fleetopt runs` lists them (:class:`RunsListing`)."""
    return RunsListing(records)


def _run_row(r) -> tuple[str, str, str, Text, str, Text]:
    """A run's row in the list: its id, when it was written (to the minute; UTC, as the header says),
    its kind, its model ("neocloud (edited)" where --set changed it), key figure and folder
    (:func:`shown_folder`)."""
    try:
        key = "damaged record" if DAMAGED in r.figures else key_figure(r.kind, r.figures)
    except (TypeError, ValueError, KeyError):  # a figure edited by hand into text: the rest is listed
        key = "unreadable figures"
    missing = "" if r.exists else _gone(r, " (missing)", " (now run {})")
    folder = Text(shown_folder(r.path) + missing, style=None if r.exists else "red")
    edited = " (edited)" if r.figures.get(MODEL_CHANGES) else ""  # by --set: `runs show` says how
    return str(r.id), _minute(r.created_utc), r.kind, Text(r.model_name + edited), key, folder


def _minute(stamp: str) -> str:
    """An ISO 8601 time as "2026-12-05 13:38" (as written where it is not one)."""
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(stamp)


def shown_folder(path: Path) -> str:
    """A folder as a command takes it from here: relative to the current folder where it is inside it
    (runs/20261205-133800-neocloud), else whole."""
    here = Path.cwd()
    inside = here != Path(here.anchor) and Path(path).is_relative_to(here)  # not from "/": tmp/...
    return str(Path(path).relative_to(here)) if inside else str(path)


def run_detail(record) -> Table:
    table = Table(show_header=False, title=f"run {record.id}")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("when (UTC)", record.created_utc)
    table.add_row("kind", record.kind)
    table.add_row("command", Text(record.command, overflow="fold"))
    changes = recorded_changes(record.figures.get(MODEL_CHANGES), f"run {record.id}'s record")
    table.add_row("model", Text(model_words(f"{record.model_name} (hash {record.model_hash})", changes)))
    missing = "" if record.exists else _gone(
        record, "  MISSING: deleted or moved", "  REPLACED: the folder now holds run {}, written there since"
    )
    table.add_row("folder", Text(str(record.path) + missing, overflow="fold"))
    # the cost objective's figures of a plan solved for NPV rank nothing (compare leaves them out too:
    # "$0.38 per H100-hour" was read as a neocloud plan's cost); its record keeps them
    costs = record.kind == "solve" and record.figures.get("objective", "npv") != "cost"
    # the out-of-sample figures in one row, as the solve's table writes them
    skipped = (OUT_OF_SAMPLE, _COST_FIGURES) if costs else (OUT_OF_SAMPLE,)
    for key, value in record.figures.items():
        if key not in _SHOWN_ABOVE and not key.startswith(skipped):
            table.add_row(key, Text(figure_text(key, value)))
    oos = recorded_out_of_sample(record.figures)
    if oos is not None:
        what = _out_of_sample_what(oos, keeps_rp(record.figures))
        action = out_of_sample_action(oos["paired"])
        advice = f"; {action}" if action else ""
        table.add_row("out_of_sample", Text(f"{what}: {paired_words(oos['paired'])}{advice}"))
    table.caption = _FIGURES_MEAN.get(record.kind, "") + (_COSTS_LEFT_OUT if costs else "")
    return table


_COST_FIGURES = "present_cost_"  # summary.json's figures of the cost objective (formulation §6, "Cost")
_COSTS_LEFT_OUT = ("; present_cost_*, the cost objective's figures, left out of a plan solved for NPV "
                   "(summary.json keeps them)")  # fmt: skip


# what the figures of each kind of run are, by summary.json's names (a credit reader took
# min_liquidity_usd for the liquidity covenant's figure)
_FIGURES_MEAN = {
    "solve": "figures as the run's summary.json names them (docs/formulation.md, 'What a solve writes'): the "
             "MILP's statements of the plan, min_liquidity_usd the lowest cash in any quarter, tested or "
             "not; policy_*: the plan run on the forecast with its policy",
    "evaluate": "figures of the plan the run's report shows first, as metrics.csv names them "
                "(docs/evaluation.md); a deterministic evaluation's one scenario is the forecast, so its "
                "mean NPV and CVaR5 are its NPV on the forecast",
}  # fmt: skip


def _gone(record, missing: str, replaced: str) -> str:
    """Why a run's folder no longer holds it: deleted or moved, or a later run written there."""
    return missing if record.replaced_by is None else replaced.format(record.replaced_by)


# figures of a run's record that `runs show` already gives in its own rows
_SHOWN_ABOVE = {"kind", "model_name", "model_hash", MODEL_CHANGES}
def _stochastic_times(t: dict) -> str:
    """The run's wall time and its steps, seconds."""
    steps = [
        ("forecast", "forecast_seconds"), ("screening", "screening_seconds"), ("build", "build_seconds"),
        ("load", "load_seconds"), ("RP", "solve_seconds"), ("EEV and WS", "measures_seconds"),
        ("completion", "completion_seconds"), ("out of sample", "out_of_sample_seconds"),
    ]  # fmt: skip
    parts = ", ".join(f"{name} {t[key]:.1f}" for name, key in steps if t.get(key) is not None)
    total = t.get("total_seconds")
    return f"{total:.1f} s ({parts})" if total is not None else f"{parts} s"


def stochastic_tables(summary: dict) -> list:
    """A stochastic solve's terminal output, the answer first: what to commit to now
    (:func:`commitments_table`), how that compares with the forecast optimum out of sample, the
    figures to judge it by (:func:`out_of_sample_table`), then the solve's diagnostics
    (:func:`stochastic_summary_table`), and last a line of what to commit to: a new user met three
    "values" and could not tell the plan's."""
    shown = (commitments_table(summary), out_of_sample_table(summary), stochastic_summary_table(summary))
    paired = (summary.get("out_of_sample") or {}).get("paired")
    action = out_of_sample_action(paired) if paired else None
    # last, where a terminal leaves the reader, the answer again in a line (as compare's "In short")
    last = [Text(f"In short, out of sample the stochastic plan is {action}.", style="bold")] if action else []
    return [table for table in shown if table is not None] + last


def commitments_table(summary: dict) -> Table | None:
    """What a stochastic solve commits to now beside the forecast optimum (summary.json's
    ``commitments``: purchases, retirements, moves to inference, power, contracts, draws and
    prepayments of the first stage), with the total of GPUs bought, and where the run's gap is not
    `fleetopt solve`'s, why its forecast optimum may differ from that one; None where neither commits
    to anything (or a summary without them)."""
    if not summary.get("commitments"):
        return None
    stage = first_stage_text(summary["settings"])
    title = f"what to commit to now, {stage}, and which contracts to accept (whatever their start)"
    table = Table(title=f"{title}: the stochastic plan's first stage beside the forecast optimum's",
                  caption=forecast_gap_note(summary["settings"]), caption_justify="left")  # fmt: skip
    for n, column in enumerate(COMMITMENT_COLUMNS):
        table.add_column(column, justify="right" if n >= 3 else "left")
    for line in commitment_lines(summary["commitments"]):
        table.add_row(*line)
    return table


def out_of_sample_table(summary: dict) -> Table | None:
    """The stochastic plan and the forecast optimum on the same fresh scenarios, their paired
    differences with standard errors, what those say and what to do: the figures to judge the plan
    by (None where the run skipped them)."""
    oos = summary.get("out_of_sample") or {}
    if not oos.get("metrics"):
        return None
    s = summary["settings"]
    alpha = s["cvar_alpha"]  # the evaluator's CVaR is of the worst 5 %, whatever tail the solve optimised
    optimised = "" if alpha == TAIL else f" (the solve optimised {cvar_name(alpha)})"
    title = f"how to judge it: both plans on {oos['scenarios']:,} fresh scenarios (seed {oos['seed']})"
    words = out_of_sample_words(oos, s["scenarios"])
    table = Table(title=f"{title}, out of sample{optimised}", caption=words, caption_justify="left")
    table.add_column("plan", style="bold")
    for _, _, header in OUT_OF_SAMPLE_COLUMNS:
        table.add_column(header, justify="right")
    for line in out_of_sample_lines(oos):
        table.add_row(*line)
    return table


def stochastic_summary_table(summary: dict) -> Table:
    """The diagnostics of a two-stage stochastic solve (summary.json of the run): its settings,
    status, measures (RP, EV, EEV, WS, VSS, EVPI), in-sample figures, how its plan was made and its
    times; the plan is judged by :func:`out_of_sample_table`."""
    def usd(value) -> str:
        return "-" if value is None else format_usd(value)

    s = summary["settings"]
    solved = counted(s.get("distinct_scenarios", s["scenarios"]), "reduced scenario")
    title = f"diagnostics of the solve: the solver's figures over its {solved}"
    checked = (summary.get("out_of_sample") or {}).get("metrics")
    judge = ": judge the plan by the table above" if checked else ""
    table = Table(show_header=False, title=f"{title} (in sample, not forecasts of the plan's value{judge})")
    table.add_column("", style="bold")
    table.add_column("")
    distinct = s.get("distinct_scenarios", s["scenarios"])
    dropped = (
        f" ({s['scenarios'] - distinct:,} left out: of probability 0, the same as another's; "
        f"{distinct:,} solved)"
        if distinct < s["scenarios"]
        else ""
    )
    table.add_row(
        "settings",
        f"{counted(s['scenarios'], 'scenario')} of {s['screened']:,} (seed {s['scenario_seed']}){dropped}, "
        f"{first_stage_text(s)}, {risk_weight_words(s['risk_weight'], s['cvar_alpha'])}",
    )
    table.add_row("status / gap", f"{format_solver_status(summary['status'], None)} / "
                  f"{gap_words(summary)}")  # fmt: skip
    in_sample = in_sample_labels(s)
    for key, label in (*measure_rows(summary), *in_sample.items()):
        why = measure_unavailable(summary, key)
        if why is None and summary.get(key) is None and key in in_sample:
            continue  # an in-sample figure this run has not (no EEV solved)
        table.add_row(label, usd(summary.get(key)) if why is None else f"n/a ({why})")
    for label, text, warning in plan_facts(summary):
        style = "red" if warning else ""
        table.add_row(Text(label, style=style), Text(text, style=style))
    table.add_row("time", _stochastic_times(summary["timings"]))
    return table


