"""What held a solved plan back: the limits its solution sits on, from the plan's own numbers and the
model's data (the rows of docs/formulation.md §5 at their bound): the market demand it serves, each
site's power, the debt facilities, the covenants and the cash floor, the supplier's allocation and
the customer concentration limits; where none is, that another GPU would not pay for itself."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import NO_ROOM, TOLERANCE_USD
from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.economics.operating import block_price_usd, gpus_of_blocks_by_sku, market_gpus
from fleetopt.core.economics.statements import Statements
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import horizon_years, quarter_runs, span_label
from fleetopt.core.results.cost import market_revenue_of
from fleetopt.core.results.covenant_words import covenants_met_without_room
from fleetopt.core.results.customers import revenue_by_customer
from fleetopt.core.units import format_mw, format_percent, format_rate, format_usd

# the row's name in the terminal's plan table, the report and summary.json's field (PLAN_LIMITS_KEY)
PLAN_LIMITS_LABEL = "what held the plan back (limits reached on the forecast)"


PLAN_LIMITS_KEY = "plan_limits"


# where no limit binds, why the plan buys no more, by what the solve chose freely
NOTHING_BINDS = {
    "npv": "no limit reached: another GPU would lower the NPV (what it would earn does not cover its cost)",
    "cost": "no limit reached but the demand it must serve: another GPU would raise the present cost",
    "fixed": "no limit reached: the purchases were fixed (--purchases), not chosen by the solver",
}  # fmt: skip


def plan_limits(data: ModelData, plan: Plan, st: Statements, objective: str = "npv",
                purchases_fixed: bool = False) -> list[dict]:  # fmt: skip
    """The limits the plan reaches on the forecast, each ``{"limit", "quarters", "words"}`` (the
    quarters' labels where it is at its bound; ``words``: one phrase with units and quarters), and
    ``binding`` (False for a fact beside them: the share of demand served where none of it is met
    in full, the quarters no facility can draw in); the demand's has ``served_share_by_year``. Where
    none binds, a last entry says why the plan buys no more (:data:`NOTHING_BINDS`)."""
    short = _cash_short(data, st, objective)  # read by the debt's entry and the cash floor's
    out = [_demand_limit(data, plan, objective), *_power_limits(data, st),
           *_debt_limits(data, plan, st, short), *_covenant_limits(data, st),
           *_cash_floor_limits(data, st, objective, short),
           *_allocation_limits(data, plan), *_concentration_limits(data, st)]  # fmt: skip
    out = [entry for entry in out if entry is not None]
    # a cost solve serves all demand by its rule: the target it meets, not a limit it ran into
    held = [e for e in out if e["binding"] and not (objective == "cost" and e["limit"] == "market demand")]
    if not held:
        reason = "fixed" if purchases_fixed else objective
        nothing = np.zeros(data.T, dtype=bool)
        out.append(_entry("nothing", nothing, data, NOTHING_BINDS[reason], binding=False))
    return out


def plan_limits_text(limits: list[dict]) -> str:
    """:func:`plan_limits` in words, a line each (the terminal's and the report's)."""
    return "\n".join(entry["words"] for entry in limits)


def quarter_spans(labels: list[str], at: np.ndarray) -> str:
    """The quarters where ``at`` ((T,) bool) holds, runs written as ranges: '2026Q1..2026Q3, 2027Q1'."""
    return ", ".join(labels[a] if a == b else span_label(labels, range(a, b + 1))
                     for a, b in quarter_runs(at))  # fmt: skip


def _entry(limit: str, at: np.ndarray, data: ModelData, words: str, binding: bool = True, **more) -> dict:
    quarters = [data.quarter_labels[t] for t in np.flatnonzero(at)]
    return {"limit": limit, "quarters": quarters, "words": words, "binding": binding, **more}


def _at_most(used: np.ndarray, bound: np.ndarray, absolute: float) -> np.ndarray:
    """(T,) bool: where ``used`` reaches ``bound`` (a positive one) but for a share :data:`NO_ROOM`
    of it or ``absolute`` units, the solver's round-off: a binding row."""
    return (bound > 0) & (used >= bound - np.maximum(NO_ROOM * np.abs(bound), absolute))


def market_supply(data: ModelData, plan: Plan) -> np.ndarray:
    """(2, T) H100-equivalent GPUs the plan offers the market by use: those in service that no
    contract takes, times their throughput (the left side of §5.5's row)."""
    market = market_gpus(data, plan).sum(axis=2)  # (2, S, T), over the sites
    return (data.throughput[:, :, None] * market).sum(axis=1)


def _demand_limit(data: ModelData, plan: Plan, objective: str) -> dict | None:
    """Market demand (§5.5): the share of each horizon year's demand (H100-equivalent GPU-quarters,
    both uses) the plan serves, and the quarters it serves all of a use's demand in."""
    demand = np.asarray(data.demand, dtype=float)
    if demand.sum() <= 0:
        return None
    supply = market_supply(data, plan)
    full = _at_most(supply, demand, 1e-6)  # (2, T)
    served = np.minimum(supply, demand)
    shares = {span_label(data.quarter_labels, year): float(served[:, year].sum() / demand[:, year].sum())
              for year in horizon_years(data.T) if demand[:, year].sum() > 0}  # fmt: skip
    share_words = ", ".join(f"{format_percent(share)} in {year}" for year, share in shares.items())
    uses = [f"{use} {quarter_spans(data.quarter_labels, full[u])}"
            for u, use in enumerate(("training", "inference")) if full[u].any()]  # fmt: skip
    rule = " (the cost objective serves all of it)" if objective == "cost" else ""
    met = f"; all of it{rule}: {'; '.join(uses)}" if uses else "; never all of it in a quarter"
    words = f"market demand served (H100-equivalent GPU-quarters, both uses): {share_words}{met}"
    return _entry("market demand", full.any(axis=0), data, words, binding=bool(uses),
                  served_share_by_year=shares)  # fmt: skip


def _power_limits(data: ModelData, st: Statements) -> list[dict]:
    """Power (§5.6): per site, the quarters the MW its GPUs draw reach the MW online there (its
    capacity and the blocks built)."""
    out = []
    for site in data.sites:
        used, online = st.lines[f"mw_used_{site.name}"], st.lines[f"mw_available_{site.name}"]
        full = _at_most(used, online, 1e-6)
        if full.any():
            most = format_mw(float(online[full].max()))
            words = (f"power at {site.name}: all its MW online in use (up to {most}, blocks built "
                     f"included) in {quarter_spans(data.quarter_labels, full)}")  # fmt: skip
            out.append(_entry(f"power at {site.name}", full, data, words))
    return out


def _debt_limits(data: ModelData, plan: Plan, st: Statements, cash_short: np.ndarray) -> list[dict]:
    """Debt (§5.9): each facility drawn to its size, from the quarter its draws reach it while its
    window is open; and the quarters no facility can draw in (outside every draw window, or each
    drawn to its size), where the plan owes debt in some quarter or its cash is short in one of them
    (``cash_short``, (T,) bool): a plan without debt, with cash to spare where no facility lends, was
    not held back by debt (lab's cost plan)."""
    out, closed = [], np.ones(data.T, dtype=bool)
    for f, fac in enumerate(data.facilities):
        window = np.zeros(data.T, dtype=bool)
        window[list(fac.draw_quarters)] = True
        room = fac.undrawn_usd
        drawn = window & _at_most(np.cumsum(plan.draws[f]), np.full(data.T, room), TOLERANCE_USD)
        closed &= ~window | drawn
        if drawn.any():
            words = (f"debt: {fac.name} drawn to its {format_usd(fac.size_usd)} size in "
                     f"{quarter_spans(data.quarter_labels, drawn)}")  # fmt: skip
            out.append(_entry(f"facility {fac.name}", drawn, data, words))
    owes = bool((st.lines["debt_usd"] > TOLERANCE_USD).any())
    if data.facilities and closed.any() and (owes or (closed & cash_short).any()):
        words = (f"debt: no facility can draw more (each outside its draw window or drawn to its size) in "
                 f"{quarter_spans(data.quarter_labels, closed)}")
        out.append(_entry("no facility can draw", closed, data, words, binding=False))
    return out


def _covenant_limits(data: ModelData, st: Statements) -> list[dict]:
    """Covenants (§5.11) and the borrowing base (§5.9): the tested quarters each is met with no room
    in (``covenant_words.covenants_met_without_room``)."""
    return [_entry(test.kind.label, at, data,
                   f"{test.describe()}: met with no room in {quarter_spans(data.quarter_labels, at)}")
            for test, at in covenants_met_without_room(data, st)]  # fmt: skip


def _cash_floor_limits(data: ModelData, st: Statements, objective: str, on: np.ndarray) -> list[dict]:
    """The cash floor ``finance.min_cash_usd`` (§5.10): the quarters cash is short (``on``,
    :func:`_cash_short`)."""
    if not on.any():
        return []
    what = "cash less the market revenue to date (a lab's budget)" if objective == "cost" else "cash"
    floor = format_usd(data.min_cash)
    words = (f"{what} within a block's price of its {floor} floor (finance.min_cash_usd), "
             f"no cash for another block, in {quarter_spans(data.quarter_labels, on)}")  # fmt: skip
    return [_entry("cash floor", on, data, words)]


def _cash_short(data: ModelData, st: Statements, objective: str) -> np.ndarray:
    """(T,) bool: the quarters cash ends less than the cheapest block on sale above the floor
    (purchases are whole blocks, so the row need not bind to leave no cash for one: tiny's $340 left
    of $4,000 GPUs), or on it; under the cost objective real cash (cash less the market revenue to
    date, which values the GPUs' own use)."""
    cash = st.lines["cash_usd"]
    if objective == "cost":
        cash = cash - np.cumsum(market_revenue_of(st.lines))
    floor = data.min_cash
    return cash - floor < np.maximum(cheapest_block_usd(data), max(NO_ROOM * abs(floor), TOLERANCE_USD))


def cheapest_block_usd(data: ModelData) -> np.ndarray:
    """(T,) USD of the cheapest block of GPUs on sale in each quarter (0 where none is)."""
    cheapest = np.where(data.on_sale, block_price_usd(data), np.inf).min(axis=0, initial=np.inf)
    return np.where(np.isfinite(cheapest), cheapest, 0.0)


def _allocation_limits(data: ModelData, plan: Plan) -> list[dict]:
    """The supplier's allocation (§5.14, ``limits.new_gpus_per_quarter``): the quarters a generation's
    new GPUs bought reach it."""
    bought = gpus_of_blocks_by_sku(data, plan.buy_blocks)  # (S, T) GPUs
    out = []
    for g, generation in enumerate(GENERATIONS):
        allocation = data.new_gpu_allocation[g]
        limited = np.isfinite(allocation)
        if not limited.any():
            continue
        of_generation = bought[data.sku_generation == g].sum(axis=0)
        full = limited & _at_most(of_generation, np.where(limited, allocation, 0.0), 0.5)
        if full.any():
            words = (f"{generation} allocation (limits.new_gpus_per_quarter): all of it bought in "
                     f"{quarter_spans(data.quarter_labels, full)}")  # fmt: skip
            out.append(_entry(f"{generation} allocation", full, data, words))
    return out


def _concentration_limits(data: ModelData, st: Statements) -> list[dict]:
    """Customer concentration (§5.12): each customer at its share of revenue over the horizon or of a
    year's, and customers below investment grade at their share of a year's contract revenue."""
    lines, q, out = st.lines, data.quarter_labels, []
    if data.max_customer_share < 1.0:
        total = float(lines["revenue_usd"].sum())
        for name, usd in revenue_by_customer(data, lines).items():
            if _share_at(usd, total, data.max_customer_share):
                words = (f"customer {name} at its {format_rate(data.max_customer_share)} share of revenue "
                         "over the horizon (limits.max_customer_revenue_share)")  # fmt: skip
                out.append(_entry(f"customer {name}", np.ones(data.T, dtype=bool), data, words))
    for year in horizon_years(data.T):
        quarters, span = slice(year.start, year.stop), span_label(q, year)
        at = np.zeros(data.T, dtype=bool)
        at[quarters] = True
        by_customer = revenue_by_customer(data, lines, quarters)
        if data.max_customer_share_per_year < 1.0:
            total = float(lines["revenue_usd"][quarters].sum())
            out += [_entry(f"customer {name} in {span}", at, data,
                           f"customer {name} at its {format_rate(data.max_customer_share_per_year)} share of "
                           f"revenue in {span} (limits.max_customer_revenue_share_per_year)")
                    for name, usd in by_customer.items()
                    if _share_at(usd, total, data.max_customer_share_per_year)]  # fmt: skip
        below = sum(usd for name, usd in by_customer.items() if name in data.non_investment_grade)
        limit = data.max_non_investment_grade_share_per_year
        if limit < 1.0 and _share_at(below, sum(by_customer.values()), limit):
            words = (f"customers below investment grade or unrated at their {format_rate(limit)} share of "
                     f"contract revenue in {span} (limits.max_non_investment_grade_share_per_year)")
            out.append(_entry(f"below investment grade in {span}", at, data, words))
    return out


def _share_at(usd: float, total: float, limit: float) -> bool:
    """Whether ``usd`` is ``limit``'s share of ``total`` but for round-off (a binding §5.12 row)."""
    return total > 0 and usd > 0 and bool(_at_most(np.array(usd), np.array(limit * total), TOLERANCE_USD))
