"""`fleetopt validate`: a model's summary table."""

from __future__ import annotations

from collections import defaultdict

from rich.table import Table
from rich.text import Text

from fleetopt.core.data import build_data
from fleetopt.core.metric_columns import CASH_COVERED
from fleetopt.core.units import (
    H100_EQ_GPUS,
    counted,
    format_difference,
    format_mw,
    format_percent,
    format_rate,
    format_usd,
    format_usd_per_hour,
    whole_count,
)
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_changes import model_words
from fleetopt.schema.series import resolve_series


def model_summary_table(loaded: LoadedModel) -> Table:
    """A table of what a model describes: horizon, SKUs by generation, sites, contracts, debt."""
    m = loaded.model
    title = Text(f"{m.name}: {m.description}" if m.description else m.name)
    table = Table(title=title, show_header=False)
    table.add_column("block", style="bold")
    table.add_column("contents")
    rate = format_rate(m.horizon.discount_rate_annual)
    table.add_row("horizon", f"{_horizon_span(m)}, discount rate {rate}/year")
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
        terms = ", ".join([f"from {f.covenants.test_from}{period}", *tests])
        table.add_row("covenants", terms + _cures_text(data))
    limits_text = _limits_text(m, data)
    if limits_text:
        table.add_row("limits", limits_text)
    if m.robustness:
        table.add_row("robustness", describe_robustness(m.robustness))
    table.add_row("risk", risk_words(data))
    table.add_row("policy", _policy_text(m.policy))
    return table


def model_line(loaded: LoadedModel) -> str:
    """'model: tiny (models/tiny.yaml), 2026Q3..2028Q2 (8 quarters)': the model in one line, where its
    summary would bury what the command checks (`validate --purchases`, run on every edit of an
    orders file)."""
    name = model_words(loaded.model.name, loaded.changes)
    return f"model: {name} ({loaded.source}), {_horizon_span(loaded.model)}"


def _horizon_span(m) -> str:
    """'2026Q3..2028Q2 (8 quarters)'."""
    labels = m.quarter_labels
    return f"{labels[0]}..{labels[-1]} ({m.horizon.quarters} quarters)"


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
        span = f"{whole_count(demand[0])} {H100_EQ_GPUS} in {first} to {whole_count(demand[-1])} in {last}"
        uses.append(f"{use}: demand {span}"
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
        span = whole_count(low) if low == high else f"{whole_count(low)} to {whole_count(high)}"
        parts.append(f"new {generation.value} GPUs at most {span} a quarter")
    return "; ".join(parts)


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
    "prepay_borrowing_base": "borrowing-base deficiency prepaid",
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


def _cures_text(data) -> str:
    """What a breach costs the owners (the evaluator's cure rights, core/covenants.py CureRights)."""
    if not data.covenants:
        return ""
    n = data.equity_cures
    cures = {0: "no equity cures", 1: "1 equity cure"}.get(n, f"{n} equity cures")
    text = f"; {cures}" + (", never two quarters in a row" if n > 1 else "")
    if data.cash_covering_debt_cures:
        text += f"; {CASH_COVERED}"
    return text + " (evaluator)"


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
