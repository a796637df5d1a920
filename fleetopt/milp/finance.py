"""Money in the MILP: debt, borrowing base, tax and cash, covenants, the `robustness` shocks,
concentration, objective.

MUSD throughout, with the debt schedules of :class:`fleetopt.core.economics.Financing` (the statements
and the evaluator roll the same schedules forward); docs/formulation.md §5.9-5.13 and §6 state
the constraints and objectives.
"""

from __future__ import annotations

import pyomo.environ as pyo

from fleetopt.core import economics as econ
from fleetopt.milp.build import MUSD, Builder, slack_weight
from fleetopt.milp.operations import add_late_power, contract_revenue, market_revenue, revenue


def draw(b: Builder, f: int, t: int):
    return b.m.draw[f, t] if (f, t) in b.m.DRAW else 0.0


def prev_balance(b: Builder, f: int, t: int):
    """Facility ``f``'s balance at the start of quarter ``t`` (MUSD)."""
    return b.m.balance[f, t - 1] if t > 0 else b.data.facilities[f].opening_usd / MUSD


def prev_cash(b: Builder, t: int):
    """Cash at the start of quarter ``t`` (MUSD)."""
    return b.m.cash[t - 1] if t > 0 else b.data.opening_cash / MUSD


def add_debt(b: Builder) -> None:
    """Balances, scheduled principal, interest on the opening balance of the quarter, facility
    sizes, and the borrowing base of secured facilities."""
    m, data, ix = b.m, b.data, b.ix
    F = len(data.facilities)
    fin = econ.Financing.from_data(data, with_revolver=False)
    draws_f = {f: [t for (g, t) in ix.draw if g == f] for f in range(F)}

    def scheduled(f, t):
        return fin.opening_principal[f, t] / MUSD + sum(
            m.draw[f, tau] * fin.draw_principal[f, tau, t]
            for tau in draws_f[f]
            if fin.draw_principal[f, tau, t]
        )

    m.scheduled_principal = pyo.Expression(m.F, m.T, rule=lambda m, f, t: scheduled(f, t))
    m.interest = pyo.Expression(
        m.T, rule=lambda m, t: sum(fin.rate_quarterly[f, t] * prev_balance(b, f, t) for f in range(F))
    )
    m.debt_balance = b.constraint(
        m.F,
        m.T,
        rule=lambda m, f, t: (
            m.balance[f, t]
            == prev_balance(b, f, t) + draw(b, f, t) - m.scheduled_principal[f, t] - m.prepay[f, t]
        ),
    )
    m.facility_size = b.constraint(
        [f for f in range(F) if draws_f[f]],
        rule=lambda m, f: sum(m.draw[f, t] for t in draws_f[f]) <= m.facility_limit[f],
    )
    secured = [f for f, fac in enumerate(data.facilities) if fac.max_ltv is not None]
    if secured:
        m.borrowing_base = b.constraint(
            m.T,
            rule=lambda m, t: (
                sum(m.balance[f, t] / data.facilities[f].max_ltv for f in secured)
                <= sum(
                    data.resale_gross[c, t] / MUSD * (m.held_tr[c, t] + m.held_in[c, t])
                    for c in ix.cohorts_by_t[t]
                )
                + b.slack("borrowing_base", t)
            ),
        )


def add_cash(b: Builder) -> None:
    """Tax on positive pre-tax income, the cash roll-forward and the minimum cash."""
    m, data = b.m, b.data
    F = len(data.facilities)
    m.tax_floor = b.constraint(
        m.T,
        rule=lambda m, t: (
            m.tax[t] >= data.tax_rate * (m.ebitda[t] - m.depreciation[t] + m.gain[t] - m.interest[t])
        ),
    )
    m.cash_flow = b.constraint(
        m.T,
        rule=lambda m, t: (
            m.cash[t]
            == prev_cash(b, t)
            + m.ebitda[t]
            - m.tax[t]
            - m.interest[t]
            - m.capex[t]
            + m.proceeds[t]
            + sum(draw(b, f, t) - m.scheduled_principal[f, t] - m.prepay[f, t] for f in range(F))
        ),
    )
    m.min_cash = b.constraint(
        m.T, rule=lambda m, t: m.cash[t] + b.slack("min_cash", t) >= data.min_cash / MUSD
    )


def covenant_quarters(data) -> tuple[list[int], list[int]]:
    """Quarters the covenants are tested, and those of them in which debt can be outstanding."""
    T = data.T
    cov = data.model.finance.covenants
    tested = [t for t in range(T) if cov is not None and t >= data.model.first_quarter_offset(cov.test_from)]
    # leverage and coverage tests mean nothing in a quarter where no debt can be outstanding
    first_debt = min(
        [0 if fac.opening_usd > 0 else min(fac.draw_quarters, default=T) for fac in data.facilities],
        default=T,
    )
    return tested, [t for t in tested if t >= first_debt]


def add_covenants(b: Builder) -> None:
    """Leverage, debt service coverage and liquidity, each from its test quarter."""
    m, data = b.m, b.data
    T, F = data.T, len(data.facilities)
    cov = data.model.finance.covenants
    tested, debt_tested = covenant_quarters(data)
    total_debt = {t: sum(m.balance[f, t] for f in range(F)) for t in range(T)}
    if cov is not None and cov.max_debt_to_ebitda is not None and F:
        m.leverage_covenant = b.constraint(
            debt_tested,
            rule=lambda m, t: (
                total_debt[t] <= cov.max_debt_to_ebitda * 4.0 * m.ebitda[t] + b.slack("leverage_covenant", t)
            ),
        )
    if cov is not None and cov.min_dscr is not None and F:
        m.dscr_covenant = b.constraint(
            debt_tested,
            rule=lambda m, t: (
                m.ebitda[t] + b.slack("dscr_covenant", t)
                >= cov.min_dscr * (m.interest[t] + sum(m.scheduled_principal[f, t] for f in range(F)))
            ),
        )
    if cov is not None and (
        cov.min_liquidity_usd is not None or cov.min_liquidity_fraction_of_debt is not None
    ):
        floor_usd = (cov.min_liquidity_usd or 0.0) / MUSD
        frac = cov.min_liquidity_fraction_of_debt or 0.0
        m.liquidity_covenant = b.constraint(
            [(t, part) for t in tested for part in ("floor", "fraction")],
            rule=lambda m, t, part: (
                m.cash[t] + b.slack("liquidity_covenant", t, part)
                >= (floor_usd if part == "floor" else frac * total_debt[t])
            ),
        )


def add_robustness(b: Builder) -> None:
    """The plan must also survive the shocks of the ``robustness`` block: power blocks late (see
    ``add_late_power``), market revenue ``stress_price_drop`` lower in every quarter and, per case,
    one customer's contract revenue gone. ``stress_lost`` is the income a case loses in a quarter,
    ``stress_tax`` the tax then due, ``stress_gap`` the cash lost so far; cash less the gap keeps
    the cash floors, and the shocked EBITDA the leverage and DSCR covenants.
    docs/formulation.md §5.13."""
    stress = b.robustness
    if stress is None:
        return
    m, data = b.m, b.data
    T, F = data.T, len(data.facilities)
    if stress.power_delay_quarters:
        add_late_power(b, stress.power_delay_quarters)
    customers = sorted({c.customer for c in data.contracts}) if stress.lose_any_customer else []
    if stress.market_price_drop == 0.0 and not customers:
        return  # no income shock to survive (no price drop, and no customer to lose)
    cases = customers or ["market prices"]
    m.STRESS = pyo.Set(initialize=cases, ordered=True)
    # mutable, so that one built model can be re-solved at several shock sizes (sweep.py)
    m.stress_price_drop = pyo.Param(
        initialize=stress.market_price_drop, mutable=True, within=pyo.UnitInterval
    )

    def lost(case, t):
        lost_contracts = sum(
            contract_revenue(b, k, t)
            for k, con in enumerate(data.contracts)
            if con.customer == case and con.start <= t <= con.end
        )
        return m.stress_price_drop * market_revenue(b, t) + lost_contracts

    m.stress_lost = pyo.Expression(m.STRESS, m.T, rule=lambda m, case, t: lost(case, t))
    m.stress_tax = pyo.Var(m.STRESS, m.T, domain=pyo.NonNegativeReals)
    m.stress_gap = pyo.Var(m.STRESS, m.T, domain=pyo.Reals)
    m.stress_tax_floor = b.constraint(
        m.STRESS,
        m.T,
        rule=lambda m, case, t: (
            m.stress_tax[case, t]
            >= data.tax_rate
            * (m.ebitda[t] - m.stress_lost[case, t] - m.depreciation[t] + m.gain[t] - m.interest[t])
        ),
    )
    # a lower tax than planned gives back part of the income lost (the tax saved)
    m.stress_gap_flow = b.constraint(
        m.STRESS,
        m.T,
        rule=lambda m, case, t: (
            m.stress_gap[case, t]
            == (m.stress_gap[case, t - 1] if t > 0 else 0.0)
            + m.stress_lost[case, t]
            - m.tax[t]
            + m.stress_tax[case, t]
        ),
    )
    cov = data.model.finance.covenants
    tested, debt_tested = covenant_quarters(data)
    floor = {t: data.min_cash / MUSD for t in range(T)}
    if cov is not None and cov.min_liquidity_usd is not None:
        floor = {t: max(v, cov.min_liquidity_usd / MUSD if t in tested else 0.0) for t, v in floor.items()}
    frac = (cov.min_liquidity_fraction_of_debt or 0.0) if cov is not None else 0.0
    total_debt = {t: sum(m.balance[f, t] for f in range(F)) for t in range(T)}
    m.stress_cash = b.constraint(
        m.STRESS,
        m.T,
        rule=lambda m, case, t: (
            m.cash[t] - m.stress_gap[case, t] + b.slack("robustness", t, case, "cash") >= floor[t]
        ),
    )
    if frac > 0 and F:
        m.stress_liquidity = b.constraint(
            m.STRESS,
            tested,
            rule=lambda m, case, t: (
                m.cash[t] - m.stress_gap[case, t] + b.slack("robustness", t, case, "liquidity")
                >= frac * total_debt[t]
            ),
        )
    if not stress.covenants or cov is None or not F:
        return
    if cov.max_debt_to_ebitda is not None:
        m.stress_leverage = b.constraint(
            m.STRESS,
            debt_tested,
            rule=lambda m, case, t: (
                total_debt[t]
                <= cov.max_debt_to_ebitda * 4.0 * (m.ebitda[t] - m.stress_lost[case, t])
                + b.slack("robustness", t, case, "leverage")
            ),
        )
    if cov.min_dscr is not None:
        m.stress_dscr = b.constraint(
            m.STRESS,
            debt_tested,
            rule=lambda m, case, t: (
                m.ebitda[t] - m.stress_lost[case, t] + b.slack("robustness", t, case, "dscr")
                >= cov.min_dscr * (m.interest[t] + sum(m.scheduled_principal[f, t] for f in range(F)))
            ),
        )


def add_concentration(b: Builder) -> None:
    """No customer above its share of total revenue over the horizon."""
    m, data = b.m, b.data
    customers = sorted({c.customer for c in data.contracts})
    if data.max_customer_share < 1.0 and customers:
        total_revenue = sum(revenue(b, t) for t in range(data.T))
        m.customer_share = b.constraint(
            customers,
            rule=lambda m, name: (
                sum(
                    contract_revenue(b, k, t)
                    for k, con in enumerate(data.contracts)
                    if con.customer == name
                    for t in range(con.start, con.end + 1)
                )
                <= data.max_customer_share * total_revenue + b.slack("customer_share", name)
            ),
        )


def add_objective(b: Builder) -> None:
    """NPV of equity cash flows plus terminal equity (maximised), or the present cost of
    serving demand (minimised); in diagnosis mode the weighted slacks (minimised)."""
    m, data, ix = b.m, b.data, b.ix
    T, F = data.T, len(data.facilities)
    df = data.discount
    held_end = sum(
        data.terminal_value[c] / MUSD * (m.held_tr[c, T - 1] + m.held_in[c, T - 1])
        for c in ix.cohorts_by_t[T - 1]
    )
    power_book = [s.book_end / MUSD for s in econ.site_schedules(data)]
    terminal_assets = held_end + sum(m.build[i, tau] * power_book[i][tau] for (i, tau) in ix.build)
    m.terminal_assets = pyo.Expression(expr=terminal_assets)
    debt_end = sum(m.balance[f, T - 1] for f in range(F))
    if b.relax:
        m.objective = pyo.Objective(
            expr=sum(slack_weight(idx[0]) * m.slack[idx] for idx in m.SLACK), sense=pyo.minimize
        )
    elif b.objective == "npv":
        m.objective = pyo.Objective(
            expr=sum(df[t] * (m.cash[t] - prev_cash(b, t)) for t in range(T))
            + df[-1] * (terminal_assets - debt_end),
            sense=pyo.maximize,
        )
    else:
        tiny = 1e-6  # keeps the tax variable at its floor; taxes are not a cost the planner chooses
        m.objective = pyo.Objective(
            expr=sum(
                df[t]
                * (
                    m.capex[t] - m.proceeds[t] + m.interest[t] + tiny * m.tax[t]
                    - (m.ebitda[t] - revenue(b, t))
                )
                for t in range(T)
            )
            - df[-1] * terminal_assets,
            sense=pyo.minimize,
        )  # fmt: skip
