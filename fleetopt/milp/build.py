"""Build the Pyomo MILP of a fleet plan.

Variables exist only over valid index tuples (a cohort from its purchase quarter,
a SKU only while on sale, training only while eligible, a contract only over its
term), never as dense cross products. Money is in millions of USD inside the model
(``MUSD``) to keep HiGHS's coefficient range narrow; GPU counts are GPUs.
Every constraint group is documented in docs/formulation.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt import economics as econ
from fleetopt.data import ModelData

MUSD = 1e6

# Constraint groups that the infeasibility diagnosis may relax, with the unit of their slack,
# and the weight of one unit of slack. Money slacks weigh most so that a diagnosis points at
# the physical shortfall (power, contracts, demand) before the cash it would take to fix it.
SLACK_WEIGHTS = {"MW": 1.0, "GPUs": 1.0 / 500.0, "H100-eq GPUs": 1.0 / 500.0, "MUSD": 10.0}
SOFT_GROUPS = {
    "power": "MW",
    "contract_delivery": "GPUs",
    "min_cash": "MUSD",
    "borrowing_base": "MUSD",
    "leverage_covenant": "MUSD",
    "dscr_covenant": "MUSD",
    "liquidity_covenant": "MUSD",
    "customer_share": "MUSD",
    "demand_floor": "H100-eq GPUs",
}


@dataclass
class IndexSets:
    """Sparse index tuples of the model and lookups used while building it."""

    buy: list[tuple[int, int, int]]
    cohort_quarters: list[tuple[int, int]]
    moves: list[tuple[int, int]]
    active: list[tuple[int, int, int, int]]
    serve: list[tuple[int, int, int, int]]
    build: list[tuple[int, int]]
    draw: list[tuple[int, int]]
    forced_retire: dict[int, int] = field(default_factory=dict)  # cohort -> quarter it must go
    cohorts_at: dict = field(default_factory=dict)  # (s, i, t) -> cohorts alive


def index_sets(data: ModelData) -> IndexSets:
    T = data.T
    buy = [(s, i, t) for s in range(data.S) for i in range(data.I) for t in range(T) if data.on_sale[s, t]]
    cohort_quarters, moves, forced = [], [], {}
    cohorts_at: dict = defaultdict(list)
    for c in data.cohorts:
        alive_ts = np.flatnonzero(data.alive[c.index])
        for t in alive_ts:
            cohort_quarters.append((c.index, int(t)))
            cohorts_at[(c.sku, c.site, int(t))].append(c.index)
            if c.existing or t > c.bought:
                moves.append((c.index, int(t)))
        if len(alive_ts) and alive_ts[-1] < T - 1:
            forced[c.index] = int(alive_ts[-1]) + 1
        elif not len(alive_ts) and c.existing:
            forced[c.index] = 0  # installed GPUs already past the maximum age go in the first quarter
    active = []
    for s, i, t in sorted(cohorts_at):
        for u in (0, 1):
            if u == 0 and not data.training_eligible[s, t]:
                continue
            active.append((u, s, i, t))
    active_set = set(active)
    serve = [
        (k, s, i, t)
        for k, con in enumerate(data.contracts)
        for s in con.skus
        for i in range(data.I)
        for t in range(con.start, con.end + 1)
        if (con.use, s, i, t) in active_set
    ]
    build = [(i, t) for i, site in enumerate(data.sites) for t in site.build_quarters]
    draw = [(f, t) for f, fac in enumerate(data.facilities) for t in fac.draw_quarters]
    return IndexSets(buy, cohort_quarters, moves, active, serve, build, draw, forced, dict(cohorts_at))


def build_model(data: ModelData, objective: str = "npv", relax: bool = False) -> pyo.ConcreteModel:
    """The fleet MILP. ``objective`` is ``npv`` (maximise) or ``cost`` (minimise).

    With ``relax=True`` every soft-able constraint group gets a non-negative slack and the
    objective becomes: minimise total slack (used to diagnose infeasible inputs).
    """
    if objective not in ("npv", "cost"):
        raise ValueError(f"objective must be 'npv' or 'cost', not {objective!r}")
    T, S, I = data.T, data.S, data.I
    _K, F = len(data.contracts), len(data.facilities)
    ix = index_sets(data)
    m = pyo.ConcreteModel(name=data.model.name)
    m.data = data
    m.ix = ix
    m.objective_kind = objective
    m.T = pyo.RangeSet(0, T - 1)
    m.BUY = pyo.Set(initialize=ix.buy, dimen=3, ordered=True)
    m.CT = pyo.Set(initialize=ix.cohort_quarters, dimen=2, ordered=True)
    m.MOVE = pyo.Set(initialize=ix.moves, dimen=2, ordered=True)
    m.ACT = pyo.Set(initialize=ix.active, dimen=4, ordered=True)
    m.SERVE = pyo.Set(initialize=ix.serve, dimen=4, ordered=True)
    m.BUILD = pyo.Set(initialize=ix.build, dimen=2, ordered=True)
    m.DRAW = pyo.Set(initialize=ix.draw, dimen=2, ordered=True)
    m.F = pyo.RangeSet(0, F - 1) if F else pyo.Set(initialize=[])
    m.K_OPTIONAL = pyo.Set(initialize=[k for k, c in enumerate(data.contracts) if not c.signed])

    # ---- decisions
    m.buy = pyo.Var(m.BUY, domain=pyo.NonNegativeIntegers)
    m.buy_training = pyo.Var(m.BUY, domain=pyo.NonNegativeReals)
    m.held_tr = pyo.Var(m.CT, domain=pyo.NonNegativeReals)
    m.held_in = pyo.Var(m.CT, domain=pyo.NonNegativeReals)
    m.redeploy = pyo.Var(m.MOVE, domain=pyo.NonNegativeReals)
    m.retire_tr = pyo.Var(m.MOVE, domain=pyo.NonNegativeReals)
    m.retire_in = pyo.Var(m.MOVE, domain=pyo.NonNegativeReals)
    m.in_service = pyo.Var(m.ACT, domain=pyo.NonNegativeReals)
    m.serve = pyo.Var(m.SERVE, domain=pyo.NonNegativeReals)
    m.accept = pyo.Var(m.K_OPTIONAL, domain=pyo.Binary)
    m.build = pyo.Var(m.BUILD, domain=pyo.NonNegativeIntegers)
    m.draw = pyo.Var(m.DRAW, domain=pyo.NonNegativeReals)
    m.prepay = pyo.Var(m.F, m.T, domain=pyo.NonNegativeReals)
    m.balance = pyo.Var(m.F, m.T, domain=pyo.NonNegativeReals)
    m.cash = pyo.Var(m.T, domain=pyo.Reals)
    m.tax = pyo.Var(m.T, domain=pyo.NonNegativeReals)

    for s, i, t in ix.buy:
        if not data.training_eligible[s, t]:
            m.buy_training[s, i, t].fix(0)

    # ---- forecast data a stress test may change between solves of one built model (mutable
    # parameters: a persistent solver updates only these coefficients and bounds; see sweep.py)
    m.price_scale = pyo.Param([0, 1], m.T, initialize=1.0, mutable=True, within=pyo.NonNegativeReals)
    m.demand_scale = pyo.Param([0, 1], m.T, initialize=1.0, mutable=True, within=pyo.NonNegativeReals)
    m.capacity_mw = pyo.Param(
        range(I), m.T, initialize=lambda m, i, t: float(data.sites[i].capacity_mw[t]), mutable=True
    )
    m.contract_available = pyo.Param(range(len(data.contracts)), initialize=1.0, mutable=True)
    m.facility_limit = pyo.Param(
        range(F),
        initialize=lambda m, f: (data.facilities[f].size_usd - data.facilities[f].opening_usd) / MUSD,
        mutable=True,
    )
    online_pairs = [
        (i, tau, t)
        for i, site in enumerate(data.sites)
        for tau in site.build_quarters
        for t in range(tau + site.lead_time, T)
    ]
    m.block_online = pyo.Param(online_pairs, initialize=1.0, mutable=True)

    # A constraint whose terms all vanish is a plain True or False: skip the first; make the second
    # an impossible row (a variable held at 0 must equal 1) so the solver reports it as infeasible.
    m.held_at_zero = pyo.Var(bounds=(0.0, 0.0))

    def constraint(*index, rule):
        def checked(m, *key):
            expr = rule(m, *key)
            if isinstance(expr, (bool, np.bool_)) and expr:
                return pyo.Constraint.Skip
            if isinstance(expr, (bool, np.bool_)):
                return m.held_at_zero == 1.0
            return expr

        return pyo.Constraint(*index, rule=checked)

    slack_index = []
    m.SLACK = pyo.Set(dimen=None, initialize=[], ordered=True)

    def slack(group: str, *key) -> pyo.Expression | float:
        """A non-negative slack on a soft group in diagnosis mode; 0 otherwise."""
        if not relax:
            return 0.0
        idx = (group, *key)
        slack_index.append(idx)
        m.SLACK.add(idx)
        return m.slack[idx]

    m.slack = pyo.Var(m.SLACK, domain=pyo.NonNegativeReals, dense=False)

    # ---- cohort balances: GPUs leave a cohort only by retirement; redeployment moves training -> inference
    new_cohort = {(c.sku, c.site, c.bought): c.index for c in data.cohorts if not c.existing}
    buy_of = {v: k for k, v in new_cohort.items()}
    first_t = {}
    for c, t in ix.cohort_quarters:
        first_t.setdefault(c, t)

    def moves(var, c, t):
        return var[c, t] if (c, t) in m.MOVE else 0.0

    def inflow(c, t, use):
        if t != first_t[c]:
            return (m.held_tr if use == 0 else m.held_in)[c, t - 1]
        cohort = data.cohorts[c]
        if cohort.existing:
            return cohort.initial_training if use == 0 else cohort.initial_inference
        key = buy_of[c]
        if use == 0:
            return m.buy_training[key]
        return data.block_size[key[0]] * m.buy[key] - m.buy_training[key]

    m.balance_training = constraint(
        m.CT,
        rule=lambda m, c, t: (
            m.held_tr[c, t] == inflow(c, t, 0) - moves(m.redeploy, c, t) - moves(m.retire_tr, c, t)
        ),
    )
    m.balance_inference = constraint(
        m.CT,
        rule=lambda m, c, t: (
            m.held_in[c, t] == inflow(c, t, 1) + moves(m.redeploy, c, t) - moves(m.retire_in, c, t)
        ),
    )
    # GPUs past the maximum age are all retired in the quarter they reach it
    m.FORCED = pyo.Set(initialize=list(ix.forced_retire.items()), dimen=2)
    m.forced_tr = pyo.Var(m.FORCED, domain=pyo.NonNegativeReals)
    m.forced_in = pyo.Var(m.FORCED, domain=pyo.NonNegativeReals)

    def held_before(c, t, use):
        if t == 0:
            cohort = data.cohorts[c]
            return cohort.initial_training if use == 0 else cohort.initial_inference
        return (m.held_tr if use == 0 else m.held_in)[c, t - 1]

    m.forced_training = constraint(m.FORCED, rule=lambda m, c, t: m.forced_tr[c, t] == held_before(c, t, 0))
    m.forced_inference = constraint(m.FORCED, rule=lambda m, c, t: m.forced_in[c, t] == held_before(c, t, 1))

    def held_use(s, i, t, use):
        var = m.held_tr if use == 0 else m.held_in
        return sum(var[c, t] for c in ix.cohorts_at.get((s, i, t), ()))

    # ---- use: GPUs in service come from those held and configured for the use
    m.use_limit = constraint(
        m.ACT, rule=lambda m, u, s, i, t: m.in_service[u, s, i, t] <= held_use(s, i, t, u)
    )
    serve_at = defaultdict(list)
    for k, s, i, t in ix.serve:
        serve_at[(data.contracts[k].use, s, i, t)].append(k)
    m.serve_limit = constraint(
        [key for key in ix.active if key in serve_at],
        rule=lambda m, u, s, i, t: (
            sum(m.serve[k, s, i, t] for k in serve_at[(u, s, i, t)]) <= m.in_service[u, s, i, t]
        ),
    )

    # ---- contracts: signed and accepted ones are delivered in full from the deadline to the end of term
    serve_by_kt = defaultdict(list)
    for k, s, i, t in ix.serve:
        serve_by_kt[(k, t)].append((s, i))

    def taken(k):
        return 1.0 if data.contracts[k].signed else m.accept[k]

    def delivery_rule(m, k, t):
        con = data.contracts[k]
        delivered = sum(m.serve[k, s, i, t] for (s, i) in serve_by_kt.get((k, t), ()))
        if t < con.deadline:
            return delivered <= con.gpus * m.contract_available[k] * taken(k)
        return delivered + slack("contract_delivery", k, t) == con.gpus * m.contract_available[k] * taken(k)

    kt = [(k, t) for k, con in enumerate(data.contracts) for t in range(con.start, con.end + 1)]
    m.contract_delivery = constraint(kt, rule=delivery_rule)

    # ---- market demand: H100-equivalent GPUs on the market (a cap for npv, a floor for cost)
    market_terms = defaultdict(list)
    for u, s, i, t in ix.active:
        market_terms[(u, t)].append((s, i))

    def market_gpus(u, s, i, t):
        return m.in_service[u, s, i, t] - sum(m.serve[k, s, i, t] for k in serve_at.get((u, s, i, t), ()))

    def demand_rule(m, u, t):
        supplied = sum(data.throughput[u, s] * market_gpus(u, s, i, t) for (s, i) in market_terms[(u, t)])
        if objective == "cost":
            return supplied + slack("demand_floor", u, t) >= data.demand[u, t] * m.demand_scale[u, t]
        return supplied <= data.demand[u, t] * m.demand_scale[u, t]

    m.market_demand = constraint([(u, t) for u in (0, 1) for t in range(T)], rule=demand_rule)

    # ---- power: MW drawn at each site within MW online
    mw_gpu = econ.mw_per_gpu(data)

    def online_mw(i, t):
        site = data.sites[i]
        built = sum(
            m.build[i, tau] * m.block_online[i, tau, t]
            for tau in site.build_quarters
            if tau + site.lead_time <= t
        )
        return m.capacity_mw[i, t] + site.block_mw * built

    def drawn(i, t):
        total = 0.0
        for s in range(S):
            held = held_use(s, i, t, 0) + held_use(s, i, t, 1)
            if isinstance(held, (int, float)):
                continue
            in_service = sum(m.in_service[u, s, i, t] for u in (0, 1) if (u, s, i, t) in m.ACT)
            idle = data.idle_fraction[s]
            total += mw_gpu[s, i] * (idle * held + (1.0 - idle) * in_service)
        return total

    m.power = constraint(
        [(i, t) for i in range(I) for t in range(T)],
        rule=lambda m, i, t: drawn(i, t) <= online_mw(i, t) + slack("power", i, t),
    )
    m.build_limit = constraint(
        [i for i, site in enumerate(data.sites) if site.build_quarters],
        rule=lambda m, i: (
            sum(m.build[i, t] for t in data.sites[i].build_quarters) <= data.sites[i].max_blocks
        ),
    )

    # ---- money (MUSD): operating lines, the same unit coefficients as fleetopt.economics
    rev_mkt = econ.market_revenue_per_gpu(data) / MUSD
    rev_con = econ.contract_revenue_per_gpu(data) / MUSD
    elec = econ.electricity_cost_per_mw(data) / MUSD
    fixed = [site.fixed_cost_per_mw_quarter_usd / MUSD for site in data.sites]
    capex_sched = [site.block_capex_usd / MUSD * econ.power_capex_schedule(site, T) for site in data.sites]
    pdep_sched = [econ.power_depreciation_schedule(site, T) / MUSD for site in data.sites]

    def contract_revenue(k, t):
        return rev_con[k] * sum(m.serve[k, s, i, t] for (s, i) in serve_by_kt.get((k, t), ()))

    def revenue(t):
        market = sum(
            rev_mkt[u, s, t] * m.price_scale[u, t] * market_gpus(u, s, i, t)
            for u in (0, 1)
            for (s, i) in market_terms[(u, t)]
        )
        contracts = sum(
            contract_revenue(k, t) for k, con in enumerate(data.contracts) if con.start <= t <= con.end
        )
        return market + contracts

    cohorts_t = defaultdict(list)
    for c, t in ix.cohort_quarters:
        cohorts_t[t].append(c)
    moves_t = defaultdict(list)
    for c, t in ix.moves:
        moves_t[t].append(c)
    forced_t = defaultdict(list)
    for c, t in ix.forced_retire.items():
        forced_t[t].append(c)

    def retired(c, t):
        if (c, t) in m.FORCED:
            return m.forced_tr[c, t] + m.forced_in[c, t]
        return m.retire_tr[c, t] + m.retire_in[c, t]

    def retiring(t):
        return [*moves_t[t], *forced_t[t]]

    def ebitda(t):
        cost = sum(elec[i, t] * drawn(i, t) + fixed[i] * online_mw(i, t) for i in range(I))
        cost += sum(
            data.opex_per_gpu_quarter[data.cohorts[c].sku] / MUSD * (m.held_tr[c, t] + m.held_in[c, t])
            for c in cohorts_t[t]
        )
        cost += data.redeploy_cost / MUSD * sum(m.redeploy[c, t] for c in moves_t[t])
        cost += data.overhead[t] / MUSD
        return revenue(t) - cost

    m.ebitda = pyo.Expression(m.T, rule=lambda m, t: ebitda(t))
    m.depreciation = pyo.Expression(
        m.T,
        rule=lambda m, t: (
            sum(data.depreciation[c, t] / MUSD * (m.held_tr[c, t] + m.held_in[c, t]) for c in cohorts_t[t])
            + sum(m.build[i, tau] * pdep_sched[i][tau, t] for (i, tau) in ix.build if pdep_sched[i][tau, t])
        ),
    )
    m.gain = pyo.Expression(
        m.T,
        rule=lambda m, t: sum(
            (data.proceeds[c, t] - data.book_value[c, t]) / MUSD * retired(c, t) for c in retiring(t)
        ),
    )
    m.proceeds = pyo.Expression(
        m.T, rule=lambda m, t: sum(data.proceeds[c, t] / MUSD * retired(c, t) for c in retiring(t))
    )
    m.capex = pyo.Expression(
        m.T,
        rule=lambda m, t: (
            sum(
                data.block_size[s] * data.capex_path[s, t] / MUSD * m.buy[s, i, t]
                for i in range(I)
                for s in range(S)
                if (s, i, t) in m.BUY
            )
            + sum(m.build[i, tau] * capex_sched[i][tau, t] for (i, tau) in ix.build if capex_sched[i][tau, t])
        ),
    )

    # ---- debt: balances, scheduled principal, interest on the opening balance of the quarter
    fin = econ.Financing.from_data(data, with_revolver=False)
    draws_f = defaultdict(list)
    for f, t in ix.draw:
        draws_f[f].append(t)

    def draw(f, t):
        return m.draw[f, t] if (f, t) in m.DRAW else 0.0

    def scheduled(f, t):
        return fin.opening_principal[f, t] / MUSD + sum(
            m.draw[f, tau] * fin.draw_principal[f, tau, t]
            for tau in draws_f[f]
            if fin.draw_principal[f, tau, t]
        )

    def prev_balance(f, t):
        return m.balance[f, t - 1] if t > 0 else data.facilities[f].opening_usd / MUSD

    m.scheduled_principal = pyo.Expression(m.F, m.T, rule=lambda m, f, t: scheduled(f, t))
    m.interest = pyo.Expression(
        m.T, rule=lambda m, t: sum(fin.rate_quarterly[f, t] * prev_balance(f, t) for f in range(F))
    )
    m.debt_balance = constraint(
        m.F,
        m.T,
        rule=lambda m, f, t: (
            m.balance[f, t] == prev_balance(f, t) + draw(f, t) - m.scheduled_principal[f, t] - m.prepay[f, t]
        ),
    )
    m.facility_size = constraint(
        [f for f in range(F) if draws_f[f]],
        rule=lambda m, f: sum(m.draw[f, t] for t in draws_f[f]) <= m.facility_limit[f],
    )
    secured = [f for f, fac in enumerate(data.facilities) if fac.max_ltv is not None]
    if secured:
        m.borrowing_base = constraint(
            m.T,
            rule=lambda m, t: (
                sum(m.balance[f, t] / data.facilities[f].max_ltv for f in secured)
                <= sum(
                    data.resale_gross[c, t] / MUSD * (m.held_tr[c, t] + m.held_in[c, t]) for c in cohorts_t[t]
                )
                + slack("borrowing_base", t)
            ),
        )

    # ---- taxes and cash
    m.tax_floor = constraint(
        m.T,
        rule=lambda m, t: (
            m.tax[t] >= data.tax_rate * (m.ebitda[t] - m.depreciation[t] + m.gain[t] - m.interest[t])
        ),
    )

    def prev_cash(t):
        return m.cash[t - 1] if t > 0 else data.opening_cash / MUSD

    m.cash_flow = constraint(
        m.T,
        rule=lambda m, t: (
            m.cash[t]
            == prev_cash(t)
            + m.ebitda[t]
            - m.tax[t]
            - m.interest[t]
            - m.capex[t]
            + m.proceeds[t]
            + sum(draw(f, t) - m.scheduled_principal[f, t] - m.prepay[f, t] for f in range(F))
        ),
    )
    m.min_cash = constraint(m.T, rule=lambda m, t: m.cash[t] + slack("min_cash", t) >= data.min_cash / MUSD)

    # ---- covenants from their test quarter
    cov = data.model.finance.covenants
    tested = [t for t in range(T) if cov is not None and t >= data.model.first_quarter_offset(cov.test_from)]
    # leverage and coverage tests mean nothing in a quarter where no debt can be outstanding
    first_debt = min(
        [0 if fac.opening_usd > 0 else min(fac.draw_quarters, default=T) for fac in data.facilities],
        default=T,
    )
    debt_tested = [t for t in tested if t >= first_debt]
    total_debt = {t: sum(m.balance[f, t] for f in range(F)) for t in range(T)}
    if cov is not None and cov.max_debt_to_ebitda is not None and F:
        m.leverage_covenant = constraint(
            debt_tested,
            rule=lambda m, t: (
                total_debt[t] <= cov.max_debt_to_ebitda * 4.0 * m.ebitda[t] + slack("leverage_covenant", t)
            ),
        )
    if cov is not None and cov.min_dscr is not None and F:
        m.dscr_covenant = constraint(
            debt_tested,
            rule=lambda m, t: (
                m.ebitda[t] + slack("dscr_covenant", t)
                >= cov.min_dscr * (m.interest[t] + sum(m.scheduled_principal[f, t] for f in range(F)))
            ),
        )
    if cov is not None and (
        cov.min_liquidity_usd is not None or cov.min_liquidity_fraction_of_debt is not None
    ):
        floor_usd = (cov.min_liquidity_usd or 0.0) / MUSD
        frac = cov.min_liquidity_fraction_of_debt or 0.0
        m.liquidity_covenant = constraint(
            [(t, part) for t in tested for part in ("floor", "fraction")],
            rule=lambda m, t, part: (
                m.cash[t] + slack("liquidity_covenant", t, part)
                >= (floor_usd if part == "floor" else frac * total_debt[t])
            ),
        )

    # ---- concentration: no customer above its share of total revenue over the horizon
    customers = sorted({c.customer for c in data.contracts})
    if data.max_customer_share < 1.0 and customers:
        total_revenue = sum(revenue(t) for t in range(T))
        m.customer_share = constraint(
            customers,
            rule=lambda m, name: (
                sum(
                    contract_revenue(k, t)
                    for k, con in enumerate(data.contracts)
                    if con.customer == name
                    for t in range(con.start, con.end + 1)
                )
                <= data.max_customer_share * total_revenue + slack("customer_share", name)
            ),
        )

    # ---- objective
    df = data.discount
    held_end = sum(
        data.terminal_value[c] / MUSD * (m.held_tr[c, T - 1] + m.held_in[c, T - 1]) for c in cohorts_t[T - 1]
    )
    power_book = [econ.power_book_value_end(site, T) / MUSD for site in data.sites]
    terminal_assets = held_end + sum(m.build[i, tau] * power_book[i][tau] for (i, tau) in ix.build)
    m.terminal_assets = pyo.Expression(expr=terminal_assets)
    debt_end = sum(m.balance[f, T - 1] for f in range(F))
    if relax:
        m.objective = pyo.Objective(
            expr=sum(SLACK_WEIGHTS[SOFT_GROUPS[idx[0]]] * m.slack[idx] for idx in m.SLACK), sense=pyo.minimize
        )
    elif objective == "npv":
        m.objective = pyo.Objective(
            expr=sum(df[t] * (m.cash[t] - prev_cash(t)) for t in range(T))
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
                    - (m.ebitda[t] - revenue(t))
                )
                for t in range(T)
            )
            - df[-1] * terminal_assets,
            sense=pyo.minimize,
        )  # fmt: skip
    m.slack_index = slack_index
    return m
