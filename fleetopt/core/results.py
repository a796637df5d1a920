"""Tables and headline figures of a solved plan (pure functions; the CLI and reports render them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetopt.core.covenants import CATALOGUE, TOLERANCE_USD, CovenantKind, CovenantTest, statement_quantities
from fleetopt.core.credit import default_probability
from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.economics import Statements, opening_fleet_value, taxes
from fleetopt.core.metric_columns import CVAR5_NPV_LABEL
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import (
    HOURS_PER_QUARTER,
    QUARTERS_PER_YEAR,
    calendar_year,
    discount_factors,
    horizon_years,
    parse_quarter,
    quarter_label,
    span_label,
)
from fleetopt.core.tail import probability_error
from fleetopt.core.units import (
    counted,
    decimals_apart,
    format_difference,
    format_duration,
    format_gap,
    format_h100_hours,
    format_mw,
    format_percent,
    format_rate,
    format_solver_status,
    format_times,
    format_usd,
    format_usd_per_hour,
    listed,
)
from fleetopt.schema import Robustness

# the decisions of plan.csv (plan_frame), as fleetopt.core.purchases reads one back
PLAN_DECISIONS = (
    "buy", "buy_gpus", "redeploy", "retire", "in_service", "serve_contract", "contract_accepted",
    "build_power", "draw_debt", "prepay_debt",
)  # fmt: skip


# metrics.csv's figures of the demand a plan serves over the scenarios: a lab's (a cost solve's
# plans); of a plan solved for NPV they are its share of the whole market, which the terminal,
# compare and the run registry leave out
LAB_FIGURES = ("demand_served_share", "shortfall_probability")
# a cost solve's summary.json figures only: of a plan solved for NPV (a neocloud's, whose market
# revenue is real) the cash less that revenue (the default model: -$99.7B) read as a real shortfall
COST_SOLVE_FIGURES = (
    "min_cash_without_market_revenue_usd", "budget_shortfall_usd", "forecast_demand_h100_hours",
)  # fmt: skip


# plan.csv's columns (plan_frame), each one fleetopt.core.purchases reads or checks, or knows as its own
PLAN_CSV_HEADER = ("quarter", "decision", "item", "sku", "site", "use", "value", "unit")


def plan_frame(data: ModelData, plan: Plan) -> pd.DataFrame:
    """Every decision, one row per quarter and item: quarter, decision, item, sku, site, use, value, unit."""
    q = data.quarter_labels
    rows: list[tuple] = []
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        blocks = plan.buy_blocks[s, i, t]
        sku, site = data.sku_names[s], data.sites[i].name
        rows.append((q[t], "buy", f"{sku}@{site}", sku, site, "", blocks, "blocks"))
        rows.append((q[t], "buy_gpus", f"{sku}@{site}", sku, site, "", blocks * data.block_size[s], "GPUs"))
    for decision, arr in (
        ("redeploy", plan.redeploy),
        ("retire", plan.retire),
    ):
        for c, t in zip(*np.nonzero(arr > 1e-6), strict=True):
            co = data.cohorts[c]
            sku, site = data.sku_names[co.sku], data.sites[co.site].name
            # a fleet entry bought in the horizon's first quarter is named as installed too: a purchase
            # of that quarter shares its SKU, site and quarter, not its ramp
            which = f"bought {q[co.bought]}" if co.is_purchase else f"installed cohort {c}"
            item = f"{sku}@{site} {which}"
            rows.append((q[t], decision, item, sku, site, "", arr[c, t], "GPUs"))
    for u, s, i, t in zip(*np.nonzero(plan.active > 1e-6), strict=True):
        sku, site = data.sku_names[s], data.sites[i].name
        rows.append(
            (q[t], "in_service", f"{sku}@{site}", sku, site, USES[u], plan.active[u, s, i, t], "GPUs")
        )
    for k, s, i, t in zip(*np.nonzero(plan.contract_gpus > 1e-6), strict=True):
        con = data.contracts[k]
        sku, site = data.sku_names[s], data.sites[i].name
        rows.append(
            (
                q[t],
                "serve_contract",
                con.name,
                sku,
                site,
                USES[con.use],
                plan.contract_gpus[k, s, i, t],
                "GPUs",
            )
        )
    for k, con in enumerate(data.contracts):
        rows.append(
            (q[con.start], "contract_accepted", con.name, "", "", USES[con.use], plan.accepted[k], "0/1")
        )
    for i, t in zip(*np.nonzero(plan.build_blocks), strict=True):
        site = data.sites[i]
        rows.append(
            (q[t], "build_power", site.name, "", site.name, "", plan.build_blocks[i, t] * site.block_mw, "MW")
        )
    for f, t in zip(*np.nonzero(plan.draws > 0.5), strict=True):
        rows.append((q[t], "draw_debt", data.facilities[f].name, "", "", "", plan.draws[f, t], "USD"))
    for f, t in zip(*np.nonzero(plan.prepay > 0.5), strict=True):
        rows.append((q[t], "prepay_debt", data.facilities[f].name, "", "", "", plan.prepay[f, t], "USD"))
    frame = pd.DataFrame(rows, columns=list(PLAN_CSV_HEADER))
    order = {label: n for n, label in enumerate(q)}
    return frame.sort_values(
        ["quarter", "decision", "item"], key=lambda col: col.map(order) if col.name == "quarter" else col
    ).reset_index(drop=True)


def _year_columns(data: ModelData) -> dict[str, str]:
    """Each calendar year of the horizon and its table column (:func:`_year_column`)."""
    years: dict[str, list[str]] = {}
    for label in data.quarter_labels:
        years.setdefault(calendar_year(label), []).append(label[-2:])
    return {year: _year_column(year, quarters) for year, quarters in years.items()}


def _year_column(year: str, quarters: list[str]) -> str:
    """A table's column for a calendar year: '2026', or '2026 (Q3-Q4)' where the horizon covers
    only some of its quarters ('2026 (Q4)' for one)."""
    if len(quarters) == QUARTERS_PER_YEAR:
        return year
    return f"{year} ({quarters[0]}-{quarters[-1]})" if len(quarters) > 1 else f"{year} ({quarters[0]})"


def purchases_by_generation_year(data: ModelData, buy_blocks: np.ndarray) -> pd.DataFrame:
    """GPUs bought by generation (rows: those the model has an SKU of) and calendar year (columns;
    a year the horizon covers only in part is labelled with its quarters: '2026 (Q3-Q4)'), of
    purchase blocks (S, I, T): a plan's ``buy_blocks``, or a purchases file's."""
    columns = _year_columns(data)
    held = data.model_generations
    table = pd.DataFrame(0.0, index=[GENERATIONS[g] for g in held], columns=list(columns.values()))
    gpus = buy_blocks.sum(axis=1) * data.block_size[:, None]  # (S, T)
    for s in range(data.S):
        generation = GENERATIONS[data.sku_generation[s]]
        for t in range(data.T):
            if gpus[s, t]:
                table.loc[generation, columns[calendar_year(data.quarter_labels[t])]] += gpus[s, t]
    return table


GPU_CAPEX_LABEL = "GPU capex"  # the row of each year's GPU capex under the GPUs bought (USD, undiscounted)


def gpu_capex_by_year(data: ModelData, buy_blocks: np.ndarray) -> pd.Series:
    """The GPU capex (USD) of purchase blocks (S, I, T) by calendar year, the columns of
    :func:`purchases_by_generation_year`: the statements' `capex_gpu_usd` summed over each year."""
    columns = _year_columns(data)
    orders = purchase_orders(data, buy_blocks)
    years = orders["quarter"].map(lambda label: columns[calendar_year(label)])
    by_year = orders["capex_usd"].groupby(years).sum()
    return by_year.reindex(list(columns.values()), fill_value=0.0).astype(float)


def purchases_and_capex_words(data: ModelData, buy_blocks: np.ndarray) -> pd.DataFrame:
    """:func:`purchases_by_generation_year` written for people ('27,648'), with the
    :data:`GPU_CAPEX_LABEL` row of :func:`gpu_capex_by_year` under it ('$13.78B'), a column
    'generation' first: the table a notebook and a report show, as the terminal prints it."""
    bought = purchases_by_generation_year(data, buy_blocks).map("{:,.0f}".format)
    bought.loc[GPU_CAPEX_LABEL] = gpu_capex_by_year(data, buy_blocks).map(format_usd)
    return bought.reset_index(names="generation")


def orders_frame(data: ModelData, plan: Plan) -> pd.DataFrame:
    """Every purchase of the plan (:func:`purchase_orders` of its purchase blocks)."""
    return purchase_orders(data, plan.buy_blocks)


def purchase_orders(data: ModelData, buy_blocks: np.ndarray) -> pd.DataFrame:
    """Every purchase of purchase blocks (S, I, T), one row per quarter, SKU and site (in that
    order): blocks, GPUs and their capex (USD, the cohort's price per GPU in that quarter: the
    statements' `capex_gpu_usd` of the quarter, summed over its rows)."""
    rows = []
    purchases = (co for co in data.cohorts if co.is_purchase)
    for co in sorted(purchases, key=lambda co: (co.bought, co.sku, co.site)):
        blocks = buy_blocks[co.sku, co.site, co.bought]
        if blocks > 1e-9:
            gpus = blocks * data.block_size[co.sku]
            rows.append((data.quarter_labels[co.bought], data.sku_names[co.sku], data.sites[co.site].name,
                         blocks, gpus, gpus * co.capex_per_gpu_usd))  # fmt: skip
    return pd.DataFrame(rows, columns=["quarter", "sku", "site", "blocks", "gpus", "capex_usd"])


def debt_frame(data: ModelData, st: Statements) -> pd.DataFrame:
    """Each facility's terms and balances, one row each, from the statements (the revolver, which
    only the evaluator draws, is not a facility): ``repayment`` ("amortizing over 20 quarters",
    "bullet"), ``rate`` (annual, of the horizon's first quarter: "9.00% fixed", "8.10% floating"),
    ``maturity`` (a bullet's quarter; "none: each draw amortizes" for an amortizing facility, each
    of whose draws amortizes over its own quarters), ``at_maturity`` (a bullet's: "repaid";
    "refinanced at reference + 5.50% (assumed available)", which no lender has promised; "after the
    horizon"; an amortizing one's: "paid off in 2028Q2 (instalments and any prepayments)",
    "outstanding at the horizon's end", "never drawn"), ``size_usd``,
    ``opening_usd``, ``quarter_end_peak_usd`` (the highest at a quarter's end: an amortizing loan's may
    be below its opening balance) and ``end_<quarter>_usd``, the balance at the
    end of each year's last quarter in the horizon and of the horizon's last quarter (the
    statements' ``debt_facility_<name>_usd``, 0 where under a dollar: the solver's round-off)."""
    labels = data.quarter_labels
    ends = [t for t, label in enumerate(labels) if label.endswith("Q4")]
    ends += [] if data.T - 1 in ends else [data.T - 1]
    rows = []
    for fac in data.facilities:
        balance = st.lines[f"debt_facility_{fac.name}_usd"]
        balance = np.where(np.abs(balance) > TOLERANCE_USD, balance, 0.0)  # the solver's round-off: $0
        rows.append({
            "facility": fac.name,
            "repayment": "bullet" if fac.maturity is not None else f"amortizing over "
                         f"{fac.amortization_quarters} quarters",
            "rate": f"{format_percent(QUARTERS_PER_YEAR * fac.rate_quarterly[0], 2)} "
                    f"{'floating' if fac.floating else 'fixed'}",
            **_maturity_words(data, fac, balance),
            "size_usd": fac.size_usd,
            "opening_usd": fac.opening_usd,
            "quarter_end_peak_usd": float(balance.max()),
            **{f"end_{labels[t]}_usd": float(balance[t]) for t in ends},
        })  # fmt: skip
    balances = ["opening_usd", "quarter_end_peak_usd", *(f"end_{labels[t]}_usd" for t in ends)]
    columns = [*DEBT_TERMS, "size_usd", *balances]
    return pd.DataFrame(rows, columns=columns)


# debt_frame's columns of words
DEBT_TERMS = ("facility", "repayment", "rate", "maturity", "at_maturity")
AMORTIZING = "none: each draw amortizes"  # an amortizing facility's maturity: no one date


def _maturity_words(data: ModelData, fac, balance: np.ndarray) -> dict[str, str]:
    """A facility's ``maturity`` and ``at_maturity`` for :func:`debt_frame` (``balance``: its
    statements' balance at each quarter's end)."""
    if fac.maturity is None:  # amortizing: each draw over its own quarters; said is when it is paid off
        owed = np.flatnonzero(balance > TOLERANCE_USD)
        if balance[-1] > TOLERANCE_USD:
            return {"maturity": AMORTIZING, "at_maturity": "outstanding at the horizon's end"}
        if not owed.size and fac.opening_usd <= TOLERANCE_USD:
            return {"maturity": AMORTIZING, "at_maturity": "never drawn"}
        last = owed[-1] + 1 if owed.size else 0  # its opening balance repaid in the first quarter
        paid = f"paid off in {data.quarter_labels[last]} (instalments and any prepayments)"
        return {"maturity": AMORTIZING, "at_maturity": paid}
    quarter = quarter_label(parse_quarter(data.quarter_labels[0]) + fac.maturity)
    if fac.maturity >= data.T:
        return {"maturity": quarter, "at_maturity": "after the horizon"}
    if fac.refinanced:
        spread = format_percent(fac.refinance_spread_annual, 2)
        then = f"refinanced at reference + {spread} (assumed available)"
        return {"maturity": quarter, "at_maturity": then}
    return {"maturity": quarter, "at_maturity": "repaid"}


def gpus_by_generation(data: ModelData, plan: Plan) -> pd.DataFrame:
    """GPUs held by generation (columns) per quarter (rows)."""
    out = pd.DataFrame(0.0, index=data.quarter_labels, columns=list(GENERATIONS))
    held = plan.held
    for c in data.cohorts:
        out[GENERATIONS[data.sku_generation[c.sku]]] += held[c.index]
    return out


def horizon_totals(lines: dict) -> dict[str, float]:
    """Revenue (and of it, the contracts'), GPU and power capex over the horizon, USD, from a plan's
    statement lines."""
    return {
        "revenue_total_usd": float(lines["revenue_usd"].sum()),
        "revenue_contracts_total_usd": float(lines["revenue_contracts_usd"].sum()),
        "capex_gpu_total_usd": float(lines["capex_gpu_usd"].sum()),
        "capex_power_total_usd": float(lines["capex_power_usd"].sum()),
    }


# (share, covenant name) of lowest_cushion, their names in a solve's figures, and what the share is
Cushion = tuple[float | None, str | None]
CUSHION_FIGURES = ("lowest_covenant_cushion", "tightest_covenant")
CUSHION_MEANS = "the smallest fall of EBITDA, collateral or cash that breaches a covenant"


def revenue_words(fig: dict, contracts: bool = True) -> str:
    """'$247.2B (41% under contract)': a plan's revenue over the horizon and the share of it its
    contracts earn (the rest the market's, whose volume and price the contracts do not hold); of a
    model with no ``contracts`` (a lab's own demand) the revenue alone, not '(0% under contract)'."""
    total, contracted = fig["revenue_total_usd"], fig["revenue_contracts_total_usd"]
    share = f" ({_percent_of(contracted / total)} under contract)" if total > 0 and contracts else ""
    return format_usd(total) + share


def revenue_by_customer(data: ModelData, lines: dict, quarters: slice = slice(None)) -> dict[str, float]:
    """USD each customer's contracts earn over the horizon, or its ``quarters`` (the statements'
    ``revenue_contract_<name>_usd`` summed by customer), largest first; a customer whose contracts
    earn nothing there (none taken) is left out."""
    out: dict[str, float] = {}
    for con in data.contracts:
        earned = float(lines[f"revenue_contract_{con.name}_usd"][quarters].sum())
        out[con.customer] = out.get(con.customer, 0.0) + earned
    return dict(sorted(((c, usd) for c, usd in out.items() if usd > 0.0), key=lambda item: -item[1]))


FIRST_YEAR = slice(0, QUARTERS_PER_YEAR)  # the horizon's first four quarters (fewer in a shorter horizon)


def customer_figures(data: ModelData, lines: dict) -> dict:
    """A plan's ``revenue_by_customer_usd`` (:func:`revenue_by_customer`), the largest customer's
    share of all revenue over the horizon (``largest_customer_revenue_share``), and the customer
    largest in the horizon's first year with its share of that year's revenue
    (``largest_customer_first_year``, ``largest_customer_first_year_share``), where a concentrated
    book shows before contracts run off or market revenue dilutes it (None: no contract revenue
    there)."""
    by_customer = revenue_by_customer(data, lines)
    first_name, first_share = _largest(revenue_by_customer(data, lines, FIRST_YEAR), lines, FIRST_YEAR)
    below, year = _largest_non_investment_grade_share(data, lines)
    return {
        "revenue_by_customer_usd": by_customer,
        "largest_customer_revenue_share": _largest(by_customer, lines, slice(None))[1],
        "largest_customer_first_year": first_name,
        "largest_customer_first_year_share": first_share,
        "largest_non_investment_grade_year_share": below,
        "largest_non_investment_grade_year": year,
    }


def _largest_non_investment_grade_share(data: ModelData, lines: dict) -> tuple[float | None, str | None]:
    """The largest share of a horizon year's contract revenue that customers below investment grade
    (or unrated) earn, and that year ('2027Q3..2028Q2'): what the §5.12 limit
    ``limits.max_non_investment_grade_share_per_year`` caps. (None, None): no contract revenue."""
    best: tuple[float | None, str | None] = (None, None)
    for year in horizon_years(data.T):
        by_customer = revenue_by_customer(data, lines, slice(year.start, year.stop))
        total = sum(by_customer.values())
        if total <= 0:
            continue
        share = sum(usd for name, usd in by_customer.items() if name in data.non_investment_grade) / total
        if best[0] is None or share > best[0]:
            best = (share, span_label(data.quarter_labels, year))
    return best


def _largest(by_customer: dict[str, float], lines: dict, quarters: slice) -> tuple[str | None, float | None]:
    """The customer first in ``by_customer`` (:func:`revenue_by_customer` over ``quarters``: the
    largest), and its share of all the revenue of those quarters."""
    total = float(lines["revenue_usd"][quarters].sum())
    if not by_customer or total <= 0:
        return None, None
    name = next(iter(by_customer))
    return name, by_customer[name] / total


# the horizon's sums, as the terminal and the report name them: nominal, unlike the NPVs beside them
def contract_rows(data: ModelData, fig: dict) -> list[tuple[str, str]]:
    """The contracts a plan accepts and declines, a row each (none for a model without contracts: a
    lab planning its own demand, whose rows of "none" would say nothing)."""
    if not data.contracts:
        return []
    return [("contracts accepted", ", ".join(fig["contracts_accepted"]) or "none"),
            ("contracts declined", ", ".join(fig["contracts_declined"]) or "none")]  # fmt: skip


CAPEX_LABEL = "capex over the horizon, undiscounted (GPUs / power)"
PEAK_DEBT_FORECAST_LABEL = "peak debt on the forecast (at a quarter's end)"  # compare's and the report's
# npv_limited_cvar5_usd: compare's, the report's
NPV_LIMITED_CVAR5_LABEL = f"{CVAR5_NPV_LABEL} with limited liability"
REVENUE_LABEL = "revenue over the horizon, undiscounted"
# what customer_words lists, as the terminal and the report name it
CUSTOMERS_LABEL = ("contract revenue by customer, share of all revenue over the horizon (credit rating, "
                   "default probability a year in the scenarios)")


def customer_words(data: ModelData, fig: dict) -> str:
    """'enterprise-b 27% (unrated, 3.9%/yr), lab-a 19% (unrated, 3.9%/yr); in the first year
    (2026Q3..2027Q2) lab-a 33%; limit 67% each over the horizon': each customer's share of the
    horizon's revenue, largest first, with its credit rating (``risk.customer_ratings``; "unrated"
    where the model's default hazard applies to it) and its default probability a year where the
    scenarios default it; the customer largest in the first year and its share of that year's
    revenue; the model's limits (formulation §5.12) where it sets them. 'none' without contract
    revenue."""
    total = fig["revenue_total_usd"]
    if not fig["revenue_by_customer_usd"] or total <= 0:
        return "none"
    parts = [f"{name} {_percent_of(usd / total)}{_credit_words(data, name)}"
             for name, usd in fig["revenue_by_customer_usd"].items()]  # fmt: skip
    first, share = fig.get("largest_customer_first_year"), fig.get("largest_customer_first_year_share")
    if first is not None and FIRST_YEAR.stop < data.T:
        year = span_label(data.quarter_labels, range(FIRST_YEAR.stop))
        parts[-1] += f"; in the first year ({year}) {first} {_percent_of(share)}"
    if data.max_customer_share < 1.0:
        parts[-1] += f"; limit {format_rate(data.max_customer_share)} each over the horizon"
    if data.max_customer_share_per_year < 1.0:
        parts[-1] += f"; limit {format_rate(data.max_customer_share_per_year)} each in any year"
    below = fig.get("largest_non_investment_grade_year_share")  # not in a run before 0.4.18
    if data.max_non_investment_grade_share_per_year < 1.0 and below is not None:
        parts[-1] += (f"; below investment grade or unrated at most {_percent_of(below)} of a year's "
                      f"contract revenue ({fig['largest_non_investment_grade_year']}), limit "
                      f"{format_rate(data.max_non_investment_grade_share_per_year)}")
    return ", ".join(parts)


def _credit_words(data: ModelData, customer: str) -> str:
    """' (B, 4.4%/yr)': a customer's rating where the model gives one ("unrated" where its hazard is
    the model's default one) and its default probability a year (1 - (1 - hazard per quarter)^4)
    where it is positive; '' where it is 0 and the customer has no rating."""
    hazard = dict(zip(data.customers, data.customer_hazard, strict=True)).get(customer, 0.0)
    risk = data.risk
    rating = risk.customer_ratings.get(customer)
    if rating is None and hazard > 0 and customer not in risk.customer_hazard_overrides:
        rating = "unrated"
    said = [rating] if rating else []
    if hazard > 0:
        yearly = default_probability(float(hazard), 4)
        said.append(_yearly_words(yearly))
    return f" ({', '.join(said)})" if said else ""


def _yearly_words(yearly: float) -> str:
    """A default probability a year to two significant figures under 1 % (AAA's 0.07% and AA's 0.14%
    are not both '0.1%'), one decimal above it."""
    if yearly < 0.00005:
        return "<0.01%/yr"
    return f"{format_percent(yearly, 2)}/yr" if yearly < 0.01 else f"{format_percent(yearly)}/yr"


def _percent_of(share: float) -> str:
    """A share as a whole percentage; '<1%' for one that rounds to 0 % but is not nothing."""
    return "<1%" if 0 < share < 0.005 else format_percent(share, 0)


def contracted_by_year(data: ModelData, st: Statements) -> str:
    """The share of each calendar year's revenue its contracts earn, in words: "2026 (Q3-Q4) 92%,
    2027 88%, ..." (a year's quarters in the horizon only, named as the GPUs bought's columns name
    them, so a part year does not read as a whole; a year without revenue is left out; a sliver,
    <1%, as a customer's share is written): the run-off of the contracts behind a plan's debt,
    which the horizon's total hides."""
    years: dict[str, list[float]] = {}
    for t, label in enumerate(data.quarter_labels):
        total = years.setdefault(calendar_year(label), [0.0, 0.0])
        total[0] += st.lines["revenue_contracts_usd"][t]
        total[1] += st.lines["revenue_usd"][t]
    shares = {year: contracted / revenue for year, (contracted, revenue) in years.items() if revenue > 0}
    columns = _year_columns(data)
    return ", ".join(f"{columns[year]} {_percent_of(share)}" for year, share in shares.items())


def lowest_cushion(data: ModelData, headroom: dict[str, float | str | None]) -> Cushion:
    """(share, covenant name): the smallest fall of a quantity a covenant protects (EBITDA, the
    GPUs' resale value, cash), all else equal, in the covenant's tightest quarter, that breaches it
    (:meth:`CovenantTest.cushion` of each covenant's :func:`covenant_headroom`; 0: on a limit,
    negative: breached), and which covenant it is; (None, None) where no covenant has a share. One
    measure for every covenant: their headrooms' own bases differ (1 - ratio / limit against a
    maximum, ratio / limit - 1 against a minimum), so the lowest of those can name the wrong one."""
    shares = [(share, name) for name, share in covenant_cushions(data, headroom).items()
              if isinstance(share, float)]  # fmt: skip
    return min(shares, default=(None, None))


# a covenant's figure by its name: a share, a phrase where there is nothing to test, None (no threshold)
CovenantFigures = dict[str, float | str | None]


def covenant_cushions(data: ModelData, headroom: CovenantFigures) -> CovenantFigures:
    """Each covenant's :meth:`CovenantTest.cushion` share by name, from its :func:`covenant_headroom`
    (a phrase or None there stays as it is): the share the quantity it protects may fall in its
    tightest quarter before a breach, one measure for every covenant (-inf: that quantity at or
    below zero)."""
    out: CovenantFigures = {}
    for test in data.covenants:
        room = headroom.get(test.kind.name)
        out[test.kind.name] = test.cushion(room)[1] if isinstance(room, float) else room
    return out


def first_tested_quarter(data: ModelData) -> str | None:
    """The first quarter covenants are tested in (finance.covenants.test_from); None if none is."""
    tested = np.flatnonzero(data.covenant_tested)
    return data.quarter_labels[tested[0]] if len(tested) else None


def covenant_headroom(data: ModelData, st: Statements, window: int | None = None) -> CovenantFigures:
    """Lowest headroom of each covenant over the tested quarters, by covenant name: a share (0.10 =
    10 % from breaching); a phrase where no tested quarter has the quantity the test needs (``not
    tested: no debt service``, :meth:`CovenantTest.idle`); None for a zero threshold (no share of
    it exists). docs/formulation.md, "What a solve writes". ``window``: the quarters of EBITDA, debt
    service and interest the tests average (None: the model's; 4: the trailing year most
    facilities test, for a model that tests each quarter's own)."""
    quantities = statement_quantities(st.lines, data.covenant_window if window is None else window)
    return {test.kind.name: _headroom(test, quantities) for test in data.covenants}


# a covenant's headroom on the trailing year's averages (covenant_headroom's figure) and the label of
# the tested quarter it is tightest in (None: none)
TrailingYear = tuple[float | str | None, str | None]


def trailing_year_headroom(data: ModelData, st: Statements) -> dict[str, TrailingYear]:
    """For a model that tests each quarter's own flows (``ebitda_period: quarter``), each covenant's
    headroom on the trailing four quarters' averages, which most facilities test, and the quarter
    it is tightest in; {} for a model that already averages them."""
    if data.covenant_window != 1:
        return {}
    quantities = statement_quantities(st.lines, 4)
    out = {}
    for test in data.covenants:
        t = test.tightest_quarter(test.kind.ratio(quantities))
        out[test.kind.name] = (_headroom(test, quantities), None if t is None else data.quarter_labels[t])
    return out


def lowest_trailing_cushion(data: ModelData, yearly: dict[str, TrailingYear]) -> float | None:
    """The lowest covenant cushion (:func:`lowest_cushion`'s share) were the covenants tested on the
    trailing four quarters' averages (``yearly``: :func:`trailing_year_headroom`'s, those on EBITDA,
    debt service or interest averaged, those on cash, debt or collateral as they are); None for a
    model that tests the averages already: a plan "within its limits" on quarterly flows may breach
    on the basis most facilities test (the sweep's pick: 8.2 % short)."""
    rooms = {name: room for name, (room, _) in yearly.items()}
    return lowest_cushion(data, rooms)[0] if rooms else None


def lowest_quarter(cash: np.ndarray) -> int:
    """The quarter (index) of the lowest cash: the first within $1 of it, so that quarters on one floor
    (a plan held at its minimum cash for seven quarters) are not told apart by round-off, and the
    terminal and the report, reading the MILP's and the forecast run's statements, name one."""
    cash = np.asarray(cash, dtype=np.float64)
    return int(np.flatnonzero(cash <= cash.min() + TOLERANCE_USD)[0])


# what any_default_probability counts, in the words "In short" and a sweep's pick give it
ANY_DEFAULT_MEANS = "(a liquidity default or an uncured covenant breach, as lenders count defaults)"
ANY_DEFAULT_WORDS = f"any default {ANY_DEFAULT_MEANS}"


def risk_in_short(
    label: str, n: int, row, forecast_npv: float | None = None, served: str | None = None,
    quarters: int | None = None,
) -> list[str]:
    """A plan's value and risk over ``n`` scenarios in two sentences ("In short" of the reports and
    of `fleetopt evaluate`), from its metrics ``row`` (metrics.csv's names; a mapping): its mean NPV
    (against ``forecast_npv`` where given: a report's, which runs the plan on the forecast for its
    statements; an evaluation simulates the scenarios only), CVaR5 and share with a negative NPV;
    its liquidity default, covenant breach and uncured breach probabilities, and either default's,
    the lenders' count (those an older run lacks left out): the terminal's, a notebook's and a
    report's, of a cost plan too (its NPV values the GPUs' own use at market prices, which each says
    beside it: cost_plans_note).
    ``served``: the sentence of the demand a cost plan serves (evaluate.metrics.demand_in_short), said
    before its risk, whose share of futures short of demand the sampling error then counts.
    ``quarters``: the horizon's, over which each probability is counted (a credit reader took a
    share of futures for a yearly rate where none was said; None: not said)."""
    against = "" if forecast_npv is None else f" against {format_usd(forecast_npv)} on the forecast"
    loss = (f"; {format_percent(float(row['loss_probability']))} end with a negative NPV"
            if "loss_probability" in row else "")
    uncured = row.get("uncured_breach_probability")  # not in a run written before fleetopt 0.4.11
    cure = ", one the owners could not cure (an event of default) in "
    event = "" if uncured is None else f"{cure}{format_percent(uncured)}"
    either = row.get("any_default_probability")  # not in a run written before fleetopt 0.4.14
    if either is not None:
        event += f"; {ANY_DEFAULT_WORDS} in {format_percent(either)}"
    said = [
        f"{label}: mean NPV {format_usd(float(row['npv_mean_usd']))} over {counted(n, 'future')}{against}; "
        f"the worst 5 % average {format_usd(float(row['npv_cvar5_usd']))}{_limited_tail(row)}{loss}.",
        f"{_over_the_horizon(quarters)} in {format_percent(float(row['default_probability']))} of the "
        f"futures, a covenant breach in {format_percent(float(row['breach_probability']))}{event}.",
    ]  # fmt: skip
    said = said[:1] + ([served] if served else []) + said[1:]
    sampling = sampling_in_short(n, row, shortfall=served is not None)
    return said + sampling + slip_in_short(row) + survival_in_short(row)


def _over_the_horizon(quarters: int | None) -> str:
    """The opening of the sentence of the default and breach probabilities, with the horizon they
    are counted over where it is known."""
    if quarters is None:
        return "A liquidity default"
    return f"Over {horizon_words(quarters)}, a liquidity default"


def horizon_words(quarters: int) -> str:
    """"the horizon's 28 quarters": what the NPVs and the probabilities of default and breach are
    counted over (a reader asked over how long a 17.7 % default probability was)."""
    return f"the horizon's {counted(quarters, 'quarter')}"


def basis_words(quarters: int, *rates_annual: float, figures: tuple[str, ...] = ("npv",)) -> str:
    """"over the horizon's 28 quarters (NPV: equity cash flows and terminal equity at 15% a year,
    USD)": what a run's or a comparison's figures are counted over and at what rate they discount.
    ``figures``: the objectives whose figures are said (milp/build.OBJECTIVES: "npv", :func:`npv_words`;
    "cost", a cost solve's present cost, :func:`present_cost_basis_words`), each in its own words
    (a cost solve's listed present cost was said to be an equity NPV); none: the horizon alone."""
    said = "; ".join(_FIGURE_BASIS[figure](*rates_annual) for figure in figures)
    return f"over {horizon_words(quarters)}" + (f" ({said})" if said else "")


def solve_figures(objective: str) -> tuple[str, ...]:
    """:func:`basis_words`'s ``figures`` of a solve's figures: a cost solve's present cost, then the
    NPV that values its GPUs' use at market prices; else the NPV alone."""
    return ("cost", "npv") if objective == "cost" else ("npv",)


def npv_words(*rates_annual: float) -> str:
    """'NPV: equity cash flows and terminal equity at 15% a year, USD': which NPV a table reads (the
    quarters' flows and the equity left at the end, formulation §6: "equity cash flows" alone read as
    the first only); of two models with different rates (a what-if), '... at 15% and 20% a year, USD'."""
    return f"NPV: equity cash flows and terminal equity at {_rates_words(rates_annual)} a year, USD"


def present_cost_basis_words(*rates_annual: float) -> str:
    """'present cost: the fleet at the start and the quarters' costs less the value at the end at 10% a
    year, USD': what a cost solve's present cost counts and discounts (formulation §6, "Cost")."""
    return (f"present cost: the fleet at the start and the quarters' costs less the value at the end at "
            f"{_rates_words(rates_annual)} a year, USD")


def _rates_words(rates_annual) -> str:
    """'15%', or '15% and 20%' (a what-if's two models)."""
    return " and ".join(map(format_rate, rates_annual))


# the words of basis_words's figures, by the objective that gives them (milp/build.OBJECTIVES)
_FIGURE_BASIS = {"npv": npv_words, "cost": present_cost_basis_words}


def _limited_tail(row) -> str:
    """The worst 5 % to the shareholders, with limited liability, beside the CVaR5 that counts a
    defaulted future's hole as theirs (a finance reader took -$20B for equity at risk)."""
    limited = row.get("npv_limited_cvar5_usd")  # not in a run written before fleetopt 0.4.7
    if limited is None or not np.isfinite(float(limited)):
        return ""
    return (f", counting a defaulted future's shortfall as the owners' loss ({format_usd(float(limited))} "
            "to shareholders with limited liability)")  # fmt: skip


# the probabilities "In short" states (with the shares of slip_in_short and survival_in_short), whose
# sampling error it gives
IN_SHORT_PROBABILITIES = ("loss_probability", "default_probability", "breach_probability",
                          "uncured_breach_probability", "any_default_probability")  # fmt: skip


def sampling_in_short(n: int, row, shortfall: bool = False) -> list[str]:
    """How far sampling ``n`` futures may move the figures of "In short": one standard error of the
    mean NPV and the largest of its probabilities' and shares' (:func:`probability_error`: every
    share it states, P(NPV < 0) and the policy's reactions too, so that "at most" holds for each);
    none with one future. ``shortfall``: whether it states the share of futures short of demand
    (evaluate.metrics.demand_in_short)."""
    se = float(row.get("npv_mean_se_usd", float("nan")))
    stated = (*IN_SHORT_PROBABILITIES, *(["shortfall_probability"] if shortfall else []), "slipped_share",
              *SURVIVAL_WORDS)
    errors = [probability_error(float(row[c]), n) for c in stated if c in row]
    largest = max((e for e in errors if np.isfinite(e)), default=float("nan"))
    if not (np.isfinite(se) and np.isfinite(largest)):
        return []
    return [f"Sampling error, one standard error over {counted(n, 'future')}: {format_usd(se)} on the mean "
            f"NPV, at most {format_difference(largest, 'share').lstrip('+')} on each probability."]


# what the policy does to get through a future, in a sentence's words, by its metrics column (the
# share of the futures in which it did it: docs/evaluation.md, "What the policy did")
SURVIVAL_WORDS = {
    "deferred_share": "defer an order",
    "order_cancelled_share": "cancel an order (its deposit lost)",
    "sold_share": "sell GPUs in distress",
    "prepayment_cut_share": "cut a planned debt prepayment",
    "rescheduled_share": "start a contract late",
    "cancelled_share": "lose a contract (cancelled)",
}


def slip_in_short(row) -> list[str]:
    """Where the model's futures slip deliveries (metrics.csv's `slipped_share`, written only where
    `risk.delivery_slip` is on): the share of the futures in which GPUs the plan bought arrive late,
    a risk the plan met, not a reaction of its policy."""
    share = row.get("slipped_share")
    if share is None or not np.isfinite(float(share)):
        return []
    late = "GPUs it bought arrived late (risk.delivery_slip)"
    return [f"{late} in {format_percent(float(share))} of the futures."]


def survival_in_short(row) -> list[str]:
    """What the plan's policy had to do in the futures, most often first ("In short", after its risk:
    a finance reader met it some thirty tiles down): 'Its policy had to defer an order in 74.1 % of
    the futures, cancel an order (its deposit lost) in 67.2 %, ...' (not "to get through them": a
    plan may default all the same); none
    where it did nothing (the open loop) or the run has no such columns."""
    shares = [(float(row[c]), words) for c, words in SURVIVAL_WORDS.items() if c in row]
    done = sorted([(p, words) for p, words in shares if p > 0], key=lambda x: -x[0])
    if not done:
        return []
    first, *rest = [f"{words} in {format_percent(p)}" for p, words in done]
    return [f"Its policy had to {first} of the futures" + "".join(f", {x}" for x in rest) + "."]


# a what-if: the model tests each quarter's own flows, and a breach there is no breach of its covenant
TRAILING_WHAT_IF = "if tested on the trailing four quarters' averages (the model tests each quarter's own)"


def trailing_year_words(test: CovenantTest, yearly: dict[str, TrailingYear]) -> str | None:
    """How far a covenant on flows is from a breach on the trailing year (:func:`trailing_year_headroom`),
    in words, with its tightest quarter; None where there is no such figure (a covenant on cash or
    debt alone, or none tested)."""
    year, quarter = yearly.get(test.kind.name, (None, None))
    if not isinstance(year, float) or not test.kind.on_flows:
        return None
    return f"{TRAILING_WHAT_IF}, {test.cushion_words(year)}, tightest in {quarter}"


# GPUs retired this soon after their purchase were bought to be sold at resale: a planner is told
SOON_RETIRED_QUARTERS = 4
# cohorts named in that note; the rest counted
SOON_RETIRED_LISTED = 4
SOON_RETIRED_LABEL = "bought and retired within a year (sold at resale)"


def soon_retired(data: ModelData, plan: Plan, st: Statements | None = None) -> str | None:
    """The GPUs bought in the horizon and retired within :data:`SOON_RETIRED_QUARTERS` of their
    purchase, in words: "10,485 GPUs (1.4% of those bought): 6,869 of GB300@texas bought 2026Q3
    retired in 2026Q4; ...";
    None where none (half a GPU or less). Whole blocks bought where fewer GPUs are wanted, and a
    planner's fixed purchases that later ones leave no power for, are paid for and sold at resale
    this way: the solver's only room, which no status shows. With the plan's statements ``st``,
    each names the covenants met with no room while those GPUs were held ("held through 2027Q1,
    when EBITDA / debt service was met with no room"): a quarter of their revenue may be what meets
    a binding covenant, at the price of their loss on resale."""
    q, retire = data.quarter_labels, plan.retire
    tight = _met_without_room(data, st) if st is not None else [()] * data.T
    parts: list[tuple[float, str]] = []
    for co in (co for co in data.cohorts if co.is_purchase):
        window = retire[co.index, co.bought : co.bought + SOON_RETIRED_QUARTERS]
        name = f"{data.sku_names[co.sku]}@{data.sites[co.site].name} bought {q[co.bought]}"
        parts += [(window[d], f"{window[d]:,.0f} of {name} retired in {q[co.bought + d]}"
                   f"{_held_when_tight(q, tight, co.bought, co.bought + d)}")
                  for d in np.flatnonzero(window > 0.5)]  # fmt: skip
    if not parts:
        return None
    parts.sort(key=lambda part: -part[0])
    listed = [words for _, words in parts[:SOON_RETIRED_LISTED]]
    if len(parts) > SOON_RETIRED_LISTED:  # the GPUs, not the count of retirements ("1 more" read as one GPU)
        rest = parts[SOON_RETIRED_LISTED:]
        listed.append(f"{sum(n for n, _ in rest):,.0f} more in {len(rest)} other "
                      f"{'retirement' if len(rest) == 1 else 'retirements'}")  # fmt: skip
    total = sum(n for n, _ in parts)  # of GPUs bought, so gpus_bought > 0
    share = format_percent(total / gpus_bought(data, plan))
    return f"{total:,.0f} GPUs ({share} of those bought): " + "; ".join(listed)


def _met_without_room(data: ModelData, st: Statements) -> list[tuple[str, ...]]:
    """Per quarter, the labels of the covenants the statements meet with no room there
    (:meth:`CovenantTest.met_without_room`)."""
    quantities = statement_quantities(st.lines, data.covenant_window)
    out: list[tuple[str, ...]] = [()] * data.T
    for test in data.covenants:
        if test.threshold and not test.idle(quantities):
            label = "the borrowing base" if test.kind.facility_test else test.kind.label
            for t in np.flatnonzero(test.met_without_room(test.kind.ratio(quantities))):
                out[t] = (*out[t], label)
    return out


def _held_when_tight(q: list[str], tight: list[tuple[str, ...]], bought: int, retired: int) -> str:
    """' (held through 2027Q1, when EBITDA / debt service was met with no room)': the covenants met
    with no room in the quarters GPUs bought in ``bought`` were held before their retirement at the
    start of ``retired``; '' where none."""
    quarters: dict[str, list[str]] = {}
    for t in range(bought, retired):
        for label in tight[t]:
            quarters.setdefault(label, []).append(q[t])
    if not quarters:
        return ""
    through = q[bought] if retired - bought == 1 else f"{q[bought]}..{q[retired - 1]}"
    if len(quarters) == 1 and (label := next(iter(quarters))) and len(quarters[label]) == retired - bought:
        return f" (held through {through}, when {label} was met with no room)"
    when = listed([f"{label} ({', '.join(qs)})" for label, qs in quarters.items()])
    verb = "was" if len(quarters) == 1 else "were"
    return f" (held through {through}, when {when} {verb} met with no room)"


def untested_breaches(data: ModelData, st: Statements) -> str | None:
    """The quarters before a covenant is first tested (``finance.covenants.test_from``: a grace the
    model assumes) whose statements would breach it, in words: "EBITDA / debt service 0.94x in
    2026Q3 and 1.396x in 2026Q4 (minimum 1.4x)"; None where there are none. A reader of "no
    breach on the forecast" must see them. The borrowing base, tested in every quarter, has none."""
    # before test_from, where the test would apply (a tied test: where its facility can owe)
    return _breach_words(data, st, lambda test: ~data.covenant_tested & test.could_apply)


def tested_breaches(data: ModelData, st: Statements) -> str | None:
    """The tested quarters whose statements breach a ratio covenant, in :func:`untested_breaches`'
    words; None where there are none. A MILP plan meets its rows, so these come only where a row is
    a relaxation of the statements' test (the DSCR on EBITDA less tax with tax losses carried
    forward, formulation §5.11)."""
    return _breach_words(data, st, lambda test: test.tested)


def _breach_words(data: ModelData, st: Statements, where) -> str | None:
    """The ratio covenants the statements breach in the quarters ``where(test)`` ((T,) bool), in words."""
    quantities = statement_quantities(st.lines, data.covenant_window)
    parts = []
    for test in data.covenants:
        kind = test.kind
        if kind.facility_test or kind.denominator is None:
            continue
        ratio = kind.ratio(quantities)
        missed = np.flatnonzero(test.breached(quantities) & where(test))
        if not missed.size:
            continue
        quarters = " and ".join(
            f"{ratio_words(kind, ratio[t], test.threshold)} in {data.quarter_labels[t]}" for t in missed
        )
        parts.append(f"{kind.label} {quarters} ({limit_words(test)})")
    return "; ".join(parts) or None


def covenant_headroom_text(data, fig: dict, yearly: dict | None = None) -> str:
    """Each covenant in its tightest quarter: how far the quantity it protects may fall before a
    breach (CovenantTest.cushion), the lowest cash of a USD floor, or why there is nothing to test
    (no debt service, no debt: CovenantTest.idle); beside a covenant on flows, its cushion on the
    trailing year where the model tests each quarter's own (``yearly``: trailing_year_headroom)."""
    parts = []
    for test in data.covenants:
        room = fig["covenant_headroom"].get(test.kind.name)
        # the borrowing base is tested in every quarter, whatever covenants.test_from says
        every = " (every quarter)" if test.kind.facility_test else ""
        if room is None:
            continue
        if isinstance(room, str):  # nothing to test: "not tested: no debt service"
            parts.append(f"{test.describe()}{every}: {room}")
            continue
        # the one a smaller fall of what it protects breaches than any other (core/results.lowest_cushion)
        tightest = " (the tightest)" if fig.get("tightest_covenant") == test.kind.name else ""
        if test.kind.denominator is None:  # a floor in USD: the lowest tested amount says more
            tested = "" if test.tested.all() else " in the quarters tested"
            parts.append(f"{test.describe()}: lowest {format_usd(test.tightest(room))}{tested}{tightest}")
            continue
        year = trailing_year_words(test, yearly or {})
        # "; ": after ", " the what-if read as the condition of the quarter's own cushion before it
        parts.append(f"{test.describe()}{every}: {test.cushion_words(room)}{tightest}"
                     + (f"; {year}" if year else ""))  # fmt: skip
    return "\n".join(parts)  # one line per test: a long cell reads as one run-on sentence otherwise


def limit_words(test: CovenantTest) -> str:
    """A covenant ratio's limit in words: "maximum 6x", "minimum 1.4x", "minimum 12.5%" (a share of
    debt); the figure is the one :meth:`CovenantTest.describe` writes (``threshold_words``)."""
    return f"{'maximum' if test.kind.bound == 'max' else 'minimum'} {test.threshold_words}"


def ratio_words(kind, value: float, limit: float) -> str:
    """A covenant ratio beside its limit: a share of debt in per cent (:func:`share_words`), else
    1.95x; to three decimals where two would round it onto the limit, up to five where three would
    too (1.396 is no "1.40x" beside 1.4x, 1.39996 no "1.400x": 1.39996x; ``decimals_apart``); a
    solver's round-off, 1.4 less 1e-9, stays 1.400x."""
    if kind.numerator == "cash":
        return share_words(value, limit)
    two = format_times(value)
    return format_times(value, decimals_apart(value, limit, 3, most=5)) if two == format_times(limit) else two


def share_words(value: float, limit: float) -> str:
    """A covenant's share beside its limit in per cent: whole, or to the hundredth of a per cent where
    a whole one would round it onto the limit, up to the ten-thousandth where that would too (9.6 %
    is no "10%" beside 10 %, but 9.60%; 9.9999 % no "10.00%"; a solver's round-off stays 10.00%);
    rounded half up (:func:`format_percent`)."""
    whole = format_percent(value, 0)
    if whole != format_percent(limit, 0):
        return whole
    return format_percent(value, decimals_apart(value, limit, 2, -2, most=4))


def _headroom(test, quantities: dict) -> float | str | None:
    idle = test.idle(quantities) if test.threshold else None
    return idle or test.headroom(test.kind.ratio(quantities))


DSCR = next(kind for kind in CATALOGUE if kind.name == "dscr")


def market_revenue_of(lines: dict) -> np.ndarray:
    """Each quarter's market revenue, training and inference (USD): under the cost objective the
    value of the GPUs' own use, which no one pays, so a lab's real cash is its cash less the sum of
    it to date (formulation §5.10, as the MILP's ``imputed_revenue``)."""
    return lines["revenue_training_market_usd"] + lines["revenue_inference_market_usd"]


def shocked_cash(
    data: ModelData, plan: Plan, st: Statements, robustness: Robustness | None = None, objective: str = "npv"
) -> list[dict]:
    """The plan's statements under each shock of ``robustness`` (default: the model's block), recomputed
    without the solver: per case the lowest cash (USD) and its quarter, and the lowest DSCR over the
    covenant quarters. Income lost is market revenue times the price drop plus, per case, one
    customer's contract revenue; the tax falls with it. A lost customer's contracts never start, so
    the cash lost also holds their payments: the prepayment and its unwinding (docs/formulation.md
    §5.13). Under the cost ``objective`` the cash is a lab's real cash, as its budget row holds it:
    less the market revenue to date, of which the price drop takes a share that was never cash."""
    robustness = robustness or data.robustness
    customers = list(data.customers) if robustness and robustness.lose_any_customer else []
    if robustness is None or (robustness.market_price_drop == 0 and not customers):
        return []
    lines = st.lines
    market = market_revenue_of(lines)
    pretax = (
        lines["ebitda_usd"]
        - lines["depreciation_gpu_usd"]
        - lines["depreciation_power_usd"]
        + lines["gain_on_disposal_usd"]
        - lines["interest_usd"]
    )
    dscr_test = covenant_test(data, DSCR.name)
    dscr = dscr_kind(data)  # on the model's cash flow (dscr_cash_flow)
    tested = data.covenant_tested if dscr_test is None else dscr_test.tested  # tied: lapses with its facility
    out = []
    for case in customers or [None]:
        lost = robustness.market_price_drop * market
        payments = np.zeros(data.T)
        for k, con in enumerate(data.contracts):
            if con.customer == case:
                lost = lost + lines[f"revenue_contract_{con.name}_usd"]
                payments = payments + plan.accepted[k] * data.contract_payments.live[k]
        tax = taxes(pretax - lost, data.tax_rate, data.tax_loss_carry_forward, data.opening_tax_losses)
        cash = lines["cash_usd"] - np.cumsum(lost + payments - lines["tax_usd"] + tax)
        if objective == "cost":
            cash = cash - (1.0 - robustness.market_price_drop) * np.cumsum(market)
        # the covenant's own quantities: EBITDA (less the tax, on the shocked income) and debt service
        # over its window (trailing or not)
        shocked = {**lines, "ebitda_usd": lines["ebitda_usd"] - lost, "tax_usd": tax}
        q = statement_quantities(shocked, data.covenant_window)
        lowest = dscr.ratio(q)[tested]  # as the covenant reads it: inf where no debt service is due
        t = lowest_quarter(cash)
        drop = robustness.market_price_drop  # as the user gave it: 0.125 is -12.5%, not -12%
        shocks = [f"market prices -{format_rate(drop)}"] if drop else []
        out.append(
            {
                "case": ", ".join([*([f"{case} lost"] if case else []), *shocks]),
                "lowest_cash_usd": float(cash[t]),
                "quarter": data.quarter_labels[t],
                "lowest_dscr": float(lowest.min()) if np.isfinite(lowest).any() else None,
            }
        )
    return out


NPV_QUARTERS_LABEL = "  of which the quarters' cash flows (present value)"
NPV_TERMINAL_LABEL = "  of which at the end (present value)"


def npv_terminal_arithmetic(fig: dict) -> str:
    """How a :func:`headline`'s terminal part of the NPV is made (formulation §6): '0.376 (the last
    quarter's discount factor) x (GPUs at resale and power plant at book $6.56B + tax saved by
    selling them below book $301.4M (all of the last quarter's own tax, the most a loss can save) -
    debt $10.25B)', the parenthesis where the loss's tax is capped at that quarter's (§5.10); a gain's
    tax is '- tax on the gain of their sale' (no tax: '- tax on their sale $0'), and prepayments not
    yet earned, where there are any, are subtracted by name."""
    tax, debt = fig["liquidation_tax_usd"], fig["debt_end_usd"]
    # a loss saves tax: added, not a negative subtracted
    taxed = f"- tax on the gain of their sale {format_usd(tax)}"
    if tax == 0:  # no gain, or a loss the last quarter had no taxable income to deduct it from
        taxed = "- tax on their sale $0"
    elif tax < 0:
        taxed = f"+ tax saved by selling them below book {format_usd(-tax)}"
        if -tax >= fig["tax_last_quarter_usd"] - TOLERANCE_USD:  # the cap of §5.10 binds
            taxed += " (all of the last quarter's own tax, the most a loss can save)"
    unearned = fig["owed_end_usd"] - debt
    owed = f"- debt {format_usd(debt)}" + (
        f" - prepayments not yet earned {format_usd(unearned)}" if unearned > 0.5 else ""
    )
    return (
        f"{fig['terminal_discount_factor']:.3f} (the last quarter's discount factor) x (GPUs at resale and "
        f"power plant at book {format_usd(fig['terminal_assets_usd'])} {taxed} {owed})"
    )


def npv_terminal_words(fig: dict) -> str:
    """The terminal part of the NPV and its arithmetic: '-$1.28B = 0.376 (...) x (...)'."""
    return f"{format_usd(fig['npv_terminal_usd'])} = {npv_terminal_arithmetic(fig)}"


CASH_HELD_LABEL = "NPV with cash held to the end"


def cash_timing_words(fig: dict, whose_npv: str = "of the NPV") -> str:
    """How much of the NPV the timing of its cash makes: the NPV counts each quarter's change in
    cash as paid to equity then, which no treasurer does with cash built up to pay notes later
    (formulation §6). ``whose_npv`` names the NPV it is part of where another is shown beside it."""
    return (f"the NPV counts each quarter's change in cash as paid out then; "
            f"{format_usd(fig['cash_timing_credit_usd'])} {whose_npv} comes from that timing: formulation §6")


# the same plan's NPV at the model's rate less and plus this many points a year (a sensitivity of
# the valuation, not of the plan: a plan solved at another rate is another plan)
RATE_STEP = 0.05
OTHER_RATES_LABEL = "NPV at other discount rates (this plan)"


def npv_at_rate(data: ModelData, st: Statements, rate_annual: float) -> float:
    """The plan's NPV with its equity cash flows and terminal equity discounted at ``rate_annual``
    instead of the model's rate, USD: sum_t flow_t (1 + r)^-(t+1)/4 + the same factor of the last
    quarter x the terminal equity (``npv_terminal_usd`` / DF_{T-1}): the formula of §6 at r."""
    factors = discount_factors(rate_annual, data.T)
    terminal_equity = st.npv_terminal_usd / data.discount[-1]
    return float(np.dot(st.lines["equity_cash_flow_usd"], factors) + factors[-1] * terminal_equity)


def npv_at_other_rates(data: ModelData, st: Statements) -> dict[str, float]:
    """The plan's NPV at the model's rate less and plus :data:`RATE_STEP` (not below 0), keyed by
    the rate in percent, to four significant digits ("10%", "20%"; "7.5%" at a model rate of 12.5 %)."""
    rate = data.discount_rate_annual
    rates = sorted({max(0.0, rate - RATE_STEP), rate + RATE_STEP})
    return {format_rate(r): npv_at_rate(data, st, r) for r in rates}


def other_rates_words(fig: dict) -> str:
    """'$24.1B at 10% a year, $14.9B at 20%' (n/a for a run written before the figure existed)."""
    other = fig.get("npv_at_other_rates_usd")
    if not other:
        return "n/a (a run written before fleetopt 0.4.10)"
    parts = [f"{format_usd(v)} at {k}" for k, v in other.items()]
    return " a year, ".join(parts) + " a year"


def cash_held_words(fig: dict) -> str:
    """The NPV with the cash kept to the end, and :func:`cash_timing_words`."""
    return f"{format_usd(fig['npv_cash_held_usd'])} ({cash_timing_words(fig)})"


def worst_shock(fig: dict) -> dict | None:
    """The case of ``headline(...)["shocked"]`` with the lowest cash, or None without shocks."""
    return min(fig["shocked"], key=lambda case: case["lowest_cash_usd"], default=None)


def present_cost_parts(data: ModelData, st: Statements) -> tuple[float, float, float]:
    """The cost objective's three parts (formulation §6, "Cost"), USD: the installed fleet's value
    at the start (:func:`~fleetopt.core.economics.opening_fleet_value`), the quarters' costs
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


def shocked_cash_label(cost: bool) -> str:
    """What :func:`worst_shock`'s cash is: a cost plan's is its real cash (:func:`shocked_cash`)."""
    return f"{WITHOUT_MARKET_REVENUE if cost else 'lowest cash'} under robustness shocks"


def cost_plans_note(plans: list[str] | int) -> str:
    """What the figures of plans solved for least cost count (``plans``: their labels, or the
    number of plans of a run, all of them solved so)."""
    if isinstance(plans, int):
        which = "The plan was" if plans == 1 else "The plans were"
    else:
        which = f"{', '.join(plans)} {'was' if len(plans) == 1 else 'were'}"
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


def gpus_bought(data: ModelData, plan: Plan) -> float:
    """GPUs the plan buys over the horizon (its blocks times each SKU's block size)."""
    return float((plan.buy_blocks.sum(axis=1) * data.block_size[:, None]).sum())


# a solve for NPV that buys nothing: why, and how a planner sees what a purchase would cost it
WHY_NOTHING_BOUGHT = (
    "at the forecast's prices, costs, power and financing no purchase raises the NPV; to see what "
    "one would cost, fix it with --purchases (docs/cli.md, \"Your own purchases\") and compare the two "
    "runs' NPV"
)
NOTHING_BOUGHT = f"none: {WHY_NOTHING_BOUGHT}"


def bought_nothing(data: ModelData, plan: Plan, objective_kind: str) -> bool:
    """Whether a solve for NPV buys no GPU: said (:data:`NOTHING_BOUGHT`), not left to a table of
    zeros. A cost solve buys what the demand needs, and says what it costs."""
    return objective_kind != "cost" and gpus_bought(data, plan) < 0.5


# what power_built_mw sums (power_built_mw_by_site by site), as the terminal, compare and the report name it
POWER_BUILT_LABEL = "power built (expansion blocks)"


def power_built_mw_by_site(data: ModelData, plan: Plan) -> list[float]:
    """MW of expansion blocks the plan builds over the horizon at each site, in the model's order."""
    return [float(plan.build_blocks[i].sum() * site.block_mw) for i, site in enumerate(data.sites)]


def power_built_mw(data: ModelData, plan: Plan) -> float:
    """MW of expansion blocks the plan builds over the horizon."""
    return sum(power_built_mw_by_site(data, plan))


def cash_timing_credit(data: ModelData, equity_flows: np.ndarray) -> float:
    """What the NPV gains by counting each quarter's change in cash as paid to equity that quarter
    rather than kept until the horizon's end: sum_t (cash_t - cash_t-1) (DF_t - DF_T-1), USD
    (docs/formulation.md §6; a plan that borrows to hold cash is credited with the difference)."""
    return float(np.dot(equity_flows, data.discount - data.discount[-1]))


# the quarters of debt service a quarter's cash is held against: the next year's (a lender's runway)
RUNWAY_QUARTERS = QUARTERS_PER_YEAR


# the liquidity cover's label, as the terminal and the report name it
LIQUIDITY_COVER_LABEL = ("lowest cover of the next year's debt payments by cash in hand (cash at a quarter's "
                         "end / interest and principal due in the four quarters after it; not a covenant: "
                         "below 1x the year's payments need the year's earnings or new debt)")


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


def dscr_name(data: ModelData) -> str:
    """'DSCR', or 'DSCR ((EBITDA - tax) / debt service)' for a model that tests it on EBITDA less tax
    (``finance.covenants.dscr_cash_flow``)."""
    kind = dscr_kind(data)
    return "DSCR" if kind.numerator == DSCR.numerator else f"DSCR ({kind.label})"


def dscr_kind(data: ModelData) -> CovenantKind:
    """The DSCR as the model tests it: on its ``dscr_cash_flow``."""
    return data.covenant_kinds[CATALOGUE.index(DSCR)]


def dscr_words(fig: dict) -> str:
    """The lowest DSCR, '1.42x', or why there is none (no quarter it covers owes debt service)."""
    return NONE_MEANS["min_dscr"] if fig["min_dscr"] is None else format_times(fig["min_dscr"])


def _cover_and_label(data: ModelData, lines: dict) -> tuple[float | None, str | None]:
    # the cash due: a bullet repaid at maturity too (it is not the DSCR's debt service)
    cover, t = liquidity_cover(lines["cash_usd"], lines["interest_usd"] + lines["principal_usd"])
    return cover, None if t is None else data.quarter_labels[t]


def liquidity_cover(cash: np.ndarray, debt_service: np.ndarray) -> tuple[float | None, int | None]:
    """The lowest cover of the next year's debt payments by cash: min over quarters t with
    RUNWAY_QUARTERS quarters after them in the horizon of cash_t / (interest and scheduled
    principal of t+1..t+4, bullets repaid at maturity included), and
    that t; (None, None) where no such quarter owes any debt service. Operating cash flow is left
    out: the cash in hand, as a lender's liquidity test reads it (from a finance review)."""
    T, covers = len(cash), []
    for t in range(T - RUNWAY_QUARTERS):
        owed = float(debt_service[t + 1 : t + 1 + RUNWAY_QUARTERS].sum())
        if owed > 0:
            covers.append((float(cash[t]) / owed, t))
    return min(covers) if covers else (None, None)


def covenant_test(data: ModelData, kind: str) -> CovenantTest | None:
    """The model's test of covenant ``kind`` (a CovenantKind name); None where it has none."""
    return next((t for t in data.covenants if t.kind.name == kind), None)


def quarters_tested(data: ModelData, kind: str) -> np.ndarray:
    """(T,) bool: the quarters the model tests covenant ``kind`` (a CovenantKind name) in, where it
    has that test (a test tied to a facility lapses with it: none where it never owes then); else
    those of the covenants block (from ``test_from``), or every quarter without one."""
    test = covenant_test(data, kind)
    if test is not None:
        return test.tested
    return data.covenant_tested if data.covenant_tested.any() else np.ones(data.T, dtype=bool)


def tested_from(data: ModelData, kind: str | None = None) -> str:
    """' (quarters tested, from 2027Q1)': the quarters the covenant figures cover (``kind``: those of
    that covenant, which a test tied to a facility ends with it), or ''."""
    if kind is None:
        first = first_tested_quarter(data)
    else:
        tested = np.flatnonzero(quarters_tested(data, kind))
        if not tested.size:
            return " (never tested)"
        first, last = data.quarter_labels[tested[0]], data.quarter_labels[tested[-1]]
        if tested[-1] < data.T - 1:  # a test that lapses with its facility
            return f" (quarters tested, {first} to {last})"
    return "" if first in (None, data.quarter_labels[0]) else f" (quarters tested, from {first})"


def _highest(values: np.ndarray) -> float | None:
    """The largest of ``values``; None where there are none (a test never tested)."""
    return float(values.max()) if values.size else None


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
