"""The fleet in the MILP: decisions, stress parameters, cohort balances and GPUs in service.

GPU counts are GPUs; docs/formulation.md §5.1-5.3 states the constraints.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from fleetopt.milp.builder import Builder
from fleetopt.milp.groups import ConstraintGroup


def add_sets_and_decisions(b: Builder) -> None:
    m, data, ix = b.m, b.data, b.ix
    T, F = data.T, len(data.facilities)
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


def fix_purchases(m: pyo.ConcreteModel, blocks: np.ndarray) -> None:
    r"""x_{s,i,t} = \bar x_{s,i,t} for every purchase: a procurement plan written by people
    (``solve --purchases``; docs/formulation.md §4, "Fixed purchases"), 0 where it buys nothing.
    Held by their bounds, not ``Var.fix`` (which Pyomo hands HiGHS as constants in the rows): the
    LP that settles the operations (``milp.solve.settle_operations``) is then the one every other
    solve with these commitments settles."""
    for (s, i, t), var in m.buy.items():
        var.setlb(float(blocks[s, i, t]))
        var.setub(float(blocks[s, i, t]))


def add_stress_parameters(b: Builder) -> None:
    """Forecast data a stress test may change between solves of one built model (mutable
    parameters: a persistent solver updates only these coefficients and bounds; see sweep.py)."""
    m, data = b.m, b.data
    T, I, F = data.T, data.I, len(data.facilities)
    m.price_scale = pyo.Param([0, 1], m.T, initialize=1.0, mutable=True, within=pyo.NonNegativeReals)
    m.demand_scale = pyo.Param([0, 1], m.T, initialize=1.0, mutable=True, within=pyo.NonNegativeReals)
    # multiplier on the GPUs' value as the borrowing base's collateral (the sweep's haircut; in a
    # scenario copy, its resale factor: stochastic.apply_scenario)
    m.collateral_scale = pyo.Param(m.T, initialize=1.0, mutable=True, within=pyo.NonNegativeReals)
    # MUSD of cash held above the minimum cash every quarter: a cash buffer planned from the start
    m.min_cash_raise = pyo.Param(initialize=0.0, mutable=True, within=pyo.NonNegativeReals)
    m.capacity_mw = pyo.Param(
        range(I), m.T, initialize=lambda m, i, t: float(data.sites[i].capacity_mw[t]), mutable=True
    )
    m.contract_available = pyo.Param(range(len(data.contracts)), initialize=1.0, mutable=True)
    m.facility_limit = pyo.Param(range(F), initialize=lambda m, f: b.coef.facility_headroom[f], mutable=True)
    online_pairs = [
        (i, tau, t)
        for i, site in enumerate(data.sites)
        for tau in site.build_quarters
        for t in range(tau + site.lead_time, T)
    ]
    m.block_online = pyo.Param(online_pairs, initialize=1.0, mutable=True)
    # the scenario factors of the evaluator a two-stage stochastic programme sets per scenario
    # (milp/stochastic/scenarios.py); neutral by default, so the forecast model's rows are unchanged
    nonneg = pyo.NonNegativeReals
    m.generation_price = pyo.Param(range(data.G), m.T, initialize=1.0, mutable=True, within=nonneg)
    term = [(k, t) for k, con in enumerate(data.contracts) for t in range(con.start, con.end + 1)]
    m.contract_alive = pyo.Param(term, initialize=1.0, mutable=True, within=nonneg)
    m.electricity_scale = pyo.Param(m.T, initialize=1.0, mutable=True, within=nonneg)
    # by cohort: the scenario's resale factor, capped so that no GPU bought in the horizon is worth more
    # than its price (stochastic.py cohort_resale_scale), on its sale in a quarter and at the end
    cohorts = range(len(data.cohorts))
    m.resale_scale = pyo.Param(cohorts, m.T, initialize=1.0, mutable=True, within=nonneg)
    m.terminal_resale_scale = pyo.Param(cohorts, initialize=1.0, mutable=True, within=nonneg)
    m.rate_shift = pyo.Param(m.T, initialize=0.0, mutable=True)  # floating reference rate, annual
    m.spread_shift = pyo.Param(m.T, initialize=0.0, mutable=True)  # spread of refinanced bullets, annual


def held_use(b: Builder, s: int, i: int, t: int, use: int, installed: bool = False):
    """GPUs of SKU ``s`` at site ``i`` held in quarter ``t`` configured for ``use``; ``installed``:
    only those that can serve, each cohort weighted by its service share (0 before it is installed,
    its SKU's utilisation ramp, then 1: ``ModelData.service_share``)."""
    var = b.m.held_tr if use == 0 else b.m.held_in
    at = b.ix.cohorts_at.get((s, i, t), ())
    if not installed:
        return sum(var[c, t] for c in at)
    shares = ((c, b.data.service_share(c, t)) for c in at)
    return sum(var[c, t] if share == 1.0 else share * var[c, t] for c, share in shares if share > 0.0)


def _moved(b: Builder, var, c: int, t: int):
    """A redeployment or retirement of cohort ``c`` at the start of ``t`` (0 off ``MOVE``)."""
    return var[c, t] if (c, t) in b.ix.move_keys else 0.0


def _inflow(b: Builder, c: int, t: int, use: int):
    """In^u_{c,t}: held in the quarter before, or what the cohort starts with in its first quarter
    (installed GPUs, or the GPUs bought and configured for ``use``)."""
    m, data = b.m, b.data
    if t != b.ix.first_quarter[c]:
        return (m.held_tr if use == 0 else m.held_in)[c, t - 1]
    cohort = data.cohorts[c]
    if cohort.existing:
        return cohort.initial_training if use == 0 else cohort.initial_inference
    key = (cohort.sku, cohort.site, cohort.bought)
    if use == 0:
        return m.buy_training[key]
    return data.block_size[key[0]] * m.buy[key] - m.buy_training[key]


def balance_training_rule(b: Builder, c: int, t: int):
    r"""h^0_{c,t} = In^0_{c,t} - m_{c,t} - q^0_{c,t},  (c,t) in CT."""
    m = b.m
    return m.held_tr[c, t] == _inflow(b, c, t, 0) - _moved(b, m.redeploy, c, t) - _moved(b, m.retire_tr, c, t)


def balance_inference_rule(b: Builder, c: int, t: int):
    r"""h^1_{c,t} = In^1_{c,t} + m_{c,t} - q^1_{c,t},  (c,t) in CT."""
    m = b.m
    return m.held_in[c, t] == _inflow(b, c, t, 1) + _moved(b, m.redeploy, c, t) - _moved(b, m.retire_in, c, t)


def _held_before(b: Builder, c: int, t: int, use: int):
    """GPUs of cohort ``c`` configured for ``use`` held in the quarter before ``t``."""
    if t == 0:
        cohort = b.data.cohorts[c]
        return cohort.initial_training if use == 0 else cohort.initial_inference
    return (b.m.held_tr if use == 0 else b.m.held_in)[c, t - 1]


def forced_training_rule(b: Builder, c: int, t: int):
    r"""\hat q^0_{c,t_c} = h^0_{c,t_c-1},  (c,t_c) in FORCED."""
    return b.m.forced_tr[c, t] == _held_before(b, c, t, 0)


def forced_inference_rule(b: Builder, c: int, t: int):
    r"""\hat q^1_{c,t_c} = h^1_{c,t_c-1},  (c,t_c) in FORCED."""
    return b.m.forced_in[c, t] == _held_before(b, c, t, 1)


def use_limit_rule(b: Builder, u: int, s: int, i: int, t: int):
    r"""a_{u,s,i,t} <= \sum_{c in C_{s,i,t}} η_{c,t} h^u_{c,t},  (u,s,i,t) in ACT: GPUs serve once
    installed, at their utilisation ramp's share (η_{c,t} = ``ModelData.service_share``, §5.3)."""
    return b.m.in_service[u, s, i, t] <= held_use(b, s, i, t, u, installed=True)


def allocation_rule(b: Builder, g: int, t: int):
    r"""\sum_{s: gen(s) = g} \sum_i B_s x_{s,i,t} <= A_{g,t}: new GPUs within the supplier's allocation."""
    m, data = b.m, b.data
    bought = (data.block_size[s] * m.buy[s, i, t] for s, i in b.ix.buy_by_t[t] if data.sku_generation[s] == g)
    return sum(bought) <= data.new_gpu_allocation[g, t]


def serve_limit_rule(b: Builder, u: int, s: int, i: int, t: int):
    r"""\sum_{k: u_k = u} y_{k,s,i,t} <= a_{u,s,i,t},  (u,s,i,t) in ACT served by a contract."""
    m = b.m
    return sum(m.serve[k, s, i, t] for k in b.ix.serve_at[(u, s, i, t)]) <= m.in_service[u, s, i, t]


BALANCE_TRAINING = ConstraintGroup("balance_training", "§5.1", balance_training_rule)
BALANCE_INFERENCE = ConstraintGroup("balance_inference", "§5.1", balance_inference_rule)
FORCED_TRAINING = ConstraintGroup("forced_training", "§5.2", forced_training_rule)
FORCED_INFERENCE = ConstraintGroup("forced_inference", "§5.2", forced_inference_rule)
USE_LIMIT = ConstraintGroup("use_limit", "§5.3", use_limit_rule)
SERVE_LIMIT = ConstraintGroup("serve_limit", "§5.3", serve_limit_rule)
ALLOCATION = ConstraintGroup("allocation", "§5.14", allocation_rule)
GROUPS = (
    BALANCE_TRAINING,
    BALANCE_INFERENCE,
    FORCED_TRAINING,
    FORCED_INFERENCE,
    USE_LIMIT,
    SERVE_LIMIT,
    ALLOCATION,
)


def add_cohorts(b: Builder) -> None:
    """Cohort balances (GPUs leave a cohort only by retirement; redeployment moves training ->
    inference), forced retirement at the maximum age, and GPUs in service."""
    m, ix = b.m, b.ix
    b.add(BALANCE_TRAINING, m.CT)
    b.add(BALANCE_INFERENCE, m.CT)
    # GPUs past the maximum age are all retired in the quarter they reach it
    m.FORCED = pyo.Set(initialize=list(ix.forced_retire.items()), dimen=2)
    m.forced_tr = pyo.Var(m.FORCED, domain=pyo.NonNegativeReals)
    m.forced_in = pyo.Var(m.FORCED, domain=pyo.NonNegativeReals)
    b.add(FORCED_TRAINING, m.FORCED)
    b.add(FORCED_INFERENCE, m.FORCED)
    # GPUs in service come from those held and configured for the use; contracts from those in service
    b.add(USE_LIMIT, m.ACT)
    b.add(SERVE_LIMIT, [key for key in ix.active if key in ix.serve_at])


def add_allocation(b: Builder) -> None:
    """The supplier's allocation of new GPUs, by generation and quarter, where the model limits it."""
    data = b.data
    limited = [
        (g, t)
        for g, t in zip(*np.nonzero(np.isfinite(data.new_gpu_allocation)), strict=True)
        if any(data.sku_generation[s] == g for s, _ in b.ix.buy_by_t.get(t, ()))
    ]
    if limited:
        b.add(ALLOCATION, [(int(g), int(t)) for g, t in limited])
