"""Operations in the MILP: contracts, market demand, power, and the operating money lines.

Money is in MUSD with the same unit coefficients as :mod:`fleetopt.core.economics` (the statements
and the evaluator use those too); docs/formulation.md §5.4-5.8 states the constraints.
"""

from __future__ import annotations

import pyomo.environ as pyo

from fleetopt.core import economics as econ
from fleetopt.milp.build import MUSD, Builder
from fleetopt.milp.fleet import held_use


def taken(b: Builder, k: int):
    """1 for a signed contract, the acceptance binary for an optional one."""
    return 1.0 if b.data.contracts[k].signed else b.m.accept[k]


def market_gpus(b: Builder, u: int, s: int, i: int, t: int):
    """GPUs in service for ``use`` u that no contract takes: offered to the market."""
    m = b.m
    return m.in_service[u, s, i, t] - sum(m.serve[k, s, i, t] for k in b.ix.serve_at.get((u, s, i, t), ()))


def add_contracts_and_market(b: Builder) -> None:
    """Signed and accepted contracts are delivered in full from the deadline to the end of term;
    H100-equivalent GPUs on the market are capped by demand (npv) or must cover it (cost)."""
    m, data, ix = b.m, b.data, b.ix

    def delivery_rule(m, k, t):
        con = data.contracts[k]
        delivered = sum(m.serve[k, s, i, t] for (s, i) in ix.serve_by_kt.get((k, t), ()))
        if t < con.deadline:
            return delivered <= con.gpus * m.contract_available[k] * taken(b, k)
        return delivered + b.slack("contract_delivery", k, t) == con.gpus * m.contract_available[k] * taken(
            b, k
        )

    kt = [(k, t) for k, con in enumerate(data.contracts) for t in range(con.start, con.end + 1)]
    m.contract_delivery = b.constraint(kt, rule=delivery_rule)

    def demand_rule(m, u, t):
        supplied = sum(
            data.throughput[u, s] * market_gpus(b, u, s, i, t) for (s, i) in ix.market_terms[(u, t)]
        )
        if b.objective == "cost":
            return supplied + b.slack("demand_floor", u, t) >= data.demand[u, t] * m.demand_scale[u, t]
        return supplied <= data.demand[u, t] * m.demand_scale[u, t]

    m.market_demand = b.constraint([(u, t) for u in (0, 1) for t in range(data.T)], rule=demand_rule)


def online_mw(b: Builder, i: int, t: int):
    """MW online at site ``i`` in quarter ``t``: its capacity plus blocks built and not late."""
    m, site = b.m, b.data.sites[i]
    built = sum(
        m.build[i, tau] * m.block_online[i, tau, t]
        for tau in site.build_quarters
        if tau + site.lead_time <= t
    )
    return m.capacity_mw[i, t] + site.block_mw * built


def drawn(b: Builder, i: int, t: int):
    """MW drawn at site ``i`` in quarter ``t``: GPUs in service at full power, idle ones at their
    idle share."""
    m, data = b.m, b.data
    mw_gpu = b.mw_per_gpu
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
    m.power = b.constraint(
        [(i, t) for i in range(data.I) for t in range(data.T)],
        rule=lambda m, i, t: drawn(b, i, t) <= online_mw(b, i, t) + b.slack("power", i, t),
    )
    m.build_limit = b.constraint(
        [i for i, site in enumerate(data.sites) if site.build_quarters],
        rule=lambda m, i: (
            sum(m.build[i, t] for t in data.sites[i].build_quarters) <= data.sites[i].max_blocks
        ),
    )


def add_late_power(b: Builder, delay: int) -> None:
    """MW drawn within what would be online if every new block came ``delay`` quarters late."""
    m, data = b.m, b.data

    def late_online(i, t):
        site = data.sites[i]
        built = sum(m.build[i, tau] for tau in site.build_quarters if tau + site.lead_time + delay <= t)
        return m.capacity_mw[i, t] + site.block_mw * built

    m.late_power = b.constraint(
        [(i, t) for i in range(data.I) for t in range(data.T) if data.sites[i].build_quarters],
        rule=lambda m, i, t: drawn(b, i, t) <= late_online(i, t) + b.slack("late_power", i, t),
    )


def contract_revenue(b: Builder, k: int, t: int):
    """MUSD earned on contract ``k`` in quarter ``t``."""
    return b.contract_revenue_musd[k] * sum(
        b.m.serve[k, s, i, t] for (s, i) in b.ix.serve_by_kt.get((k, t), ())
    )


def market_revenue(b: Builder, t: int):
    """MUSD earned on the market (training and inference) in quarter ``t``."""
    m, rev_mkt = b.m, b.market_revenue_musd
    return sum(
        rev_mkt[u, s, t] * m.price_scale[u, t] * market_gpus(b, u, s, i, t)
        for u in (0, 1)
        for (s, i) in b.ix.market_terms[(u, t)]
    )


def revenue(b: Builder, t: int):
    """MUSD of market and contract revenue in quarter ``t``."""
    contracts = sum(
        contract_revenue(b, k, t) for k, con in enumerate(b.data.contracts) if con.start <= t <= con.end
    )
    return market_revenue(b, t) + contracts


def retired(b: Builder, c: int, t: int):
    m = b.m
    if (c, t) in m.FORCED:
        return m.forced_tr[c, t] + m.forced_in[c, t]
    return m.retire_tr[c, t] + m.retire_in[c, t]


def retiring(b: Builder, t: int) -> list[int]:
    return [*b.ix.moves_by_t[t], *b.ix.forced_by_t[t]]


def add_money_lines(b: Builder) -> None:
    """EBITDA, depreciation, gain on disposal, disposal proceeds and capex per quarter (MUSD)."""
    m, data, ix = b.m, b.data, b.ix
    I, S = data.I, data.S
    elec = econ.electricity_cost_per_mw(data) / MUSD
    fixed = [site.fixed_cost_per_mw_quarter_usd / MUSD for site in data.sites]
    schedules = econ.site_schedules(data)
    capex_sched = [s.capex / MUSD for s in schedules]
    pdep_sched = [s.depreciation / MUSD for s in schedules]
    cohorts_t = ix.cohorts_by_t

    def ebitda(t):
        cost = sum(elec[i, t] * drawn(b, i, t) + fixed[i] * online_mw(b, i, t) for i in range(I))
        cost += sum(
            data.opex_per_gpu_quarter[data.cohorts[c].sku] / MUSD * (m.held_tr[c, t] + m.held_in[c, t])
            for c in cohorts_t[t]
        )
        cost += data.redeploy_cost / MUSD * sum(m.redeploy[c, t] for c in ix.moves_by_t[t])
        cost += data.overhead[t] / MUSD
        return revenue(b, t) - cost

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
            (data.proceeds[c, t] - data.book_value[c, t]) / MUSD * retired(b, c, t) for c in retiring(b, t)
        ),
    )
    m.proceeds = pyo.Expression(
        m.T, rule=lambda m, t: sum(data.proceeds[c, t] / MUSD * retired(b, c, t) for c in retiring(b, t))
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
