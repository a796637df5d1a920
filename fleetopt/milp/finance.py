"""Money in the MILP: debt, borrowing base, tax and cash, covenants, the `robustness` shocks,
concentration, objective.

MUSD throughout, with the debt schedules of :class:`fleetopt.core.economics.debt.Financing`
(the statements and the evaluator roll the same schedules forward); docs/formulation.md §5.9-5.13 and §6 state
the constraints and objectives.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.covenants import CovenantTest
from fleetopt.core.quarters import horizon_years, per_quarter, span_label
from fleetopt.milp import covenants
from fleetopt.milp.builder import Builder
from fleetopt.milp.covenants import ROBUSTNESS, debt_at
from fleetopt.milp.groups import ConstraintGroup, Slack
from fleetopt.milp.operations import (
    add_late_power,
    contract_payments,
    contract_revenue,
    deferred_revenue_end,
    held,
)
from fleetopt.milp.units import to_model_units

# ----------------------------------------------------------------------------- debt (§5.9)


def draw(b: Builder, f: int, t: int):
    """d_{f,t}, 0 outside the facility's draw window."""
    return b.m.draw[f, t] if (f, t) in b.m.DRAW else 0.0


def prev_balance(b: Builder, f: int, t: int):
    """D_{f,t-1}: facility ``f``'s balance at the start of quarter ``t`` (MUSD)."""
    return b.m.balance[f, t - 1] if t > 0 else b.coef.opening_balance[f]


def prev_cash(b: Builder, t: int):
    """C_{t-1}: cash at the start of quarter ``t`` (MUSD)."""
    return b.m.cash[t - 1] if t > 0 else b.coef.opening_cash


def equity_npv(m: pyo.ConcreteModel, discount: np.ndarray, opening_cash: float, owed_end) -> pyo.Expression:
    """The NPV of equity of §6 (MUSD): sum_t DF_t (C_t - C_{t-1}) + DF_{T-1} (terminal assets
    - (X^E - X_{T-1}) - owed_end), the liquidation tax X^E - X_{T-1}, C_{-1} the opening cash and
    ``owed_end`` everything owed at the end. The forecast objective and
    each scenario of the stochastic MILP read it (the evaluator's is
    ``core.economics.statements.npv_parts``)."""
    T = len(discount)
    flows = sum(discount[t] * (m.cash[t] - (m.cash[t - 1] if t > 0 else opening_cash)) for t in range(T))
    return flows + discount[-1] * (m.terminal_assets - m.liquidation_tax - owed_end)


def draw_quarters(b: Builder, f: int) -> list[int]:
    return [t for (g, t) in b.ix.draw if g == f]


def scheduled_principal_rule(b: Builder, f: int, t: int):
    r"""S_{f,t} = SO_{f,t} + \sum_τ d_{f,τ} SD_{f,τ,t}."""
    shares = b.coef.financing.draw_principal
    return b.coef.opening_principal[f, t] + sum(
        b.m.draw[f, tau] * shares[f, tau, t] for tau in draw_quarters(b, f) if shares[f, tau, t]
    )


def interest_rule(b: Builder, t: int):
    r"""Int_t = \sum_f r_{f,t} D_{f,t-1} (plus the scenario parameter rate_shift / 4 in the quarters a
    facility's rate floats: a floating facility's, or a refinanced bullet's after its maturity; and
    the scenario parameter spread_shift / 4 in a refinanced bullet's quarters after its maturity)."""
    return sum(_scenario_rate(b, f, t) * prev_balance(b, f, t) for f in range(len(b.data.facilities)))


def _scenario_rate(b: Builder, f: int, t: int):
    """Facility ``f``'s quarterly rate in quarter ``t`` with the scenario's shifts where they apply."""
    fin = b.coef.financing
    rate = fin.rate_quarterly[f, t]
    rate = rate + per_quarter(b.m.rate_shift[t]) if fin.floating[f, t] else rate
    return rate + per_quarter(b.m.spread_shift[t]) if fin.refinanced[f, t] else rate


def debt_balance_rule(b: Builder, f: int, t: int):
    r"""D_{f,t} = D_{f,t-1} + d_{f,t} - S_{f,t} - p_{f,t}."""
    m = b.m
    return (
        m.balance[f, t]
        == prev_balance(b, f, t) + draw(b, f, t) - m.scheduled_principal[f, t] - m.prepay[f, t]
    )


def instalment_cover_rule(b: Builder, f: int, t: int):
    r"""S_{f,t} <= D_{f,t-1}: the instalments due in t are paid from the balance owed at its start,
    not from a draw of t (which bears no interest before t + 1): without it a plan prepays the whole
    balance and then draws each later instalment in its own quarter, a loop that pays early the
    instalments a prepayment may not shorten (§5.9) and saves their interest."""
    return b.m.scheduled_principal[f, t] <= prev_balance(b, f, t)


def instalment_quarters(b: Builder) -> list[tuple[int, int]]:
    """(f, t), t >= 1, where facility ``f`` may have an instalment due (from its opening balance or
    a draw before ``t``): the rows of `instalment_cover` (in t = 0 both sides are data)."""
    shares, opening = b.coef.financing.draw_principal, b.coef.opening_principal
    return [
        (f, t)
        for f in range(len(b.data.facilities))
        for t in range(1, b.data.T)
        if opening[f, t] > 0.0 or any(shares[f, tau, t] for tau in draw_quarters(b, f) if tau < t)
    ]


def net_same_quarter_draws(draw_principal: np.ndarray, draws: np.ndarray, prepay: np.ndarray) -> None:
    r"""Tie-break among equal plans (in place, USD, one facility: ``draw_principal`` (T, T) its
    SD_{τ,t}, ``draws`` and ``prepay`` (T,)): no quarter both draws and prepays.

    A draw d_τ and a prepayment p_τ of the same quarter tie with the net draw: the balances, cash and
    NPV are the same, but the draw's instalments follow the gross draw, so debt service and draws
    read high and DSCR headroom low. Quarter by quarter from the first, with the prepayment already
    raised by the instalments moved into it, m = min(d_τ, p_τ) is taken off both, and the
    instalments m SD_{τ,t} the smaller draw no longer schedules are prepaid instead in each later
    quarter t: D_t, the cash flows d_t - S_t - p_t and the NPV are unchanged, S_t and the draws
    only fall (so every constraint still holds; DSCR has more room). E.g. amortizing over 4
    quarters, d = 1,652,000 and p = 152,000 in quarter 1, p = 87,000 in quarters 2-3 become d =
    1,500,000 in quarter 1 and p = 87,000 + 152,000 / 4 = 125,000 in quarters 2-3."""
    moved = np.zeros(len(draws))
    for tau in range(len(draws)):
        prepay[tau] += moved[tau]
        netted = min(draws[tau], prepay[tau])
        if netted > 0.0:
            draws[tau] -= netted
            prepay[tau] -= netted
            moved[tau + 1 :] += netted * draw_principal[tau, tau + 1 :]


def facility_size_rule(b: Builder, f: int):
    r"""\sum_t d_{f,t} <= Z_f - B^0_f."""
    return sum(b.m.draw[f, t] for t in draw_quarters(b, f)) <= b.m.facility_limit[f]


def borrowing_base_rule(b: Builder, t: int):
    r"""\sum_{f: λ_f} D_{f,t} / λ_f <= κ_t \sum_c R_{c,t} h_{c,t} (κ_t the stress parameter
    collateral_scale, 1 on the forecast)."""
    m, facilities = b.m, b.data.facilities
    secured = [f for f, fac in enumerate(facilities) if fac.max_ltv is not None]
    needed = sum(m.balance[f, t] * facilities[f].collateral_weight for f in secured)
    fleet = sum(float(b.coef.resale_gross[c, t]) * held(b, c, t) for c in b.ix.cohorts_by_t[t])
    return needed <= m.collateral_scale[t] * fleet + b.slack(t)


# ----------------------------------------------------------------------------- cash (§5.10)


def pretax(b: Builder, t: int, case: str | None = None):
    """EBT_t = EBITDA_t - Dep_t + Gain_t - Int_t, less the income ``case`` loses (§5.13)."""
    m = b.m
    ebitda = m.ebitda[t] if case is None else m.ebitda[t] - m.stress_lost[case, t]
    return ebitda - m.depreciation[t] + m.gain[t] - m.interest[t]


def _pool(b: Builder, var, t: int, *case):
    """The tax losses carried into quarter ``t + 1`` (before the first quarter: those carried into
    the horizon, ``finance.opening_tax_losses_usd``)."""
    return var[(*case, t)] if t >= 0 else to_model_units(b.data.opening_tax_losses)


def taxable(b: Builder, t: int, case: str | None = None):
    """Taxable income: EBT_t (less the income ``case`` loses); with loss carry-forward, less the
    losses carried in plus those carried out, EBT_t - U_{t-1} + U_t."""
    income = pretax(b, t, case)
    if not b.data.tax_loss_carry_forward:
        return income
    pool, key = (b.m.loss_pool, ()) if case is None else (b.m.stress_loss_pool, (case,))
    return income - _pool(b, pool, t - 1, *key) + pool[(*key, t)]


def tax_floor_rule(b: Builder, t: int):
    r"""X_t >= τ_x EBT_t; with loss carry-forward X_t >= τ_x (EBT_t - U_{t-1} + U_t), U the losses
    carried forward (taxable income: this quarter's, less the losses used, plus any new loss)."""
    return b.m.tax[t] >= b.data.tax_rate * taxable(b, t)


def taxable_income_rule(b: Builder, t: int):
    r"""EBT_t - U_{t-1} + U_t >= 0: taxable income is never negative (a loss is carried forward in U)."""
    return taxable(b, t) >= 0.0


def liquidation_gain(b: Builder):
    r"""G = \sum_c (TV_c κ^{te}_c - BV^{end}_c) h_{c,T-1}: the fleet's net realisable value at the
    end less its book value (negative: a loss), were it sold then (power plant: at book, no gain)."""
    end = b.data.T - 1
    return sum(
        (terminal_gpu_value(b, c) - b.coef.terminal_book[c]) * held(b, c, end)
        for c in b.ix.cohorts_by_t[end]
    )


def terminal_gpu_value(b: Builder, c: int):
    r"""TV_c κ^{te}_c: what a GPU of cohort ``c`` held at the end is worth (§6's terminal value, times
    the scenario parameter terminal_resale_scale, 1 on the forecast)."""
    return b.coef.terminal_value[c] * b.m.terminal_resale_scale[c]


def liquidation_taxable(b: Builder, t: int):
    """Taxable income of the last quarter ``t`` had the fleet been sold at its end: ``taxable``
    with the gain G added and the losses carried out of it U^E (with loss carry-forward)."""
    m = b.m
    income = pretax(b, t) + m.liquidation_gain
    if not b.data.tax_loss_carry_forward:
        return income
    return income - _pool(b, m.loss_pool, t - 1) + m.terminal_loss_pool


def liquidation_tax_floor_rule(b: Builder, t: int):
    r"""X^E >= τ_x (EBT_{T-1} + G - U_{T-2} + U^E) (without loss carry-forward X^E >= τ_x (EBT_{T-1} + G)):
    the last quarter's tax had the fleet been sold at its end; the terminal value deducts X^E - X_{T-1}."""
    return b.m.terminal_tax >= b.data.tax_rate * liquidation_taxable(b, t)


def liquidation_taxable_income_rule(b: Builder, t: int):
    r"""EBT_{T-1} + G - U_{T-2} + U^E >= 0, as `taxable_income`."""
    return liquidation_taxable(b, t) >= 0.0


def cash_flow_rule(b: Builder, t: int):
    r"""C_t = C_{t-1} + EBITDA_t - X_t - Int_t - Capex_t + Proc_t + \sum_f (d_{f,t} - S_{f,t} - p_{f,t})
    + \sum_k ζ_k Π_{k,t}."""
    m = b.m
    debt_flows = sum(
        draw(b, f, t) - m.scheduled_principal[f, t] - m.prepay[f, t] for f in range(len(b.data.facilities))
    )
    return (
        m.cash[t]
        == prev_cash(b, t) + m.ebitda[t] - m.tax[t] - m.interest[t] - m.capex[t] + m.proceeds[t] + debt_flows
        + contract_payments(b, t)
    )


def imputed_revenue(b: Builder, t: int):
    r"""\sum_{τ<=t} Rev^{mkt}_τ under the cost objective, 0 under the NPV's: the market revenue to date,
    which there values the GPUs' own use, which no one pays (cash less it is a lab's real cash)."""
    return sum(b.m.market_revenue[τ] for τ in range(t + 1)) if b.objective == "cost" else 0.0


def min_cash_rule(b: Builder, t: int):
    r"""C_t >= C^{min} + B; under the cost objective C_t - \sum_{τ<=t} Rev^{mkt}_τ >= C^{min} + B: the
    floor is a lab's budget on its real cash (`imputed_revenue`). B (`min_cash_raise`) is 0 but in
    a sweep's solve planned with a cash buffer (§7a)."""
    return b.m.cash[t] - imputed_revenue(b, t) + b.slack(t) >= b.coef.min_cash + b.m.min_cash_raise


# ----------------------------------------------------------------------------- robustness (§5.13)


def stress_tax_floor_rule(b: Builder, case: str, t: int):
    r"""X^σ_t >= τ_x (EBT_t - L_{σ,t}); with loss carry-forward
    X^σ_t >= τ_x (EBT_t - L_{σ,t} - U^σ_{t-1} + U^σ_t), as in `tax_floor`."""
    return b.m.stress_tax[case, t] >= b.data.tax_rate * taxable(b, t, case)


def stress_taxable_income_rule(b: Builder, case: str, t: int):
    r"""EBT_t - L_{σ,t} - U^σ_{t-1} + U^σ_t >= 0, as `taxable_income`."""
    return taxable(b, t, case) >= 0.0


def stress_gap_flow_rule(b: Builder, case: str, t: int):
    r"""G_{σ,t} = G_{σ,t-1} + L_{σ,t} + \sum_{k in ν} ζ_k Π_{k,t} - X_t + X^σ_t,  G_{σ,-1} = 0: the
    lost customer ν's contracts never start, so neither their revenue nor their prepayments come
    in (a prepayment net of its unwinding: the unearned part, Π summed so far, is never negative),
    and a lower tax than planned gives back part of the income lost (the tax saved)."""
    m = b.m
    previous = m.stress_gap[case, t - 1] if t > 0 else 0.0
    lost_payments = contract_payments(b, t, case) if b.robustness.lose_any_customer else 0.0
    return (
        m.stress_gap[case, t]
        == previous + m.stress_lost[case, t] + lost_payments - m.tax[t] + m.stress_tax[case, t]
    )


def stress_cash_floor(b: Builder, t: int):
    """max(C^min, \\underline L [t >= t^cov]) + B: the cash a shocked plan must keep in ``t``, raised
    by a planned cash buffer B as `min_cash_rule`'s floor is (else the buffer held only unshocked)."""
    floor = b.coef.min_cash
    liquidity = _liquidity_test(b, "floor")
    if liquidity is not None and liquidity.tested[t]:
        floor = max(floor, to_model_units(liquidity.threshold))
    return floor + b.m.min_cash_raise


def _liquidity_test(b: Builder, part: str) -> CovenantTest | None:
    """The model's liquidity test of ``part`` ("floor": USD, "fraction": of debt), if it has one."""
    tests = [test for test in b.data.covenants if test.kind.group == "liquidity_covenant"]
    return next((test for test in tests if test.kind.part == part), None)


def stress_cash_rule(b: Builder, case: str, t: int, part: str | None = None):
    r"""C_t - G_{σ,t} >= max(C^{min}, \underline L [t >= t^{cov}]) + B. Under the cost objective a row
    per ``part``: the "budget" on real cash, C_t - \sum_{τ<=t} (1 - π) Rev^{mkt}_τ - G_{σ,t} >= C^{min} + B
    (real cash less the case's cash lost: the price drop's share of the market revenue, in G_{σ,t},
    was never cash), and the liquidity "floor" on cash as §5.11 reads it, C_t - G_{σ,t} >= \underline L
    + B (t >= t^{cov}). B (`min_cash_raise`, §7a) is 0 but in a solve planned with a cash buffer."""
    m = b.m
    shocked = m.cash[t] - m.stress_gap[case, t] + b.slack(t, case, part or "cash")
    if part is None:
        return shocked >= stress_cash_floor(b, t)
    if part == "floor":
        return shocked >= to_model_units(_liquidity_test(b, "floor").threshold) + m.min_cash_raise
    return shocked - (1.0 - m.stress_price_drop) * imputed_revenue(b, t) >= b.coef.min_cash + m.min_cash_raise


def stress_cash_rows(b: Builder) -> list[tuple]:
    """The keys of `stress_cash`: (case, t); under the cost objective (case, t, "budget") and, where
    a liquidity floor is tested, (case, t, "floor")."""
    cases, quarters = list(b.m.STRESS), range(b.data.T)
    if b.objective != "cost":
        return [(case, t) for case in cases for t in quarters]
    floor = _liquidity_test(b, "floor")
    floored = [] if floor is None or floor.threshold <= 0 else [t for t in quarters if floor.tested[t]]
    return [(case, t, "budget") for case in cases for t in quarters] + [
        (case, t, "floor") for case in cases for t in floored
    ]


def stress_liquidity_rule(b: Builder, case: str, t: int):
    r"""C_t - G_{σ,t} >= ψ \sum_f D_{f,t}  (t >= t^{cov})."""
    m = b.m
    frac = _liquidity_test(b, "fraction").threshold
    return m.cash[t] - m.stress_gap[case, t] + b.slack(t, case, "liquidity") >= frac * debt_at(m, t)


def stress_lost_rule(b: Builder, case: str, t: int):
    r"""L_{σ,t} = π Rev^{mkt}_t + \sum_{k in ν} \bar r_k \sum_{s,i} y_{k,s,i,t}."""
    lost_contracts = sum(
        contract_revenue(b, k, t)
        for k, con in enumerate(b.data.contracts)
        if con.customer == case and con.start <= t <= con.end
    )
    return b.m.stress_price_drop * b.m.market_revenue[t] + lost_contracts


# ----------------------------------------------------------------------------- concentration (§5.12)


def customer_share_rule(b: Builder, name: str):
    r"""\sum_{k in ν} \sum_{t=t^0_k}^{t^1_k} \bar r_k \sum_{s,i} y_{k,s,i,t} <= χ \sum_t Rev_t."""
    data = b.data
    earned = sum(
        contract_revenue(b, k, t)
        for k, con in enumerate(data.contracts)
        if con.customer == name
        for t in range(con.start, con.end + 1)
    )
    total_revenue = sum(b.m.revenue[t] for t in range(data.T))
    return earned <= data.max_customer_share * total_revenue + b.slack(name)


def customer_year_share_rule(b: Builder, name: str, year: int):
    r"""\sum_{k in ν} \sum_{t in Y_y} \bar r_k \sum_{s,i} y_{k,s,i,t} <= χ^{yr} \sum_{t in Y_y} Rev_t, Y_y the
    quarters of the horizon's year y."""
    data = b.data
    quarters = horizon_years(data.T)[year]
    earned = sum(
        contract_revenue(b, k, t)
        for k, con in enumerate(data.contracts)
        if con.customer == name
        for t in quarters
        if con.start <= t <= con.end
    )
    year_revenue = sum(b.m.revenue[t] for t in quarters)
    return earned <= data.max_customer_share_per_year * year_revenue + b.slack(name, year)


def non_investment_grade_share_rule(b: Builder, year: int):
    r"""\sum_{k: ν_k \in N} \sum_{t \in Y_y} \bar r_k \sum_{s,i} y_{k,s,i,t} <= χ^{N} \sum_k \sum_{t \in Y_y}
    \bar r_k \sum_{s,i} y_{k,s,i,t}, N the customers below investment grade (or unrated), Y_y the quarters
    of the horizon's year y."""
    data = b.data
    quarters = horizon_years(data.T)[year]
    below, total = 0.0, 0.0
    for k, con in enumerate(data.contracts):
        earned = sum(contract_revenue(b, k, t) for t in quarters if con.start <= t <= con.end)
        total = total + earned
        below = below + earned if con.customer in data.non_investment_grade else below
    limit = data.max_non_investment_grade_share_per_year
    return below <= limit * total + b.slack(year)


def _customer(data, key) -> tuple[str, None]:
    return f"customer {key[0]}", None


def _year(data, key) -> tuple[str, int]:
    """A year's row, labelled with the year's quarters, dated by its last."""
    quarters = horizon_years(data.T)[int(key[0])]
    return f"the book in {span_label(data.quarter_labels, quarters)}", quarters[-1]


def _customer_year(data, key) -> tuple[str, int]:
    """A customer's row in a year, labelled with the year's quarters, dated by its last."""
    name, year = key
    quarters = horizon_years(data.T)[year]
    return f"customer {name} in {span_label(data.quarter_labels, quarters)}", quarters[-1]


DEBT_BALANCE = ConstraintGroup("debt_balance", "§5.9", debt_balance_rule)
INSTALMENT_COVER = ConstraintGroup("instalment_cover", "§5.9", instalment_cover_rule)
FACILITY_SIZE = ConstraintGroup("facility_size", "§5.9", facility_size_rule)
BORROWING_BASE = ConstraintGroup(
    "borrowing_base", "§5.9", borrowing_base_rule, Slack("borrowing_base", "MUSD")
)
TAX_FLOOR = ConstraintGroup("tax_floor", "§5.10", tax_floor_rule)
TAXABLE_INCOME = ConstraintGroup("taxable_income", "§5.10", taxable_income_rule)
LIQUIDATION_TAX_FLOOR = ConstraintGroup("liquidation_tax_floor", "§5.10", liquidation_tax_floor_rule)
LIQUIDATION_TAXABLE_INCOME = ConstraintGroup(
    "liquidation_taxable_income", "§5.10", liquidation_taxable_income_rule
)
CASH_FLOW = ConstraintGroup("cash_flow", "§5.10", cash_flow_rule)
MIN_CASH = ConstraintGroup(
    "min_cash", "§5.10", min_cash_rule, Slack("min_cash", "MUSD", words="minimum cash")
)
CUSTOMER_SHARE = ConstraintGroup(
    "customer_share", "§5.12", customer_share_rule,
    Slack("customer_share", "MUSD", _customer, words="customer revenue share"),
)  # fmt: skip
CUSTOMER_YEAR_SHARE = ConstraintGroup(
    "customer_year_share", "§5.12", customer_year_share_rule,
    Slack("customer_year_share", "MUSD", _customer_year, words="customer revenue share per year"),
)  # fmt: skip
NON_INVESTMENT_GRADE_SHARE = ConstraintGroup(
    "non_investment_grade_share", "§5.12", non_investment_grade_share_rule,
    Slack("non_investment_grade_share", "MUSD", _year, words="non-investment-grade revenue share per year"),
)  # fmt: skip
STRESS_TAX_FLOOR = ConstraintGroup("stress_tax_floor", "§5.13", stress_tax_floor_rule)
STRESS_TAXABLE_INCOME = ConstraintGroup("stress_taxable_income", "§5.13", stress_taxable_income_rule)
STRESS_GAP_FLOW = ConstraintGroup("stress_gap_flow", "§5.13", stress_gap_flow_rule)
STRESS_CASH = ConstraintGroup("stress_cash", "§5.13", stress_cash_rule, ROBUSTNESS)
STRESS_LIQUIDITY = ConstraintGroup("stress_liquidity", "§5.13", stress_liquidity_rule, ROBUSTNESS)
GROUPS = (
    DEBT_BALANCE,
    INSTALMENT_COVER,
    FACILITY_SIZE,
    BORROWING_BASE,
    TAX_FLOOR,
    TAXABLE_INCOME,
    LIQUIDATION_TAX_FLOOR,
    LIQUIDATION_TAXABLE_INCOME,
    CASH_FLOW,
    MIN_CASH,
    CUSTOMER_SHARE,
    CUSTOMER_YEAR_SHARE,
    NON_INVESTMENT_GRADE_SHARE,
    STRESS_TAX_FLOOR,
    STRESS_TAXABLE_INCOME,
    STRESS_GAP_FLOW,
    STRESS_CASH,
    STRESS_LIQUIDITY,
)


def add_debt(b: Builder) -> None:
    """Balances, scheduled principal (paid from the balance owed at the quarter's start), interest
    on the opening balance of the quarter, facility sizes, and the borrowing base of secured
    facilities."""
    m, data = b.m, b.data
    b.expression("scheduled_principal", m.F, m.T, rule=scheduled_principal_rule)
    b.expression("interest", m.T, rule=interest_rule)
    b.add(DEBT_BALANCE, m.F, m.T)
    b.add(INSTALMENT_COVER, instalment_quarters(b))
    b.add(FACILITY_SIZE, [f for f in range(len(data.facilities)) if draw_quarters(b, f)])
    if any(fac.max_ltv is not None for fac in data.facilities):
        b.add(BORROWING_BASE, m.T)


def add_cash(b: Builder) -> None:
    """Tax on positive pre-tax income, the tax a sale of the fleet at the end would add (for the NPV
    objective only: the cost objective has no tax in it), the cash roll-forward and the minimum cash.

    The components are declared in the order the solver's columns and rows are numbered in, which
    changes HiGHS's path: this order (the sale's gain and tax first, then the pools, then the rows)
    took the default model's stochastic plan of 10 scenarios 155-168 s, the pools and rows first
    1,289 s, with the same RP but another completion (benchmarks/README.md)."""
    m, last, sale = b.m, [b.data.T - 1], b.objective == "npv"
    carry = b.data.tax_loss_carry_forward
    if sale:
        m.liquidation_gain = pyo.Expression(expr=liquidation_gain(b))
        m.terminal_tax = pyo.Var(domain=pyo.NonNegativeReals)
    if carry:
        m.loss_pool = pyo.Var(m.T, domain=pyo.NonNegativeReals)
        if sale:
            m.terminal_loss_pool = pyo.Var(domain=pyo.NonNegativeReals)
        b.add(TAXABLE_INCOME, m.T)
        if sale:
            b.add(LIQUIDATION_TAXABLE_INCOME, last)
    b.add(TAX_FLOOR, m.T)
    if sale:
        b.add(LIQUIDATION_TAX_FLOOR, last)
        # what the sale adds to the last quarter's tax (negative: a loss saves tax), deducted at the end
        m.liquidation_tax = pyo.Expression(expr=m.terminal_tax - m.tax[b.data.T - 1])
    b.add(CASH_FLOW, b.m.T)
    b.add(MIN_CASH, b.m.T)


def add_robustness(b: Builder) -> None:
    """The plan must also survive the shocks of the ``robustness`` block: power blocks late (see
    ``add_late_power``), market revenue ``stress_price_drop`` lower in every quarter and, per case,
    one customer's contract revenue gone. ``stress_lost`` is the income a case loses in a quarter,
    ``stress_tax`` the tax then due, ``stress_gap`` the cash lost so far; cash less the gap keeps
    the cash floors, and the shocked EBITDA the covenants on EBITDA.
    docs/formulation.md §5.13."""
    stress = b.robustness
    if stress is None:
        return
    if stress.power_delay_quarters:
        add_late_power(b)
    customers = list(b.data.customers) if stress.lose_any_customer else []
    if stress.market_price_drop == 0.0 and not customers:
        return  # no income shock to survive (no price drop, and no customer to lose)
    _add_income_shocks(b, customers or ["market prices"])
    _add_shocked_tests(b)


def _add_income_shocks(b: Builder, cases: list[str]) -> None:
    """The shock cases, the income each loses, and the tax and cash gap that follow."""
    m = b.m
    m.STRESS = pyo.Set(initialize=cases, ordered=True)
    # mutable, so that one built model can be re-solved at several shock sizes (sweep.py)
    m.stress_price_drop = pyo.Param(
        initialize=b.robustness.market_price_drop, mutable=True, within=pyo.UnitInterval
    )
    b.expression("stress_lost", m.STRESS, m.T, rule=stress_lost_rule)
    m.stress_tax = pyo.Var(m.STRESS, m.T, domain=pyo.NonNegativeReals)
    m.stress_gap = pyo.Var(m.STRESS, m.T, domain=pyo.Reals)
    if b.data.tax_loss_carry_forward:
        m.stress_loss_pool = pyo.Var(m.STRESS, m.T, domain=pyo.NonNegativeReals)
        b.add(STRESS_TAXABLE_INCOME, m.STRESS, m.T)
    b.add(STRESS_TAX_FLOOR, m.STRESS, m.T)
    b.add(STRESS_GAP_FLOW, m.STRESS, m.T)


def _add_shocked_tests(b: Builder) -> None:
    """Cash less the gap keeps the cash floors (under the cost objective the budget on real cash:
    `stress_cash_rows`); with ``covenants``, the shocked EBITDA keeps the covenants on EBITDA."""
    m, has_debt = b.m, bool(b.data.facilities)
    b.add(STRESS_CASH, stress_cash_rows(b))
    fraction = _liquidity_test(b, "fraction")
    if fraction is not None and fraction.threshold > 0 and has_debt:
        b.add(STRESS_LIQUIDITY, m.STRESS, [t for t in range(b.data.T) if fraction.tested[t]])
    if b.robustness.covenants:
        covenants.add_shocked_covenants(b)


def add_concentration(b: Builder) -> None:
    """No customer above its share of total revenue over the horizon, nor of any year's."""
    customers = list(b.data.customers)
    if b.data.max_customer_share < 1.0 and customers:
        b.add(CUSTOMER_SHARE, customers)
    if b.data.max_customer_share_per_year < 1.0 and customers:
        years = range(len(horizon_years(b.data.T)))
        b.add(CUSTOMER_YEAR_SHARE, [(name, year) for name in customers for year in years])
    if b.data.max_non_investment_grade_share_per_year < 1.0 and b.data.non_investment_grade:
        b.add(NON_INVESTMENT_GRADE_SHARE, list(range(len(horizon_years(b.data.T)))))


def add_objective(b: Builder) -> None:
    """NPV of equity cash flows plus terminal equity (maximised), or the present cost of
    serving demand (minimised); in diagnosis mode the weighted slacks (minimised). §6."""
    m, data, ix, coef = b.m, b.data, b.ix, b.coef
    T, F = data.T, len(data.facilities)
    df = data.discount
    held_end = sum(terminal_gpu_value(b, c) * held(b, c, T - 1) for c in ix.cohorts_by_t[T - 1])
    terminal_assets = held_end + sum(m.build[i, tau] * coef.power_book_end[i][tau] for (i, tau) in ix.build)
    m.terminal_assets = pyo.Expression(expr=terminal_assets)
    m.deferred_revenue_end = pyo.Expression(expr=deferred_revenue_end(b))  # owed with the debt at the end
    debt_end = sum(m.balance[f, T - 1] for f in range(F)) + m.deferred_revenue_end
    if b.relax:
        m.objective = pyo.Objective(
            expr=sum(b.slacks[idx[0]].weight * m.slack[idx] for idx in m.SLACK), sense=pyo.minimize
        )
    elif b.objective == "npv":
        m.objective = pyo.Objective(
            expr=equity_npv(m, df, b.coef.opening_cash, debt_end) - tie_breaks(b.m, b.data),
            sense=pyo.maximize,
        )
    else:
        # taxes are not a cost the planner chooses: only the tie-breaks keep them on their floor. The
        # fleet held at the start (§6) is a constant, added after the solve (solve.solve): in the
        # objective it would loosen HiGHS's relative gap in the money the plan can change
        m.objective = pyo.Objective(
            expr=sum(
                df[t] * (m.capex[t] - m.proceeds[t] + m.interest[t] - (m.ebitda[t] - m.revenue[t]))
                for t in range(T)
            )
            - df[-1] * terminal_assets
            + tie_breaks(b.m, b.data),
            sense=pyo.minimize,
        )  # fmt: skip


# Weight per MUSD of every quarter's tax in the objective. The last quarter's tax has weights in the
# cash and in the liquidation's tax X^E - X_{T-1} that cancel (§5.10), so this is all that keeps it
# on its floor: it must exceed HiGHS's dual feasibility tolerance (1e-7; at 3.6e-8 a solve left it
# 34,000 MUSD high on the default model, the NPV unchanged, the MILP's last cash far below the
# statements'). The same on every quarter, so it never moves a tax from one quarter to another.
TAX_WEIGHT = 1e-6
# Weight per MUSD of a prepayment in the last quarter, which ties with owing the same at the end
# (§5.9): the default model's optimum otherwise prepaid its whole $10.8B of notes in its last quarter.
LAST_PREPAYMENT_WEIGHT = 1e-6


def tie_breaks(m: pyo.ConcreteModel, data):
    """Tie-breaks (subtracted from the NPV, added to the cost): ``TAX_WEIGHT`` per MUSD of every
    quarter's tax and, with loss carry-forward, one that pays each tax in the last quarter it is due,
    as the cumulative tax rows leave the timing free where no discounting separates the quarters (at
    most 1e-6 more per MUSD, earlier quarters weighing more); ``LAST_PREPAYMENT_WEIGHT`` per MUSD
    prepaid in the last quarter (§5.9)."""
    T = data.T
    weight = [TAX_WEIGHT + (1e-6 * (T - t) / T if data.tax_loss_carry_forward else 0.0) for t in range(T)]
    taxes = sum(w * m.tax[t] for t, w in enumerate(weight))
    return taxes + LAST_PREPAYMENT_WEIGHT * sum(m.prepay[f, T - 1] for f in m.F)
