"""Operations in the MILP: contracts, market demand, power, and the operating money lines.

Money is in MUSD with the same unit coefficients as :mod:`fleetopt.core.economics` (the statements
and the evaluator use those too); docs/formulation.md §5.4-5.8 states the constraints.
"""

from __future__ import annotations

from fleetopt.core.data import USES
from fleetopt.core.units import H100_EQ_GPUS
from fleetopt.milp.builder import Builder
from fleetopt.milp.fleet import held_use
from fleetopt.milp.groups import ConstraintGroup, Slack


def taken(b: Builder, k: int):
    """ζ_k: 1 for a signed contract, the acceptance binary for an optional one."""
    return 1.0 if b.data.contracts[k].signed else b.m.accept[k]


def market_gpus(b: Builder, u: int, s: int, i: int, t: int):
    """g_{u,s,i,t}: GPUs in service for ``use`` u that no contract takes: offered to the market."""
    m = b.m
    return m.in_service[u, s, i, t] - sum(m.serve[k, s, i, t] for k in b.ix.serve_at.get((u, s, i, t), ()))


def delivered(b: Builder, k: int, t: int):
    """GPUs serving contract ``k`` in quarter ``t``: \\sum_{s,i} y_{k,s,i,t}."""
    return sum(b.m.serve[k, s, i, t] for (s, i) in b.ix.serve_by_kt.get((k, t), ()))


def contract_delivery_rule(b: Builder, k: int, t: int):
    r"""\sum_{s,i} y_{k,s,i,t} <= G_k ζ_k  (t < t^d_k),   \sum_{s,i} y_{k,s,i,t} = G_k ζ_k  (t >= t^d_k),
    for t^0_k <= t <= t^1_k; the diagnosis may relax the second for a signed contract (an optional
    one can be declined: relaxed, it would be taken for its revenue and reported short), and a
    stochastic scenario's recourse for an accepted optional one too (its acceptance is first stage:
    a late block can leave it short in a scenario, as in the evaluator)."""
    m, con = b.m, b.data.contracts[k]
    if t < con.deadline:
        return delivered(b, k, t) <= con.gpus * m.contract_available[k] * m.contract_alive[k, t] * taken(b, k)
    gpus = con.gpus * m.contract_available[k] * m.contract_alive[k, t]
    short = b.slack(k, t) if con.signed or b.recourse else 0.0
    return delivered(b, k, t) + short == gpus * taken(b, k)


def market_demand_rule(b: Builder, u: int, t: int):
    r"""\sum_{s,i} θ_{u,s} g_{u,s,i,t} <= D_{u,t} (npv),  = D_{u,t} (cost; the diagnosis may relax it).

    Cost: the demand is met, and no more: GPUs in service beyond it would earn market revenue in the
    cash row that nobody pays (the evaluator sells at most the demand), which a plan short of cash
    would use."""
    m, data = b.m, b.data
    supplied = sum(data.throughput[u, s] * market_gpus(b, u, s, i, t) for (s, i) in b.ix.market_terms[(u, t)])
    if b.objective == "cost":
        return supplied + b.slack(u, t) == data.demand[u, t] * m.demand_scale[u, t]
    return supplied <= data.demand[u, t] * m.demand_scale[u, t]


def power_rule(b: Builder, i: int, t: int):
    r"""drawn_{i,t} <= online_{i,t}: MW drawn within MW online."""
    return b.m.drawn_mw[i, t] <= b.m.online_mw[i, t] + b.slack(i, t)


def build_limit_rule(b: Builder, i: int):
    r"""\sum_τ w_{i,τ} <= \bar W_i."""
    site = b.data.sites[i]
    return sum(b.m.build[i, t] for t in site.build_quarters) <= site.max_blocks


def late_online(b: Builder, i: int, t: int, delay: int):
    """MW online at site ``i`` in ``t`` were every new block ``delay`` quarters late."""
    m, site = b.m, b.data.sites[i]
    built = sum(m.build[i, tau] for tau in site.build_quarters if tau + site.lead_time + delay <= t)
    return m.capacity_mw[i, t] + site.block_mw * built


def late_power_rule(b: Builder, i: int, t: int):
    r"""drawn_{i,t} <= Cap_{i,t} + M_i \sum_{τ: τ + ℓ_i + Δ <= t} w_{i,τ}  (Δ = power_delay_quarters)."""
    delay = b.robustness.power_delay_quarters
    return b.m.drawn_mw[i, t] <= late_online(b, i, t, delay) + b.slack(i, t)


def _site_in_quarter(data, key) -> tuple[str, int]:
    i, t = key
    return f"site {data.sites[i].name} in {data.quarter_labels[t]}", t


def _contract_in_quarter(data, key) -> tuple[str, int]:
    k, t = key
    return f"contract {data.contracts[k].name} in {data.quarter_labels[t]}", t


def _demand_in_quarter(data, key) -> tuple[str, int]:
    u, t = key
    return f"{USES[u]} demand in {data.quarter_labels[t]}", t


CONTRACT_DELIVERY = ConstraintGroup(
    "contract_delivery",
    "§5.4",
    contract_delivery_rule,
    Slack("contract_delivery", "GPUs", _contract_in_quarter),
)
# only the cost objective has a demand floor: it serves all of market.demand_gpus, a lab's own need
DEMAND_FLOOR_NOTE = (
    "the cost objective serves all of market.demand_gpus at least cost: demand a lab must meet "
    "(as in the bundled model lab), not a neocloud's whole market, which the NPV objective sells into"
)
MARKET_DEMAND = ConstraintGroup(
    "market_demand",
    "§5.5",
    market_demand_rule,
    Slack("demand_floor", H100_EQ_GPUS, _demand_in_quarter, note=DEMAND_FLOOR_NOTE,
          words="market demand"),
)
POWER = ConstraintGroup("power", "§5.6", power_rule, Slack("power", "MW", _site_in_quarter))
BUILD_LIMIT = ConstraintGroup("build_limit", "§5.6", build_limit_rule)
LATE_POWER = ConstraintGroup(
    "late_power",
    "§5.13",
    late_power_rule,
    Slack("late_power", "MW", _site_in_quarter, relaxed_first=True,
          words="power with expansion blocks late"),
)
GROUPS = (CONTRACT_DELIVERY, MARKET_DEMAND, POWER, BUILD_LIMIT, LATE_POWER)


def add_contracts_and_market(b: Builder) -> None:
    """Signed and accepted contracts are delivered in full from the deadline to the end of term;
    H100-equivalent GPUs on the market are capped by demand (npv) or must cover it (cost)."""
    data = b.data
    b.add(
        CONTRACT_DELIVERY,
        [(k, t) for k, con in enumerate(data.contracts) for t in range(con.start, con.end + 1)],
    )
    b.add(MARKET_DEMAND, [(u, t) for u in (0, 1) for t in range(data.T)])


def online_mw_rule(b: Builder, i: int, t: int):
    r"""online_{i,t} = Cap_{i,t} + M_i \sum_τ w_{i,τ} on_{i,τ,t}: capacity plus blocks built and not late."""
    m, site = b.m, b.data.sites[i]
    built = sum(
        m.build[i, tau] * m.block_online[i, tau, t]
        for tau in site.build_quarters
        if tau + site.lead_time <= t
    )
    return m.capacity_mw[i, t] + site.block_mw * built


def drawn_mw_rule(b: Builder, i: int, t: int):
    r"""drawn_{i,t} = \sum_s μ_{s,i} (ι_s \sum_{c in C_{s,i,t}} h_{c,t} + (1 - ι_s) \sum_u a_{u,s,i,t}):
    GPUs in service at full power, idle ones at their idle share."""
    m, data = b.m, b.data
    mw_gpu = b.coef.mw_per_gpu
    total = 0.0
    for s in range(data.S):
        held = held_use(b, s, i, t, 0) + held_use(b, s, i, t, 1)
        if isinstance(held, (int, float)):
            continue
        in_service = sum(m.in_service[u, s, i, t] for u in (0, 1) if (u, s, i, t) in m.ACT)
        idle = data.idle_fraction[s]
        total += mw_gpu[s, i] * (idle * held + (1.0 - idle) * in_service)
    return total


def add_power(b: Builder) -> None:
    """MW drawn at each site within MW online; at most the site's number of blocks built."""
    m, data = b.m, b.data
    b.expression("online_mw", range(data.I), m.T, rule=online_mw_rule)
    b.expression("drawn_mw", range(data.I), m.T, rule=drawn_mw_rule)
    b.add(POWER, [(i, t) for i in range(data.I) for t in range(data.T)])
    b.add(BUILD_LIMIT, [i for i, site in enumerate(data.sites) if site.build_quarters])


def add_late_power(b: Builder) -> None:
    """MW drawn within what would be online if every new block came late (§5.13)."""
    data = b.data
    b.add(LATE_POWER, [(i, t) for i in range(data.I) for t in range(data.T) if data.sites[i].build_quarters])


def contract_revenue(b: Builder, k: int, t: int):
    """MUSD earned on contract ``k`` in quarter ``t``: \\bar r_k \\sum_{s,i} y_{k,s,i,t}."""
    return b.coef.contract_revenue[k] * delivered(b, k, t)


def contract_payments(b: Builder, t: int, customer: str | None = None):
    r"""MUSD the customers (or the one ``customer``) pay in quarter ``t`` besides revenue:
    \sum_k ζ_k (a_{k,t} Π_{k,t} + (a_{k,t-1} - a_{k,t}) Ξ_{k,t}), Π_{k,t} the prepayment at the start
    of the term less its even share in each quarter of the term, Ξ_{k,t} the termination payment of
    a customer that ends the contract in t (:class:`~fleetopt.core.data.ContractPayments`), a_{k,t}
    the scenario parameter ``contract_alive`` (1 on the forecast, where Ξ never counts); 0 where no
    contract has a payment (the cash row is then unchanged). A Python helper, not a Pyomo
    ``Expression``: the cash row (§5.10) and the lost-customer cash gap (§5.13) call it."""
    live, ended, alive = b.coef.contract_payments, b.coef.contract_termination, b.m.contract_alive
    total = 0
    for k, con in enumerate(b.data.contracts):
        if customer is not None and con.customer != customer:
            continue
        if live[k, t]:
            total += live[k, t] * alive[k, t] * taken(b, k)
        if ended[k, t]:  # only within the term after its first quarter: t - 1 is in the term too
            total += ended[k, t] * (alive[k, t - 1] - alive[k, t]) * taken(b, k)
    return total


def deferred_revenue_end(b: Builder):
    r"""MUSD of prepayments not yet earned after the last quarter, \sum_k ζ_k a_{k,T-1} Def_k, for
    the customers live at the end (the objective deducts it with the debt, §6); 0 where there is none."""
    owed, T = b.coef.deferred_revenue_end, b.data.T
    return sum(
        owed[k] * b.m.contract_alive[k, T - 1] * taken(b, k)
        for k in range(len(b.data.contracts))
        if owed[k]
    )


def market_revenue_rule(b: Builder, t: int):
    r"""Rev^{mkt}_t = \sum_{u,s,i} \bar r_{u,s,t} g_{u,s,i,t} (times the stress parameters price_scale by
    use and generation_price by generation)."""
    m, rev_mkt, gen = b.m, b.coef.market_revenue, b.data.sku_generation
    return sum(
        rev_mkt[u, s, t] * m.price_scale[u, t] * m.generation_price[gen[s], t] * market_gpus(b, u, s, i, t)
        for u in (0, 1)
        for (s, i) in b.ix.market_terms[(u, t)]
    )


def revenue_rule(b: Builder, t: int):
    r"""Rev_t = Rev^{mkt}_t + \sum_k \bar r_k \sum_{s,i} y_{k,s,i,t}."""
    contracts = (
        contract_revenue(b, k, t) for k, con in enumerate(b.data.contracts) if con.start <= t <= con.end
    )
    # the market term first: Pyomo appends a term added to a sum at its end, and the LP writer numbers
    # variable components in the order it meets them
    return sum(contracts, b.m.market_revenue[t])


def retired(b: Builder, c: int, t: int):
    """Q_{c,t}: GPUs of cohort ``c`` retired at the start of ``t``."""
    m = b.m
    if b.ix.forced_retire.get(c) == t:
        return m.forced_tr[c, t] + m.forced_in[c, t]
    return m.retire_tr[c, t] + m.retire_in[c, t]


def retiring(b: Builder, t: int) -> list[int]:
    return [*b.ix.moves_by_t[t], *b.ix.forced_by_t[t]]


def held(b: Builder, c: int, t: int):
    """h_{c,t} = h^0_{c,t} + h^1_{c,t}."""
    return b.m.held_tr[c, t] + b.m.held_in[c, t]


def ebitda_rule(b: Builder, t: int):
    r"""EBITDA_t = Rev_t - \sum_i (ε_{i,t} drawn_{i,t} + φ_i online_{i,t}) - \sum_c o_{s(c)} h_{c,t}
    - c^{rd} \sum_c m_{c,t} - O_t."""
    m, data, coef = b.m, b.data, b.coef
    cost = sum(
        coef.electricity[i, t] * m.electricity_scale[t] * m.drawn_mw[i, t]
        + coef.site_fixed_cost[i] * m.online_mw[i, t]
        for i in range(data.I)
    )
    cost += sum(float(coef.gpu_opex[data.cohorts[c].sku]) * held(b, c, t) for c in b.ix.cohorts_by_t[t])
    cost += coef.redeploy_cost * sum(m.redeploy[c, t] for c in b.ix.moves_by_t[t])
    cost += coef.overhead[t]
    return m.revenue[t] - cost


def depreciation_rule(b: Builder, t: int):
    r"""Dep_t = \sum_c Dep_{c,t} h_{c,t} + \sum_{i,τ} w_{i,τ} pdep_{i,τ,t}."""
    m, coef = b.m, b.coef
    return sum(float(coef.depreciation[c, t]) * held(b, c, t) for c in b.ix.cohorts_by_t[t]) + sum(
        m.build[i, tau] * coef.power_depreciation[i][tau, t]
        for (i, tau) in b.ix.build
        if coef.power_depreciation[i][tau, t]
    )


def gain_rule(b: Builder, t: int):
    r"""Gain_t = \sum_c (Pr_{c,t} - BV_{c,t}) Q_{c,t} (proceeds times the scenario parameter resale_scale:
    written as the gain plus (scale - 1) x proceeds, so that scale 1 gives the same coefficient)."""
    coef, scale = b.coef, b.m.resale_scale
    return sum(
        (float(coef.disposal_gain[c, t]) + (scale[c, t] - 1.0) * coef.proceeds[c, t]) * retired(b, c, t)
        for c in retiring(b, t)
    )


def proceeds_rule(b: Builder, t: int):
    r"""Proc_t = \sum_c Pr_{c,t} Q_{c,t}."""
    proceeds, scale = b.coef.proceeds, b.m.resale_scale
    return sum(float(proceeds[c, t]) * scale[c, t] * retired(b, c, t) for c in retiring(b, t))


def capex_rule(b: Builder, t: int):
    r"""Capex_t = \sum_{s,i} B_s P_{s,t} x_{s,i,t} + \sum_{i,τ} w_{i,τ} K_i cs_{i,τ,t}."""
    m, data, coef = b.m, b.data, b.coef
    return sum(
        coef.block_capex[s, t] * m.buy[s, i, t]
        for i in range(data.I)
        for s in range(data.S)
        if (s, i, t) in m.BUY
    ) + sum(
        m.build[i, tau] * coef.power_capex[i][tau, t]
        for (i, tau) in b.ix.build
        if coef.power_capex[i][tau, t]
    )


def add_money_lines(b: Builder) -> None:
    """Revenue, EBITDA, depreciation, gain on disposal, disposal proceeds and capex per quarter (MUSD)."""
    T = b.m.T
    b.expression("market_revenue", T, rule=market_revenue_rule)
    b.expression("revenue", T, rule=revenue_rule)
    b.expression("ebitda", T, rule=ebitda_rule)
    b.expression("depreciation", T, rule=depreciation_rule)
    b.expression("gain", T, rule=gain_rule)
    b.expression("proceeds", T, rule=proceeds_rule)
    b.expression("capex", T, rule=capex_rule)
