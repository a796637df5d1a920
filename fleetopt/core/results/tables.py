"""Tables of a solved plan: its decisions (plan.csv), the GPUs it buys by generation and year with their
capex, its orders, its debt facilities and its GPUs by generation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetopt.core.covenants import TOLERANCE_USD
from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.economics.operating import gpus_of_blocks, gpus_of_blocks_by_sku
from fleetopt.core.economics.statements import Statements
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import QUARTERS_PER_YEAR, calendar_year, parse_quarter, quarter_label
from fleetopt.core.units import format_percent, format_usd

# the decisions of plan.csv (plan_frame), as fleetopt.core.purchases reads one back
PLAN_DECISIONS = (
    "buy", "buy_gpus", "redeploy", "retire", "in_service", "serve_contract", "contract_accepted",
    "build_power", "draw_debt", "prepay_debt",
)  # fmt: skip


# plan.csv's columns (plan_frame), each one fleetopt.core.purchases reads or checks, or knows as its own
PLAN_CSV_HEADER = ("quarter", "decision", "item", "sku", "site", "use", "value", "unit")


def plan_frame(data: ModelData, plan: Plan) -> pd.DataFrame:
    """Every decision, one row per quarter and item: quarter, decision, item, sku, site, use, value, unit."""
    q = data.quarter_labels
    rows: list[tuple] = []
    gpus = gpus_of_blocks(data, plan.buy_blocks)
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        blocks = plan.buy_blocks[s, i, t]
        sku, site = data.sku_names[s], data.sites[i].name
        rows.append((q[t], "buy", f"{sku}@{site}", sku, site, "", blocks, "blocks"))
        rows.append((q[t], "buy_gpus", f"{sku}@{site}", sku, site, "", gpus[s, i, t], "GPUs"))
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


def year_columns(data: ModelData) -> dict[str, str]:
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
    columns = year_columns(data)
    held = data.model_generations
    table = pd.DataFrame(0.0, index=[GENERATIONS[g] for g in held], columns=list(columns.values()))
    gpus = gpus_of_blocks_by_sku(data, buy_blocks)  # (S, T)
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
    columns = year_columns(data)
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
    all_gpus = gpus_of_blocks(data, buy_blocks)
    purchases = (co for co in data.cohorts if co.is_purchase)
    for co in sorted(purchases, key=lambda co: (co.bought, co.sku, co.site)):
        blocks = buy_blocks[co.sku, co.site, co.bought]
        if blocks > 1e-9:
            gpus = all_gpus[co.sku, co.site, co.bought]
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
