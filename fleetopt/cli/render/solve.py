"""`fleetopt solve`: the status line, purchases table and key figures of a solved plan."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from fleetopt.cli.render.tables import unbroken
from fleetopt.core.results.cost import (
    COST_LABEL,
    COST_PER_H100_HOUR,
    FORECAST_DEMAND_LABEL,
    MARKET_VALUED,
    WITHOUT_MARKET_REVENUE,
    budget_words,
    cost_per_h100_hour_words,
    forecast_demand_words,
    present_cost_words,
)
from fleetopt.core.results.covenant_words import (
    LIQUIDITY_COVER_LABEL,
    covenant_headroom_text,
    dscr_name,
    tested_from,
    trailing_year_headroom,
    untested_breaches,
)
from fleetopt.core.results.customers import CUSTOMERS_LABEL, contract_rows, customer_words, revenue_words
from fleetopt.core.results.fleet import (
    NOTHING_BOUGHT,
    POWER_BUILT_LABEL,
    SOON_RETIRED_LABEL,
    bought_nothing,
    power_built_mw_by_site,
    soon_retired,
)
from fleetopt.core.results.headline import (
    CAPEX_LABEL,
    REVENUE_LABEL,
    dscr_words,
    headline,
    liquidity_cover_words,
)
from fleetopt.core.results.plan_limits import PLAN_LIMITS_LABEL, plan_limits, plan_limits_text
from fleetopt.core.results.shocks import lowest_quarter, shocked_cash_label, worst_shock
from fleetopt.core.results.tables import GPU_CAPEX_LABEL, gpu_capex_by_year, purchases_by_generation_year
from fleetopt.core.results.valuation import (
    CASH_HELD_LABEL,
    NPV_QUARTERS_LABEL,
    NPV_TERMINAL_LABEL,
    OTHER_RATES_LABEL,
    basis_words,
    cash_held_words,
    npv_terminal_words,
    other_rates_words,
    solve_figures,
)
from fleetopt.core.units import (
    counted,
    format_count,
    format_duration,
    format_gap,
    format_mw,
    format_solver_status,
    format_usd,
    listed,
    whole_count,
)
from fleetopt.milp.completion import completion_facts


def unread_rows(fixed) -> str:
    """' (its rows of other decisions are not read: 2 retire)' where the purchases ``fixed`` came from
    a solve's plan.csv whose rows besides its purchases were skipped, else '': an edited retire or
    move row changed nothing, which `solve` and `validate --purchases` say."""
    kinds = ", ".join(f"{n} {decision}" for decision, n in fixed.unread)
    return f" (its rows of other decisions are not read: {kinds})" if fixed.unread else ""


def note_columns(fixed) -> str:
    """' (column price is not read: a note; the purchases are read from its quarter, sku, site and
    gpus columns)' where the purchases ``fixed`` came from a file with columns fleetopt does not
    read, else '': a price or a date beside a row sets nothing, which `solve` and
    `validate --purchases` say."""
    notes = fixed.note_columns
    if not notes:
        return ""
    said = f"column {notes[0]} is not read: a note" if len(notes) == 1 else \
        f"columns {listed(notes)} are not read: notes"
    return f" ({said}; the purchases are read from its {listed(fixed.read_columns)} columns)"


def solve_summary_tables(result) -> list:
    """Renderables for the terminal after a solve: status line, purchases table, key figures."""
    data, plan = result.data, result.plan
    return [_status_table(result), purchases_table(data, plan.buy_blocks), _plan_table(result)]


def _status_table(result) -> Table:
    """How the solve went: status, objective, gap (once), fixed or completed purchases, times, model size."""
    data = result.data
    status = Table(show_header=False, title="solve")
    status.add_column("", style="bold")
    status.add_column("")
    status.add_row("status", format_solver_status(result.status, result.gap))
    status.add_row(f"objective ({result.objective_kind})", format_usd(result.objective_usd))
    if not result.status_shows_gap:  # 'optimal within 0.17% (relative gap)' says it already
        status.add_row("gap", format_gap(result.gap))
    if result.purchases is not None:
        fixed = result.purchases
        status.add_row(
            "purchases",
            Text(f"fixed from {fixed.source}: {format_count(fixed.gpus(data), 'GPUs')} in "
                 f"{counted(fixed.rows, 'row')} (none elsewhere); the solver chose the rest"
                 f"{unread_rows(fixed)}{note_columns(fixed)}"),
        )  # fmt: skip
    if result.completion is not None:  # solve --rescue: how the purchases were completed, what they break
        for label, words, bad in completion_facts(result.completion):
            status.add_row(label, Text(words, style="bold red" if bad else ""))
    status.add_row("build / solve time",
                   f"{format_duration(result.build_seconds)} / {format_duration(result.solve_seconds)}")
    size = result.model_size
    status.add_row(
        "model size",
        f"{size['variables']:,} variables ({size['integer_variables']:,} integer), "
        f"{size['constraints']:,} constraints",
    )
    return status


def _plan_table(result) -> Table:
    """The plan's key figures on the forecast, the objective's first, under a title that says their
    horizon and discount rate (its NPV row had none, though the row after it gives two other rates),
    a cost solve's present cost first, by what it is, then its NPV."""
    data = result.data
    fig = headline(data, result.plan, result.statements, result.objective_kind)
    basis = basis_words(data.T, data.discount_rate_annual, figures=solve_figures(result.objective_kind))
    key = Table(show_header=False, title=f"plan, {basis}")
    key.add_column("", style="bold")
    key.add_column("")
    for rows in (_value_rows, _fleet_rows, _finance_rows, _limit_rows, _warning_rows):
        for label, value in rows(result, fig):
            key.add_row(label, value)
    return key


def _value_rows(result, fig: dict) -> list[tuple[str, str]]:
    """What the plan is worth and earns (its present cost first where it was solved for least cost)."""
    data = result.data
    cost = result.objective_kind == "cost"
    rows = []
    if cost:  # the objective first; the NPV then values the plan's own compute at market prices
        rows += [(COST_LABEL, present_cost_words(fig)), (COST_PER_H100_HOUR, cost_per_h100_hour_words(fig)),
                 (FORECAST_DEMAND_LABEL, forecast_demand_words(fig))]  # fmt: skip
    valued = MARKET_VALUED if cost else ""
    rows += [
        ("NPV of equity cash flows" + valued, format_usd(fig["npv_usd"])),
        (NPV_QUARTERS_LABEL, format_usd(fig["npv_quarters_usd"])),
        (NPV_TERMINAL_LABEL, npv_terminal_words(fig)),
        (CASH_HELD_LABEL, cash_held_words(fig)),
        (OTHER_RATES_LABEL, other_rates_words(fig)),
        (CAPEX_LABEL, f"{format_usd(fig['capex_gpu_total_usd'])} / "
                      f"{format_usd(fig['capex_power_total_usd'])}"),
        (REVENUE_LABEL + valued, revenue_words(fig, bool(data.contracts))),
    ]
    if data.contracts:  # a lab planning its own demand may have none: rows of "none" say nothing
        rows.append((CUSTOMERS_LABEL, customer_words(data, fig)))
    return rows


def _fleet_rows(result, fig: dict) -> list[tuple[str, str]]:
    """What the plan does with the fleet and the power, and the contracts it serves."""
    data, plan = result.data, result.plan
    rows = []
    if bought_nothing(data, plan, result.objective_kind):  # said, not left to a table of zeros
        rows.append(("GPUs bought", NOTHING_BOUGHT))
    moved = f"{whole_count(fig['gpus_retired'])} / {whole_count(fig['gpus_redeployed'])}"
    rows.append(("GPUs retired / redeployed", moved))
    by_site = zip(data.sites, power_built_mw_by_site(data, plan), strict=True)
    built = ", ".join(f"{site.name} {format_mw(mw)}" for site, mw in by_site if mw)
    rows.append((POWER_BUILT_LABEL, built or "none"))
    return rows + list(contract_rows(data, fig))


def _finance_rows(result, fig: dict) -> list[tuple[str, str]]:
    """The plan's debt, cash, cover ratios and covenant headroom on the forecast."""
    data, cost = result.data, result.objective_kind == "cost"
    # a plan that never borrows (a lab's) has no debt service to cover: its two "n/a" rows said nothing
    debt_free = fig["min_dscr"] is None and fig["min_liquidity_cover"] is None and fig["peak_debt_usd"] == 0
    lowest_at = data.quarter_labels[lowest_quarter(result.statements.lines["cash_usd"])]
    peak = format_usd(fig["peak_debt_usd"]) + (NO_DEBT_SERVICE if debt_free else "")
    lowest = f"{format_usd(fig['min_liquidity_usd'])} ({lowest_at})"
    rows = [("peak debt (at a quarter's end)", peak),
            ("lowest cash" + (MARKET_VALUED if cost else ""), lowest)]
    if not debt_free:
        rows.append((LIQUIDITY_COVER_LABEL, liquidity_cover_words(fig)))
    if cost:  # what a lab's budget floor really faces (formulation §6, "Cost")
        real = fig["min_cash_without_market_revenue_usd"]
        rows.append((WITHOUT_MARKET_REVENUE, f"{format_usd(real)} ({budget_words(data, real)})"))
    tested = tested_from(data)
    if not debt_free:
        rows.append((f"lowest {dscr_name(data)}{tested_from(data, 'dscr')}", dscr_words(fig)))
    yearly = trailing_year_headroom(data, result.statements)
    headroom = covenant_headroom_text(data, fig, yearly) or "no covenants"
    rows.append((f"covenant headroom, each in its tightest quarter{tested}", headroom))
    return rows


def _limit_rows(result, fig: dict) -> list[tuple[str, str]]:
    """What held the plan back: the limits it reaches on the forecast, a line each."""
    limits = plan_limits(result.data, result.plan, result.statements, result.objective_kind,
                         purchases_fixed=result.purchases is not None)
    return [(PLAN_LIMITS_LABEL, plan_limits_text(limits))]


def _warning_rows(result, fig: dict) -> list[tuple[str, str]]:
    """What holds only by an assumption, or could go wrong: a breach before testing starts, GPUs
    retired soon after they are bought, the cash of the worst shock case."""
    data, plan = result.data, result.plan
    rows = []
    early = untested_breaches(data, result.statements)
    if early is not None:  # "no breach" holds only by the grace the model assumes
        rows.append(("breached before testing starts (an assumed grace: finance.covenants.test_from)", early))
    soon = soon_retired(data, plan, result.statements)
    if soon is not None:
        rows.append((SOON_RETIRED_LABEL, soon))
    worst = worst_shock(fig)
    if worst is not None:
        cash = f"{format_usd(worst['lowest_cash_usd'])} in {worst['quarter']} ({worst['case']})"
        rows.append((shocked_cash_label(result.objective_kind == "cost"), cash))
    return rows


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
        purchases.add_row(gen, *(whole_count(v) for v in row))
    purchases.add_section()
    purchases.add_row(GPU_CAPEX_LABEL, *(format_usd(v) for v in gpu_capex_by_year(data, buy_blocks)))
    return unbroken(purchases)


NO_DEBT_SERVICE = " (no debt in any quarter: no debt service, DSCR or cover of it to show)"
