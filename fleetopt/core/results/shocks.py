"""A plan's statements under the model's robustness shocks (formulation §5.13), recomputed without the
solver: the lowest cash and DSCR of each case."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import TOLERANCE_USD, statement_quantities
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.economics.taxes import taxes
from fleetopt.core.plan import Plan
from fleetopt.core.results.cost import WITHOUT_MARKET_REVENUE, market_revenue_of
from fleetopt.core.results.covenant_words import DSCR, covenant_test, dscr_kind
from fleetopt.core.units import format_rate
from fleetopt.schema.risk import Robustness


def lowest_quarter(cash: np.ndarray) -> int:
    """The quarter (index) of the lowest cash: the first within $1 of it, so that quarters on one floor
    (a plan held at its minimum cash for seven quarters) are not told apart by round-off, and the
    terminal and the report, reading the MILP's and the forecast run's statements, name one."""
    cash = np.asarray(cash, dtype=np.float64)
    return int(np.flatnonzero(cash <= cash.min() + TOLERANCE_USD)[0])


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


def worst_shock(fig: dict) -> dict | None:
    """The case of ``headline(...)["shocked"]`` with the lowest cash, or None without shocks."""
    return min(fig["shocked"], key=lambda case: case["lowest_cash_usd"], default=None)


def shocked_cash_label(cost: bool) -> str:
    """What :func:`worst_shock`'s cash is: a cost plan's is its real cash (:func:`shocked_cash`)."""
    return f"{WITHOUT_MARKET_REVENUE if cost else 'lowest cash'} under robustness shocks"
